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

// PartnershipCollector reports homeward_partnerships{condition,status} from the informer cache at
// scrape time, so the figure is never stale and costs nothing between scrapes.
type PartnershipCollector struct {
	Reader client.Reader
}

// Describe implements prometheus.Collector.
func (c PartnershipCollector) Describe(ch chan<- *prometheus.Desc) { ch <- partnershipsDesc }

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
	for _, t := range types {
		counts[t] = map[metav1.ConditionStatus]int{}
	}
	for _, p := range list.Items {
		for _, t := range types {
			status := metav1.ConditionUnknown
			for _, cond := range p.Status.Conditions {
				if cond.Type == t {
					status = cond.Status
				}
			}
			counts[t][status]++
		}
	}
	for _, t := range types {
		for _, s := range statuses {
			ch <- prometheus.MustNewConstMetric(partnershipsDesc, prometheus.GaugeValue, float64(counts[t][s]), t, string(s))
		}
	}
}
