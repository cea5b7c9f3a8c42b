package main

import (
	bt "github.com/homeward-dev/homeward/internal/benchtable"
)

// suite is one benchmark function: where it is, how long it runs, and the rows it gives the table.
type suite struct {
	name  string
	pkg   string
	bench string
	// benchtime is -test.benchtime (default 1x); quickBenchtime the same for --quick, where the
	// benchmark also sees benchtable.QuickEnv and picks its small sizes.
	benchtime, quickBenchtime string
	// once: a capacity measurement run once even in the full table.
	once bool
	rows []bt.Row
	note string
}

func m(bench, unit string) bt.Metric { return bt.Metric{Bench: bench, Unit: unit} }

// suites are every benchmark make bench runs, in order. A row's metrics are named as the
// benchmark reports them; a renamed metric fails the run instead of leaving a gap.
func suites() []suite {
	const (
		referral  = "BenchmarkReferralAPI/"
		booking   = "BenchmarkBookingContention/"
		matching  = "BenchmarkMatching/"
		report    = "BenchmarkReport/"
		ingest    = "BenchmarkIngest/"
		provision = "BenchmarkProvision"
		national  = "BenchmarkNationalScale"
		portal    = "BenchmarkPortalPages"
		portal2   = "BenchmarkOutcomesAndCalendar"
	)
	return []suite{
		{
			name: "Referral service", pkg: "./services/referral/", bench: "^BenchmarkReferralAPI$", benchtime: "20000x", quickBenchtime: "2000x",
			rows: []bt.Row{
				{Name: "create: throughput, service ÷ bare handler", Figure: m(referral+"service/create", "req/s"), Baseline: m(referral+"bare/create", "req/s"), Target: bt.AtLeast(0.9), Unit: "req/s"},
				{Name: "create: p99, service ÷ bare handler", Figure: m(referral+"service/create", "p99-ms"), Baseline: m(referral+"bare/create", "p99-ms"), Target: bt.AtMost(1.3), Unit: "ms"},
				{Name: "get: throughput, service ÷ bare handler", Figure: m(referral+"service/get", "req/s"), Baseline: m(referral+"bare/get", "req/s"), Target: bt.AtLeast(0.9), Unit: "req/s"},
				{Name: "get: p99, service ÷ bare handler", Figure: m(referral+"service/get", "p99-ms"), Baseline: m(referral+"bare/get", "p99-ms"), Target: bt.AtMost(1.3), Unit: "ms"},
			},
			note: "32 clients on keep-alive connections; the bare handler is `net/http` + go-redis doing the same Redis work per request " +
				"(the same record, index, event and audit writes; the same audited read) with no authentication, validation, sealing, tracing or metrics.",
		},
		{
			name: "Housing: booking under contention", pkg: "./services/housing/", bench: "^BenchmarkBookingContention$", benchtime: "5000x", quickBenchtime: "1000x",
			rows: []bt.Row{
				{Name: "booking requests: throughput, service ÷ scripts driven directly", Figure: m(booking+"service", "req/s"), Baseline: m(booking+"direct", "req/s"), Target: bt.AtLeast(0.7), Unit: "req/s"},
				{Name: "booking requests: p99, service ÷ scripts driven directly", Figure: m(booking+"service", "p99-ms"), Baseline: m(booking+"direct", "p99-ms"), Target: bt.AtMost(1.5), Unit: "ms"},
			},
			note: "32 clients book random week-long stays in 50 units over a year; most meet a booked unit and are refused. The baseline drives the " +
				"service's own Redis work for a booking (read the referral's summary and the unit, check the clash, one atomic commit of placement, unit, " +
				"event and audit entry, retried on a unit version clash) from 32 goroutines with no HTTP, authentication, decoding or tracing.",
		},
		{
			name: "Housing: matching", pkg: "./services/housing/", bench: "^BenchmarkMatching$", benchtime: "300x", quickBenchtime: "50x",
			rows: []bt.Row{
				{Name: "matching 2,000 units: p99, service ÷ its Redis reads driven directly", Figure: m(matching+"service", "p99-ms"), Baseline: m(matching+"direct-reads", "p99-ms"), Unit: "ms"},
				{Name: "matching 2,000 units: p99, service ÷ ranking in process (no HTTP)", Figure: m(matching+"service", "p99-ms"), Baseline: m(matching+"in-process", "p99-ms"), Target: bt.AtMost(1.5), Unit: "ms"},
			},
			note: "One client; 2,000 units in 100 schemes, each with a stay under way and one booked ahead. The first baseline is the Redis work alone " +
				"(the pipelined read of every unit's version); matching is mostly ranking and encoding 345 KB of JSON, so that ratio is recorded, not held " +
				"to a target. The second is the same reads and ranking called in process, without HTTP, authentication or JSON encoding.",
		},
		{
			name: "Reporting", pkg: "./services/reporting/", bench: "^BenchmarkReport$", benchtime: "1000x", quickBenchtime: "50x",
			rows: []bt.Row{
				{Name: "year report p99: 100,000 referrals ÷ 1,000 (flatness)", Figure: m(report+"large/year", "p99-ms"), Baseline: m(report+"small/year", "p99-ms"), Target: bt.AtMost(1.5), Unit: "ms"},
				{Name: "mid-month year p99: 100,000 referrals ÷ 1,000 (flatness)", Figure: m(report+"large/mid-month-year", "p99-ms"), Baseline: m(report+"small/mid-month-year", "p99-ms"), Target: bt.AtMost(1.5), Unit: "ms"},
			},
			note: "One client asks 1,000 times for a year's report of a tenant with a year of history: 1,000 referrals (3,016 events) and 100,000 " +
				"(295,049 events; 10,000 with QUICK=1), each in its own tenant, in the same run, once Redis has finished rewriting its append-only file.",
		},
		{
			name: "Reporting: ingest", pkg: "./services/reporting/", bench: "^BenchmarkIngest$",
			rows: []bt.Row{
				{Name: "ingest at 2,000 events/s: events applied/s ÷ offered", Figure: m(ingest+"service", "events/s"), Baseline: m(ingest+"service", "offered-events/s"), Target: bt.AtLeast(0.98), Unit: "events/s"},
				{Name: "ingest lag p99 at 2,000 events/s: service ÷ a bare stream reader", Figure: m(ingest+"service", "lag-p99-ms"), Baseline: m(ingest+"bare-reader", "lag-p99-ms"), Target: bt.AtMost(3), Unit: "ms"},
			},
			note: "2,000 events a second (one XADD each, in ticks of 100 every 50 ms, as the services write them) for ten seconds; the age of the oldest " +
				"event not yet applied is sampled every 50 ms. The baseline is a reader that does nothing but XREAD the same stream and record where it got to.",
		},
		{
			name: "Operator: 100 partnerships", pkg: "./controllers/", bench: "^" + provision + "$",
			rows: []bt.Row{
				{Name: "time to all Ready ÷ a plain client applying the same objects", Figure: m(provision, "s-to-all-ready"), Baseline: m(provision, "s-plain-apply"), Target: bt.AtMost(1.2), Unit: "s"},
				{Name: "API writes during a full resync of every Ready tenant", Figure: m(provision, "resync-writes"), Target: bt.AtMost(0), Unit: "writes"},
				{Name: "operator RSS after resyncing every tenant", Figure: m(provision, "MB-rss-operator"), Target: bt.AtMost(150), Unit: "MB"},
			},
			note: "The kubernetes runtime with a simulated kubelet (workload status written as pods would make it), a real redis-server per tenant and a real " +
				"Kratos. The baseline replays exactly the server-side applies the operator made (same paths, same bodies, same field manager), tenant by " +
				"tenant with the operator's parallelism, against a second control plane started in the same run (10 partnerships with QUICK=1).",
		},
		{
			name: "National scale: 320 partnerships", pkg: "./controllers/", bench: "^" + national + "$", once: true,
			rows: []bt.Row{
				{Name: "320: time to all Ready ÷ a plain client applying the same objects", Figure: m(national, "s-to-all-ready"), Baseline: m(national, "s-plain-apply"), Target: bt.AtMost(1.2), Unit: "s"},
				{Name: "320: operator RSS after resyncing every tenant", Figure: m(national, "MB-rss-operator"), Target: bt.AtMost(250), Unit: "MB"},
				{Name: "320: API writes during a full resync", Figure: m(national, "resync-writes"), Target: bt.AtMost(0), Unit: "writes"},
				{Name: "320: full resync duration", Figure: m(national, "s-resync"), Unit: "s"},
				{Name: "320: API objects per tenant", Figure: m(national, "objects/tenant"), Unit: "objects"},
				{Name: "policy edit until the services' configuration has it, p50: 320 tenants ÷ 10", Figure: m(national, "policy-p50-ms"), Baseline: m(national, "small-policy-p50-ms"), Target: bt.AtMost(1.5), Unit: "ms"},
				{Name: "policy edit until the services' configuration has it, p99: 320 tenants ÷ 10", Figure: m(national, "policy-p99-ms"), Baseline: m(national, "small-policy-p99-ms"), Target: bt.AtMost(1.5), Unit: "ms"},
				{Name: "deleted NetworkPolicy restored, p50: 320 tenants ÷ 10", Figure: m(national, "netpol-p50-ms"), Baseline: m(national, "small-netpol-p50-ms"), Target: bt.AtMost(1.5), Unit: "ms"},
				{Name: "deleted NetworkPolicy restored, p99: 320 tenants ÷ 10", Figure: m(national, "netpol-p99-ms"), Baseline: m(national, "small-netpol-p99-ms"), Target: bt.AtMost(1.5), Unit: "ms"},
			},
			note: "As above, at 320 partnerships (England's 317 local authorities and a few more), and then 20 edits of one Partnership's policy and 20 " +
				"deleted NetworkPolicies, each timed until the operator has written the change, next to the same on a control plane holding 10 " +
				"tenants in the same run (40 and 5 with QUICK=1). docs/performance.md projects the costs to 1,000.",
		},
		{
			name: "Portal", pkg: "./services/portal/", bench: "^(" + portal + "|" + portal2 + ")$",
			rows: []bt.Row{
				{Name: "caseload board p99 ÷ its service calls", Figure: m(portal, "board-p99-ms"), Baseline: m(portal, "board-service-p99-ms"), Target: bt.AtMost(1.3), Unit: "ms"},
				{Name: "referral record p99 ÷ its service call", Figure: m(portal, "record-p99-ms"), Baseline: m(portal, "record-service-p99-ms"), Target: bt.AtMost(1.3), Unit: "ms"},
				{Name: "outcomes dashboard p99 ÷ its service calls", Figure: m(portal2, "outcomes-p99-ms"), Baseline: m(portal2, "outcomes-service-p99-ms"), Target: bt.AtMost(1.3), Unit: "ms"},
				{Name: "occupancy calendar p99 ÷ its service call", Figure: m(portal2, "calendar-p99-ms"), Baseline: m(portal2, "calendar-service-p99-ms"), Target: bt.AtMost(1.3), Unit: "ms"},
			},
			note: "8 signed-in users; each page next to the service calls the portal makes for it, made the same way with the same session " +
				"(10,000 referrals in the tenant; a year of a 12-unit scheme for the dashboard and calendar).",
		},
	}
}
