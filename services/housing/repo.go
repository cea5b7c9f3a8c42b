package housing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Record kinds, as audit streams and events name them.
const (
	kindUnit      = "unit"
	kindPlacement = "placement"
	kindRehousing = "rehousing"
)

// repo stores units in the clear (they describe buildings) and placements and rehousing cases
// sealed whole (they describe a person's stay and move), with plain summaries for lists.
type repo struct {
	rdb  *redis.Client
	keys keyspace.Tenant
	pii  *pii.Protector

	// units holds decoded unit summaries by id with their versions. Matching reads every unit:
	// decoding 2,000 documents per request would cost more than the rest of it together, so a
	// request reads only the versions and decodes what changed since.
	unitsMu sync.Mutex
	units   map[string]cachedUnit
}

type cachedUnit struct {
	version int64
	unit    *Unit
}

// event is a domain event for the reporting service: facts, never personal data.
// event is a domain event appended with the change that caused it.
type event struct {
	Subject  string
	Referral string
	At       time.Time
	Payload  events.Payload
}

func (rp *repo) eventOps(evs []event) ([]store.Op, error) {
	ops := make([]store.Op, 0, len(evs))
	for _, e := range evs {
		fields, err := events.Event{Subject: e.Subject, Referral: e.Referral, At: e.At, Payload: e.Payload}.Fields()
		if err != nil {
			return nil, err
		}
		ops = append(ops, store.XAdd(rp.keys.Events(), fields...))
	}
	return ops, nil
}

// write is one record of a change: its key, version read, documents and index memberships.
type write struct {
	kind, id     string
	key          string
	version      int64
	doc, summary []byte
	before       map[store.Member]float64
	after        map[store.Member]float64
	audit        *audit.Entry
}

// change is one atomic step over one or more records.
type change struct {
	writes []write
	events []event
	extra  []store.Op
}

// commit applies a change; the first write is the main record, whose new version is returned.
func (rp *repo) commit(ctx context.Context, c change) (int64, error) {
	var ops []store.Op
	puts := make([]store.Put, 0, len(c.writes)-1)
	for i, w := range c.writes {
		ops = append(ops, store.IndexDiff(w.before, w.after)...)
		if w.audit != nil {
			ops = append(ops, audit.Ops(rp.keys, w.kind, w.id, *w.audit)...)
		}
		if i > 0 {
			puts = append(puts, store.Put{Key: w.key, ExpectVersion: w.version, Doc: w.doc, Summary: w.summary})
		}
	}
	evOps, err := rp.eventOps(c.events)
	if err != nil {
		return 0, err
	}
	main := c.writes[0]
	return store.Apply(ctx, rp.rdb, store.Commit{Key: main.key, ExpectVersion: main.version, Doc: main.doc,
		Summary: main.summary, Also: puts, Ops: append(append(ops, evOps...), c.extra...)})
}

// Units.

func (rp *repo) unitIndexes(u *Unit) map[store.Member]float64 {
	return map[store.Member]float64{{Key: rp.keys.Units(), ID: u.ID}: 0}
}

// unitWrite prepares a unit's write; before is nil when creating.
func (rp *repo) unitWrite(before, after *Unit, version int64, entry *audit.Entry) (write, error) {
	doc, err := json.Marshal(after)
	if err != nil {
		return write{}, fmt.Errorf("encode unit: %w", err)
	}
	sum := *after
	sum.Periods = nil
	summary, err := json.Marshal(sum)
	if err != nil {
		return write{}, fmt.Errorf("encode unit: %w", err)
	}
	w := write{kind: kindUnit, id: after.ID, key: rp.keys.Unit(after.ID), version: version, doc: doc, summary: summary,
		after: rp.unitIndexes(after), audit: entry}
	if before != nil {
		w.before = rp.unitIndexes(before)
	}
	return w, nil
}

func (rp *repo) loadUnit(ctx context.Context, id string) (*Unit, int64, error) {
	rec, err := rp.read(ctx, rp.keys.Unit(id), false)
	if err != nil {
		return nil, 0, err
	}
	var u Unit
	if err := json.Unmarshal(rec.Doc, &u); err != nil {
		return nil, 0, fmt.Errorf("decode unit %s: %w", id, err)
	}
	return &u, rec.Version, nil
}

// read fetches a record's version and document (or summary).
func (rp *repo) read(ctx context.Context, key string, summary bool) (store.Record, error) {
	pipe := rp.rdb.Pipeline()
	var rd store.Read
	if summary {
		rd = store.ReadSummaryIn(ctx, pipe, key)
	} else {
		rd = store.ReadIn(ctx, pipe, key)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return store.Record{}, fmt.Errorf("read %s: %w", key, err)
	}
	return rd.Result()
}

// summaries reads the summaries of records by key, skipping those that no longer exist.
func (rp *repo) summaries(ctx context.Context, keys []string) ([]store.Record, error) {
	return rp.records(ctx, keys, true)
}

// records reads records' documents (or summaries) by key, skipping those that no longer exist.
func (rp *repo) records(ctx context.Context, keys []string, summary bool) ([]store.Record, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pipe := rp.rdb.Pipeline()
	reads := make([]store.Read, len(keys))
	for i, k := range keys {
		if summary {
			reads[i] = store.ReadSummaryIn(ctx, pipe, k)
		} else {
			reads[i] = store.ReadIn(ctx, pipe, k)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read summaries: %w", err)
	}
	out := make([]store.Record, 0, len(keys))
	for _, rd := range reads {
		rec, err := rd.Result()
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// allUnits reads every unit in id order: their summaries (shared, read-only values, from the
// cache when their version has not moved), or with full their whole documents, void and closed
// spells included.
func (rp *repo) allUnits(ctx context.Context, full bool) ([]*Unit, error) {
	unitIDs, err := rp.rdb.ZRange(ctx, rp.keys.Units(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read units: %w", err)
	}
	keys := make([]string, len(unitIDs))
	for i, id := range unitIDs {
		keys[i] = rp.keys.Unit(id)
	}
	if full {
		recs, err := rp.records(ctx, keys, false)
		if err != nil {
			return nil, err
		}
		units := make([]*Unit, len(recs))
		for i, rec := range recs {
			units[i] = &Unit{}
			if err := json.Unmarshal(rec.Doc, units[i]); err != nil {
				return nil, fmt.Errorf("decode unit: %w", err)
			}
		}
		return units, nil
	}
	versions, err := rp.versions(ctx, keys)
	if err != nil {
		return nil, err
	}
	rp.unitsMu.Lock()
	if rp.units == nil {
		rp.units = map[string]cachedUnit{}
	}
	var stale []string
	for i, id := range unitIDs {
		if c, ok := rp.units[id]; !ok || c.version != versions[i] {
			stale = append(stale, keys[i])
		}
	}
	rp.unitsMu.Unlock()
	recs, err := rp.summaries(ctx, stale)
	if err != nil {
		return nil, err
	}
	fresh := make([]cachedUnit, 0, len(recs))
	for _, rec := range recs {
		u := &Unit{}
		if err := json.Unmarshal(rec.Doc, u); err != nil {
			return nil, fmt.Errorf("decode unit: %w", err)
		}
		fresh = append(fresh, cachedUnit{version: rec.Version, unit: u})
	}
	rp.unitsMu.Lock()
	defer rp.unitsMu.Unlock()
	for _, c := range fresh {
		if old, ok := rp.units[c.unit.ID]; !ok || old.version < c.version {
			rp.units[c.unit.ID] = c
		}
	}
	units := make([]*Unit, 0, len(unitIDs))
	for i, id := range unitIDs {
		c, ok := rp.units[id]
		if !ok || versions[i] == 0 {
			continue // gone since the index was read
		}
		units = append(units, c.unit)
	}
	return units, nil
}

// versions reads records' versions (0 for a record that does not exist).
func (rp *repo) versions(ctx context.Context, keys []string) ([]int64, error) {
	pipe := rp.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.HGet(ctx, k, "v")
	}
	if len(keys) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read versions: %w", err)
		}
	}
	out := make([]int64, len(keys))
	for i, c := range cmds {
		if v, err := c.Int64(); err == nil {
			out[i] = v
		}
	}
	return out, nil
}

// Placements.

func (rp *repo) placementIndexes(p *Placement) map[store.Member]float64 {
	k := rp.keys
	out := map[store.Member]float64{
		{Key: k.Placements(), ID: p.ID}:                         0,
		{Key: k.PlacementsByStatus(string(p.Status)), ID: p.ID}: 0,
		{Key: k.PlacementsOfReferral(p.ReferralID), ID: p.ID}:   0,
		{Key: k.PlacementsInUnit(p.UnitID), ID: p.ID}:           dayNumber(p.Arrival),
	}
	if p.Status.inUnit() {
		out[store.Member{Key: k.StaysUnderWay(), ID: p.ID}] = dayNumber(p.PlannedDeparture)
		if p.HousingBenefit.Eligible && p.HousingBenefit.ClaimedOn == nil && p.ArrivedOn != nil {
			out[store.Member{Key: k.ClaimsPending(), ID: p.ID}] = dayNumber(*p.ArrivedOn)
		}
	}
	return out
}

func (rp *repo) placementWrite(before, after *Placement, version int64, entry audit.Entry) (write, error) {
	plain, err := json.Marshal(after)
	if err != nil {
		return write{}, fmt.Errorf("encode placement: %w", err)
	}
	sum := *after
	sum.History, sum.Extensions = nil, nil
	summary, err := json.Marshal(sum)
	if err != nil {
		return write{}, fmt.Errorf("encode placement: %w", err)
	}
	key := rp.keys.Placement(after.ID)
	w := write{kind: kindPlacement, id: after.ID, key: key, version: version, doc: rp.pii.Seal(plain, key),
		summary: summary, after: rp.placementIndexes(after), audit: &entry}
	if before != nil {
		w.before = rp.placementIndexes(before)
	}
	return w, nil
}

func (rp *repo) decodePlacement(key string, doc []byte) (*Placement, error) {
	plain, err := rp.pii.Open(doc, key)
	if err != nil {
		return nil, fmt.Errorf("placement: %w", err)
	}
	var p Placement
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("decode placement: %w", err)
	}
	return &p, nil
}

// loadPlacement reads a placement without auditing: for the checks before a change, which is
// audited itself.
func (rp *repo) loadPlacement(ctx context.Context, id string) (*Placement, int64, error) {
	key := rp.keys.Placement(id)
	rec, err := rp.read(ctx, key, false)
	if err != nil {
		return nil, 0, err
	}
	p, err := rp.decodePlacement(key, rec.Doc)
	return p, rec.Version, err
}

// getPlacement reads a placement and records the read in its audit trail.
func (rp *repo) getPlacement(ctx context.Context, id string, entry audit.Entry) (*Placement, int64, error) {
	key := rp.keys.Placement(id)
	rec, err := store.ReadAudited(ctx, rp.rdb, key, audit.Ops(rp.keys, kindPlacement, id, entry)...)
	if err != nil {
		return nil, 0, err
	}
	p, err := rp.decodePlacement(key, rec.Doc)
	return p, rec.Version, err
}

// placementSummaries reads placements' summaries by id.
func (rp *repo) placementSummaries(ctx context.Context, placementIDs []string) ([]*Placement, error) {
	keys := make([]string, len(placementIDs))
	for i, id := range placementIDs {
		keys[i] = rp.keys.Placement(id)
	}
	recs, err := rp.summaries(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]*Placement, len(recs))
	for i, rec := range recs {
		out[i] = &Placement{}
		if err := json.Unmarshal(rec.Doc, out[i]); err != nil {
			return nil, fmt.Errorf("decode placement: %w", err)
		}
	}
	return out, nil
}

// placementsScored reads the ids of an index scored by day, for days up to and including last.
func (rp *repo) placementsScored(ctx context.Context, index string, last calendar.Date) ([]string, error) {
	out, err := rp.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: index, Start: "-inf", Stop: strconv.FormatFloat(dayNumber(last), 'f', 0, 64), ByScore: true}).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", index, err)
	}
	return out, nil
}

// Rehousing cases.

func (rp *repo) rehousingIndexes(c *RehousingCase) map[store.Member]float64 {
	k := rp.keys
	return map[store.Member]float64{
		{Key: k.RehousingCases(), ID: c.ID}:                         0,
		{Key: k.RehousingCasesByStatus(string(c.Status)), ID: c.ID}: 0,
		{Key: k.RehousingCasesOfReferral(c.ReferralID), ID: c.ID}:   0,
	}
}

// rehousingSummary is what lists show of a case: no property addresses, no reasons.
type rehousingSummary struct {
	ID                      string          `json:"id"`
	ReferralID              string          `json:"referralId"`
	Status                  RehousingStatus `json:"status"`
	ReferralReceivedOn      calendar.Date   `json:"referralReceivedOn"`
	Bids                    int             `json:"bids"`
	Offers                  int             `json:"offers"`
	MoveInOn                *calendar.Date  `json:"moveInOn,omitempty"`
	DaysToRehoused          *int            `json:"daysToRehoused,omitempty"`
	WaitingListBaselineDays int             `json:"waitingListBaselineDays"`
	UpdatedAt               time.Time       `json:"updatedAt"`
}

func (rp *repo) rehousingWrite(before, after *RehousingCase, version int64, entry audit.Entry) (write, error) {
	plain, err := json.Marshal(after)
	if err != nil {
		return write{}, fmt.Errorf("encode rehousing case: %w", err)
	}
	summary, err := json.Marshal(rehousingSummary{
		ID: after.ID, ReferralID: after.ReferralID, Status: after.Status, ReferralReceivedOn: after.ReferralReceivedOn,
		Bids: len(after.Bids), Offers: len(after.Offers), MoveInOn: after.MoveInOn, DaysToRehoused: after.DaysToRehoused,
		WaitingListBaselineDays: after.WaitingListBaselineDays, UpdatedAt: after.UpdatedAt,
	})
	if err != nil {
		return write{}, fmt.Errorf("encode rehousing case: %w", err)
	}
	key := rp.keys.RehousingCase(after.ID)
	w := write{kind: kindRehousing, id: after.ID, key: key, version: version, doc: rp.pii.Seal(plain, key),
		summary: summary, after: rp.rehousingIndexes(after), audit: &entry}
	if before != nil {
		w.before = rp.rehousingIndexes(before)
	}
	return w, nil
}

func (rp *repo) decodeRehousing(key string, doc []byte) (*RehousingCase, error) {
	plain, err := rp.pii.Open(doc, key)
	if err != nil {
		return nil, fmt.Errorf("rehousing case: %w", err)
	}
	var c RehousingCase
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, fmt.Errorf("decode rehousing case: %w", err)
	}
	return &c, nil
}

func (rp *repo) loadRehousing(ctx context.Context, id string) (*RehousingCase, int64, error) {
	key := rp.keys.RehousingCase(id)
	rec, err := rp.read(ctx, key, false)
	if err != nil {
		return nil, 0, err
	}
	c, err := rp.decodeRehousing(key, rec.Doc)
	return c, rec.Version, err
}

func (rp *repo) getRehousing(ctx context.Context, id string, entry audit.Entry) (*RehousingCase, int64, error) {
	key := rp.keys.RehousingCase(id)
	rec, err := store.ReadAudited(ctx, rp.rdb, key, audit.Ops(rp.keys, kindRehousing, id, entry)...)
	if err != nil {
		return nil, 0, err
	}
	c, err := rp.decodeRehousing(key, rec.Doc)
	return c, rec.Version, err
}

// Referrals, as the referral service stores them.

// referral reads what housing needs of a referral from the referral service's list summary.
func (rp *repo) referral(ctx context.Context, id string) (*events.ReferralFacts, error) {
	rec, err := rp.read(ctx, rp.keys.Referral(id), true)
	if err != nil {
		return nil, err
	}
	var f events.ReferralFacts
	if err := json.Unmarshal(rec.Doc, &f); err != nil {
		return nil, fmt.Errorf("decode referral %s: %w", id, err)
	}
	return &f, nil
}
