// Package audit writes and reads the append-only trail of who read or changed a person's record.
// Each record has its own Redis Stream; the services' ACL users may not delete or trim streams,
// so an entry once written stays.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/keyspace"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// Actions recorded.
const (
	ActionCreate = "create"
	ActionRead   = "read"
	ActionList   = "list"
	ActionSearch = "search"
	ActionUpdate = "update"
	ActionErase  = "erase"
)

// Entry is one audited access. It names people by identity, never by their personal data.
type Entry struct {
	ID        string    `json:"id,omitempty"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	ActorName string    `json:"actorEmail,omitempty"`
	Roles     []string  `json:"roles"`
	Action    string    `json:"action"`
	Detail    string    `json:"detail,omitempty"`
	TraceID   string    `json:"traceId,omitempty"`
	RequestID string    `json:"requestId,omitempty"`
	// Kind and Record (or, for a list, Records) name what the entry is about: they are set on the
	// copy kept in the actor's own trail, where entries about every record meet.
	Kind    string   `json:"kind,omitempty"`
	Record  string   `json:"record,omitempty"`
	Records []string `json:"records,omitempty"`
}

// ActorKind is the audit kind of a person's own trail: every entry about what they did, on any
// record, so the partnership admin can search the audit by person.
const ActorKind = "actor"

// fields is the entry as one stream field: a single compact value costs Redis less to append
// than eight fields, which matters when a list page appends fifty.
func (e Entry) fields() []string {
	e.ID = ""
	b, _ := json.Marshal(e) // an Entry always encodes
	return []string{"e", string(b)}
}

// Ops are the audit entry as writes of a store commit, so they land with the change they record:
// the record's trail, and the actor's own trail naming the record.
func Ops(keys keyspace.Tenant, kind, id string, e Entry) []store.Op {
	ops := []store.Op{store.AppendOnly(keys.Audit(kind, id), e.fields()...)}
	if e.Actor != "" {
		e.Kind, e.Record = kind, id
		ops = append(ops, store.AppendOnly(keys.Audit(ActorKind, e.Actor), e.fields()...))
	}
	return ops
}

// appendManyScript appends one entry to many records' trails in one call. The streams are named in
// ARGV, not KEYS: see store.AppendOnly.
var appendManyScript = redis.NewScript(`
for i = 4, #ARGV do redis.call('XADD', ARGV[i], '*', 'e', ARGV[1]) end
if ARGV[3] ~= '' then redis.call('XADD', ARGV[3], '*', 'e', ARGV[2]) end
return #ARGV - 3
`)

// AppendMany records one access to many records, e.g. a list page.
func AppendMany(ctx context.Context, rdb redis.Scripter, keys keyspace.Tenant, kind string, ids []string, e Entry) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, 3+len(ids))
	actorStream, actorEntry := "", ""
	if e.Actor != "" {
		listed := e
		listed.Kind, listed.Records = kind, ids
		actorStream, actorEntry = keys.Audit(ActorKind, e.Actor), listed.fields()[1]
	}
	args = append(args, e.fields()[1], actorEntry, actorStream)
	for _, id := range ids {
		args = append(args, keys.Audit(kind, id))
	}
	if err := appendManyScript.Run(ctx, rdb, nil, args...).Err(); err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// Append records one entry on its own, for a change whose record lives outside Redis (a staff
// identity in Kratos, changed by the partnership admin through the portal).
func Append(ctx context.Context, rdb redis.Cmdable, keys keyspace.Tenant, kind, id string, e Entry) error {
	f := e.fields()
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: keys.Audit(kind, id), Values: []string{f[0], f[1]}}).Err(); err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// Trail reads up to limit entries of one record, oldest first, after the entry id after ("" for
// the start).
func Trail(ctx context.Context, rdb redis.Cmdable, keys keyspace.Tenant, kind, id, after string, limit int64) ([]Entry, error) {
	start := "-"
	if after != "" {
		start = "(" + after
	}
	msgs, err := rdb.XRangeN(ctx, keys.Audit(kind, id), start, "+", limit).Result()
	if err != nil {
		return nil, fmt.Errorf("read audit trail: %w", err)
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values["e"].(string)
		var e Entry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("audit entry %s: %w", m.ID, err)
		}
		e.ID = m.ID
		out = append(out, e)
	}
	return out, nil
}
