package referral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/pii"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// auditKind names referral records in audit streams.
const auditKind = "referral"

// repo stores referrals: personal data sealed, indexes and events written atomically with them.
type repo struct {
	rdb  *redis.Client
	keys keyspace.Tenant
	pii  *pii.Protector

	closuresMu      sync.Mutex
	closures        *calendar.Calendar
	closuresFetched time.Time
}

// sealed is every personal field of a referral, encrypted as one value.
type sealed struct {
	Person        *Person           `json:"person,omitempty"`
	Notes         map[string]string `json:"notes,omitempty"`
	ActionDetails map[string]string `json:"actionDetails,omitempty"`
	Reasons       map[int]string    `json:"reasons,omitempty"`
}

// storedReferral is the document in Redis: the referral without its personal fields, plus them sealed.
type storedReferral struct {
	Referral
	Sealed []byte `json:"sealed,omitempty"`
}

func (rp *repo) encode(r *Referral) ([]byte, error) {
	s := storedReferral{Referral: *r}
	var secret sealed
	if r.ErasedAt == nil {
		secret = sealed{Person: r.Person, Notes: map[string]string{}, ActionDetails: map[string]string{}, Reasons: map[int]string{}}
	}
	s.Person = nil
	s.Notes = slices.Clone(r.Notes)
	for i := range s.Notes {
		if secret.Notes != nil {
			secret.Notes[s.Notes[i].ID] = s.Notes[i].Text
		}
		s.Notes[i].Text = ""
	}
	s.Actions = slices.Clone(r.Actions)
	for i := range s.Actions {
		if s.Actions[i].Detail != "" && secret.ActionDetails != nil {
			secret.ActionDetails[s.Actions[i].ID] = s.Actions[i].Detail
		}
		s.Actions[i].Detail = ""
		s.Actions[i].Overdue = false
	}
	s.History = slices.Clone(r.History)
	for i := range s.History {
		if s.History[i].Reason != "" && secret.Reasons != nil {
			secret.Reasons[i] = s.History[i].Reason
		}
		s.History[i].Reason = ""
	}
	s.Response.Overdue = false
	if r.ErasedAt == nil {
		plain, err := json.Marshal(secret)
		if err != nil {
			return nil, fmt.Errorf("encode personal data: %w", err)
		}
		s.Sealed = rp.pii.Seal(plain, rp.keys.Referral(r.ID))
	}
	return json.Marshal(s)
}

func (rp *repo) decode(doc []byte) (*Referral, error) {
	var s storedReferral
	if err := json.Unmarshal(doc, &s); err != nil {
		return nil, fmt.Errorf("decode referral: %w", err)
	}
	r := s.Referral
	if s.Sealed == nil {
		return &r, nil
	}
	plain, err := rp.pii.Open(s.Sealed, rp.keys.Referral(r.ID))
	if err != nil {
		return nil, fmt.Errorf("referral %s: %w", r.ID, err)
	}
	var secret sealed
	if err := json.Unmarshal(plain, &secret); err != nil {
		return nil, fmt.Errorf("decode personal data: %w", err)
	}
	r.Person = secret.Person
	for i := range r.Notes {
		r.Notes[i].Text = secret.Notes[r.Notes[i].ID]
	}
	for i := range r.Actions {
		r.Actions[i].Detail = secret.ActionDetails[r.Actions[i].ID]
	}
	for i := range r.History {
		r.History[i].Reason = secret.Reasons[i]
	}
	return &r, nil
}

// indexes are the sorted-set entries a referral belongs in, with their scores. Lists score 0 and
// order by id (creation order); deadline and retention indexes score by time. Every entry costs
// a write on every create, so only the filters staff use to find work have one (status, priority,
// need, key worker, referrer, overdue); source and open/closed are applied while walking.
func (rp *repo) indexes(r *Referral) map[store.Member]float64 {
	k := rp.keys
	out := map[store.Member]float64{
		{Key: k.AllReferrals(), ID: r.ID}:                      0,
		{Key: k.ReferralsByStatus(string(r.Status)), ID: r.ID}: 0,
		{Key: k.ReferralsByPriority(r.Priority), ID: r.ID}:     0,
		{Key: k.ReferralsCreatedBy(r.CreatedBy.ID), ID: r.ID}:  0,
	}
	for _, n := range r.Needs {
		out[store.Member{Key: k.ReferralsByNeed(n), ID: r.ID}] = 0
	}
	if r.KeyWorker != nil {
		out[store.Member{Key: k.ReferralsByKeyWorker(r.KeyWorker.ID), ID: r.ID}] = 0
	}
	if r.Status.Open() && r.Response.FirstContactAt == nil {
		out[store.Member{Key: k.ResponseDue(), ID: r.ID}] = float64(r.Response.DueAt.UnixMilli())
	}
	if r.Status.Open() {
		for _, a := range r.Actions {
			if a.open() {
				out[store.Member{Key: k.ActionsDue(), ID: r.ID + "/" + a.ID}] = float64(a.DueAt.UnixMilli())
			}
		}
		for _, f := range r.FollowUps {
			if f.Result == "" {
				out[store.Member{Key: k.FollowUpsDue(), ID: r.ID + "/" + strconv.Itoa(f.Days)}] = float64(dayStart(f.DueDate).UnixMilli())
			}
		}
	}
	if r.ClosedAt != nil && r.ErasedAt == nil {
		out[store.Member{Key: k.ClosedReferrals(), ID: r.ID}] = float64(r.ClosedAt.UnixMilli())
	}
	return out
}

func (rp *repo) nhsIndex(r *Referral) string {
	if r.Person == nil || r.Person.NHSNumber == "" || r.ErasedAt != nil {
		return ""
	}
	return rp.keys.NHSNumber(rp.pii.Index("nhs-number", r.Person.NHSNumber))
}

// indexOps turns the difference between a referral before and after a change into writes.
func (rp *repo) indexOps(before, after *Referral) []store.Op {
	var old map[store.Member]float64 // nil when creating: every entry is new
	oldNHS := ""
	if before != nil {
		old = rp.indexes(before)
		oldNHS = rp.nhsIndex(before)
	}
	ops := store.IndexDiff(old, rp.indexes(after))
	if newNHS := rp.nhsIndex(after); newNHS != oldNHS {
		if oldNHS != "" {
			ops = append(ops, store.SRem(oldNHS, after.ID))
		}
		if newNHS != "" {
			ops = append(ops, store.SAdd(newNHS, after.ID))
		}
	}
	return ops
}

// event is a domain event for the reporting service: facts about a case, never personal data.
// event is a domain event of a referral, appended with the change that caused it.
type event struct {
	At      time.Time
	Payload events.Payload
}

func (rp *repo) eventOp(referralID string, e event) (store.Op, error) {
	fields, err := events.Event{Referral: referralID, At: e.At, Payload: e.Payload}.Fields()
	if err != nil {
		return store.Op{}, err
	}
	return store.XAdd(rp.keys.Events(), fields...), nil
}

// change is one atomic write of a referral.
type change struct {
	before  *Referral // nil when creating
	version int64
	after   *Referral
	events  []event
	audit   audit.Entry
	extra   []store.Op
}

func (rp *repo) commit(ctx context.Context, c change) (int64, error) {
	doc, err := rp.encode(c.after)
	if err != nil {
		return 0, err
	}
	summary, err := rp.encodeSummary(c.after)
	if err != nil {
		return 0, err
	}
	ops := rp.indexOps(c.before, c.after)
	for _, e := range c.events {
		op, err := rp.eventOp(c.after.ID, e)
		if err != nil {
			return 0, err
		}
		ops = append(ops, op)
	}
	ops = append(ops, audit.Ops(rp.keys, auditKind, c.after.ID, c.audit)...)
	ops = append(ops, c.extra...)
	return store.Apply(ctx, rp.rdb, store.Commit{Key: rp.keys.Referral(c.after.ID), ExpectVersion: c.version, Doc: doc, Summary: summary, Ops: ops})
}

// get reads a referral, recording the read in its audit trail.
func (rp *repo) get(ctx context.Context, id string, entry audit.Entry) (*Referral, int64, error) {
	rec, err := store.ReadAudited(ctx, rp.rdb, rp.keys.Referral(id), audit.Ops(rp.keys, auditKind, id, entry)...)
	if err != nil {
		return nil, 0, err
	}
	r, err := rp.decode(rec.Doc)
	return r, rec.Version, err
}

// auditMany records that the listed referrals were shown to someone.
func (rp *repo) auditMany(ctx context.Context, ids []string, entry audit.Entry) error {
	return audit.AppendMany(ctx, rp.rdb, rp.keys, auditKind, ids, entry)
}

// closureTTL bounds how stale another replica's view of the closure days can be.
const closureTTL = 10 * time.Second

// calendar is the tenant's working-day calendar with its closure days.
func (rp *repo) calendar(ctx context.Context, now time.Time) (*calendar.Calendar, error) {
	rp.closuresMu.Lock()
	defer rp.closuresMu.Unlock()
	if rp.closures != nil && now.Sub(rp.closuresFetched) < closureTTL {
		return rp.closures, nil
	}
	days, err := rp.closureDays(ctx)
	if err != nil {
		return nil, err
	}
	rp.closures, rp.closuresFetched = calendar.New(days), now
	return rp.closures, nil
}

func (rp *repo) closureDays(ctx context.Context) ([]calendar.Date, error) {
	members, err := rp.rdb.SMembers(ctx, rp.keys.ClosureDays()).Result()
	if err != nil {
		return nil, fmt.Errorf("read closure days: %w", err)
	}
	days := make([]calendar.Date, 0, len(members))
	for _, m := range members {
		d, err := calendar.ParseDate(m)
		if err != nil {
			return nil, fmt.Errorf("stored closure day: %w", err)
		}
		days = append(days, d)
	}
	slices.SortFunc(days, calendar.Date.Compare)
	return days, nil
}

func (rp *repo) setClosureDays(ctx context.Context, days []calendar.Date) error {
	members := make([]any, len(days))
	for i, d := range days {
		members[i] = d.String()
	}
	_, err := rp.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, rp.keys.ClosureDays())
		if len(members) > 0 {
			p.SAdd(ctx, rp.keys.ClosureDays(), members...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store closure days: %w", err)
	}
	rp.closuresMu.Lock()
	rp.closures = nil
	rp.closuresMu.Unlock()
	return nil
}

// load reads a referral and its version without auditing: for checks before a change, which is
// audited itself.
func (rp *repo) load(ctx context.Context, id string) (*Referral, int64, error) {
	pipe := rp.rdb.Pipeline()
	rd := store.ReadIn(ctx, pipe, rp.keys.Referral(id))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("read referral: %w", err)
	}
	rec, err := rd.Result()
	if err != nil {
		return nil, 0, err
	}
	r, err := rp.decode(rec.Doc)
	return r, rec.Version, err
}

// dayStart is the first moment of a day in London, which scores the day in deadline indexes.
func dayStart(d calendar.Date) time.Time { return d.In(calendar.London(), 0, 0, 0, 0) }
