package keyspace

import (
	"slices"
	"strings"
	"testing"
)

func TestKeysStayInTheTenant(t *testing.T) {
	k := For("oldham")
	for _, key := range []string{k.Events(), k.Audit("referral", "X"), k.Referral("X"), k.ReferralsByStatus("received"), k.PlacementsInUnit("U"), k.RehousingCasesOfReferral("R"),
		k.AllReferrals(), k.ResponseDue(), k.ActionsDue(), k.FollowUpsDue(), k.ClosedReferrals(), k.NHSNumber("h"), k.Idempotency("me", "k"),
		k.ClosureDays(), k.SweeperLock()} {
		if !strings.HasPrefix(key, "t:{oldham}:") {
			t.Errorf("%q is outside the tenant's hash tag", key)
		}
	}
	// The names are the stored data's: they never change.
	for got, want := range map[string]string{
		k.ReferralsByStatus("received"): "t:{oldham}:ix:referral:status:received", k.ReferralsByKeyWorker("I"): "t:{oldham}:ix:referral:key-worker:I",
		k.ReferralsCreatedBy("I"): "t:{oldham}:ix:referral:created-by:I", k.ReferralsByNeed("repairs"): "t:{oldham}:ix:referral:need:repairs",
		k.ReferralsByPriority("urgent"): "t:{oldham}:ix:referral:priority:urgent", k.Units(): "t:{oldham}:ix:housing:unit:all",
		k.Placements(): "t:{oldham}:ix:housing:placement:all", k.PlacementsByStatus("arrived"): "t:{oldham}:ix:housing:placement:status:arrived",
		k.PlacementsOfReferral("R"): "t:{oldham}:ix:housing:placement:referral:R", k.PlacementsInUnit("U"): "t:{oldham}:ix:housing:placement:unit:U",
		k.StaysUnderWay(): "t:{oldham}:ix:housing:placement:in-unit", k.ClaimsPending(): "t:{oldham}:ix:housing:placement:claim-pending",
		k.RehousingCases(): "t:{oldham}:ix:housing:rehousing:all", k.RehousingCasesByStatus("open"): "t:{oldham}:ix:housing:rehousing:status:open",
		k.RehousingCasesOfReferral("R"): "t:{oldham}:ix:housing:rehousing:referral:R",
	} {
		if got != want {
			t.Errorf("index key %q, want %q", got, want)
		}
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
	for _, service := range []string{ServiceReferral, ServiceHousing, ServiceReporting, ServicePortal} {
		for _, denied := range []string{"-@dangerous", "-scan", "-script|flush", "-function"} {
			if !slices.Contains(k.ACLRules(service), denied) {
				t.Errorf("%s's rules lack %s: %v", service, denied, k.ACLRules(service))
			}
		}
	}
	if got := k.ACLRules("unknown"); !slices.Equal(got, []string{"-@all"}) {
		t.Errorf("unknown service gets %v", got)
	}
}
