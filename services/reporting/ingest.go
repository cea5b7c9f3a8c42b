package reporting

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
)

// Group is the consumer group the reporting service reads the event stream with.
const Group = "reporting"

// consumer is the one consumer name every replica uses: only the replica holding the ingest lock
// reads, and a successor picks up what a crashed holder was given but had not applied.
const consumer = "ingest"

// applyScript applies a batch of events' aggregate changes, records the last event applied and
// acknowledges the batch, in one atomic step. An event at or before the last one applied is
// acknowledged but not applied again: a redelivery or a replay never counts twice.
// A batch's increments are summed per hash and field first and written once each: they commute,
// and the live hash's sets and deletes, which do not, are applied in order.
// Every day counter is added to its month's hash too, so a report of whole months reads a dozen
// hashes instead of hundreds of days. Each day or month hash a batch changed records the id of
// the batch's last event as its version, so a report reads again only the hashes that changed
// since it last read them (stream ids never repeat, even in a Redis restored from a backup).
// ARGV: state key, keys-set key, stream key ("" to acknowledge nothing), group, live key, day key
// prefix, event count, month key prefix, versions key, then per event: id, op count, ops (i day
// field n | s field value | d field).
var applyScript = redis.NewScript(`
local applied = redis.call('HGET', ARGV[1], 'last')
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function after(a, b)
  if not b then return true end
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then return am > bm end
  return as > bs
end
local p = 10
local last = nil
local ids = {}
local sums = {}
local count = 0
local function add(k, field, n)
  local h = sums[k]
  if not h then h = {}; sums[k] = h end
  h[field] = (h[field] or 0) + n
end
for e = 1, tonumber(ARGV[7]) do
  local id, n = ARGV[p], tonumber(ARGV[p + 1])
  p = p + 2
  ids[#ids + 1] = id
  local fresh = after(id, applied)
  for i = 1, n do
    local kind = ARGV[p]
    if kind == 'i' then
      if fresh then
        local by = tonumber(ARGV[p + 3])
        add(ARGV[6] .. ARGV[p + 1], ARGV[p + 2], by)
        add(ARGV[8] .. string.sub(ARGV[p + 1], 1, 7), ARGV[p + 2], by)
      end
      p = p + 4
    elseif kind == 's' then
      if fresh then redis.call('HSET', ARGV[5], ARGV[p + 1], ARGV[p + 2]) end
      p = p + 3
    else
      if fresh then redis.call('HDEL', ARGV[5], ARGV[p + 1]) end
      p = p + 2
    end
  end
  if fresh then
    last = id
    applied = id
    count = count + 1
  end
end
local touched, versions = {}, {}
for k, h in pairs(sums) do
  for field, n in pairs(h) do redis.call('HINCRBY', k, field, string.format('%d', n)) end
  touched[#touched + 1] = k
  versions[#versions + 1] = k
  versions[#versions + 1] = last
end
-- One call per thousand arguments: a batch can touch many days, and unpack has a limit.
local function inChunks(command, key, args)
  for i = 1, #args, 1000 do redis.call(command, key, unpack(args, i, math.min(i + 999, #args))) end
end
inChunks('SADD', ARGV[2], touched)
inChunks('HSET', ARGV[9], versions)
if last then redis.call('HSET', ARGV[1], 'last', last) end
redis.call('HINCRBY', ARGV[1], 'events', count)
if ARGV[3] ~= '' and #ids > 0 then redis.call('XACK', ARGV[3], ARGV[4], unpack(ids)) end
return count
`)

// renewScript extends the ingest lock only while this replica holds it.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// turnScript begins each batch in one round trip, so an event waits for as few as possible: it
// renews the ingest lock (KEYS[1]) while this replica (ARGV[1]) holds it, for ARGV[2] ms, takes
// any rebuild request (KEYS[2]) and reads the aggregate generation (KEYS[3]). It returns {0} when
// the lock was lost, else {1, the request, the generation}, an empty string for either not set.
var turnScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, redis.call('GETDEL', KEYS[2]) or '', redis.call('GET', KEYS[3]) or ''}
`)

// store reads and writes the aggregates of one tenant.
type store struct {
	rdb   *redis.Client
	keys  keyspace.Tenant
	cache *hashCache
}

// firstGeneration is the aggregate generation until the first rebuild.
const firstGeneration = "1"

// generation is the aggregate generation reports read.
func (s *store) generation(ctx context.Context) (string, error) {
	g, err := s.rdb.Get(ctx, s.keys.AggGeneration()).Result()
	if errors.Is(err, redis.Nil) {
		return firstGeneration, nil
	}
	if err != nil {
		return "", fmt.Errorf("read the aggregate generation: %w", err)
	}
	return g, nil
}

// streamState is how far a generation has applied the stream, and what the stream holds.
type streamState struct {
	LastApplied           string
	EventsApplied, Length int64
	Pending, Undelivered  int64
}

// state reads how far generation gen has got through the event stream.
func (s *store) state(ctx context.Context, gen string) (streamState, error) {
	var st streamState
	h, err := s.rdb.HGetAll(ctx, s.keys.AggState(gen)).Result()
	if err != nil {
		return st, fmt.Errorf("read the aggregate state: %w", err)
	}
	st.LastApplied = h["last"]
	st.EventsApplied, _ = strconv.ParseInt(h["events"], 10, 64)
	if st.Length, err = s.rdb.XLen(ctx, s.keys.Events()).Result(); err != nil {
		return st, fmt.Errorf("read the event stream's length: %w", err)
	}
	groups, err := s.rdb.XInfoGroups(ctx, s.keys.Events()).Result()
	if err != nil && !redis.HasErrorPrefix(err, "no such key") { // no stream yet: nothing pending
		return st, fmt.Errorf("read the consumer group: %w", err)
	}
	for _, g := range groups {
		if g.Name == Group {
			st.Pending, st.Undelivered = g.Pending, g.Lag
		}
	}
	return st, nil
}

// askRebuild asks the ingesting replica to rebuild the aggregates before its next batch.
func (s *store) askRebuild(ctx context.Context, now time.Time) error {
	if err := s.rdb.Set(ctx, s.keys.AggRebuildRequest(), now.UTC().Format(time.RFC3339), time.Hour).Err(); err != nil {
		return fmt.Errorf("ask for a rebuild: %w", err)
	}
	return nil
}

// apply runs the apply script for events into generation gen, acknowledging them when ack.
func (s *store) apply(ctx context.Context, gen string, events []Event, ack bool, log *slog.Logger) (int64, error) {
	stream := ""
	if ack {
		stream = s.keys.Events()
	}
	args := []any{s.keys.AggState(gen), s.keys.AggKeys(gen), stream, Group, s.keys.AggLive(gen), s.keys.AggDay(gen, ""), len(events), s.keys.AggMonth(gen, ""), s.keys.AggVersions(gen)}
	for _, e := range events {
		ops, err := translate(e)
		if err != nil {
			// A malformed event must not stop the stream: it is acknowledged, counted and logged.
			log.Error("event skipped", "err", err)
			ops = nil
		}
		args = append(args, e.ID, len(ops))
		for _, o := range ops {
			switch o.kind {
			case opIncr:
				args = append(args, "i", o.day.String(), o.field, o.n)
			case opSet:
				args = append(args, "s", o.field, o.value)
			case opDel:
				args = append(args, "d", o.field)
			}
		}
	}
	n, err := applyScript.Run(ctx, s.rdb, nil, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("apply %d events: %w", len(events), err)
	}
	return n, nil
}

// dropGeneration deletes every key of a generation.
func (s *store) dropGeneration(ctx context.Context, gen string) error {
	keys, err := s.rdb.SMembers(ctx, s.keys.AggKeys(gen)).Result()
	if err != nil {
		return fmt.Errorf("list generation %s: %w", gen, err)
	}
	keys = append(keys, s.keys.AggLive(gen), s.keys.AggState(gen), s.keys.AggKeys(gen), s.keys.AggVersions(gen))
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := s.rdb.Unlink(ctx, keys[:n]...).Err(); err != nil {
			return fmt.Errorf("drop generation %s: %w", gen, err)
		}
		keys = keys[n:]
	}
	return nil
}

func parseEvents(msgs []redis.XMessage) []Event {
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, events.Parse(m.ID, m.Values))
	}
	return out
}

// streamTime is when an event was appended, from its stream id.
func streamTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n)
}

// Ingester keeps the aggregates up to date with the event stream.
type Ingester struct {
	store    *store
	log      *slog.Logger
	instance string
	now      func() time.Time
	batch    int64
	block    time.Duration
	lockTTL  time.Duration

	applied prometheus.Counter
	skipped prometheus.Counter
	lag     prometheus.Gauge
}

func newIngester(s *store, log *slog.Logger, instance string, now func() time.Time, reg prometheus.Registerer) *Ingester {
	in := &Ingester{store: s, log: log, instance: instance, now: now, batch: 500, block: time.Second, lockTTL: 10 * time.Second,
		applied: prometheus.NewCounter(prometheus.CounterOpts{Name: "homeward_reporting_events_applied_total", Help: "Domain events applied to the aggregates."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "homeward_reporting_events_redelivered_total", Help: "Events delivered again and not applied twice."}),
		lag:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "homeward_reporting_ingest_lag_seconds", Help: "Age of the oldest event in the batch last applied; 0 when caught up."}),
	}
	reg.MustRegister(in.applied, in.skipped, in.lag)
	return in
}

// Run ingests until ctx ends. Replicas take turns by a lease: one ingests, the others wait.
func (in *Ingester) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		held, err := in.acquire(ctx)
		if err == nil && held {
			err = in.lead(ctx)
		}
		if err != nil && ctx.Err() == nil {
			in.log.Warn("ingest paused", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (in *Ingester) acquire(ctx context.Context) (bool, error) {
	ok, err := in.store.rdb.SetNX(ctx, in.store.keys.AggIngestLock(), in.instance, in.lockTTL).Result()
	if err != nil {
		return false, fmt.Errorf("take the ingest lock: %w", err)
	}
	return ok, nil
}

func (in *Ingester) renew(ctx context.Context) error {
	n, err := renewScript.Run(ctx, in.store.rdb, []string{in.store.keys.AggIngestLock()}, in.instance, in.lockTTL.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("renew the ingest lock: %w", err)
	}
	if n == 0 {
		return errors.New("the ingest lock was lost")
	}
	return nil
}

// release gives up the lock if this replica still holds it.
func (in *Ingester) release() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = renewScript.Run(ctx, in.store.rdb, []string{in.store.keys.AggIngestLock()}, in.instance, 1).Err()
}

// ensureGroup creates the consumer group at the start of the stream, once.
func (in *Ingester) ensureGroup(ctx context.Context) error {
	err := in.store.rdb.XGroupCreateMkStream(ctx, in.store.keys.Events(), Group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("create the consumer group: %w", err)
	}
	return nil
}

// lead ingests while this replica holds the lock: first what was delivered but never
// acknowledged (a crashed predecessor's batch), then new events.
func (in *Ingester) lead(ctx context.Context) error {
	defer in.release()
	if err := in.ensureGroup(ctx); err != nil {
		return err
	}
	pending := true
	for ctx.Err() == nil {
		gen, rebuildAsked, err := in.turn(ctx)
		if err != nil {
			return err
		}
		if rebuildAsked {
			if err := in.rebuild(ctx); err != nil {
				return err
			}
			continue
		}
		// Only the lock's holder switches generations (in rebuild, above), so gen stays current
		// for the batch.
		n, err := in.step(ctx, gen, pending)
		if err != nil {
			return err
		}
		if pending && n == 0 {
			pending = false
		}
	}
	return nil
}

// turn renews the lock, takes a rebuild request and reads the generation in one round trip.
func (in *Ingester) turn(ctx context.Context) (gen string, rebuildAsked bool, err error) {
	keys := []string{in.store.keys.AggIngestLock(), in.store.keys.AggRebuildRequest(), in.store.keys.AggGeneration()}
	res, err := turnScript.Run(ctx, in.store.rdb, keys, in.instance, in.lockTTL.Milliseconds()).Slice()
	if err != nil {
		return "", false, fmt.Errorf("renew the ingest lock: %w", err)
	}
	if held, _ := res[0].(int64); held == 0 || len(res) != 3 {
		return "", false, errors.New("the ingest lock was lost")
	}
	asked, _ := res[1].(string)
	gen, _ = res[2].(string)
	return cmp.Or(gen, firstGeneration), asked != "", nil
}

// step reads and applies one batch into generation gen; it returns how many events the batch held.
func (in *Ingester) step(ctx context.Context, gen string, pending bool) (int, error) {
	start, block := ">", in.block
	if pending {
		start, block = "0", -1
	}
	res, err := in.store.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: Group, Consumer: consumer, Streams: []string{in.store.keys.Events(), start}, Count: in.batch, Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		in.lag.Set(0)
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read events: %w", err)
	}
	var msgs []redis.XMessage
	for _, s := range res {
		msgs = append(msgs, s.Messages...)
	}
	if len(msgs) == 0 {
		in.lag.Set(0)
		return 0, nil
	}
	events := parseEvents(msgs)
	n, err := in.store.apply(ctx, gen, events, true, in.log)
	if err != nil {
		return 0, err
	}
	in.applied.Add(float64(n))
	in.skipped.Add(float64(int64(len(events)) - n))
	in.lag.Set(max(0, in.now().Sub(streamTime(events[0].ID)).Seconds()))
	return len(events), nil
}

// rebuild recomputes every aggregate from the whole stream into a new generation, switches
// reports to it and drops the old one. It runs while holding the ingest lock, so nothing is
// applied to the old generation meanwhile; events that arrive during the rebuild are applied to
// the new generation by the next batches (the new generation's last-applied id skips those the
// rebuild already read).
func (in *Ingester) rebuild(ctx context.Context) error {
	old, err := in.store.generation(ctx)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(old)
	gen := strconv.Itoa(n + 1)
	if err := in.store.dropGeneration(ctx, gen); err != nil { // a rebuild cut short before
		return err
	}
	t0 := in.now()
	from, total := "-", 0
	for {
		if err := in.renew(ctx); err != nil {
			return err
		}
		msgs, err := in.store.rdb.XRangeN(ctx, in.store.keys.Events(), from, "+", in.batch).Result()
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		if len(msgs) == 0 {
			break
		}
		if _, err := in.store.apply(ctx, gen, parseEvents(msgs), false, in.log); err != nil {
			return err
		}
		total += len(msgs)
		from = "(" + msgs[len(msgs)-1].ID
		if int64(len(msgs)) < in.batch {
			break
		}
	}
	if err := in.store.rdb.Set(ctx, in.store.keys.AggGeneration(), gen, 0).Err(); err != nil {
		return fmt.Errorf("switch to generation %s: %w", gen, err)
	}
	in.log.Info("aggregates rebuilt", "generation", gen, "events", total, "took", in.now().Sub(t0).String())
	return in.store.dropGeneration(ctx, old)
}
