// Package store commits a record change, its index updates, its domain event and its audit entry
// as one atomic Redis script, guarded by the record's version.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"

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
	// undeclared keys are named inside the script instead of in KEYS, so the ACL checks the
	// command run on them (XADD) rather than EVAL's blanket read-write access: that is how an
	// append-only stream stays writable only by appending.
	undeclared bool
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
	return Op{kind: "xadd", key: key, args: fields}
}

// AppendOnly appends to a stream the service may only append to (an audit trail).
func AppendOnly(key string, fields ...string) Op {
	return Op{kind: "xadd", key: key, args: fields, undeclared: true}
}

// Claim sets key to value with a time to live (0: until released), but only when the key is
// free; otherwise nothing of the commit is written and Commit returns a *ClaimTakenError.
func Claim(key, value string, ttlSeconds int) Op {
	return Op{kind: "claim", key: key, args: []string{value, strconv.Itoa(ttlSeconds)}, check: true}
}

// Release frees a claimed key.
func Release(key string) Op { return Op{kind: "release", key: key} }

// Commit is one atomic change of a record.
type Commit struct {
	Key string
	// ExpectVersion is the version read; 0 means the record must not exist yet.
	ExpectVersion int64
	Doc           []byte
	// Summary is a small second copy lists read instead of the whole document.
	Summary []byte
	// Also are further records changed in the same step, each guarded by its own version (a
	// placement and the unit it books).
	Also []Put
	Ops  []Op
}

// Put is one more record written by a commit.
type Put struct {
	Key           string
	ExpectVersion int64
	Doc, Summary  []byte
}

// ConflictError names the record whose version did not match; it is an ErrVersionConflict.
type ConflictError struct {
	Key     string
	Current int64
}

func (e *ConflictError) Error() string { return fmt.Sprintf("%s: %v", e.Key, ErrVersionConflict) }

// Is makes errors.Is(err, ErrVersionConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrVersionConflict }

// Redis scripts run atomically but do not roll back, so every check happens before any write.
// ARGV: record count R, then per record (KEYS[1..R]) expected version, next version, document,
// summary; then op count, then per op: kind, index of its key in KEYS (0: the key follows in
// ARGV), argument count, [key], arguments; last, the commit's token.
//
// The token makes a commit safe to send twice. When a connection dies after Redis ran a commit
// but before its reply arrived, the client library sends the script again; the first record
// still carries the token, so the second run answers "applied" instead of a version conflict
// with the commit's own write (or the claim it took).
var commitScript = redis.NewScript(`
local token = ARGV[#ARGV]
if redis.call('HGET', KEYS[1], 'c') == token then
  return {'applied', redis.call('HGET', KEYS[1], 'v')}
end
local r = tonumber(ARGV[1])
for i = 1, r do
  local want = ARGV[2 + (i - 1) * 4]
  local cur = redis.call('HGET', KEYS[i], 'v')
  if want == '0' then
    if cur then return {'conflict', KEYS[i], cur} end
  elseif cur ~= want then
    return {'conflict', KEYS[i], cur or '0'}
  end
end
local a = 2 + r * 4
local n_ops = tonumber(ARGV[a])
a = a + 1
local ops = {}
for i = 1, n_ops do
  local kind, ki, n = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local p = a + 3
  local key
  if ki > 0 then key = KEYS[ki] else key = ARGV[p]; p = p + 1 end
  ops[i] = {kind, key, p, n}
  a = p + n
end
for _, op in ipairs(ops) do
  if op[1] == 'claim' then
    local held = redis.call('GET', op[2])
    if held then return {'claimed', op[2], held} end
  end
end
for i = 1, r do
  local b = 2 + (i - 1) * 4
  redis.call('HSET', KEYS[i], 'v', ARGV[b + 1], 'doc', ARGV[b + 2], 'sum', ARGV[b + 3])
end
redis.call('HSET', KEYS[1], 'c', token)
for _, op in ipairs(ops) do
  local kind, key, p, n = op[1], op[2], op[3], op[4]
  if kind == 'zadd' then redis.call('ZADD', key, ARGV[p], ARGV[p + 1])
  elseif kind == 'zrem' then redis.call('ZREM', key, ARGV[p])
  elseif kind == 'sadd' then redis.call('SADD', key, ARGV[p])
  elseif kind == 'srem' then redis.call('SREM', key, ARGV[p])
  elseif kind == 'claim' and ARGV[p + 1] == '0' then redis.call('SET', key, ARGV[p])
  elseif kind == 'claim' then redis.call('SET', key, ARGV[p], 'EX', ARGV[p + 1])
  elseif kind == 'release' then redis.call('DEL', key)
  elseif kind == 'xadd' then redis.call('XADD', key, '*', unpack(ARGV, p, p + n - 1))
  else return redis.error_reply('unknown op ' .. kind) end
end
return {'ok'}
`)

// Apply runs the commit and returns the main record's new version (each Put's is its
// ExpectVersion + 1).
func Apply(ctx context.Context, rdb redis.Scripter, c Commit) (int64, error) {
	records := append([]Put{{Key: c.Key, ExpectVersion: c.ExpectVersion, Doc: c.Doc, Summary: c.Summary}}, c.Also...)
	keys := make([]string, 0, len(records)+len(c.Ops))
	args := make([]any, 0, 2+4*len(records)+6*len(c.Ops))
	args = append(args, len(records))
	for _, rec := range records {
		keys = append(keys, rec.Key)
		args = append(args, strconv.FormatInt(rec.ExpectVersion, 10), strconv.FormatInt(rec.ExpectVersion+1, 10), rec.Doc, rec.Summary)
	}
	args = append(args, len(c.Ops))
	for _, op := range c.Ops {
		if op.undeclared {
			args = append(args, op.kind, 0, len(op.args), op.key)
		} else {
			keys = append(keys, op.key)
			args = append(args, op.kind, len(keys), len(op.args))
		}
		for _, a := range op.args {
			args = append(args, a)
		}
	}
	var token [8]byte
	if _, err := rand.Read(token[:]); err != nil {
		return 0, fmt.Errorf("commit %s: token: %w", c.Key, err)
	}
	args = append(args, hex.EncodeToString(token[:]))
	res, err := commitScript.Run(ctx, rdb, keys, args...).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("commit %s: %w", c.Key, err)
	}
	switch res[0] {
	case "ok":
		return c.ExpectVersion + 1, nil
	case "applied":
		return strconv.ParseInt(res[1], 10, 64)
	case "conflict":
		cur, _ := strconv.ParseInt(res[2], 10, 64)
		return 0, &ConflictError{Key: res[1], Current: cur}
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

// ReadSummaryIn queues the read of a record's summary on p; Result returns it as the Doc.
func ReadSummaryIn(ctx context.Context, p redis.Pipeliner, key string) Read {
	return Read{cmd: p.HMGet(ctx, key, "v", "sum")}
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

// readAuditedScript returns a record and, only when it exists, appends the audit entry in the same
// atomic step: a read is never served unrecorded, and a missing record leaves no trail behind.
var readAuditedScript = redis.NewScript(`
local d = redis.call('HMGET', KEYS[1], 'v', 'doc')
if not d[1] then return false end
local a = 1
while a <= #ARGV do
  local n = tonumber(ARGV[a + 1])
  redis.call('XADD', ARGV[a], '*', unpack(ARGV, a + 2, a + 1 + n))
  a = a + 2 + n
end
return d
`)

// ReadAudited reads a record and appends ops (XAdds, typically audit.Ops) when it exists.
func ReadAudited(ctx context.Context, rdb redis.Scripter, key string, ops ...Op) (Record, error) {
	var args []any
	for _, op := range ops {
		if op.kind != "xadd" {
			return Record{}, fmt.Errorf("read %s: the audit op must be an XAdd", key)
		}
		args = append(args, op.key, len(op.args))
		for _, a := range op.args {
			args = append(args, a)
		}
	}
	// The audit stream is named in ARGV: see Op.undeclared.
	res, err := readAuditedScript.Run(ctx, rdb, []string{key}, args...).Slice()
	if errors.Is(err, redis.Nil) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("read %s: %w", key, err)
	}
	vs, _ := res[0].(string)
	doc, _ := res[1].(string)
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("record version %q: %w", vs, err)
	}
	return Record{Version: v, Doc: []byte(doc)}, nil
}

// Unavailable reports whether err means Redis could not be reached or could not serve yet (a
// refused or broken connection, a timeout, a server still loading its data): worth a retry, and
// not the caller's fault.
func Unavailable(err error) bool {
	var netErr net.Error
	switch {
	case err == nil:
		return false
	case errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, redis.ErrClosed):
		return true
	}
	return redis.IsLoadingError(err) || errors.Is(err, redis.ErrPoolTimeout)
}

// Member is one sorted-set membership of a record.
type Member struct{ Key, ID string }

// IndexDiff turns a record's sorted-set memberships before and after a change (before is nil
// when creating) into the writes that move it from one to the other.
func IndexDiff(before, after map[Member]float64) []Op {
	ops := make([]Op, 0, len(after))
	for m := range before {
		if _, keep := after[m]; !keep {
			ops = append(ops, ZRem(m.Key, m.ID))
		}
	}
	for m, score := range after {
		if s, ok := before[m]; !ok || s != score {
			ops = append(ops, ZAdd(m.Key, score, m.ID))
		}
	}
	return ops
}
