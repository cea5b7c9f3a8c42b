package referral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/services/kit/store"
)

// listItem is what lists read of a referral: its summary, what filters need, and the name and
// NHS number sealed on their own, so a page of 50 decodes 50 small values, not 50 case files.
type listItem struct {
	Summary
	CreatedByID    string       `json:"createdBy"`
	DelayReason    string       `json:"delayReason,omitempty"`
	FirstContacted bool         `json:"firstContacted,omitempty"`
	OpenActions    []openAction `json:"openActions,omitempty"`
	DueFollowUps   []FollowUp   `json:"dueFollowUps,omitempty"`
	Sealed         []byte       `json:"sealed,omitempty"`
}

// openAction is an action still to do, as the overdue worklist shows it.
type openAction struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Owner   string    `json:"owner"`
	Urgency string    `json:"urgency"`
	DueAt   time.Time `json:"dueAt"`
}

type sealedName struct {
	Name      string `json:"n"`
	NHSNumber string `json:"h,omitempty"`
}

func (rp *repo) summaryContext(id string) string { return rp.keys.Referral(id) + "#summary" }

func (rp *repo) encodeSummary(r *Referral) ([]byte, error) {
	item := listItem{Summary: r.summary(), CreatedByID: r.CreatedBy.ID, DelayReason: r.DelayReason, FirstContacted: r.Response.FirstContactAt != nil}
	item.Name, item.NHSNumber, item.Overdue, item.OverdueActions = "", "", false, 0
	for _, a := range r.Actions {
		if a.open() {
			item.OpenActions = append(item.OpenActions, openAction{ID: a.ID, Type: a.Type, Owner: a.OwnerOrganisation, Urgency: a.Urgency, DueAt: a.DueAt})
		}
	}
	for _, f := range r.FollowUps {
		if f.Result == "" {
			item.DueFollowUps = append(item.DueFollowUps, FollowUp{Days: f.Days, DueDate: f.DueDate})
		}
	}
	if r.Person != nil && r.ErasedAt == nil {
		plain, err := json.Marshal(sealedName{Name: r.Person.Name, NHSNumber: r.Person.NHSNumber})
		if err != nil {
			return nil, fmt.Errorf("encode summary: %w", err)
		}
		item.Sealed = rp.pii.Seal(plain, rp.summaryContext(r.ID))
	}
	return json.Marshal(item)
}

func (rp *repo) decodeSummary(doc []byte, now time.Time) (*listItem, error) {
	var item listItem
	if err := json.Unmarshal(doc, &item); err != nil {
		return nil, fmt.Errorf("decode summary: %w", err)
	}
	if item.Sealed != nil {
		plain, err := rp.pii.Open(item.Sealed, rp.summaryContext(item.ID))
		if err != nil {
			return nil, fmt.Errorf("summary of %s: %w", item.ID, err)
		}
		var n sealedName
		if err := json.Unmarshal(plain, &n); err != nil {
			return nil, fmt.Errorf("decode summary name: %w", err)
		}
		item.Name, item.NHSNumber, item.Sealed = n.Name, n.NHSNumber, nil
	}
	item.Overdue = item.Status.Open() && !item.FirstContacted && now.After(item.ResponseDueAt)
	for _, a := range item.OpenActions {
		if now.After(a.DueAt) {
			item.OverdueActions++
		}
	}
	return &item, nil
}

// summaries reads the list items of referrals by id, skipping ids that no longer exist.
func (rp *repo) summaries(ctx context.Context, ids []string, now time.Time) ([]*listItem, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := rp.rdb.Pipeline()
	reads := make([]store.Read, len(ids))
	for i, id := range ids {
		reads[i] = store.ReadSummaryIn(ctx, pipe, rp.keys.Referral(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read referrals: %w", err)
	}
	out := make([]*listItem, 0, len(ids))
	for _, rd := range reads {
		rec, err := rd.Result()
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		item, err := rp.decodeSummary(rec.Doc, now)
		if err != nil {
			return nil, err
		}
		out = append(out, item)
	}
	return out, nil
}
