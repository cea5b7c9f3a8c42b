package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// IdempotencyTTL is how long (seconds) an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * 60 * 60

// Idempotent is a create sent with an Idempotency-Key: the claim its commit makes, so a retry
// after an answer that never arrived (a 503, a dropped connection) is answered with the record the
// first attempt made rather than making another.
type Idempotent struct {
	claimKey, bodyHash string
}

// validIdempotencyKey accepts 1–128 printable ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// Idempotent reads the request's Idempotency-Key: nil without one, a 400 problem when it is
// malformed. Keys belong to the caller and to the kind of record (scope): two people, or one
// person creating two kinds of record, never share one. body is the decoded request, whose hash
// tells a retry from a different create reusing the key.
func (s *Service) Idempotent(r *http.Request, scope string, body any) (*Idempotent, *httpapi.Problem) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if !validIdempotencyKey(key) {
		return nil, httpapi.BadRequest("Idempotency-Key must be 1–128 printable ASCII characters")
	}
	canonical, err := json.Marshal(body)
	if err != nil {
		return nil, httpapi.BadRequest("the body cannot be read back: " + err.Error())
	}
	p, _ := auth.From(r.Context())
	owner := ""
	if p != nil {
		owner = p.IdentityID
	}
	if scope != "" {
		owner = scope + ":" + owner
	}
	return &Idempotent{claimKey: s.Keys.Idempotency(owner, key), bodyHash: s.PII.Index("idempotency", string(canonical))}, nil
}

// Claim is the write the create's commit carries: the key, taken for the record id.
func (i *Idempotent) Claim(id string) store.Op {
	return store.Claim(i.claimKey, i.bodyHash+" "+id, IdempotencyTTL)
}

// Replayed reads a commit's error: when the key was already taken, the id of the record the first
// attempt made, or a 422 problem when that attempt sent another body. ok is false for any other
// error, which the caller handles as before.
func (i *Idempotent) Replayed(err error) (id string, prob *httpapi.Problem, ok bool) {
	var claimed *store.ClaimTakenError
	if i == nil || !errors.As(err, &claimed) {
		return "", nil, false
	}
	hash, id, _ := strings.Cut(claimed.Value, " ")
	if hash != i.bodyHash {
		return "", httpapi.NewProblem(http.StatusUnprocessableEntity, "idempotency-key-reused",
			"Idempotency-Key reused", "this Idempotency-Key was used with a different body; use a new key for a new record"), true
	}
	return id, nil, true
}

// Earlier looks the key up before any check of the record's state: a retried booking must be
// answered with the placement its first attempt made, not refused as clashing with it. It answers as
// Replayed does; ok is false when the key is free (or there is no key).
func (s *Service) Earlier(ctx context.Context, i *Idempotent) (id string, prob *httpapi.Problem, ok bool, err error) {
	if i == nil {
		return "", nil, false, nil
	}
	value, err := s.Redis.Get(ctx, i.claimKey).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("read idempotency key: %w", err)
	}
	id, prob, ok = i.Replayed(&store.ClaimTakenError{Key: i.claimKey, Value: value})
	return id, prob, ok, nil
}

// MarkReplayed tells the caller the answer is the one the first attempt was given.
func MarkReplayed(w http.ResponseWriter) { w.Header().Set("Idempotent-Replayed", "true") }
