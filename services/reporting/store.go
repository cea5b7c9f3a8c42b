package reporting

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

// read fetches the counters of [from, to) up to today and the live hash: one pipelined round trip
// of a hash per month that is over and a hash per other day, whatever the size of the tenant.
func (st *store) read(ctx context.Context, from, to, today calendar.Date) (*periodData, error) {
	gen, err := st.generation(ctx)
	if err != nil {
		return nil, err
	}
	pd := &periodData{days: map[calendar.Date]map[string]int64{}, months: map[calendar.Date]map[string]int64{}, from: from, to: to, today: today, readUntil: to}
	if tomorrow := today.AddDays(1); tomorrow.Before(to) {
		pd.readUntil = tomorrow
	}
	pipe := st.rdb.Pipeline()
	type read struct {
		day   calendar.Date
		month bool
		cmd   *redis.MapStringStringCmd
	}
	var reads []read
	for d := from; d.Before(pd.readUntil); {
		if pd.wholeMonth(d, pd.readUntil) {
			reads = append(reads, read{d, true, pipe.HGetAll(ctx, st.keys.AggMonth(gen, d.String()[:7]))})
			d = monthAfter(d)
			continue
		}
		reads = append(reads, read{d, false, pipe.HGetAll(ctx, st.keys.AggDay(gen, d.String()))})
		d = d.AddDays(1)
	}
	live := pipe.HGetAll(ctx, st.keys.AggLive(gen))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read aggregates: %w", err)
	}
	for _, rd := range reads {
		if len(rd.cmd.Val()) == 0 {
			continue
		}
		m := make(map[string]int64, len(rd.cmd.Val()))
		for k, v := range rd.cmd.Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("aggregate %s %s: %w", rd.day, k, err)
			}
			m[k] = n
		}
		if rd.month {
			pd.months[rd.day] = m
		} else {
			pd.days[rd.day] = m
		}
	}
	pd.live = live.Val()
	return pd, nil
}
