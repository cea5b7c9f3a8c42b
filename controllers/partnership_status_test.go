package controllers

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
)

func allReady() observation {
	r := outcome{State: Ready("ok")}
	return observation{Generation: 3, Namespace: r, Access: r, Storage: r, Identity: r, Services: r}
}

func TestReadyCondition(t *testing.T) {
	for _, tc := range []struct {
		name       string
		obs        func(o *observation)
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"all areas ready", func(*observation) {}, metav1.ConditionTrue, v1.ReasonReady},
		{"a failed area", func(o *observation) { o.Storage = outcome{Err: errors.New("redis down")} }, metav1.ConditionFalse, v1.ReasonFailed},
		{"a failed area gives its own reason", func(o *observation) {
			_ = o.Storage.fail(v1.ReasonRedisNotAnswering, errors.New("redis down"))
		}, metav1.ConditionFalse, v1.ReasonRedisNotAnswering},
		{"a reason that is not a failure's is not passed off as one", func(o *observation) {
			_ = o.Identity.fail(v1.ReasonKratosStarting, errors.New("kratos down"))
		}, metav1.ConditionFalse, v1.ReasonFailed},
		{"a portal that cannot be published fails a ready area", func(o *observation) {
			_ = o.Services.fail(v1.ReasonPortalNotPublished, errors.New("admission denied"))
		}, metav1.ConditionFalse, v1.ReasonPortalNotPublished},
		{"a waiting area gives its reason", func(o *observation) {
			o.Services = outcome{State: Waiting(v1.ReasonNoServiceBins, "no binary")}
		}, metav1.ConditionFalse, v1.ReasonNoServiceBins},
		{"skipped areas wait", func(o *observation) { o.Access = outcome{Skipped: true} }, metav1.ConditionFalse, v1.ReasonProgressing},
		{"host conflict wins over everything", func(o *observation) {
			o.HostConflict = "oldham"
			o.Storage = outcome{Err: errors.New("x")}
		}, metav1.ConditionFalse, v1.ReasonHostConflict},
		{"suspended", func(o *observation) {
			o.Suspended = true
			o.Storage = outcome{State: Waiting(v1.ReasonSuspended, "stopped")}
		}, metav1.ConditionFalse, v1.ReasonSuspended},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := allReady()
			tc.obs(&o)
			conds := computeConditions(nil, o)
			if len(conds) != 6 {
				t.Fatalf("want 6 conditions, got %d", len(conds))
			}
			got := conds[0]
			if got.Type != v1.ConditionReady || got.Status != tc.wantStatus || got.Reason != tc.wantReason || got.ObservedGeneration != 3 {
				t.Fatalf("Ready = %+v; want %s/%s at generation 3", got, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

func TestConditionsKeepTransitionTimeAndReportChanges(t *testing.T) {
	long := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	previous := computeConditions(nil, allReady())
	for i := range previous {
		previous[i].LastTransitionTime = long
	}
	same := computeConditions(previous, allReady())
	if diff := cmp.Diff(previous, same); diff != "" {
		t.Fatalf("an unchanged observation changed the conditions:\n%s", diff)
	}
	if changed := changedConditions(previous, same); len(changed) != 0 {
		t.Fatalf("no change should raise no event, got %v", changed)
	}

	failing := allReady()
	failing.Identity = outcome{Err: errors.New("kratos unreachable")}
	next := computeConditions(previous, failing)
	changed := changedConditions(previous, next)
	types := make([]string, 0, len(changed))
	for _, c := range changed {
		types = append(types, c.Type)
		if c.LastTransitionTime.Equal(&long) {
			t.Errorf("%s changed status but kept its old transition time", c.Type)
		}
	}
	if diff := cmp.Diff([]string{v1.ConditionReady, v1.ConditionIdentityReady}, types, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Fatalf("changed conditions (-want +got):\n%s", diff)
	}
}

func TestLongErrorsAreTruncatedInConditions(t *testing.T) {
	o := allReady()
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	o.Storage = outcome{Err: errors.New(string(long))}
	c := areaCondition(v1.ConditionStorageReady, 1, o.Storage)
	if len(c.Message) > 1004 {
		t.Fatalf("message of %d bytes", len(c.Message))
	}
}

func TestOneEventReportsEveryChangedCondition(t *testing.T) {
	previous := computeConditions(nil, allReady())
	failing := allReady()
	failing.Identity = outcome{Err: errors.New("kratos unreachable")}
	kind, reason, note := conditionsEvent(changedConditions(previous, computeConditions(previous, failing)))
	if kind != "Warning" || reason != v1.ReasonFailed {
		t.Fatalf("event %s/%s; want Warning/Failed", kind, reason)
	}
	for _, want := range []string{"Ready is False", "IdentityReady is False: kratos unreachable"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q does not say %q", note, want)
		}
	}
	kind, reason, _ = conditionsEvent(changedConditions(computeConditions(nil, failing), computeConditions(nil, allReady())))
	if kind != "Normal" || reason != v1.ReasonReady {
		t.Fatalf("recovery event %s/%s; want Normal/Ready", kind, reason)
	}
	starting := allReady()
	starting.Storage = outcome{State: Waiting(v1.ReasonRedisStarting, "waiting for redis")}
	if kind, reason, _ := conditionsEvent(changedConditions(previous, computeConditions(previous, starting))); kind != "Normal" || reason != v1.ReasonRedisStarting {
		t.Fatalf("a restart is %s/%s; want Normal/RedisStarting", kind, reason)
	}
	invite := allReady()
	_ = invite.Identity.fail(v1.ReasonAdminInviteFailed, errors.New("kratos refused the identity"))
	if kind, reason, _ := conditionsEvent(changedConditions(previous, computeConditions(previous, invite))); kind != "Warning" || reason != v1.ReasonAdminInviteFailed {
		t.Fatalf("a failed invitation is %s/%s; want Warning/AdminInviteFailed", kind, reason)
	}
}

func TestADeletedPartnershipSaysWhatHappensToItsTenant(t *testing.T) {
	conds := deletingConditions(computeConditions(nil, allReady()), 4, "namespace hw-x is deleted with all its data")
	for _, c := range conds {
		switch c.Type {
		case v1.ConditionDeleting:
			if c.Status != metav1.ConditionTrue || c.Reason != v1.ReasonDeleting || !strings.Contains(c.Message, "hw-x") || c.ObservedGeneration != 4 {
				t.Errorf("Deleting = %+v", c)
			}
		case v1.ConditionReady:
			if c.Status != metav1.ConditionFalse || c.Reason != v1.ReasonDeleting {
				t.Errorf("Ready = %+v", c)
			}
		}
	}
	if len(conds) != 7 {
		t.Errorf("%d conditions, want the six and Deleting", len(conds))
	}
}
