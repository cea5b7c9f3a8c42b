package housing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
)

// The repository's reads of the indexes and its list audits: the only Redis the handlers reach.

// members reads every member of an index, in score order.
func (rp *repo) members(ctx context.Context, index string) ([]string, error) {
	out, err := rp.rdb.ZRange(ctx, index, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	return out, nil
}

// idsAfter reads up to count ids of an id-ordered index after cursor (exclusive; empty: from the start).
func (rp *repo) idsAfter(ctx context.Context, index, cursor string, count int) ([]string, error) {
	lower := "-"
	if cursor != "" {
		lower = "(" + cursor
	}
	out, err := rp.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: index, Start: lower, Stop: "+", ByLex: true, Count: int64(count)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	return out, nil
}

// placementsArrivingBefore lists, for every unit, the placements planned to arrive before a day, in
// one round trip.
func (rp *repo) placementsArrivingBefore(ctx context.Context, units []*Unit, before calendar.Date) ([]string, error) {
	if len(units) == 0 {
		return nil, nil
	}
	pipe := rp.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(units))
	upper := "(" + strconv.Itoa(int(dayNumber(before)))
	for i, u := range units {
		cmds[i] = pipe.ZRangeArgs(ctx, redis.ZRangeArgs{Key: rp.keys.PlacementsInUnit(u.ID), Start: "-inf", Stop: upper, ByScore: true})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read the units' placements: %w", err)
	}
	var all []string
	for _, c := range cmds {
		all = append(all, c.Val()...)
	}
	return all, nil
}

// auditShown records that each record of a list was shown.
func (rp *repo) auditShown(ctx context.Context, kind string, shown []string, entry audit.Entry) error {
	return audit.AppendMany(ctx, rp.rdb, rp.keys, kind, shown, entry)
}

// importedIDs are the ids of the records of a kind imported with import keys ("" where none was).
func (rp *repo) importedIDs(ctx context.Context, kind string, keys []string) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = rp.keys.Imported(kind, k)
	}
	vals, err := rp.rdb.MGet(ctx, names...).Result()
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(vals))
	for i, v := range vals {
		ids[i], _ = v.(string)
	}
	return ids, nil
}

// referralsByID reads the referral facts housing needs for many referrals at once; a referral that
// does not exist is absent.
func (rp *repo) referralsByID(ctx context.Context, ids []string) (map[string]*events.ReferralFacts, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = rp.keys.Referral(id)
	}
	recs, err := rp.summaries(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*events.ReferralFacts, len(recs))
	for _, rec := range recs {
		var f events.ReferralFacts
		if err := json.Unmarshal(rec.Doc, &f); err != nil {
			return nil, fmt.Errorf("decode a referral: %w", err)
		}
		out[f.ID] = &f
	}
	return out, nil
}

// importedID is the id of the record of a kind imported with an import key ("" when none was).
func (rp *repo) importedID(ctx context.Context, kind, key string) (string, error) {
	id, err := rp.rdb.Get(ctx, rp.keys.Imported(kind, key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return id, err
}

// stay is the nights a live or past placement holds in its unit.
type stay struct {
	placement string
	from, to  calendar.Date
	departed  bool
}

// staysIn are the nights the live and past placements of a unit hold (cancelled ones and those
// that never arrived hold none).
func (rp *repo) staysIn(ctx context.Context, unit string) ([]stay, error) {
	ids, err := rp.members(ctx, rp.keys.PlacementsInUnit(unit))
	if err != nil {
		return nil, err
	}
	placements, err := rp.placementSummaries(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []stay
	for _, p := range placements {
		if p.Status == PlacementCancelled || p.Status == PlacementNotArrived {
			continue
		}
		st := stay{placement: p.ID, from: p.Arrival, to: p.PlannedDeparture}
		if p.ArrivedOn != nil {
			st.from = *p.ArrivedOn
		}
		if p.DepartedOn != nil {
			st.to, st.departed = *p.DepartedOn, true
		}
		out = append(out, st)
	}
	return out, nil
}

// openCase is the open rehousing case of a referral, if it has one.
func (rp *repo) openCase(ctx context.Context, referral string) (string, error) {
	id, err := rp.rdb.Get(ctx, rp.keys.RehousingOpen(referral)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return id, err
}
