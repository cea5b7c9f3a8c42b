// Package store commits a record change, its index updates, its domain event and its audit entry
// as one atomic Redis script, guarded by the record's version.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

var (
	// ErrVersionConflict means the record changed since it was read (or exists, when creating).
	ErrVersionConflict = errors.New("record changed since it was read")
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("record not found")
)

// ClaimTakenError means a claimed key already held a value; Value is what it holds.
type ClaimTakenError struct{ Key, Value string }

func (e *ClaimTakenError) Error() string { return fmt.Sprintf("key %s already claimed", e.Key) }

// Op is one write made with the record change.
type Op struct {
	kind  string
	key   string
	args  []string
	check bool
}

// ZAdd adds member with score to a sorted set.
func ZAdd(key string, score float64, member string) Op {
	return Op{kind: "zadd", key: key, args: []string{strconv.FormatFloat(score, 'f', -1, 64), member}}
}

// ZRem removes member from a sorted set.
func ZRem(key, member string) Op { return Op{kind: "zrem", key: key, args: []string{member}} }

// SAdd adds member to a set.
func SAdd(key, member string) Op { return Op{kind: "sadd", key: key, args: []string{member}} }

// SRem removes member from a set.
func SRem(key, member string) Op { return Op{kind: "srem", key: key, args: []string{member}} }

// XAdd appends an entry of field/value pairs to a stream.
func XAdd(key string, fields ...string) Op {
	return Op{kind: "xadd", key: key, args: append([]string{strconv.Itoa(len(fields))}, fields...)}
}

// Claim sets key to value with a time to live, but only when the key is free; otherwise nothing
// of the commit is written and Commit returns a *ClaimTakenError.
func Claim(key, value string, ttlSeconds int) Op {
	return Op{kind: "claim", key: key, args: []string{value, strconv.Itoa(ttlSeconds)}, check: true}
}

// Commit is one atomic change of a record.
type Commit struct {
	Key string
	// ExpectVersion is the version read; 0 means the record must not exist yet.
	ExpectVersion int64
	Doc           []byte
	Ops           []Op
}

// Redis scripts run atomically but do not roll back, so every check happens before any write.
var commitScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '0' then
  if cur then return {'conflict', cur} end
elseif cur ~= ARGV[1] then
  return {'conflict', cur or '0'}
end
local a = 4
for i = 2, #KEYS do
  local kind, n = ARGV[a], tonumber(ARGV[a + 1])
  if kind == 'claim' then
    local held = redis.call('GET', KEYS[i])
    if held then return {'claimed', KEYS[i], held} end
  end
  a = a + 2 + n
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'doc', ARGV[3])
a = 4
for i = 2, #KEYS do
  local kind, n = ARGV[a], tonumber(ARGV[a + 1])
  local p = a + 2
  if kind == 'zadd' then redis.call('ZADD', KEYS[i], ARGV[p], ARGV[p + 1])
  elseif kind == 'zrem' then redis.call('ZREM', KEYS[i], ARGV[p])
  elseif kind == 'sadd' then redis.call('SADD', KEYS[i], ARGV[p])
  elseif kind == 'srem' then redis.call('SREM', KEYS[i], ARGV[p])
  elseif kind == 'claim' then redis.call('SET', KEYS[i], ARGV[p], 'EX', ARGV[p + 1])
  elseif kind == 'xadd' then
    local fields = {}
    for j = 1, tonumber(ARGV[p]) do fields[j] = ARGV[p + j] end
    redis.call('XADD', KEYS[i], '*', unpack(fields))
  else
    return redis.error_reply('unknown op ' .. kind)
  end
  a = a + 2 + n
end
return {'ok', ARGV[2]}
`)

// Apply runs the commit and returns the record's new version.
func Apply(ctx context.Context, rdb redis.Scripter, c Commit) (int64, error) {
	keys := make([]string, 0, 1+len(c.Ops))
	keys = append(keys, c.Key)
	next := c.ExpectVersion + 1
	args := make([]any, 0, 3+4*len(c.Ops))
	args = append(args, strconv.FormatInt(c.ExpectVersion, 10), strconv.FormatInt(next, 10), c.Doc)
	for _, op := range c.Ops {
		keys = append(keys, op.key)
		args = append(args, op.kind, len(op.args))
		for _, a := range op.args {
			args = append(args, a)
		}
	}
	res, err := commitScript.Run(ctx, rdb, keys, args...).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("commit %s: %w", c.Key, err)
	}
	switch res[0] {
	case "ok":
		return next, nil
	case "conflict":
		return 0, ErrVersionConflict
	case "claimed":
		return 0, &ClaimTakenError{Key: res[1], Value: res[2]}
	}
	return 0, fmt.Errorf("commit %s: unexpected reply %q", c.Key, res)
}

// Record is a stored document with its version.
type Record struct {
	Version int64
	Doc     []byte
}

// Read fetches a record in a pipeline or transaction: call it before Exec, use Result after.
type Read struct{ cmd *redis.SliceCmd }

// ReadIn queues the read of key on p.
func ReadIn(ctx context.Context, p redis.Pipeliner, key string) Read {
	return Read{cmd: p.HMGet(ctx, key, "v", "doc")}
}

// Result is the record read, or ErrNotFound.
func (r Read) Result() (Record, error) {
	vals, err := r.cmd.Result()
	if err != nil {
		return Record{}, err
	}
	vs, ok1 := vals[0].(string)
	doc, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return Record{}, ErrNotFound
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("record version %q: %w", vs, err)
	}
	return Record{Version: v, Doc: []byte(doc)}, nil
}
