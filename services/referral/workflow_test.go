package referral

import (
	"slices"
	"testing"
)

// The workflow table: every move from every status, and which need a reason.
func TestWorkflow(t *testing.T) {
	closedOff := []Status{StatusDeclined, StatusWithdrawn}
	for _, tc := range []struct {
		from Status
		to   []Status
	}{
		{StatusReceived, append([]Status{StatusTriaged}, closedOff...)},
		{StatusTriaged, append([]Status{StatusAssessing}, closedOff...)},
		{StatusAssessing, append([]Status{StatusActionsInProgress, StatusReadyForDischarge}, closedOff...)},
		{StatusActionsInProgress, append([]Status{StatusReadyForDischarge}, closedOff...)},
		{StatusReadyForDischarge, append([]Status{StatusDischarged, StatusActionsInProgress}, closedOff...)},
		{StatusDischarged, append([]Status{StatusFollowUp, StatusClosed}, closedOff...)},
		{StatusFollowUp, append([]Status{StatusClosed}, closedOff...)},
		{StatusClosed, nil},
		{StatusDeclined, nil},
		{StatusWithdrawn, nil},
	} {
		if got := Allowed(tc.from); !slices.Equal(got, tc.to) && !(len(got) == 0 && len(tc.to) == 0) {
			t.Errorf("%s may move to %v, want %v", tc.from, got, tc.to)
		}
		for _, to := range Statuses {
			if CanMove(tc.from, to) != slices.Contains(tc.to, to) {
				t.Errorf("CanMove(%s, %s) = %v", tc.from, to, CanMove(tc.from, to))
			}
		}
		if tc.from.Open() != (len(tc.to) > 0) {
			t.Errorf("%s open = %v, yet it may move to %v", tc.from, tc.from.Open(), tc.to)
		}
	}
	if len(Statuses) != 10 {
		t.Errorf("%d statuses: the table above covers 10", len(Statuses))
	}
	for _, st := range Statuses {
		if needsReason(st) != slices.Contains(closedOff, st) {
			t.Errorf("%s needs a reason = %v", st, needsReason(st))
		}
	}
}
