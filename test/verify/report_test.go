package verify

// This file: docs/security.md is this suite's output. Every check below names the test that holds
// it; `make verify` runs them all and writes the page with each one's result and the date, and a
// failing check fails the run. The page is written only when every check ran.

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// check is one claim the suite proves.
type check struct {
	name, proves, test string
}

// checks are this package's, in the order the page lists them.
var checks = []check{
	{"API isolation matrix", "every authenticated route of the referral, housing and reporting services, read from their OpenAPI descriptions (51 routes), called with no credential, a garbage token, an expired session (cached a moment before), a session of another partnership's Kratos, an identity of another partnership in this Kratos, an identity with no role, and each of the six roles: refusals are 401/403 problem bodies exactly where the description's `x-homeward-permissions` and the role table say, roles let in are never refused, and no answer to a caller without the right to read referrals carries the seeded person's name, NHS number or address; then with Kratos down, an unchecked session gets 503 on every route and no credential still 401, and when Kratos returns the same session is let in without restarting any service", "TestEveryRouteAnswersEveryCredentialByTheRoleTable"},
	{"no self-granted roles", "a signed-in coordinator submits its own Kratos settings flow with a partnership-admin role beside the traits (accepted: only the name changes — the control) and inside the traits (refused by the identity schema): its `metadata_public`, where roles live, is unchanged in the admin API and in its session", "TestStaffCannotGrantThemselvesARoleThroughSelfService"},
	{"Redis ACL matrix", "each service's ACL user (referral, housing, reporting, portal) with the operator's rules, two tenants in one Redis: no `KEYS`, `SCAN`, `RANDOMKEY`, `FLUSHALL`, `FLUSHDB`, `CONFIG`, `DEBUG`, `MODULE`, `ACL`, `SCRIPT FLUSH`/`KILL`, `FUNCTION`, `SHUTDOWN`; no read or write of another tenant's records or audit; nobody deletes, unlinks, trims, renames or removes entries of an audit stream; reporting writes no record or audit; the portal reads no record — and each may do its own work (the control)", "TestRedisACLUsersCannotLeaveTheirLane"},
	{"support-user matrix", "as a member of a tenant's support group (impersonated), 8 verbs × 26 namespaced resources in its own and another tenant's namespace and 10 cluster-scoped resources (496 asks, `SelfSubjectAccessReview`): exactly the 21 reads its Role grants — nothing in another tenant (MTB-PL1 block multitenant resources), nothing cluster-wide (block access to cluster resources), no change to quota, limits, policies or bindings (block modification of resource quotas)", "TestSupportUserCanDoOnlyWhatItsRoleGrants"},
	{"host and privilege vectors", "in a tenant namespace, even as a user RBAC lets do anything, server-side dry runs of pods with a hostPath volume, hostNetwork, a hostPort, hostPID, hostIPC, privileged, privilege escalation, added capabilities or running as root are refused by Pod Security `restricted`, and NodePort and LoadBalancer Services by the quota; a restricted pod is admitted (the control); each row is the MTB-PL1 check of that name", "TestTenantNamespacesRefuseHostAndPrivilegeVectors"},
	{"Redis killed under load", "redis-server SIGKILLed while 200 clients create referrals, and again while 200 book placements, each retrying a 503 with the same Idempotency-Key, with `appendfsync always`: every 2xx reads back after the restart; Redis holds exactly the acknowledged referrals and placements (none twice); records, every index, the received/booked events and the audit trails agree, walked in full; no unit's bookings overlap; answers during the outage are 503 `unavailable` (or `unit-busy`) with Retry-After, never 500", "TestAcknowledgedWritesSurviveRedisKilledUnderLoad"},
	{"disk full", "Redis on a 32 MB tmpfs filled up: creates are refused with 503 and Retry-After (Redis stops rather than acknowledge what it cannot append); when space returns and Redis restarts, every acknowledged create reads back, the refused ones retried with their keys are made once, and records, indexes, events and audit agree — nothing half-written", "TestRedisOnAFullDiskRefusesWritesAndRecovers"},
	{"operator killed mid-provision", "`homeward-operator` SIGKILLed four times while it provisions 20 partnerships on the local runtime (at 2, 6, 10 and 14 Ready), then started again: all 20 Ready, each with one redis-server and one kratos process, one identity and one invitation Secret per admin, and the same objects as every other tenant", "TestOperatorKilledMidProvisionConvergesWithoutDuplicates"},
	{"ingester killed mid-ingest", "`homeward reporting` SIGKILLed three times as it ingests a year of a partnership's events (imported through the APIs) and restarted: its year and monthly reports, JSON and CSV, and every aggregate counter are byte for byte those of a reporting service that ingested the same stream without a break", "TestReportingKilledMidIngestReportsLikeAnUninterruptedRun"},
	{"random manifests", "120 random Partnership manifests (a valid one with one to three fields given odd values or the wrong type) sent to the real API server with the operator running: each is accepted or refused as a client error (422/400), never a 500; every accepted one is reconciled to a Ready condition that is not a failure to make its objects", "TestRandomPartnershipManifestsAreRefusedOrReconciled"},
	{"HTTP edge", "against `homeward referral` as it runs: a 2 MB body (plain or chunked) 413, a 64 KB header 431, malformed or conflicting transfer codings 400/501, a missing Host 400, climbing, encoded-slash and NUL ids 404, a dot-dot path a redirect to its clean form, a slowloris client cut at the 10 s header timeout, 10,000 idle connections held while a list still answers, with bounded memory, and released at the header timeout; no 5xx served", "TestTheHTTPEdgeAnswers4xxAndStaysBounded"},
}

// elsewhere are the checks other packages hold on every `make test`; a failure there fails the suite.
var elsewhere = []check{
	{"admission policies", "in tenant namespaces only the operator may change NetworkPolicies, Roles, RoleBindings, ResourceQuotas and LimitRanges; no Service may set `externalIPs` (CVE-2020-8554); deletes only by the operator, the namespace and garbage-collector controllers, or in a namespace being deleted", "`config` TestTenantAdmissionPolicies"},
	{"manifest rules", "every field's bounds and cross-field rules of the Partnership API, including the Redis volume's size and storage class found by the random manifests", "`api/v1alpha1` TestPartnershipValidation"},
	{"network policies on real pods", "one tenant's pods cannot open a TCP connection to another's Redis or services; a pod without the right labels cannot reach its own tenant's Redis; only the ingress controller's namespace reaches a portal; with the policies removed the same probe opens (the control)", "`test/e2e` TestHomewardOnARealNode"},
	{"Pod Security on a real kubelet", "every Homeward pod runs admitted under `restricted`, read-only root filesystem, no privilege escalation", "`test/e2e`"},
	{"files on disk", "Redis' and Kratos' folders and every file in them are 0700/0600 after a kill -9 and restart (they run with umask 077)", "`internal/redisserver`, `internal/kratosserver` kill -9 tests"},
	{"secrets kept out of sight (local runtime)", "with a local tenant running, none of its generated secrets (raw or base64) is in its processes' arguments or environment, a log under its folder, any event, or the Partnership's status; every file under its folder is 0600/0700", "`controllers` TestLocalRuntime"},
	{"secrets kept out of sight (real pods)", "with two tenants running on a real kubelet, none of their generated keys or invitation links (raw or base64) is in any pod's spec, any container's log, any event or any Partnership", "`test/e2e` TestHomewardOnARealNode"},
	{"personal fields at rest", "a referral's name, date of birth, NHS number, address, postcode and phone appear nowhere in the tenant's raw Redis keys", "`services/referral` sealed-at-rest test; `services/kit/pii`"},
	{"fuzzing", "every JSON decoder (the kit's, referral's and housing's requests), the NHS number, date and money parsers, the working-day calculator and the CSV reader: bad input is a 4xx or a named error, what is accepted keeps every rule and reads back as itself; 8 s each from the committed corpora (`make fuzz`)", "`make fuzz` (`FUZZ_TARGETS` in the Makefile)"},
	{"load", "64 clients on three tenants for 60 s (10 minutes in `make soak`): 0 errors, each call's p99 within its budget, every service process's memory and goroutines flat after warm-up ([last soak run](soak/soak.md))", "`test/soak` TestMixedLoadNeitherFailsNorGrows"},
}

// results are the outcomes of this run's checks, by test name.
type results struct {
	mu     sync.Mutex
	failed map[string]bool
}

var outcomes = results{failed: map[string]bool{}}

// record notes the test's outcome when it ends, for the page.
func record(t *testing.T) {
	t.Cleanup(func() {
		outcomes.mu.Lock()
		defer outcomes.mu.Unlock()
		outcomes.failed[t.Name()] = t.Failed()
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if path := os.Getenv("HOMEWARD_SECURITY_DOC"); path != "" {
		if err := writeSecurityDoc(path); err != nil {
			fmt.Fprintln(os.Stderr, "docs/security.md:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func writeSecurityDoc(path string) error {
	outcomes.mu.Lock()
	defer outcomes.mu.Unlock()
	var missing []string
	for _, c := range checks {
		if _, ran := outcomes.failed[c.test]; !ran {
			missing = append(missing, c.test)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not written: %s did not run", strings.Join(missing, ", "))
	}
	return os.WriteFile(path, []byte(securityDoc(time.Now().UTC(), outcomes.failed)), 0o644)
}

// securityDoc renders the page.
func securityDoc(at time.Time, failed map[string]bool) string {
	var b strings.Builder
	b.WriteString(`# Security: what the tests prove

<!-- Generated by make verify (test/verify/report_test.go); edit the checks there, not here. -->

Partnerships trust Homeward with the health and housing records of people at their most vulnerable. This page
lists what is attacked on every run of ` + "`make test`" + ` (and by ` + "`make verify`" + `, which wrote this page), what each check
proves, and which test holds it. A failing check fails the suite.

## Threat model (short)
| asset | who might want it or harm it | boundary | checks |
|---|---|---|---|
| personal and health records, audit trails (Redis) | another tenant's staff or code; a member of staff without the role; a compromised service; someone on the machine | sessions checked with the tenant's Kratos and the role table on every route; tenant namespace and Redis ACL user; NetworkPolicies; disk | API isolation matrix, Redis ACL matrix, network policies on real pods, files on disk, personal fields at rest |
| identities and sessions (Kratos) | another tenant; a staff member raising their own role; an expired or stolen session | Kratos per tenant; ` + "`metadata_public`" + ` only through the admin API; the session cache bounded by the session's life | API isolation matrix, no self-granted roles |
| what was recorded (durability) | a crash, a full disk, an operator or ingester killed mid-work | ` + "`appendfsync always`" + `; one atomic script per change; idempotent creates; the ingester's atomic batches | Redis killed under load, disk full, operator killed mid-provision, ingester killed mid-ingest |
| the service's availability | malformed, oversized or slow requests; connection floods; bad manifests | server timeouts and limits; body limits; CRD schema and CEL | HTTP edge, fuzzing, random manifests, load |
| the tenant's isolation itself (policies, quota, RBAC) | anyone able to write in a tenant namespace; a tenant's support user | admission policies, RBAC, Pod Security ` + "`restricted`" + `, quota | support-user matrix, host and privilege vectors, admission policies |
| the node and the cluster | tenant workloads | Pod Security ` + "`restricted`" + `, quota (no NodePorts or load balancers) | host and privilege vectors, real-node end-to-end tests |

`)
	fmt.Fprintf(&b, "## Checks run by `make verify` (%s)\n| check | what it proves | result | test |\n|---|---|---|---|\n", at.Format("2 January 2006, 15:04 UTC"))
	for _, c := range checks {
		result := "**passed**"
		if failed[c.test] {
			result = "**FAILED**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | `test/verify` %s |\n", c.name, c.proves, result, c.test)
	}
	b.WriteString("\n## Also on every `make test`\nHeld by other packages; any failure fails the suite (and CI).\n\n| check | what it proves | test |\n|---|---|---|\n")
	for _, c := range elsewhere {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.name, c.proves, c.test)
	}
	b.WriteString(`
## What the checks found, and what changed
- every service's Redis user could ` + "`SCRIPT FLUSH`" + ` and use ` + "`FUNCTION`" + ` (neither is in ` + "`@dangerous`" + `): the rules now deny both;
- Redis made its files 0644 and SQLite ` + "`kratos.db`" + ` 0644: both now start with umask 077;
- the Partnership API accepted a Redis volume the cluster could never claim (a storage class that is not a DNS subdomain, a size of zero or less): the CRD now refuses both;
- an operator killed while a tenant's Kratos (or Redis, or a service) was starting left it running unrecorded: its successor started a second server on the same data, and two admins' identities were made twice. Process records are now written as soon as a server runs, so a successor adopts or stops it; and since a kill between the start and the record still left one unrecorded (about once in many CI runs), a detached server is started only after any process of the same program working in its folder is stopped;
- a booking had no Idempotency-Key, so a retry after a 503 whose booking Redis had applied was refused as clashing with itself: bookings now take one, looked up before the clash check;
- the admission policy refused the namespace controller's deletes in a terminating tenant namespace (real pods): deletes are allowed in a namespace being deleted.

## Not yet proved here
The isolation matrix for the portal's pages (it has no OpenAPI description; its role tests are ` + "`services/portal`" + ` TestEveryRoleOnEveryPage) is still to be written.
`)
	return b.String()
}

// TestTheSecurityPageListsEveryCheck holds the committed page to this file: every check here is on it.
func TestTheSecurityPageListsEveryCheck(t *testing.T) {
	page, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append(slices.Clone(checks), elsewhere...) {
		if !strings.Contains(string(page), "| "+c.name+" | "+c.proves+" |") {
			t.Errorf("docs/security.md does not list %q as written here: run make verify", c.name)
		}
	}
}
