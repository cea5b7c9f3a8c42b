package referral

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// SweepInterval is how often each replica tries to run the retention sweep; a lock lets one at a time.
const SweepInterval = time.Hour

// RunSweeper erases expired personal data every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.Sweep(ctx, s.now())
		switch {
		case errors.Is(err, context.Canceled):
		case err != nil:
			s.sweeps.WithLabelValues("failed").Inc()
			s.app.Log.Error("retention sweep failed", "err", err)
		default:
			s.sweeps.WithLabelValues("done").Inc()
			s.swept.SetToCurrentTime()
			if n > 0 {
				s.app.Log.Info("retention sweep erased personal data", "referrals", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep erases the personal data of referrals closed longer ago than the retention period,
// keeping the de-identified facts reporting needs, and records each erasure in the audit trail.
// It returns how many referrals it erased.
func (s *Service) Sweep(ctx context.Context, now time.Time) (int, error) {
	token := ids.New(now)
	ok, err := s.repo.lockSweeper(ctx, token, 10*time.Minute)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, nil // another replica is sweeping
	}
	defer func() {
		// An unreleased lock expires on its own; the next sweep waits for it at worst.
		if err := s.repo.unlockSweeper(context.WithoutCancel(ctx), token); err != nil {
			s.app.Log.Warn("release the sweeper lock", "err", err)
		}
	}()
	cutoff := now.Add(-s.policy.Retention())
	erased := 0
	for {
		idList, err := s.repo.closedBefore(ctx, cutoff, 100)
		if err != nil {
			return erased, err
		}
		if len(idList) == 0 {
			return erased, nil
		}
		for _, id := range idList {
			if err := s.erase(ctx, id, now); err != nil {
				return erased, err
			}
			erased++
		}
	}
}

func (s *Service) erase(ctx context.Context, id string, now time.Time) error {
	for attempt := 0; attempt < 5; attempt++ {
		before, version, err := s.repo.load(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return s.repo.forgetClosed(ctx, id)
		}
		if err != nil {
			return err
		}
		after, err := app.Copy(before)
		if err != nil {
			return err
		}
		after.Person = nil
		for i := range after.Notes {
			after.Notes[i].Text = ""
		}
		for i := range after.Actions {
			after.Actions[i].Detail = ""
		}
		for i := range after.History {
			after.History[i].Reason = ""
		}
		after.ErasedAt = &now
		after.UpdatedAt = now
		_, err = s.repo.commit(ctx, change{before: before, version: version, after: after,
			events: []event{{At: now, Payload: events.ReferralErased{ClosedAt: before.ClosedAt}}},
			audit: audit.Entry{At: now, Actor: "system:retention", Roles: []string{"system"}, Action: audit.ActionErase,
				Detail: fmt.Sprintf("personal data erased %d days after closing", s.policy.Rules.RetentionDays)}})
		if errors.Is(err, store.ErrVersionConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("erase referral %s: it kept changing", id)
}
