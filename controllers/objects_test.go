package controllers

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/services/kit/config"
)

func builderPartnership() *v1.Partnership {
	p := &v1.Partnership{Spec: v1.PartnershipSpec{Host: "oldham.homeward.example"}}
	p.Name, p.UID = "oldham", "uid"
	return p
}

// Every tenant container runs under the restricted Pod Security profile: the namespace enforces it,
// and a builder that drifts would leave a tenant that never starts.
func TestEveryTenantWorkloadIsRestricted(t *testing.T) {
	p := builderPartnership()
	pods := map[string]*corev1ac.PodSpecApplyConfiguration{
		ComponentRedis:  redisStatefulSet(p, "redis:7").Spec.Template.Spec,
		ComponentKratos: kratosDeployment(p, "kratos:1").Spec.Template.Spec,
	}
	for _, c := range ServiceComponents {
		pods[c] = serviceDeployment(p, c, "homeward:1", "", "{}").Spec.Template.Spec
	}
	for name, pod := range pods {
		if pod.SecurityContext == nil || !*pod.SecurityContext.RunAsNonRoot || pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("%s: pod runs as root or mounts a service account token", name)
		}
		for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			sc := c.SecurityContext
			switch {
			case sc == nil, !*sc.RunAsNonRoot, *sc.AllowPrivilegeEscalation, !*sc.ReadOnlyRootFilesystem,
				!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}), *sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
				t.Errorf("%s/%s is not restricted: %+v", name, *c.Name, sc)
			}
			if c.Resources == nil || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
				t.Errorf("%s/%s has no requests or memory limit", name, *c.Name)
			}
		}
	}
}

// A service's pod environment is the services' own configuration, spelled as they parse it, and the
// portal reaches the services through their cluster Services.
func TestServiceEnvironmentIsTheServicesConfiguration(t *testing.T) {
	p := builderPartnership()
	known := map[string]bool{}
	for _, name := range config.Env {
		known[name] = true
	}
	for _, c := range ServiceComponents {
		env := map[string]string{}
		for _, e := range serviceDeployment(p, c, "homeward:1", "otel:4317", `{"policy":{}}`).Spec.Template.Spec.Containers[0].Env {
			if !known[*e.Name] {
				t.Errorf("%s: %s is not a variable the services read", c, *e.Name)
			}
			env[*e.Name] = *e.Value
		}
		if env["HOMEWARD_REDIS_USER"] != c || env["HOMEWARD_PARTNERSHIP"] != "oldham" || env["OTEL_EXPORTER_OTLP_ENDPOINT"] != "otel:4317" {
			t.Errorf("%s: %v", c, env)
		}
		if c == ComponentPortal && env["HOMEWARD_HOUSING_URL"] != "http://housing.hw-oldham.svc:8080" {
			t.Errorf("the portal reaches housing at %q", env["HOMEWARD_HOUSING_URL"])
		}
		if c != ComponentPortal && env["HOMEWARD_REFERRAL_URL"] != "" {
			t.Errorf("%s is given the services' URLs", c)
		}
	}
}

// peer is a pod (component in the tenant namespace) or a namespace (the ingress controller, the
// operator) that traffic comes from or goes to.
type peer struct{ component, namespace string }

func (pe peer) labels(p *v1.Partnership) labels.Set {
	if pe.component == "" {
		return nil
	}
	return labels.Set(tenantLabels(p, pe.component))
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
		{ingress, pod(ComponentPortal), PortService}:                    true,
		{pod(ComponentPortal), pod(ComponentReferral), PortService}:     true,
		{pod(ComponentPortal), pod(ComponentHousing), PortService}:      true,
		{pod(ComponentPortal), pod(ComponentReporting), PortService}:    true,
		{pod(ComponentReferral), pod(ComponentRedis), PortRedis}:        true,
		{pod(ComponentPortal), pod(ComponentKratos), PortKratosPublic}:  true,
		{operator, pod(ComponentRedis), PortRedis}:                      true,
		{operator, pod(ComponentKratos), PortKratosAdmin}:               true,
		{ingress, pod(ComponentReferral), PortService}:                  false,
		{ingress, pod(ComponentRedis), PortRedis}:                       false,
		{stranger, pod(ComponentPortal), PortService}:                   false,
		{stranger, pod(ComponentRedis), PortRedis}:                      false,
		{pod(ComponentReferral), pod(ComponentPortal), PortService}:     false,
		{pod(ComponentReferral), pod(ComponentHousing), PortService}:    false,
		{pod(ComponentPortal), pod(ComponentKratos), PortKratosAdmin}:   false,
		{pod(ComponentReferral), pod(ComponentKratos), PortKratosAdmin}: false,
		{pod(ComponentRedis), pod(ComponentKratos), PortKratosPublic}:   false,
		{pod(ComponentReferral), pod(ComponentRedis), PortKratosPublic}: false,
		{pod(ComponentReporting), stranger, 6379}:                       false,
	}
	for pa, w := range want {
		name := func(pe peer) string { return strings.TrimSpace(pe.component + " " + pe.namespace) }
		if got := allowed(p, policies, pa.from, pa.to, pa.port); got != w {
			t.Errorf("%s → %s:%d allowed = %v, want %v", name(pa.from), name(pa.to), pa.port, got, w)
		}
	}
}
