// Package audit writes and reads the append-only trail of who read or changed a person's record.
// Each record has its own Redis Stream; the services' ACL users may not delete or trim streams,
// so an entry once written stays.
package audit

import (
	"context"
	"fmt"
	"strings"
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
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	ActorName string    `json:"actorEmail,omitempty"`
	Roles     []string  `json:"roles"`
	Action    string    `json:"action"`
	Detail    string    `json:"detail,omitempty"`
	TraceID   string    `json:"traceId,omitempty"`
	RequestID string    `json:"requestId,omitempty"`
}

func (e Entry) fields() []string {
	return []string{
		"at", e.At.UTC().Format(time.RFC3339Nano),
		"actor", e.Actor,
		"actorEmail", e.ActorName,
		"roles", strings.Join(e.Roles, ","),
		"action", e.Action,
		"detail", e.Detail,
		"trace", e.TraceID,
		"request", e.RequestID,
	}
}

// Op is the audit entry as a write of a store commit, so it lands with the change it records.
func Op(keys keyspace.Tenant, kind, id string, e Entry) store.Op {
	return store.AppendOnly(keys.Audit(kind, id), e.fields()...)
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
		str := func(k string) string { s, _ := m.Values[k].(string); return s }
		at, err := time.Parse(time.RFC3339Nano, str("at"))
		if err != nil {
			return nil, fmt.Errorf("audit entry %s: bad time: %w", m.ID, err)
		}
		var roles []string
		if r := str("roles"); r != "" {
			roles = strings.Split(r, ",")
		}
		out = append(out, Entry{ID: m.ID, At: at, Actor: str("actor"), ActorName: str("actorEmail"), Roles: roles,
			Action: str("action"), Detail: str("detail"), TraceID: str("trace"), RequestID: str("request")})
	}
	return out, nil
}
