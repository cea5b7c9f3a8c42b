package controllers

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
)

// outcome is what one phase found: a state, or an error that stopped it.
type outcome struct {
	State
	Err error
	// Skipped phases did not run because one they depend on failed.
	Skipped bool
}

// fail records that the area failed, and why, and returns the error for the reconcile to retry on.
func (o *outcome) fail(reason string, err error) error {
	o.Err, o.Reason = err, reason
	return err
}

// reasonFor is the reason of a phase's error: the API server's errors are ApplyFailed wherever they
// happen; any other is the phase's own.
func reasonFor(err error, phase string) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return v1.ReasonApplyFailed
	}
	return phase
}

// observation is everything a reconcile learned, from which status is computed without I/O.
type observation struct {
	Generation   int64
	Suspended    bool
	HostConflict string // the partnership that holds the host, if another does
	Namespace    outcome
	Access       outcome
	Storage      outcome
	Identity     outcome
	Services     outcome
}

// areaConditions pairs each condition type with the phase outcome it reports, in display order.
func (o observation) areaConditions() []struct {
	Type    string
	Outcome outcome
} {
	return []struct {
		Type    string
		Outcome outcome
	}{
		{v1.ConditionNamespaceReady, o.Namespace},
		{v1.ConditionAccessReady, o.Access},
		{v1.ConditionStorageReady, o.Storage},
		{v1.ConditionIdentityReady, o.Identity},
		{v1.ConditionServicesReady, o.Services},
	}
}

// areaCondition turns one outcome into its condition.
func areaCondition(conditionType string, generation int64, o outcome) metav1.Condition {
	c := metav1.Condition{Type: conditionType, ObservedGeneration: generation}
	switch {
	case o.Err != nil:
		reason := o.Reason
		if !slices.Contains(v1.FailureReasons, reason) {
			reason = v1.ReasonFailed
		}
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, reason, truncate(o.Err.Error(), 1000)
	case o.Skipped:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, v1.ReasonProgressing, "waiting for an earlier step"
	case o.Ready:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1.ReasonReady, o.Message
	default:
		reason := o.Reason
		if reason == "" {
			reason = v1.ReasonProgressing
		}
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, reason, o.Message
	}
	return c
}

// readyCondition summarises the area conditions: True only when all are; otherwise the host
// conflict, suspension or the first area that is not ready says why.
func readyCondition(o observation, areas []metav1.Condition) metav1.Condition {
	c := metav1.Condition{Type: v1.ConditionReady, ObservedGeneration: o.Generation}
	var notReady []string
	firstReason := ""
	for _, a := range areas {
		if a.Status != metav1.ConditionTrue {
			notReady = append(notReady, fmt.Sprintf("%s: %s", a.Type, a.Message))
			if firstReason == "" {
				firstReason = a.Reason
			}
		}
	}
	switch {
	case o.HostConflict != "":
		c.Status, c.Reason = metav1.ConditionFalse, v1.ReasonHostConflict
		c.Message = fmt.Sprintf("host is already claimed by partnership %q, which was created first; the portal is not published", o.HostConflict)
	case o.Suspended:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, v1.ReasonSuspended, "suspended: workloads are scaled to zero, data is kept"
	case len(notReady) > 0:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, firstReason, truncate(strings.Join(notReady, "; "), 1000)
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1.ReasonReady, "the tenant is running"
	}
	return c
}

// computeConditions returns the conditions after this reconcile, keeping each one's last
// transition time when its status did not change.
func computeConditions(previous []metav1.Condition, o observation) []metav1.Condition {
	areas := make([]metav1.Condition, 0, 5)
	for _, a := range o.areaConditions() {
		areas = append(areas, areaCondition(a.Type, o.Generation, a.Outcome))
	}
	next := make([]metav1.Condition, 0, len(previous)+6)
	next = append(next, previous...)
	for _, c := range append([]metav1.Condition{readyCondition(o, areas)}, areas...) {
		meta.SetStatusCondition(&next, c)
	}
	return next
}

// deletingConditions are the conditions of a Partnership being deleted: Deleting is True with what
// happens to the tenant, and Ready is False for the same reason.
func deletingConditions(previous []metav1.Condition, generation int64, msg string) []metav1.Condition {
	next := append([]metav1.Condition(nil), previous...)
	meta.SetStatusCondition(&next, metav1.Condition{Type: v1.ConditionDeleting, Status: metav1.ConditionTrue, Reason: v1.ReasonDeleting, Message: msg, ObservedGeneration: generation})
	meta.SetStatusCondition(&next, metav1.Condition{Type: v1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1.ReasonDeleting, Message: msg, ObservedGeneration: generation})
	return next
}

// changedConditions lists the conditions whose status or reason differ from before: each gets an event.
func changedConditions(previous, next []metav1.Condition) []metav1.Condition {
	var changed []metav1.Condition
	for _, c := range next {
		old := meta.FindStatusCondition(previous, c.Type)
		if old == nil || old.Status != c.Status || old.Reason != c.Reason {
			changed = append(changed, c)
		}
	}
	return changed
}

// conditionsEvent describes the conditions that changed in one status write as a single event:
// every change is reported, at one API write per status write rather than one per condition. The
// event carries Ready's reason when Ready changed, and is a warning when any area failed.
func conditionsEvent(changed []metav1.Condition) (kind, reason, note string) {
	kind = "Normal"
	notes := make([]string, 0, len(changed))
	for _, c := range changed {
		if reason == "" || c.Type == v1.ConditionReady {
			reason = c.Reason
		}
		if c.Status != metav1.ConditionTrue && slices.Contains(v1.FailureReasons, c.Reason) {
			kind = "Warning"
		}
		notes = append(notes, fmt.Sprintf("%s is %s: %s", c.Type, c.Status, c.Message))
	}
	return kind, reason, truncate(strings.Join(notes, "; "), 1000)
}
