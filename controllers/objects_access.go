package controllers

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
)

// Ports every tenant component listens on inside the cluster.
const (
	PortRedis        = 6379
	PortKratosPublic = 4433
	PortKratosAdmin  = 4434
	PortService      = 8080
	PortOTLP         = 4317
)

// AccessOptions are the cluster facts the network policies need.
type AccessOptions struct {
	// IngressNamespace runs the ingress controller allowed to reach the portal.
	IngressNamespace string
	// OperatorNamespace runs the operator, the only client of Kratos' admin API and Redis' admin user.
	OperatorNamespace string
	// ScraperNamespace, when set, runs the Prometheus allowed to reach the tenant processes' HTTP port
	// for their /metrics (the API behind it still needs a session).
	ScraperNamespace string
	// OperatorUser is the operator's own user name, written on each tenant namespace: the admission
	// policies (config/admission) let only that user change the namespace's isolation and limits.
	OperatorUser string
}

// AnnotationOperator names, on a tenant namespace, the user the admission policies let change its
// NetworkPolicies, Roles, RoleBindings, ResourceQuotas and LimitRanges.
const AnnotationOperator = "homeward.dev/operator"

func namespaceObject(p *platformv1alpha1.Partnership, opts AccessOptions) *corev1ac.NamespaceApplyConfiguration {
	labels := TenantLabels(p, "")
	// Pod Security "restricted": no privileged pods, host namespaces or root, whatever a tenant runs.
	labels["pod-security.kubernetes.io/enforce"] = "restricted"
	labels["pod-security.kubernetes.io/enforce-version"] = "latest"
	ns := corev1ac.Namespace(NamespaceName(p.Name)).WithLabels(labels)
	if opts.OperatorUser != "" {
		ns = ns.WithAnnotations(map[string]string{AnnotationOperator: opts.OperatorUser})
	}
	return ns
}

func serviceAccountObject(p *platformv1alpha1.Partnership, component string) *corev1ac.ServiceAccountApplyConfiguration {
	return corev1ac.ServiceAccount(component, NamespaceName(p.Name)).
		WithLabels(TenantLabels(p, component)).
		WithOwnerReferences(OwnerRef(p)).
		// No component talks to the Kubernetes API, so none gets a token.
		WithAutomountServiceAccountToken(false)
}

// supportRole lets the platform's support staff for this partnership look at its workloads and
// nothing else: not its Secrets, not other tenants.
func supportRole(p *platformv1alpha1.Partnership) *rbacv1ac.RoleApplyConfiguration {
	return rbacv1ac.Role("partnership-support", NamespaceName(p.Name)).
		WithLabels(TenantLabels(p, "")).
		WithOwnerReferences(OwnerRef(p)).
		WithRules(
			rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("pods", "pods/log", "events", "services", "persistentvolumeclaims").WithVerbs("get", "list", "watch"),
			rbacv1ac.PolicyRule().WithAPIGroups("apps").WithResources("deployments", "statefulsets").WithVerbs("get", "list", "watch"),
		)
}

// SupportGroup is the group whose members get partnership-support in a tenant.
func SupportGroup(p *platformv1alpha1.Partnership) string {
	return "homeward:partnership:" + p.Name + ":support"
}

func supportRoleBinding(p *platformv1alpha1.Partnership) *rbacv1ac.RoleBindingApplyConfiguration {
	return rbacv1ac.RoleBinding("partnership-support", NamespaceName(p.Name)).
		WithLabels(TenantLabels(p, "")).
		WithOwnerReferences(OwnerRef(p)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("Role").WithName("partnership-support")).
		WithSubjects(rbacv1ac.Subject().WithAPIGroup("rbac.authorization.k8s.io").WithKind("Group").WithName(SupportGroup(p)))
}

func QuantityOr(q *resource.Quantity, fallback string) resource.Quantity {
	if q == nil {
		return resource.MustParse(fallback)
	}
	return *q
}

// count is a quota's object count: the spec's, or the API's default where the object was not
// defaulted by the API server (objects built in tests).
func count(n, fallback int32) resource.Quantity {
	if n == 0 {
		n = fallback
	}
	return *resource.NewQuantity(int64(n), resource.DecimalSI)
}

func resourceQuota(p *platformv1alpha1.Partnership) *corev1ac.ResourceQuotaApplyConfiguration {
	r := p.Spec.Resources
	pods := r.Pods
	if pods == 0 {
		pods = 50
	}
	return corev1ac.ResourceQuota("tenant-quota", NamespaceName(p.Name)).
		WithLabels(TenantLabels(p, "")).
		WithOwnerReferences(OwnerRef(p)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(corev1.ResourceList{
			corev1.ResourceRequestsCPU:              QuantityOr(r.RequestsCPU, "4"),
			corev1.ResourceRequestsMemory:           QuantityOr(r.RequestsMemory, "8Gi"),
			corev1.ResourceLimitsCPU:                QuantityOr(r.LimitsCPU, "16"),
			corev1.ResourceLimitsMemory:             QuantityOr(r.LimitsMemory, "16Gi"),
			corev1.ResourceRequestsStorage:          QuantityOr(r.RequestsStorage, "50Gi"),
			corev1.ResourcePods:                     *resource.NewQuantity(int64(pods), resource.DecimalSI),
			corev1.ResourceRequestsEphemeralStorage: QuantityOr(r.RequestsEphemeralStorage, "10Gi"),
			corev1.ResourceLimitsEphemeralStorage:   QuantityOr(r.LimitsEphemeralStorage, "20Gi"),
			corev1.ResourceConfigMaps:               count(r.Objects.ConfigMaps, 40),
			corev1.ResourceSecrets:                  count(r.Objects.Secrets, 60),
			corev1.ResourceServices:                 count(r.Objects.Services, 20),
			corev1.ResourcePersistentVolumeClaims:   count(r.Objects.PersistentVolumeClaims, 10),
			// No tenant may open a port on the nodes or the internet directly.
			corev1.ResourceServicesNodePorts:     resource.MustParse("0"),
			corev1.ResourceServicesLoadBalancers: resource.MustParse("0"),
		}))
}

func limitRange(p *platformv1alpha1.Partnership) *corev1ac.LimitRangeApplyConfiguration {
	return corev1ac.LimitRange("tenant-limits", NamespaceName(p.Name)).
		WithLabels(TenantLabels(p, "")).
		WithOwnerReferences(OwnerRef(p)).
		WithSpec(corev1ac.LimitRangeSpec().WithLimits(corev1ac.LimitRangeItem().
			WithType(corev1.LimitTypeContainer).
			// Ephemeral storage too: a quota on it refuses any container that does not say how much.
			WithDefaultRequest(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
				corev1.ResourceEphemeralStorage: resource.MustParse("64Mi")}).
			WithDefault(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi"),
				corev1.ResourceEphemeralStorage: resource.MustParse("1Gi")}).
			WithMax(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("2Gi")})))
}

func podsOf(p *platformv1alpha1.Partnership, components ...string) []*networkingv1ac.NetworkPolicyPeerApplyConfiguration {
	peers := make([]*networkingv1ac.NetworkPolicyPeerApplyConfiguration, 0, len(components))
	for _, c := range components {
		peers = append(peers, networkingv1ac.NetworkPolicyPeer().
			WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(p, c))))
	}
	return peers
}

func namespacePeer(name string) *networkingv1ac.NetworkPolicyPeerApplyConfiguration {
	return networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(
		metav1ac.LabelSelector().WithMatchLabels(map[string]string{"kubernetes.io/metadata.name": name}))
}

func tcp(port int) *networkingv1ac.NetworkPolicyPortApplyConfiguration {
	return networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(intstr.FromInt32(int32(port)))
}

func policy(p *platformv1alpha1.Partnership, name string) *networkingv1ac.NetworkPolicyApplyConfiguration {
	return networkingv1ac.NetworkPolicy(name, NamespaceName(p.Name)).
		WithLabels(TenantLabels(p, "")).
		WithOwnerReferences(OwnerRef(p))
}

// networkPolicies deny everything, then allow exactly the paths a tenant uses. Each allowed path
// has both its egress and its ingress side, so it works whichever way a cluster enforces.
func networkPolicies(p *platformv1alpha1.Partnership, opts AccessOptions) []*networkingv1ac.NetworkPolicyApplyConfiguration {
	all := metav1ac.LabelSelector()
	on := func(component string) *metav1ac.LabelSelectorApplyConfiguration {
		return metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(p, component))
	}
	ingress := networkingv1.PolicyTypeIngress
	egress := networkingv1.PolicyTypeEgress
	apps := ServiceComponents
	backends := []string{ComponentReferral, ComponentHousing, ComponentReporting}

	policies := []*networkingv1ac.NetworkPolicyApplyConfiguration{
		policy(p, "default-deny").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(all).WithPolicyTypes(ingress, egress)),
		policy(p, "allow-dns").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(all).WithPolicyTypes(egress).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().
				WithTo(namespacePeer("kube-system")).
				WithPorts(
					networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolUDP).WithPort(intstr.FromInt32(53)),
					tcp(53)))),
		policy(p, "portal-from-ingress").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(on(ComponentPortal)).WithPolicyTypes(ingress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().
				WithFrom(namespacePeer(opts.IngressNamespace)).WithPorts(tcp(PortService)))),
		policy(p, "portal-to-services").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(on(ComponentPortal)).WithPolicyTypes(egress).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().WithTo(podsOf(p, backends...)...).WithPorts(tcp(PortService)),
				// The partnership admin's user pages manage identities through Kratos' admin API.
				networkingv1ac.NetworkPolicyEgressRule().WithTo(podsOf(p, ComponentKratos)...).WithPorts(tcp(PortKratosAdmin)))),
		policy(p, "services-from-portal").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{LabelPartnership: p.Name}).
				WithMatchExpressions(metav1ac.LabelSelectorRequirement().WithKey(LabelComponent).WithOperator("In").WithValues(backends...))).
			WithPolicyTypes(ingress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithFrom(podsOf(p, ComponentPortal)...).WithPorts(tcp(PortService)))),
		policy(p, "apps-to-redis-and-kratos").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{LabelPartnership: p.Name}).
				WithMatchExpressions(metav1ac.LabelSelectorRequirement().WithKey(LabelComponent).WithOperator("In").WithValues(apps...))).
			WithPolicyTypes(egress).
			WithEgress(
				networkingv1ac.NetworkPolicyEgressRule().WithTo(podsOf(p, ComponentRedis)...).WithPorts(tcp(PortRedis)),
				networkingv1ac.NetworkPolicyEgressRule().WithTo(podsOf(p, ComponentKratos)...).WithPorts(tcp(PortKratosPublic)),
				// Traces go to the cluster's OTLP collector, wherever it runs.
				networkingv1ac.NetworkPolicyEgressRule().WithPorts(tcp(PortOTLP)))),
		policy(p, "redis-from-apps-and-operator").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(on(ComponentRedis)).WithPolicyTypes(ingress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().
				WithFrom(append(podsOf(p, apps...), namespacePeer(opts.OperatorNamespace))...).WithPorts(tcp(PortRedis)))),
		policy(p, "kratos-public-from-apps").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(on(ComponentKratos)).WithPolicyTypes(ingress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().
				WithFrom(podsOf(p, apps...)...).WithPorts(tcp(PortKratosPublic)))),
		// The admin API answers anyone who reaches it: the operator (bootstrap) and the portal (the
		// partnership admin's user pages, checked there) only. The name predates the portal's rule and is
		// kept so upgrades change the policy in place rather than leave a stale one behind.
		policy(p, "kratos-admin-from-operator").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(on(ComponentKratos)).WithPolicyTypes(ingress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().
				WithFrom(append(podsOf(p, ComponentPortal), namespacePeer(opts.OperatorNamespace))...).WithPorts(tcp(PortKratosAdmin)))),
	}
	if opts.ScraperNamespace != "" {
		policies = append(policies, policy(p, "apps-from-scraper").WithSpec(networkingv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{LabelPartnership: p.Name}).
				WithMatchExpressions(metav1ac.LabelSelectorRequirement().WithKey(LabelComponent).WithOperator("In").WithValues(apps...))).
			WithPolicyTypes(ingress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().
				WithFrom(namespacePeer(opts.ScraperNamespace)).WithPorts(tcp(PortService)))))
	}
	return policies
}

// AccessObjects are the namespace and the access objects the reconciler applies for a tenant, in
// order: its service accounts, support Role and RoleBinding, ResourceQuota, LimitRange and
// NetworkPolicies.
func AccessObjects(p *platformv1alpha1.Partnership, opts AccessOptions) []runtime.ApplyConfiguration {
	objs := []runtime.ApplyConfiguration{namespaceObject(p, opts)}
	for _, comp := range AllComponents {
		objs = append(objs, serviceAccountObject(p, comp))
	}
	objs = append(objs, supportRole(p), supportRoleBinding(p), resourceQuota(p), limitRange(p))
	for _, np := range networkPolicies(p, opts) {
		objs = append(objs, np)
	}
	return objs
}
