package controllers

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
)

func builderPartnership() *v1.Partnership {
	p := &v1.Partnership{Spec: v1.PartnershipSpec{Host: "oldham.homeward.example"}}
	p.Name, p.UID = "oldham", "uid"
	return p
}

// peer is a pod (component in the tenant namespace) or a namespace (the ingress controller, the
// operator) that traffic comes from or goes to.
type peer struct{ component, namespace string }

func (pe peer) labels(p *v1.Partnership) labels.Set {
	if pe.component == "" {
		return nil
	}
	return labels.Set(TenantLabels(p, pe.component))
}

func selects(sel *metav1ac.LabelSelectorApplyConfiguration, set labels.Set) bool {
	if sel == nil {
		return true
	}
	ls := &metav1.LabelSelector{MatchLabels: sel.MatchLabels}
	for _, e := range sel.MatchExpressions {
		ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: *e.Key, Operator: *e.Operator, Values: e.Values})
	}
	s, err := metav1.LabelSelectorAsSelector(ls)
	return err == nil && s.Matches(set)
}

func peerMatches(p *v1.Partnership, peers []networkingv1ac.NetworkPolicyPeerApplyConfiguration, pe peer) bool {
	if len(peers) == 0 {
		return true
	}
	for _, x := range peers {
		switch {
		case x.NamespaceSelector != nil && pe.component == "":
			if selects(x.NamespaceSelector, labels.Set{"kubernetes.io/metadata.name": pe.namespace}) {
				return true
			}
		case x.PodSelector != nil && x.NamespaceSelector == nil && pe.component != "":
			if selects(x.PodSelector, pe.labels(p)) {
				return true
			}
		}
	}
	return false
}

func portMatches(ports []networkingv1ac.NetworkPolicyPortApplyConfiguration, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	return slices.ContainsFunc(ports, func(x networkingv1ac.NetworkPolicyPortApplyConfiguration) bool {
		return x.Port != nil && x.Port.IntVal == port
	})
}

// allowed evaluates the tenant's NetworkPolicies as a cluster would for TCP from → to:port, where
// either end may be a tenant pod: egress must be allowed for a tenant source, ingress for a tenant
// destination (pods selected by no policy of a type are open for it, but default-deny selects all).
func allowed(p *v1.Partnership, policies []*networkingv1ac.NetworkPolicyApplyConfiguration, from, to peer, port int32) bool {
	direction := func(pod peer, typ networkingv1.PolicyType, other peer) bool {
		if pod.component == "" {
			return true
		}
		selected := false
		for _, np := range policies {
			if !slices.Contains(np.Spec.PolicyTypes, typ) || !selects(np.Spec.PodSelector, pod.labels(p)) {
				continue
			}
			selected = true
			if typ == networkingv1.PolicyTypeEgress {
				for _, r := range np.Spec.Egress {
					if peerMatches(p, r.To, other) && portMatches(r.Ports, port) {
						return true
					}
				}
			} else {
				for _, r := range np.Spec.Ingress {
					if peerMatches(p, r.From, other) && portMatches(r.Ports, port) {
						return true
					}
				}
			}
		}
		return !selected
	}
	return direction(from, networkingv1.PolicyTypeEgress, to) && direction(to, networkingv1.PolicyTypeIngress, from)
}

// The tenant's NetworkPolicies let exactly ingress → portal → services, the apps → Redis and Kratos'
// public API, and the operator → Redis and Kratos' admin API.
func TestNetworkPoliciesAllowExactlyTheTenantsPaths(t *testing.T) {
	p := builderPartnership()
	policies := networkPolicies(p, AccessOptions{IngressNamespace: "ingress-nginx", OperatorNamespace: "homeward-system"})
	pod := func(c string) peer { return peer{component: c} }
	ingress, operator, stranger := peer{namespace: "ingress-nginx"}, peer{namespace: "homeward-system"}, peer{namespace: "hw-kirklees"}
	type path struct {
		from, to peer
		port     int32
	}
	want := map[path]bool{
		{ingress, pod(ComponentPortal), PortService}:                     true,
		{pod(ComponentPortal), pod(ComponentReferral), PortService}:      true,
		{pod(ComponentPortal), pod(ComponentHousing), PortService}:       true,
		{pod(ComponentPortal), pod(ComponentReporting), PortService}:     true,
		{pod(ComponentReferral), pod(ComponentRedis), PortRedis}:         true,
		{pod(ComponentPortal), pod(ComponentKratos), PortKratosPublic}:   true,
		{operator, pod(ComponentRedis), PortRedis}:                       true,
		{operator, pod(ComponentKratos), PortKratosAdmin}:                true,
		{ingress, pod(ComponentReferral), PortService}:                   false,
		{ingress, pod(ComponentRedis), PortRedis}:                        false,
		{stranger, pod(ComponentPortal), PortService}:                    false,
		{stranger, pod(ComponentRedis), PortRedis}:                       false,
		{pod(ComponentReferral), pod(ComponentPortal), PortService}:      false,
		{pod(ComponentReferral), pod(ComponentHousing), PortService}:     false,
		{pod(ComponentPortal), pod(ComponentKratos), PortKratosAdmin}:    true,
		{pod(ComponentHousing), pod(ComponentKratos), PortKratosAdmin}:   false,
		{pod(ComponentReporting), pod(ComponentKratos), PortKratosAdmin}: false,
		{pod(ComponentReferral), pod(ComponentKratos), PortKratosAdmin}:  false,
		{pod(ComponentRedis), pod(ComponentKratos), PortKratosPublic}:    false,
		{pod(ComponentReferral), pod(ComponentRedis), PortKratosPublic}:  false,
		{pod(ComponentReporting), stranger, 6379}:                        false,
	}
	for pa, w := range want {
		name := func(pe peer) string { return strings.TrimSpace(pe.component + " " + pe.namespace) }
		if got := allowed(p, policies, pa.from, pa.to, pa.port); got != w {
			t.Errorf("%s → %s:%d allowed = %v, want %v", name(pa.from), name(pa.to), pa.port, got, w)
		}
	}

	// With a scraper namespace, its Prometheus reaches the tenant processes' HTTP port, and nothing else.
	scraper := peer{namespace: "monitoring"}
	if allowed(p, policies, scraper, pod(ComponentReferral), PortService) {
		t.Error("a scraper reaches the services without being named")
	}
	scraped := networkPolicies(p, AccessOptions{IngressNamespace: "ingress-nginx", OperatorNamespace: "homeward-system", ScraperNamespace: "monitoring"})
	for pa, w := range map[path]bool{
		{scraper, pod(ComponentReferral), PortService}:   true,
		{scraper, pod(ComponentHousing), PortService}:    true,
		{scraper, pod(ComponentReporting), PortService}:  true,
		{scraper, pod(ComponentPortal), PortService}:     true,
		{scraper, pod(ComponentRedis), PortRedis}:        false,
		{scraper, pod(ComponentKratos), PortKratosAdmin}: false,
		{stranger, pod(ComponentReferral), PortService}:  false,
	} {
		if got := allowed(p, scraped, pa.from, pa.to, pa.port); got != w {
			t.Errorf("with a scraper: %s %s → %s:%d allowed = %v, want %v", pa.from.namespace, pa.from.component, pa.to.component, pa.port, got, w)
		}
	}
}

func TestTraceSampleRatio(t *testing.T) {
	for _, tc := range []struct {
		percent *int32
		want    string
	}{{nil, ""}, {ptr.To[int32](100), ""}, {ptr.To[int32](25), "0.25"}, {ptr.To[int32](5), "0.05"}, {ptr.To[int32](0), "0"}} {
		p := &v1.Partnership{}
		p.Spec.Observability.TraceSamplePercent = tc.percent
		if got := TraceSampleRatio(p); got != tc.want {
			t.Errorf("%v%%: %q, want %q", tc.percent, got, tc.want)
		}
	}
}

// The tenant quota bounds ephemeral storage and object counts as well as compute, from the spec or
// the API's defaults; the LimitRange gives every container an ephemeral-storage default, without
// which a quota on it would refuse the tenant's own pods.
func TestQuotaBoundsStorageAndObjects(t *testing.T) {
	p := builderPartnership()
	p.Spec.Resources.Objects.Secrets = 75
	hard := resourceQuota(p).Spec.Hard
	for name, want := range map[corev1.ResourceName]string{
		corev1.ResourceRequestsEphemeralStorage: "10Gi", corev1.ResourceLimitsEphemeralStorage: "20Gi",
		corev1.ResourceConfigMaps: "40", corev1.ResourceSecrets: "75", corev1.ResourceServices: "20",
		corev1.ResourcePersistentVolumeClaims: "10", corev1.ResourceServicesNodePorts: "0", corev1.ResourceServicesLoadBalancers: "0",
	} {
		if got, ok := (*hard)[name]; !ok || got.String() != want {
			t.Errorf("quota %s = %v, want %s", name, got.String(), want)
		}
	}
	item := limitRange(p).Spec.Limits[0]
	if _, ok := (*item.DefaultRequest)[corev1.ResourceEphemeralStorage]; !ok {
		t.Error("containers get no default ephemeral-storage request")
	}
	if _, ok := (*item.Default)[corev1.ResourceEphemeralStorage]; !ok {
		t.Error("containers get no default ephemeral-storage limit")
	}
}
