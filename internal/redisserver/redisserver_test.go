package redisserver_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/testenv"
)

func TestDataSurvivesKillNineAndRestart(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := testenv.Redis(t, redisserver.Options{})
	client := srv.AdminClient()
	t.Cleanup(func() { client.Close() })

	g.Expect(client.HSet(ctx, "t:{oldham}:referral:1", "priority", "urgent", "tenure", "social-rented").Err()).To(Succeed())
	g.Expect(client.XAdd(ctx, &redis.XAddArgs{Stream: "t:{oldham}:events", Values: map[string]any{"type": "referral.created"}}).Err()).To(Succeed())
	oldPid := srv.Pid()

	g.Expect(srv.Kill()).To(Succeed())
	g.Expect(client.Ping(ctx).Err()).To(HaveOccurred(), "the server is gone after kill -9")
	g.Expect(srv.Restart(ctx)).To(Succeed())
	g.Expect(srv.Pid()).NotTo(Equal(oldPid))

	g.Expect(client.HGetAll(ctx, "t:{oldham}:referral:1").Val()).To(Equal(map[string]string{"priority": "urgent", "tenure": "social-rented"}))
	g.Expect(client.XLen(ctx, "t:{oldham}:events").Val()).To(Equal(int64(1)))
	testenv.ExpectPrivateFiles(t, srv.Dir())
}

func TestAppendOnlyFileIsOnAndFsyncsAsConfigured(t *testing.T) {
	for _, fsync := range []string{"", redisserver.AppendFsyncEverySec} {
		t.Run("appendfsync="+fsync, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			srv := testenv.Redis(t, redisserver.Options{AppendFsync: fsync})
			client := srv.AdminClient()
			t.Cleanup(func() { client.Close() })

			want := fsync
			if want == "" {
				want = redisserver.AppendFsyncAlways
			}
			g.Expect(client.ConfigGet(ctx, "appendonly").Val()).To(HaveKeyWithValue("appendonly", "yes"))
			g.Expect(client.ConfigGet(ctx, "appendfsync").Val()).To(HaveKeyWithValue("appendfsync", want))
		})
	}
}

func TestACLUsersAreConfinedToTheirRules(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv := testenv.Redis(t, redisserver.Options{Users: []redisserver.User{
		{Name: "referral", Password: "referral-secret", Rules: []string{"~t:{oldham}:*", "+@all", "-@dangerous"}},
		{Name: "reporting", Password: "reporting-secret", Rules: []string{"%R~t:{oldham}:*", "%RW~t:{oldham}:agg:*", "+@read", "+@write", "-@dangerous"}},
	}})

	referral := srv.Client("referral", "referral-secret")
	t.Cleanup(func() { referral.Close() })
	g.Expect(referral.Set(ctx, "t:{oldham}:referral:1", "x", 0).Err()).To(Succeed())
	g.Expect(referral.Set(ctx, "t:{kirklees}:referral:1", "x", 0).Err()).To(MatchError(ContainSubstring("NOPERM")), "another tenant's keys")
	g.Expect(referral.FlushAll(ctx).Err()).To(MatchError(ContainSubstring("NOPERM")), "dangerous commands")

	reporting := srv.Client("reporting", "reporting-secret")
	t.Cleanup(func() { reporting.Close() })
	g.Expect(reporting.Get(ctx, "t:{oldham}:referral:1").Val()).To(Equal("x"))
	g.Expect(reporting.Set(ctx, "t:{oldham}:referral:1", "y", 0).Err()).To(MatchError(ContainSubstring("NOPERM")), "reporting writes only aggregates")
	g.Expect(reporting.Set(ctx, "t:{oldham}:agg:day:2026-11-23", "1", 0).Err()).To(Succeed())

	wrong := srv.Client("referral", "not-the-password")
	t.Cleanup(func() { wrong.Close() })
	g.Expect(wrong.Ping(ctx).Err()).To(MatchError(ContainSubstring("WRONGPASS")))
	anonymous := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { anonymous.Close() })
	g.Expect(anonymous.Get(ctx, "t:{oldham}:referral:1").Err()).To(MatchError(ContainSubstring("NOAUTH")))
}

func TestACLFileHoldsNoPlaintextPassword(t *testing.T) {
	g := NewWithT(t)
	srv := testenv.Redis(t, redisserver.Options{Users: []redisserver.User{
		{Name: "housing", Password: "housing-plaintext-secret", Rules: []string{"~t:{kirklees}:*", "+@all"}},
	}})
	acl, err := os.ReadFile(filepath.Join(srv.Dir(), "users.acl"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(acl)).NotTo(ContainSubstring("housing-plaintext-secret"))
	g.Expect(string(acl)).NotTo(ContainSubstring(srv.AdminPassword()))
	info, err := os.Stat(filepath.Join(srv.Dir(), "users.acl"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
}

func TestInvalidOptionsAreRefusedWithEveryReason(t *testing.T) {
	_, err := redisserver.Start(context.Background(), redisserver.Options{
		AppendFsync: "never",
		Users: []redisserver.User{
			{Name: "default", Password: "x"},
			{Name: "has space", Password: ""},
			{Name: "ok", Password: "p", Rules: []string{"+@all ~*"}},
		},
	})
	if err == nil {
		t.Fatal("Start accepted invalid options")
	}
	for _, want := range []string{"path is required", "data dir is required", `appendfsync "never"`, `"default"`, `"has space"`, "has no password", "one non-empty word"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestDetachedServerIsAdoptedNotDuplicated(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	opts := redisserver.Options{Path: "/usr/bin/redis-server", Dir: t.TempDir(), AdminPassword: "operator-secret", Detached: true}
	first, err := redisserver.Start(ctx, opts)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = first.Kill() })
	client := first.AdminClient()
	t.Cleanup(func() { client.Close() })
	g.Expect(client.Set(ctx, "t:{camden}:unit:1", "available", 0).Err()).To(Succeed())

	// A supervisor restarting finds the server its predecessor left running.
	second, err := redisserver.Start(ctx, opts)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = second.Kill() })
	g.Expect(second.Pid()).To(Equal(first.Pid()))
	g.Expect(second.Addr()).To(Equal(first.Addr()))

	g.Expect(second.Kill()).To(Succeed())
	third, err := redisserver.Start(ctx, opts)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = third.Kill() })
	g.Expect(third.Pid()).NotTo(Equal(first.Pid()), "a dead server is started again, not adopted")
	c3 := third.AdminClient()
	t.Cleanup(func() { c3.Close() })
	g.Expect(c3.Get(ctx, "t:{camden}:unit:1").Val()).To(Equal("available"))
}
