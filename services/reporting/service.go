// Package reporting is the reporting service: it folds a partnership's domain events into
// per-day aggregates and turns them into the figures partnerships need to keep their funding.
package reporting

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
)

// Name is the service's name: its subcommand, Redis user and span prefix.
const Name = "reporting"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the service's OpenAPI 3.1 description.
func OpenAPI() []byte { return openAPI }

// Service serves one partnership's reports and ingests its events.
type Service struct {
	app      *app.Service
	store    *store
	ingester *Ingester
	policy   config.Policy
	now      func() time.Time
}

// New registers the reporting API on a kit service and prepares its ingester.
func New(a *app.Service) *Service {
	host, _ := os.Hostname()
	st := &store{rdb: a.Redis, keys: a.Keys, cache: newHashCache(aggregateCacheEntries)}
	s := &Service{app: a, store: st, policy: a.Config.Policy, now: a.Now,
		ingester: newIngester(st, a.Log, host+"/"+ids.New(time.Now()), a.Now, a.Registry)}
	a.ServeOpenAPI(openAPI)
	a.API("GET /v1/reports", s.report, auth.ReportRead)
	a.API("GET /v1/reports/monthly", s.monthly, auth.ReportRead)
	a.API("GET /v1/ingest", s.ingestStatus, auth.ReportRead)
	a.API("POST /v1/ingest/rebuild", s.askRebuild, auth.ReportRebuild)
	return s
}

// Ingest runs the event ingester until ctx ends.
func (s *Service) Ingest(ctx context.Context) error { return s.ingester.Run(ctx) }

// today is the current day in England.
func (s *Service) today() calendar.Date { return calendar.DateOf(s.now().In(calendar.London())) }

// period reads and checks from and to.
func period(q url.Values, allowed ...string) (calendar.Date, calendar.Date, *httpapi.Problem) {
	var e httpapi.Fields
	for k := range q {
		if !slices.Contains(append([]string{"from", "to"}, allowed...), k) {
			e.Add(k, "is not a parameter of this report")
		}
	}
	var dates [2]calendar.Date
	for i, name := range []string{"from", "to"} {
		v := q.Get(name)
		if v == "" {
			e.Add(name, "is required (YYYY-MM-DD)")
			continue
		}
		d, err := calendar.ParseDate(v)
		if err != nil {
			e.Add(name, "%v", err)
		}
		dates[i] = d
	}
	if len(e) == 0 {
		switch n := dates[0].DaysUntil(dates[1]); {
		case n <= 0:
			e.Add("to", "must be after from (the period is [from, to))")
		case n > calendar.MaxPeriodDays:
			e.Add("to", "a period is at most five years")
		}
	}
	if len(e) > 0 {
		return calendar.Date{}, calendar.Date{}, httpapi.BadRequest("the period is not valid", e...)
	}
	return dates[0], dates[1], nil
}

// wantsCSV reports whether the caller asked for CSV.
func wantsCSV(r *http.Request) (bool, *httpapi.Problem) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "", "json":
		return f == "" && strings.Contains(r.Header.Get("Accept"), "text/csv"), nil
	default:
		return false, httpapi.BadRequest("format must be json or csv", httpapi.FieldError{Field: "format", Message: "must be json or csv"})
	}
}

// controlled reports whether the caller sees disclosure-controlled figures: anyone who may not
// see people (commissioners, partnership admins), and every export.
func controlled(r *http.Request, export bool) bool {
	p, _ := auth.From(r.Context())
	return export || p == nil || !p.Can(auth.ReferralRead)
}

// periodData is a period's counters: whole months that are over as one hash each, other days
// one hash each; and the live hash.
type periodData struct {
	days      map[calendar.Date]map[string]int64
	months    map[calendar.Date]map[string]int64 // by first day
	live      map[string]string
	from, to  calendar.Date
	today     calendar.Date
	readUntil calendar.Date // days before this were read (to, or tomorrow)
}

func monthAfter(d calendar.Date) calendar.Date {
	return calendar.Date{Year: d.Year, Month: d.Month + 1, Day: 1}.AddDays(0)
}

// wholeMonth reports whether the month starting on d lies inside [from, end) and is over.
func (pd *periodData) wholeMonth(d, end calendar.Date) bool {
	next := monthAfter(d)
	return d.Day == 1 && !end.Before(next) && !pd.today.Before(next)
}

// inputs sums the counters of [from, to) (a part of the period read) into a report's inputs.
func (pd *periodData) inputs(from, to calendar.Date) inputs {
	in := inputs{sum: map[string]int64{}, dueSum: map[string]int64{}, live: pd.live, from: from, to: to, countedTo: to}
	if pd.today.Before(to) {
		in.countedTo = pd.today
	}
	end := to
	if pd.readUntil.Before(end) {
		end = pd.readUntil
	}
	in.days = max(0, from.DaysUntil(end))
	add := func(m map[string]int64, over bool) {
		for k, v := range m {
			in.sum[k] += v
		}
		// Deadlines count once their day is over: today's may not have passed yet.
		if over {
			in.dueSum[fDue] += m[fDue]
			in.dueSum[fDueMet] += m[fDueMet]
		}
	}
	for d := from; d.Before(end); {
		if m, ok := pd.months[d]; ok && pd.wholeMonth(d, end) {
			add(m, true)
			d = monthAfter(d)
			continue
		}
		add(pd.days[d], d.Before(pd.today))
		d = d.AddDays(1)
	}
	return in
}

// reportRequest reads a report's period and format and the period's counters; when any of it
// fails it answers the request and returns nil.
func (s *Service) reportRequest(w http.ResponseWriter, r *http.Request) (pd *periodData, asCSV bool) {
	from, to, prob := period(r.URL.Query(), "format")
	if prob == nil {
		asCSV, prob = wantsCSV(r)
	}
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return nil, false
	}
	pd, err := s.store.read(r.Context(), from, to, s.today())
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the aggregates")
		return nil, false
	}
	return pd, asCSV
}

func (s *Service) report(w http.ResponseWriter, r *http.Request) {
	pd, asCSV := s.reportRequest(w, r)
	if pd == nil {
		return
	}
	rep := figures{control: controlled(r, asCSV)}.report(pd.inputs(pd.from, pd.to), s.policy)
	rep.Partnership = s.app.Config.Partnership
	s.write(w, r, rep, asCSV, fmt.Sprintf("%s-report-%s-%s.csv", rep.Partnership, pd.from, pd.to))
}

// Month is one calendar month's headline figures (clipped to the period asked for).
type Month struct {
	Month            string        `json:"month"`
	From             calendar.Date `json:"from"`
	To               calendar.Date `json:"to"`
	Received         Count         `json:"referralsReceived"`
	PercentMet       Ratio         `json:"responseTargetPercentMet"`
	DelayedDays      int64         `json:"delayedDays"`
	Rehoused         Count         `json:"rehoused"`
	BedDaysSaved     int64         `json:"bedDaysSaved"`
	OccupancyPercent Ratio         `json:"occupancyPercent"`
	NHSCostAvoided   *Money        `json:"nhsCostAvoided"`
	CareCostAvoided  *Money        `json:"careCostAvoided"`
	NetSavings       *Money        `json:"netSavings"`
	ROI              *ROI          `json:"roi"`
}

// Series is the monthly series of a period.
type Series struct {
	Partnership       string        `json:"partnership"`
	From              calendar.Date `json:"from"`
	To                calendar.Date `json:"to"`
	DisclosureControl bool          `json:"disclosureControl"`
	Months            []Month       `json:"months"`
}

func (s *Service) monthly(w http.ResponseWriter, r *http.Request) {
	pd, asCSV := s.reportRequest(w, r)
	if pd == nil {
		return
	}
	from, to := pd.from, pd.to
	f := figures{control: controlled(r, asCSV)}
	series := Series{Partnership: s.app.Config.Partnership, From: from, To: to, DisclosureControl: f.control, Months: []Month{}}
	for start := from; start.Before(to); {
		end := monthAfter(start)
		if to.Before(end) {
			end = to
		}
		rep := f.report(pd.inputs(start, end), s.policy)
		m := Month{Month: fmt.Sprintf("%04d-%02d", start.Year, start.Month), From: start, To: end,
			Received: rep.Referrals.Received, PercentMet: rep.ResponseTargets.PercentMet, DelayedDays: rep.Delays.DelayedDays,
			Rehoused: rep.Rehousing.Rehoused, BedDaysSaved: rep.Rehousing.BedDaysSaved, OccupancyPercent: rep.StepDown.Total.OccupancyPercent}
		if sv := rep.Savings; sv != nil {
			m.NHSCostAvoided, m.CareCostAvoided, m.NetSavings, m.ROI = &sv.NHSCostAvoided, &sv.CareCostAvoided, &sv.Net, sv.ROI
		}
		series.Months = append(series.Months, m)
		start = end
	}
	s.write(w, r, series, asCSV, fmt.Sprintf("%s-monthly-%s-%s.csv", series.Partnership, from, to))
}

// write answers JSON, or CSV rows of every value the JSON holds.
func (s *Service) write(w http.ResponseWriter, r *http.Request, v any, asCSV bool, filename string) {
	if !asCSV {
		httpapi.WriteJSON(w, http.StatusOK, v)
		return
	}
	body, err := toCSV(v)
	if err != nil {
		httpapi.Internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	_, _ = w.Write(body)
}

// toCSV flattens v's JSON form into measure,value rows: the measure is the path to the value
// (object keys in order, array items by their name or index), the value as JSON writes it.
func toCSV(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	rows, err := Flatten(b)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"measure", "value"})
	for _, row := range rows {
		_ = cw.Write(row[:])
	}
	cw.Flush()
	return buf.Bytes(), cw.Error()
}

// Flatten lists every leaf of a JSON document as [path, value], sorted by path.
func Flatten(doc []byte) ([][2]string, error) {
	var root any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	var rows [][2]string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				walk(join(path, k), child)
			}
		case []any:
			for i, child := range v {
				name := strconv.Itoa(i)
				if m, ok := child.(map[string]any); ok {
					for _, key := range []string{"scheme", "month"} {
						if s, ok := m[key].(string); ok && s != "" {
							name = s
						}
					}
				}
				walk(path+"["+name+"]", child)
			}
		case nil:
			rows = append(rows, [2]string{path, ""})
		case string:
			rows = append(rows, [2]string{path, v})
		default:
			rows = append(rows, [2]string{path, fmt.Sprint(v)})
		}
	}
	walk("", root)
	slices.SortFunc(rows, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return rows, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// IngestStatus is how far ingest has got.
type IngestStatus struct {
	Generation    string  `json:"generation"`
	LastApplied   string  `json:"lastApplied,omitempty"`
	EventsApplied int64   `json:"eventsApplied"`
	StreamLength  int64   `json:"streamLength"`
	Pending       int64   `json:"pending"`
	Undelivered   int64   `json:"undelivered"`
	LagSeconds    float64 `json:"lagSeconds"`
}

func (s *Service) ingestStatus(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	gen, err := s.store.generation(ctx)
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the aggregates")
		return
	}
	state, err := s.store.state(ctx, gen)
	st := IngestStatus{Generation: gen, LastApplied: state.LastApplied, EventsApplied: state.EventsApplied,
		StreamLength: state.Length, Pending: state.Pending, Undelivered: state.Undelivered}
	if err != nil {
		app.WriteStorageProblem(w, r, err, "the event stream")
		return
	}
	if st.LastApplied != "" && (st.Pending > 0 || st.Undelivered > 0) {
		st.LagSeconds = max(0, s.now().Sub(streamTime(st.LastApplied)).Seconds())
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
}

func (s *Service) askRebuild(w http.ResponseWriter, r *http.Request) {
	if err := s.store.askRebuild(r.Context(), s.now()); err != nil {
		app.WriteStorageProblem(w, r, err, "the rebuild request")
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"status": "requested",
		"detail": "the ingesting replica rebuilds before its next batch; GET /v1/ingest shows the new generation when done"})
}

// Rebuild recomputes the aggregates (`homeward reporting rebuild`): itself when no replica is
// ingesting, or else by asking the ingesting replica and waiting until the new generation is in.
func (s *Service) Rebuild(ctx context.Context) error {
	held, err := s.ingester.acquire(ctx)
	if err != nil {
		return err
	}
	if held {
		defer s.ingester.release()
		return s.ingester.rebuild(ctx)
	}
	old, err := s.store.generation(ctx)
	if err != nil {
		return err
	}
	if err := s.store.askRebuild(ctx, s.now()); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		gen, err := s.store.generation(ctx)
		if err != nil {
			return err
		}
		if gen != old {
			return nil
		}
	}
}
