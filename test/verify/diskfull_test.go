package verify

// This file: the disk under Redis fills up. Writes must be refused as a 503 the client may retry,
// nothing may be half-written, and when space returns the tenant must recover with every
// acknowledged write and the refused ones retried exactly once.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
)

// smallDisk mounts a tmpfs of size bytes on a fresh folder, unmounted when the test ends (after
// everything started later has stopped).
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("mounting a small filesystem needs root (the suite runs as root, as CI does)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "homeward-diskfull", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file taking all but leave bytes of the filesystem holding dir.
func fill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for written := int64(0); written < free-leave; {
		n, err := f.Write(chunk[:min(int64(len(chunk)), free-leave-written)])
		written += int64(n)
		if err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	return path
}

func TestRedisOnAFullDiskRefusesWritesAndRecovers(t *testing.T) {
	record(t)
	ctx := context.Background()
	disk := smallDisk(t, 32<<20)
	tn := servicetest.StartTenantIn(t, "oldham", filepath.Join(disk, "redis"), kratosserver.Options{})
	_, srv := servicetest.Serve(t, tn.Config(t, referral.Name, config.DefaultPolicy()), app.Options{}, func(a *app.Service) { referral.New(a) })
	coordinator := tn.Person(t, srv.URL, "coordinator@oldham.example", "oldham", "coordinator")
	refs := newCaller(srv.URL, coordinator.Token)

	acknowledged := map[string]string{}
	create := func(n int) exchange {
		name := fmt.Sprintf("Fulldisk Person %d", n)
		x := refs.call("POST", "/v1/referrals", referralForm(name), "Idempotency-Key", fmt.Sprint("full-", n))
		judge(t, name, x, http.StatusCreated)
		if x.status == http.StatusCreated {
			id, err := createdID(x)
			if err != nil {
				t.Fatal(err)
			}
			acknowledged[id] = name
		}
		return x
	}
	for n := range 20 {
		if x := create(n); x.status != http.StatusCreated {
			t.Fatalf("before the disk filled: %d %s", x.status, x.body)
		}
	}

	filler := fill(t, disk, 16<<10)
	var refused []int
	n := 20
	for ; n < 2000 && len(refused) < 5; n++ {
		if x := create(n); x.status == http.StatusServiceUnavailable {
			refused = append(refused, n)
		}
	}
	if len(refused) == 0 {
		t.Fatalf("%d creates on a full disk, none refused", n-20)
	}
	t.Logf("on the full disk: %d more creates acknowledged, then refused with 503 (redis-server running: %v)", len(acknowledged)-20, tn.Redis.Running())
	// Reads are refused too (each is audited, which is a write), never answered wrongly.
	for id := range acknowledged {
		x := refs.call("GET", "/v1/referrals/"+id, nil)
		judge(t, "read on a full disk", x, http.StatusOK)
		break
	}

	// Space returns; the supervisor (the local runtime's, or the kubelet) restarts redis-server if
	// it stopped, and the service reconnects by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if !tn.Redis.Running() {
		restartCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := tn.Redis.Restart(restartCtx); err != nil {
			t.Fatalf("redis-server does not start again once space returned: %v", err)
		}
	}
	waitFor(t, "the service to be ready again", func() bool { return refs.call("GET", "/readyz", nil).status == http.StatusOK })
	// The refused creates, retried with their keys, are each made once.
	for _, n := range refused {
		if x := create(n); x.status != http.StatusCreated {
			t.Errorf("retried create %d after space returned: %d %s", n, x.status, x.body)
		}
	}
	records := referralsWhole(ctx, t, tn, refs, acknowledged)
	t.Logf("%d referrals whole after recovery", len(records))
	if x := create(n + 1); x.status != http.StatusCreated {
		t.Errorf("a new create after recovery: %d %s", x.status, x.body)
	}
}
