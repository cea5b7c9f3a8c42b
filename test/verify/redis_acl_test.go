// Package verify attacks the platform as a whole, the way an information-governance lead or a
// penetration tester would, and says what it proved. This file: every service's Redis ACL user, with
// the rules the operator gives it, against a real redis-server holding two tenants.
package verify

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/controllers"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
)

// refused says whether Redis refused a command for its permissions: the ACL (NOPERM), or for
// DEBUG the server's own switch, which answers before the ACL does.
func refused(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "NOPERM") || strings.Contains(err.Error(), "DEBUG command not allowed"))
}

// attempt is one command a user tries, and whether Redis must let it through.
type attempt struct {
	what    string
	args    []any
	allowed bool
}

func TestRedisACLUsersCannotLeaveTheirLane(t *testing.T) {
	record(t)
	ctx := context.Background()
	keys := func(tenant string) controllers.Keys {
		k := controllers.Keys{RedisUsers: map[string]string{}}
		for _, c := range controllers.ServiceComponents {
			k.RedisUsers[c] = tenant + "-" + c + "-secret-long-enough"
		}
		return k
	}
	// Both tenants' users in one Redis: the strongest form of the test (in production each tenant
	// has its own Redis, so a second tenant's keys are not even there).
	users := append(controllers.RedisUsers("oldham", keys("oldham")), controllers.RedisUsers("kirklees", keys("kirklees"))...)
	for i := range users[len(users)/2:] {
		users[len(users)/2+i].Name = "kirklees-" + users[len(users)/2+i].Name
	}
	srv := testenv.Redis(t, redisserver.Options{Users: users})
	admin := srv.AdminClient()
	t.Cleanup(func() { admin.Close() })

	a, b := keyspace.For("oldham"), keyspace.For("kirklees")
	referralAudit := a.Audit("referral", "r1")
	identityAudit := a.Audit(keyspace.AuditIdentity, "staff-1")
	for _, key := range []string{referralAudit, identityAudit, b.Audit("referral", "r1")} {
		if err := admin.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"action", "seed"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{a.Referral("r1"), b.Referral("r1")} {
		if err := admin.HSet(ctx, key, "status", "received").Err(); err != nil {
			t.Fatal(err)
		}
	}

	// What no service user may do, whoever it is.
	forbiddenToAll := []attempt{
		{"KEYS (walks every key)", []any{"KEYS", "*"}, false},
		{"SCAN (walks every key)", []any{"SCAN", "0"}, false},
		{"RANDOMKEY", []any{"RANDOMKEY"}, false},
		{"FLUSHALL", []any{"FLUSHALL"}, false},
		{"FLUSHDB", []any{"FLUSHDB"}, false},
		{"CONFIG GET", []any{"CONFIG", "GET", "*"}, false},
		{"CONFIG SET appendonly no", []any{"CONFIG", "SET", "appendonly", "no"}, false},
		{"DEBUG (refused by the server's configuration before the ACL)", []any{"DEBUG", "SLEEP", "0"}, false},
		{"MODULE LIST", []any{"MODULE", "LIST"}, false},
		{"ACL LIST", []any{"ACL", "LIST"}, false},
		{"ACL SETUSER", []any{"ACL", "SETUSER", "mallory", "on", ">pw", "+@all", "~*"}, false},
		{"SCRIPT FLUSH", []any{"SCRIPT", "FLUSH"}, false},
		{"SCRIPT KILL", []any{"SCRIPT", "KILL"}, false},
		{"FUNCTION LOAD (install code)", []any{"FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('x', function() return 1 end)"}, false},
		{"FUNCTION FLUSH", []any{"FUNCTION", "FLUSH"}, false},
		{"SHUTDOWN", []any{"SHUTDOWN", "NOSAVE"}, false},
		{"another tenant's record", []any{"HGETALL", b.Referral("r1")}, false},
		{"write another tenant's record", []any{"HSET", b.Referral("r1"), "status", "closed"}, false},
		{"another tenant's audit", []any{"XRANGE", b.Audit("referral", "r1"), "-", "+"}, false},
		{"delete an audit stream", []any{"DEL", referralAudit}, false},
		{"unlink an audit stream", []any{"UNLINK", identityAudit}, false},
		{"trim an audit stream", []any{"XTRIM", referralAudit, "MAXLEN", "0"}, false},
		{"delete an audit entry", []any{"XDEL", identityAudit, "0-1"}, false},
		{"rename an audit stream away", []any{"RENAME", referralAudit, a.Prefix() + "gone"}, false},
	}
	lanes := map[string][]attempt{
		controllers.ComponentReferral: {
			{"read and write its records", []any{"HSET", a.Referral("r2"), "status", "received"}, true},
			{"append to a record's audit", []any{"XADD", referralAudit, "*", "action", "read"}, true},
			{"read a record's audit", []any{"XRANGE", referralAudit, "-", "+"}, true},
		},
		controllers.ComponentHousing: {
			{"write a unit", []any{"HSET", a.Unit("u1"), "state", "available"}, true},
			{"append to an audit", []any{"XADD", referralAudit, "*", "action", "read"}, true},
		},
		controllers.ComponentReporting: {
			{"read a record", []any{"HGETALL", a.Referral("r1")}, true},
			{"write an aggregate", []any{"SET", a.Prefix() + "agg:check", "1"}, true},
			{"write a record", []any{"HSET", a.Referral("r1"), "status", "closed"}, false},
			{"append to an audit", []any{"XADD", referralAudit, "*", "action", "forged"}, false},
		},
		controllers.ComponentPortal: {
			{"write its own keys", []any{"SET", a.Prefix() + "portal:check", "1"}, true},
			{"append to a staff member's audit", []any{"XADD", identityAudit, "*", "action", "role-changed"}, true},
			{"read a record", []any{"HGETALL", a.Referral("r1")}, false},
			{"append to a record's audit", []any{"XADD", referralAudit, "*", "action", "forged"}, false},
		},
	}
	for _, component := range controllers.ServiceComponents {
		client := srv.Client(component, keys("oldham").RedisUsers[component])
		t.Cleanup(func() { client.Close() })
		for _, at := range append(lanes[component], forbiddenToAll...) {
			t.Run(component+": "+at.what, func(t *testing.T) {
				err := client.Do(ctx, at.args...).Err()
				if err == redis.Nil {
					err = nil
				}
				switch {
				case at.allowed && err != nil:
					t.Errorf("%v: refused: %v", at.args, err)
				case !at.allowed && !refused(err):
					t.Errorf("%v: want NOPERM, got %v", at.args, err)
				}
			})
		}
	}
	// Nothing above removed or shortened an audit stream, whoever tried.
	for _, key := range []string{referralAudit, identityAudit} {
		if n := admin.XLen(ctx, key).Val(); n < 1 {
			t.Errorf("%s has %d entries after the attempts", key, n)
		}
	}
	if admin.HGet(ctx, b.Referral("r1"), "status").Val() != "received" {
		t.Error("another tenant's record was changed")
	}
}
