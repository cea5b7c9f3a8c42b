// Package keyspace is the one place that knows Redis key names. Every key of a tenant starts with
// the hash tag t:{<tenant>}:, which keeps a tenant's keys in one cluster slot (so its scripts are
// atomic) and lets each service's ACL user reach only its own tenant.
package keyspace

import "strings"

// Tenant names the keys of one tenant.
type Tenant struct{ prefix string }

// For returns the key names of a tenant.
func For(tenant string) Tenant { return Tenant{prefix: "t:{" + tenant + "}:"} }

// Prefix is what every key of the tenant starts with.
func (t Tenant) Prefix() string { return t.prefix }

func (t Tenant) key(parts ...string) string {
	// Key names are built on every request: one allocation, no intermediate strings.
	n := len(t.prefix) + len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(t.prefix)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Events is the tenant's domain-event stream, read by the reporting service.
func (t Tenant) Events() string { return t.key("events") }

// AuditIdentity is the audit kind of staff identities, whose changes the portal records.
const AuditIdentity = "identity"

// Audit is the append-only audit stream of one record.
func (t Tenant) Audit(kind, id string) string { return t.key("audit", kind, id) }

// Referral is the hash holding one referral.
func (t Tenant) Referral(id string) string { return t.key("referral", id) }

// The referral filter indexes are sorted sets of referral ids whose members all score 0 and sort by
// id, which is creation order.

// ReferralsByStatus indexes the referrals in a status.
func (t Tenant) ReferralsByStatus(status string) string { return t.referralIndex("status", status) }

// ReferralsByPriority indexes the referrals of a priority.
func (t Tenant) ReferralsByPriority(priority string) string {
	return t.referralIndex("priority", priority)
}

// ReferralsByNeed indexes the referrals with a housing need.
func (t Tenant) ReferralsByNeed(need string) string { return t.referralIndex("need", need) }

// ReferralsByKeyWorker indexes the referrals a staff identity is key worker for.
func (t Tenant) ReferralsByKeyWorker(identity string) string {
	return t.referralIndex("key-worker", identity)
}

// ReferralsCreatedBy indexes the referrals a staff identity made.
func (t Tenant) ReferralsCreatedBy(identity string) string {
	return t.referralIndex("created-by", identity)
}

func (t Tenant) referralIndex(filter, value string) string {
	return t.key("ix", "referral", filter, value)
}

// AllReferrals indexes every referral.
func (t Tenant) AllReferrals() string { return t.key("ix", "referral", "all") }

// ResponseDue scores referrals awaiting first contact by their response deadline (Unix ms).
func (t Tenant) ResponseDue() string { return t.key("ix", "referral", "response-due") }

// FollowUpsDue scores the follow-ups still to record ("<referral>/<days>") by their due day (Unix ms of
// its London midnight).
func (t Tenant) FollowUpsDue() string { return t.key("ix", "referral", "follow-ups-due") }

// ActionsDue scores open actions ("<referral>/<action>") by due time (Unix ms).
func (t Tenant) ActionsDue() string { return t.key("ix", "referral", "actions-due") }

// ClosedReferrals scores closed, declined and withdrawn referrals by closing time (Unix ms), for
// the retention sweeper.
func (t Tenant) ClosedReferrals() string { return t.key("ix", "referral", "closed") }

// NHSNumber is the set of referral ids for one keyed hash of an NHS number.
func (t Tenant) NHSNumber(hash string) string { return t.key("ix", "nhs", hash) }

// Unit is the hash holding one step-down unit.
func (t Tenant) Unit(id string) string { return t.key("housing", "unit", id) }

// Placement is the hash holding one placement (a person's stay in a unit).
func (t Tenant) Placement(id string) string { return t.key("housing", "placement", id) }

// RehousingCase is the hash holding one permanent-move case.
func (t Tenant) RehousingCase(id string) string { return t.key("housing", "rehousing", id) }

// RehousingOpen holds the id of a referral's open rehousing case: one at a time.
func (t Tenant) RehousingOpen(referral string) string {
	return t.key("housing", "rehousing-open", referral)
}

// Units indexes every unit, by id.
func (t Tenant) Units() string { return t.housingIndex("unit", "all") }

// Placements indexes every placement, by id.
func (t Tenant) Placements() string { return t.housingIndex("placement", "all") }

// PlacementsByStatus indexes the placements in a status, by id.
func (t Tenant) PlacementsByStatus(status string) string {
	return t.housingIndex("placement", "status", status)
}

// PlacementsOfReferral indexes a referral's placements, by id.
func (t Tenant) PlacementsOfReferral(referral string) string {
	return t.housingIndex("placement", "referral", referral)
}

// PlacementsInUnit scores a unit's placements by their arrival day (occupancy).
func (t Tenant) PlacementsInUnit(unit string) string {
	return t.housingIndex("placement", "unit", unit)
}

// StaysUnderWay scores the stays under way by their planned departure day (over-stays).
func (t Tenant) StaysUnderWay() string { return t.housingIndex("placement", "in-unit") }

// ClaimsPending scores the stays in eligible units with no housing-benefit claim by arrival day.
func (t Tenant) ClaimsPending() string { return t.housingIndex("placement", "claim-pending") }

// RehousingCases indexes every rehousing case, by id.
func (t Tenant) RehousingCases() string { return t.housingIndex("rehousing", "all") }

// RehousingCasesByStatus indexes the rehousing cases in a status, by id.
func (t Tenant) RehousingCasesByStatus(status string) string {
	return t.housingIndex("rehousing", "status", status)
}

// RehousingCasesOfReferral indexes a referral's rehousing cases, by id.
func (t Tenant) RehousingCasesOfReferral(referral string) string {
	return t.housingIndex("rehousing", "referral", referral)
}

func (t Tenant) housingIndex(parts ...string) string {
	return t.key(append([]string{"ix", "housing"}, parts...)...)
}

// PortalDraft holds a person's half-written form of a kind (sealed, expiring); the portal's only keys.
func (t Tenant) PortalDraft(identity, form string) string {
	return t.key("portal", "draft", form, identity)
}

// Aggregate keys: the reporting service's own, each generation's under agg:g<n>: so a rebuild
// builds beside the live figures and switches in one write.

// AggGeneration names the generation reports read.
func (t Tenant) AggGeneration() string { return t.key("agg", "gen") }

// AggPrefix starts every key of one aggregate generation.
func (t Tenant) AggPrefix(gen string) string { return t.key("agg", "g"+gen) + ":" }

// AggDay is one day's counters in a generation.
func (t Tenant) AggDay(gen, day string) string { return t.AggPrefix(gen) + "d:" + day }

// AggMonth is one calendar month's counters in a generation (month as YYYY-MM): the sum of its days.
func (t Tenant) AggMonth(gen, month string) string { return t.AggPrefix(gen) + "m:" + month }

// AggLive holds a generation's stays, void and closed spells and units under way.
func (t Tenant) AggLive(gen string) string { return t.AggPrefix(gen) + "live" }

// AggState holds a generation's last applied event id and event count.
func (t Tenant) AggState(gen string) string { return t.AggPrefix(gen) + "state" }

// AggKeys is the set of a generation's day keys, so a generation can be deleted without SCAN.
func (t Tenant) AggKeys(gen string) string { return t.AggPrefix(gen) + "keys" }

// AggVersions counts, per day or month key of a generation, the batches that changed it, so a
// reader that kept a hash knows whether to read it again.
func (t Tenant) AggVersions(gen string) string { return t.AggPrefix(gen) + "versions" }

// AggIngestLock is held by the reporting replica that ingests events.
func (t Tenant) AggIngestLock() string { return t.key("agg", "lock", "ingest") }

// AggRebuildRequest asks the ingesting replica to rebuild the aggregates.
func (t Tenant) AggRebuildRequest() string { return t.key("agg", "rebuild") }

// Idempotency remembers one Idempotency-Key of one caller.
func (t Tenant) Idempotency(scope, key string) string { return t.key("idem", scope, key) }

// Kinds of imported record, each with its own import keys.
const (
	ImportedReferral  = "referral"
	ImportedUnit      = "unit"
	ImportedPlacement = "placement"
	ImportedRehousing = "rehousing"
	ImportedVoid      = "void"
)

// Imported holds the id of the record of a kind imported with an import key: it makes an import
// idempotent, and lets a later file name the record by the old system's key.
func (t Tenant) Imported(kind, key string) string { return t.Idempotency("import", kind+":"+key) }

// AuthChanges is the Pub/Sub channel on which the portal names identities whose state or roles
// changed, so every process drops its cached answer for them.
func (t Tenant) AuthChanges() string { return t.key("auth", "changes") }

// ClosureDays is the set of days (YYYY-MM-DD) the tenant declared closed.
func (t Tenant) ClosureDays() string { return t.key("calendar", "closures") }

// SweeperLock is held by the replica running the retention sweep.
func (t Tenant) SweeperLock() string { return t.key("lock", "retention") }

// Services with a Redis ACL user.
const (
	ServiceReferral  = "referral"
	ServiceHousing   = "housing"
	ServiceReporting = "reporting"
	ServicePortal    = "portal"
)

// recordPrefixes are the key families the record-keeping services read and write freely.
var recordPrefixes = []string{"referral:", "housing:", "ix:", "idem:", "calendar:", "lock:", "events"}

// ACLRules are the Redis ACL rules of a service's user. Each user reaches only its tenant's keys.
// Audit streams are append-only: the record-keeping services may read them and XADD to them
// (through a selector), but no rule lets any service user delete, trim or rewrite them. The
// reporting service reads records and writes only its aggregates and its consumer group.
func (t Tenant) ACLRules(service string) []string {
	// SCRIPT FLUSH and KILL and the FUNCTION commands are not in @dangerous, yet each reaches every
	// tenant's scripts or installs code in the server: no service needs them (scripts load themselves).
	common := []string{"+@all", "-@dangerous", "-scan", "-randomkey", "-script|flush", "-script|kill", "-function"}
	audit := t.prefix + "audit:*"
	switch service {
	case ServiceReferral, ServiceHousing:
		rules := []string{"&" + t.prefix + "*", "%R~" + audit}
		for _, p := range recordPrefixes {
			rules = append(rules, "~"+t.prefix+p+"*")
		}
		return append(append(rules, common...), "(~"+audit+" +xadd)")
	case ServiceReporting:
		return append([]string{"%R~" + t.prefix + "*", "%RW~" + t.prefix + "agg:*", "%RW~" + t.prefix + "events*", "&" + t.AuthChanges()}, common...)
	case ServicePortal:
		// The portal records the partnership admin's changes to staff identities in their audit
		// streams, which it may read and append to, never trim or delete.
		identityAudit := t.Audit(AuditIdentity, "*")
		return append([]string{"~" + t.prefix + "portal:*", "%R~" + identityAudit, "&" + t.AuthChanges()}, append(common, "(~"+identityAudit+" +xadd)")...)
	}
	return []string{"-@all"}
}
