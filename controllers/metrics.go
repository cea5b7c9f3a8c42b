package controllers

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
)

var partnershipsDesc = prometheus.NewDesc(
	"homeward_partnerships",
	"Partnerships by condition type and status.",
	[]string{"condition", "status"}, nil,
)

var notReadyDesc = prometheus.NewDesc(
	"homeward_partnerships_not_ready",
	"Partnerships whose condition is not True, by condition type and reason (reasons are the API's constants, so the set is bounded).",
	[]string{"condition", "reason"}, nil,
)

// PartnershipCollector reports homeward_partnerships{condition,status} and
// homeward_partnerships_not_ready{condition,reason} from the informer cache at scrape time, so the
// figures are never stale and cost nothing between scrapes.
type PartnershipCollector struct {
	Reader client.Reader
}

// Describe implements prometheus.Collector.
func (c PartnershipCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- partnershipsDesc
	ch <- notReadyDesc
}

// Collect implements prometheus.Collector.
func (c PartnershipCollector) Collect(ch chan<- prometheus.Metric) {
	var list v1.PartnershipList
	if err := c.Reader.List(context.Background(), &list); err != nil {
		ch <- prometheus.NewInvalidMetric(partnershipsDesc, err)
		return
	}
	types := []string{v1.ConditionReady, v1.ConditionNamespaceReady, v1.ConditionAccessReady,
		v1.ConditionStorageReady, v1.ConditionIdentityReady, v1.ConditionServicesReady}
	statuses := []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown}
	counts := map[string]map[metav1.ConditionStatus]int{}
	type conditionReason struct{ condition, reason string }
	notReady := map[conditionReason]int{}
	for _, t := range types {
		counts[t] = map[metav1.ConditionStatus]int{}
	}
	for _, p := range list.Items {
		for _, t := range types {
			status, reason := metav1.ConditionUnknown, "Unknown"
			for _, cond := range p.Status.Conditions {
				if cond.Type == t {
					status, reason = cond.Status, cond.Reason
				}
			}
			counts[t][status]++
			if status != metav1.ConditionTrue {
				notReady[conditionReason{t, reason}]++
			}
		}
	}
	for _, t := range types {
		for _, s := range statuses {
			ch <- prometheus.MustNewConstMetric(partnershipsDesc, prometheus.GaugeValue, float64(counts[t][s]), t, string(s))
		}
	}
	for k, n := range notReady {
		ch <- prometheus.MustNewConstMetric(notReadyDesc, prometheus.GaugeValue, float64(n), k.condition, k.reason)
	}
}
