package importcmd_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
)

const header = "importKey,receivedAt,name,source,referrerOrganisation,consentToRefer,consentToShare,tenure,needs,priority\n"

// `homeward import` signs the admin in through the tenant's real Kratos and sends each file to the
// real referral service: a clean file is imported and said so, a bad one is refused with every
// problem printed by file, row and column, and the command fails.
func TestHomewardImport(t *testing.T) {
	homeward, err := binaries.Path("homeward")
	if err != nil {
		t.Fatal(err)
	}
	tenant := servicetest.StartTenantWith(t, "oldham", kratosserver.Options{})
	cfg := tenant.Config(t, referral.Name, config.DefaultPolicy())
	_, srv := servicetest.Serve(t, cfg, app.Options{}, func(a *app.Service) { referral.New(a) })
	_, housingSrv := servicetest.Serve(t, tenant.Config(t, housing.Name, config.DefaultPolicy()), app.Options{}, func(a *app.Service) { housing.New(a) })
	if _, err := tenant.Identity.CreateIdentity(context.Background(), testenv.Person{Email: "admin@oldham.example", Name: "Test Admin",
		Password: "correct horse battery staple admin", MetadataPublic: map[string]any{"partnership": "oldham", "roles": []any{"partnership-admin"}}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pw := write("password", "correct horse battery staple admin\n")
	good := write("oldham-2026.csv", header+"k1,2026-09-01,Imported One,ward,Royal Oldham Hospital,yes,yes,owner-occupier,repairs,urgent\n")
	bad := write("bad.csv", header+"k2,2026-09-01,Imported Two,bus,Royal Oldham Hospital,yes,yes,owner-occupier,repairs,urgent\n")
	run := func(files ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(homeward, append([]string{"import", "--referral-url", srv.URL, "--kratos-public-url", cfg.KratosPublicURL,
			"--email", "admin@oldham.example", "--password-file", pw}, files...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	out, errOut, err := run(good)
	if err != nil || !strings.HasPrefix(out, "oldham-2026.csv: 1 rows, 1 imported, 0 unchanged (sha256 ") {
		t.Fatalf("import a clean file: %v\n%s%s", err, out, errOut)
	}
	if out, _, err = run(good); err != nil || !strings.Contains(out, "0 imported, 1 unchanged") {
		t.Errorf("import it again: %v %s", err, out)
	}
	_, errOut, err = run(bad)
	if err == nil || !strings.Contains(errOut, "bad.csv:2:source: must be one of") || !strings.Contains(errOut, "nothing was imported") {
		t.Errorf("import a bad file: %v\n%s", err, errOut)
	}
	// Units go to the housing-options service, named by its own flag.
	units := write("units.csv", "importKey,scheme,line1,town,postcode,ownerOrganisation,type,bedrooms,weeklyCost,housingBenefitEligible,createdOn\n"+
		"u1,Home from Home,Flat 1 Example Court,Oldham,OL1 1AA,Oldham Council,flat,1,203.77,yes,2024-04-01\n")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(homeward, "import", "--layout", "units", "--housing-url", housingSrv.URL, "--kratos-public-url", cfg.KratosPublicURL,
		"--email", "admin@oldham.example", "--password-file", pw, units)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.HasPrefix(stdout.String(), "units.csv: 1 rows, 1 imported") {
		t.Errorf("import units: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	cmd = exec.Command(homeward, "import", "--layout", "units", "--referral-url", srv.URL, "--kratos-public-url", cfg.KratosPublicURL,
		"--email", "admin@oldham.example", "--password-file", pw, units)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "--housing-url is required") {
		t.Errorf("units without the housing URL: %v\n%s", err, stderr.String())
	}
}

// An import killed half-way (kill -9 of `homeward import` while the service writes) leaves whole
// referrals only, and running the command again writes the rest, each referral exactly once.
func TestImportResumesAfterKill(t *testing.T) {
	homeward, err := binaries.Path("homeward")
	if err != nil {
		t.Fatal(err)
	}
	tenant := servicetest.StartTenantWith(t, "rochdale", kratosserver.Options{})
	cfg := tenant.Config(t, referral.Name, config.DefaultPolicy())
	_, srv := servicetest.Serve(t, cfg, app.Options{}, func(a *app.Service) { referral.New(a) })
	if _, err := tenant.Identity.CreateIdentity(context.Background(), testenv.Person{Email: "admin@rochdale.example", Name: "Test Admin",
		Password: "correct horse battery staple admin", MetadataPublic: map[string]any{"partnership": "rochdale", "roles": []any{"partnership-admin"}}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("correct horse battery staple admin"), 0o600); err != nil {
		t.Fatal(err)
	}
	const rows = 3000
	var file strings.Builder
	file.WriteString(header)
	for i := range rows {
		fmt.Fprintf(&file, "R%05d,2025-%02d-%02dT10:00,Imported Person %d,ward,Rochdale Infirmary,yes,yes,owner-occupier,repairs,routine\n", i, 1+i%12, 1+i%28, i)
	}
	path := filepath.Join(dir, "rochdale-history.csv")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	command := func() *exec.Cmd {
		return exec.Command(homeward, "import", "--referral-url", srv.URL, "--kratos-public-url", cfg.KratosPublicURL,
			"--email", "admin@rochdale.example", "--password-file", pw, path)
	}
	ctx := context.Background()
	referrals := func() int64 { return tenant.Admin.ZCard(ctx, keyspace.For("rochdale").AllReferrals()).Val() }

	cmd := command()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for referrals() < rows/10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The service stops writing once it sees the connection gone.
	settled := referrals()
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if n := referrals(); n == settled {
			break
		} else {
			settled = n
		}
	}
	t.Logf("%d of %d referrals written when the command was killed", settled, rows)
	if settled == 0 || settled >= rows {
		t.Fatalf("%d of %d referrals written before the kill: the test did not interrupt the import", settled, rows)
	}
	// Every written referral is whole: its record, its index entries and its import claim.
	claims, err := tenant.Admin.Keys(ctx, keyspace.For("rochdale").Imported(keyspace.ImportedReferral, "*")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(claims)) != settled {
		t.Errorf("%d import claims for %d referrals", len(claims), settled)
	}

	var stdout, stderr bytes.Buffer
	cmd = command()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run again: %v\n%s", err, stderr.String())
	}
	want := fmt.Sprintf("rochdale-history.csv: %d rows, %d imported, %d unchanged", rows, rows-settled, settled)
	if !strings.HasPrefix(stdout.String(), want) {
		t.Errorf("run again said %q, want %q", stdout.String(), want)
	}
	if n := referrals(); n != rows {
		t.Errorf("%d referrals after resuming, want %d", n, rows)
	}

	// Then Redis itself dies half-way through a second file: the command fails, and once Redis is
	// back (its append-only file synced on every write) running it again finishes the file.
	file.Reset()
	file.WriteString(header)
	for i := range rows {
		fmt.Fprintf(&file, "S%05d,2025-%02d-%02dT11:00,Imported Person %d,gp,Rochdale GP Practice,yes,no,private-rented,repairs,routine\n", i, 1+i%12, 1+i%28, i)
	}
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	cmd = command()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for referrals() < rows+rows/10 && time.Now().Before(deadline.Add(30*time.Second)) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := tenant.Redis.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Errorf("the import went on without Redis: %s", stdout.String())
	}
	if err := tenant.Redis.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	before := referrals()
	if before <= rows || before >= 2*rows {
		t.Fatalf("%d referrals when Redis died: the test did not interrupt the import", before)
	}
	stdout.Reset()
	stderr.Reset()
	cmd = command()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run again after Redis came back: %v\n%s", err, stderr.String())
	}
	want = fmt.Sprintf("rochdale-history.csv: %d rows, %d imported, %d unchanged", rows, 2*rows-before, before-rows)
	if !strings.HasPrefix(stdout.String(), want) {
		t.Errorf("after Redis came back the command said %q, want %q", stdout.String(), want)
	}
	if n := referrals(); n != 2*rows {
		t.Errorf("%d referrals after resuming, want %d", n, 2*rows)
	}
}
