package keyspace

import (
	"slices"
	"strings"
	"testing"
)

func TestKeysStayInTheTenant(t *testing.T) {
	k := For("oldham")
	for _, key := range []string{k.Events(), k.Audit("referral", "X"), k.Referral("X"), k.ReferralIndex("status", "received"),
		k.AllReferrals(), k.ResponseDue(), k.ActionsDue(), k.FollowUpsDue(), k.ClosedReferrals(), k.NHSNumber("h"), k.Idempotency("me", "k"),
		k.ClosureDays(), k.SweeperLock()} {
		if !strings.HasPrefix(key, "t:{oldham}:") {
			t.Errorf("%q is outside the tenant's hash tag", key)
		}
	}
	if got := k.ReferralIndex("status", "received"); got != "t:{oldham}:ix:referral:status:received" {
		t.Errorf("index key %q", got)
	}
}

func TestACLRules(t *testing.T) {
	k := For("oldham")
	referral := k.ACLRules(ServiceReferral)
	if !slices.Contains(referral, "(~t:{oldham}:audit:* +xadd)") || !slices.Contains(referral, "%R~t:{oldham}:audit:*") {
		t.Errorf("audit streams are not append-only for the referral user: %v", referral)
	}
	for _, r := range referral {
		if r == "~t:{oldham}:*" || r == "~*" {
			t.Errorf("referral user may write every key: %v", referral)
		}
	}
	if got := k.ACLRules("unknown"); !slices.Equal(got, []string{"-@all"}) {
		t.Errorf("unknown service gets %v", got)
	}
}
