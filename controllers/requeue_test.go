package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestHealthRechecksYieldToChanges(t *testing.T) {
	low := handler.LowPriority
	for _, tc := range []struct {
		name                   string
		waiting, healthRecheck time.Duration
		want                   reconcile.Result
	}{
		// A tenant waiting on something (a namespace still terminating, a Secret not yet made) is
		// rechecked soon, at the priority of the change that brought it.
		{"waiting keeps its priority", 2 * time.Second, 5 * time.Minute, reconcile.Result{RequeueAfter: 2 * time.Second}},
		{"ready is rechecked at low priority", 0, 5 * time.Minute, reconcile.Result{RequeueAfter: 5 * time.Minute, Priority: &low}},
		{"no recheck configured", 0, 0, reconcile.Result{Priority: &low}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, requeueResult(tc.waiting, tc.healthRecheck)); diff != "" {
				t.Errorf("requeue (-want +got):\n%s", diff)
			}
		})
	}
}
