package referral

import "slices"

// transitions is the workflow: every move a referral may make. Declined and withdrawn are
// reachable from every open state and need a reason.
var transitions = map[Status][]Status{
	StatusReceived:          {StatusTriaged},
	StatusTriaged:           {StatusAssessing},
	StatusAssessing:         {StatusActionsInProgress, StatusReadyForDischarge},
	StatusActionsInProgress: {StatusReadyForDischarge},
	// A setback (an adaptation that fails inspection) sends the case back to its actions.
	StatusReadyForDischarge: {StatusDischarged, StatusActionsInProgress},
	StatusDischarged:        {StatusFollowUp, StatusClosed},
	StatusFollowUp:          {StatusClosed},
	StatusClosed:            {},
	StatusDeclined:          {},
	StatusWithdrawn:         {},
}

// Allowed lists the states a referral in s may move to.
func Allowed(s Status) []Status {
	out := slices.Clone(transitions[s])
	if s.Open() {
		out = append(out, StatusDeclined, StatusWithdrawn)
	}
	return out
}

// CanMove reports whether from → to is in the workflow.
func CanMove(from, to Status) bool { return slices.Contains(Allowed(from), to) }

func needsReason(to Status) bool { return to == StatusDeclined || to == StatusWithdrawn }
