package reporting

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

// read fetches the counters of [from, to) up to today and the live hash: a hash per month that is
// over and a hash per other day, each read from Redis only when ingest changed it since this
// replica last read it. One round trip for the versions and the live hash, and one more only when
// a hash changed, whatever the size of the tenant.
func (st *store) read(ctx context.Context, from, to, today calendar.Date) (*periodData, error) {
	gen, err := st.generation(ctx)
	if err != nil {
		return nil, err
	}
	pd := &periodData{days: map[calendar.Date]map[string]int64{}, months: map[calendar.Date]map[string]int64{}, from: from, to: to, today: today, readUntil: to}
	if tomorrow := today.AddDays(1); tomorrow.Before(to) {
		pd.readUntil = tomorrow
	}
	type read struct {
		day     calendar.Date
		month   bool
		key     string
		version string
		cmd     *redis.MapStringStringCmd
		fields  map[string]int64 // kept from an earlier read, when cmd is nil
	}
	var reads []read
	for d := from; d.Before(pd.readUntil); {
		if pd.wholeMonth(d, pd.readUntil) {
			reads = append(reads, read{day: d, month: true, key: st.keys.AggMonth(gen, d.String()[:7])})
			d = monthAfter(d)
			continue
		}
		reads = append(reads, read{day: d, key: st.keys.AggDay(gen, d.String())})
		d = d.AddDays(1)
	}
	keys := make([]string, len(reads))
	for i, rd := range reads {
		keys[i] = rd.key
	}
	pipe := st.rdb.Pipeline()
	versions := pipe.HMGet(ctx, st.keys.AggVersions(gen), keys...)
	live := pipe.HGetAll(ctx, st.keys.AggLive(gen))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read aggregates: %w", err)
	}
	stale := st.rdb.Pipeline()
	for i, v := range versions.Val() {
		// A hash no batch has changed since versions were kept (or none at all) has version "".
		reads[i].version, _ = v.(string)
		var kept bool
		if reads[i].fields, kept = st.cache.get(reads[i].key, reads[i].version); !kept {
			reads[i].cmd = stale.HGetAll(ctx, reads[i].key)
		}
	}
	if stale.Len() > 0 {
		if _, err := stale.Exec(ctx); err != nil {
			return nil, fmt.Errorf("read aggregates: %w", err)
		}
	}
	for _, rd := range reads {
		m := rd.fields
		if rd.cmd != nil {
			m = make(map[string]int64, len(rd.cmd.Val()))
			for k, v := range rd.cmd.Val() {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("aggregate %s %s: %w", rd.day, k, err)
				}
				m[k] = n
			}
			// Read after its version, the hash is at least as new as the version it is kept under:
			// a later change raises the version and the next report reads it again.
			st.cache.put(rd.key, rd.version, m)
		}
		if len(m) == 0 {
			continue
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

// hashCache keeps aggregate hashes this replica has read, by key, with the version each was read
// at (the id of the last event that changed it). Months that are over and past days rarely change, so a year's report reads a dozen versions
// instead of a dozen hashes whose fields grow with the tenant. The maps it hands out are shared
// and must not be changed.
type hashCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]cachedHash
}

type cachedHash struct {
	version string
	fields  map[string]int64
}

// aggregateCacheEntries bounds a replica's cache: about eleven years of months and their days.
const aggregateCacheEntries = 4096

func newHashCache(max int) *hashCache {
	return &hashCache{max: max, entries: make(map[string]cachedHash)}
}

func (c *hashCache) get(key, version string) (map[string]int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.version != version {
		return nil, false
	}
	return e.fields, true
}

func (c *hashCache) put(key, version string, fields map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		// Full: drop any one entry; a hash dropped is only read again.
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = cachedHash{version: version, fields: fields}
}

func (c *hashCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
