package kubernetes

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/homeward-dev/homeward/controllers"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/services/kit/config"
)

// Images the kubernetes runtime runs.
type Images struct {
	Homeward string
	Redis    string
	Kratos   string
}

func restrictedContainer(name, image string, uid int64, cpu, memory string) *corev1ac.ContainerApplyConfiguration {
	return corev1ac.Container().WithName(name).WithImage(image).
		WithSecurityContext(corev1ac.SecurityContext().
			WithRunAsNonRoot(true).WithRunAsUser(uid).
			WithAllowPrivilegeEscalation(false).
			WithReadOnlyRootFilesystem(true).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithResources(corev1ac.ResourceRequirements().
			WithRequests(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}).
			WithLimits(corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse(memory)}))
}

func restrictedPod(component string, uid int64) *corev1ac.PodSpecApplyConfiguration {
	return corev1ac.PodSpec().
		WithServiceAccountName(component).
		WithAutomountServiceAccountToken(false).
		WithEnableServiceLinks(false).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).WithRunAsUser(uid).WithRunAsGroup(uid).WithFSGroup(uid).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault)))
}

func secretVolume(name, secret string) *corev1ac.VolumeApplyConfiguration {
	return corev1ac.Volume().WithName(name).WithSecret(corev1ac.SecretVolumeSource().WithSecretName(secret).WithDefaultMode(0o440))
}

func tmpVolume() *corev1ac.VolumeApplyConfiguration {
	return corev1ac.Volume().WithName("tmp").WithEmptyDir(corev1ac.EmptyDirVolumeSource().WithSizeLimit(resource.MustParse("64Mi")))
}

func mount(name, path string) *corev1ac.VolumeMountApplyConfiguration {
	return corev1ac.VolumeMount().WithName(name).WithMountPath(path)
}

func clusterService(p *platformv1alpha1.Partnership, component string, ports ...*corev1ac.ServicePortApplyConfiguration) *corev1ac.ServiceApplyConfiguration {
	return corev1ac.Service(component, controllers.NamespaceName(p.Name)).
		WithLabels(controllers.TenantLabels(p, component)).
		WithOwnerReferences(controllers.OwnerRef(p)).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(controllers.SelectorLabels(p, component)).
			WithPorts(ports...))
}

func servicePort(name string, port int32) *corev1ac.ServicePortApplyConfiguration {
	return corev1ac.ServicePort().WithName(name).WithProtocol(corev1.ProtocolTCP).WithPort(port).WithTargetPort(intstr.FromString(name))
}

const redisUID = 999

func redisStatefulSet(p *platformv1alpha1.Partnership, image string) *appsv1ac.StatefulSetApplyConfiguration {
	replicas := int32(1)
	if p.Spec.Suspend {
		replicas = 0
	}
	// Claim templates form an atomic list, so the apiserver's defaults (volume mode, pending
	// phase) become part of what this operator owns: they are spelled out, and kind and namespace
	// left out, so the stored template equals the applied one and a re-apply is never needed.
	claim := (&corev1ac.PersistentVolumeClaimApplyConfiguration{}).
		WithName("data").
		WithLabels(controllers.TenantLabels(p, controllers.ComponentRedis)).
		WithStatus(corev1ac.PersistentVolumeClaimStatus().WithPhase(corev1.ClaimPending)).
		WithSpec(corev1ac.PersistentVolumeClaimSpec().
			WithVolumeMode(corev1.PersistentVolumeFilesystem).
			WithAccessModes(corev1.ReadWriteOnce).
			WithResources(corev1ac.VolumeResourceRequirements().
				WithRequests(corev1.ResourceList{corev1.ResourceStorage: controllers.QuantityOr(p.Spec.Storage.Redis.Size, "5Gi")})))
	if sc := p.Spec.Storage.Redis.StorageClassName; sc != nil {
		claim.Spec.WithStorageClassName(*sc)
	}
	container := restrictedContainer("redis", image, redisUID, "100m", "256Mi").
		WithCommand("redis-server", "/etc/redis/redis.conf").
		WithPorts(corev1ac.ContainerPort().WithName("redis").WithContainerPort(controllers.PortRedis)).
		WithVolumeMounts(mount("data", "/data"), mount("config", "/etc/redis"), mount("tmp", "/tmp")).
		WithReadinessProbe(corev1ac.Probe().WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromString("redis"))).WithPeriodSeconds(5))
	return appsv1ac.StatefulSet(controllers.ComponentRedis, controllers.NamespaceName(p.Name)).
		WithLabels(controllers.TenantLabels(p, controllers.ComponentRedis)).
		WithOwnerReferences(controllers.OwnerRef(p)).
		WithSpec(appsv1ac.StatefulSetSpec().
			WithReplicas(replicas).
			WithServiceName(controllers.ComponentRedis).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(controllers.SelectorLabels(p, controllers.ComponentRedis))).
			// Volumes stay when the StatefulSet goes: the Retain policy and re-adoption rely on it.
			WithPersistentVolumeClaimRetentionPolicy(appsv1ac.StatefulSetPersistentVolumeClaimRetentionPolicy().
				WithWhenDeleted("Retain").WithWhenScaled("Retain")).
			WithVolumeClaimTemplates(claim).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(controllers.TenantLabels(p, controllers.ComponentRedis)).
				WithSpec(restrictedPod(controllers.ComponentRedis, redisUID).
					WithContainers(container).
					WithVolumes(secretVolume("config", "redis-config"), tmpVolume()))))
}

const kratosUID = 10000

// kratosDataClaim is SQLite's volume; like the keys it has no owner, so Retain keeps identities.
func kratosDataClaim(p *platformv1alpha1.Partnership) *corev1ac.PersistentVolumeClaimApplyConfiguration {
	spec := corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}))
	if sc := p.Spec.Storage.Redis.StorageClassName; sc != nil {
		spec.WithStorageClassName(*sc)
	}
	return corev1ac.PersistentVolumeClaim("kratos-data", controllers.NamespaceName(p.Name)).
		WithLabels(controllers.TenantLabels(p, controllers.ComponentKratos)).
		WithSpec(spec)
}

func kratosDSNEnv(p *platformv1alpha1.Partnership) *corev1ac.EnvVarApplyConfiguration {
	if ref := p.Spec.Identity.ExternalDSNSecretRef; ref != nil {
		return corev1ac.EnvVar().WithName("DSN").WithValueFrom(corev1ac.EnvVarSource().
			WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(ref.Name).WithKey(ref.Key)))
	}
	return corev1ac.EnvVar().WithName("DSN").WithValue("sqlite:///var/lib/kratos/kratos.db?_fk=true&mode=rwc")
}

func kratosDeployment(p *platformv1alpha1.Partnership, image string) *appsv1ac.DeploymentApplyConfiguration {
	replicas := int32(1)
	if p.Spec.Suspend {
		replicas = 0
	}
	env := []*corev1ac.EnvVarApplyConfiguration{kratosDSNEnv(p), corev1ac.EnvVar().WithName("SQA_OPT_OUT").WithValue("true")}
	mounts := []*corev1ac.VolumeMountApplyConfiguration{mount("config", "/etc/kratos"), mount("tmp", "/tmp")}
	volumes := []*corev1ac.VolumeApplyConfiguration{secretVolume("config", "kratos-config"), tmpVolume()}
	if p.Spec.Identity.ExternalDSNSecretRef == nil {
		mounts = append(mounts, mount("data", "/var/lib/kratos"))
		volumes = append(volumes, corev1ac.Volume().WithName("data").WithPersistentVolumeClaim(
			corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName("kratos-data")))
	}
	migrate := restrictedContainer("migrate", image, kratosUID, "50m", "128Mi").
		WithArgs("migrate", "sql", "--read-from-env", "--yes", "--config", "/etc/kratos/kratos.yaml").
		WithEnv(env...).WithVolumeMounts(mounts...)
	serve := restrictedContainer("kratos", image, kratosUID, "50m", "128Mi").
		WithArgs("serve", "--config", "/etc/kratos/kratos.yaml").
		WithEnv(env...).WithVolumeMounts(mounts...).
		WithPorts(
			corev1ac.ContainerPort().WithName("public").WithContainerPort(controllers.PortKratosPublic),
			corev1ac.ContainerPort().WithName("admin").WithContainerPort(controllers.PortKratosAdmin)).
		WithReadinessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath("/admin/health/ready").WithPort(intstr.FromString("admin"))).WithPeriodSeconds(5))
	return appsv1ac.Deployment(controllers.ComponentKratos, controllers.NamespaceName(p.Name)).
		WithLabels(controllers.TenantLabels(p, controllers.ComponentKratos)).
		WithOwnerReferences(controllers.OwnerRef(p)).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(replicas).
			// SQLite allows one writer: never run two Kratos pods on the same volume.
			WithStrategy(appsv1ac.DeploymentStrategy().WithType("Recreate")).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(controllers.SelectorLabels(p, controllers.ComponentKratos))).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(controllers.TenantLabels(p, controllers.ComponentKratos)).
				WithSpec(restrictedPod(controllers.ComponentKratos, kratosUID).
					WithInitContainers(migrate).
					WithContainers(serve).
					WithVolumes(volumes...))))
}

const homewardUID = 65532

func serviceDeployment(p *platformv1alpha1.Partnership, component, image, otlp, policy string) *appsv1ac.DeploymentApplyConfiguration {
	ns := controllers.NamespaceName(p.Name)
	settings := config.Config{
		Partnership: p.Name, Listen: ":" + strconv.Itoa(controllers.PortService),
		RedisAddr: fmt.Sprintf("%s.%s.svc:%d", controllers.ComponentRedis, ns, controllers.PortRedis), RedisUser: component,
		RedisPasswordFile: "/var/run/homeward/redis-password", PIIKeyFile: "/var/run/homeward/pii-key",
		KratosPublicURL: fmt.Sprintf("http://%s.%s.svc:%d", controllers.ComponentKratos, ns, controllers.PortKratosPublic),
		// A policy change changes the pod template, so the services roll out with it.
		PolicyJSON: policy, OTLPEndpoint: otlp, TraceSampleRatio: controllers.TraceSampleRatio(p),
	}
	if component == controllers.ComponentPortal {
		// The portal reaches the services through their Services, as the NetworkPolicies allow.
		url := func(service string) string {
			return fmt.Sprintf("http://%s.%s.svc:%d", service, ns, controllers.PortService)
		}
		settings.ReferralURL, settings.HousingURL, settings.ReportingURL = url(controllers.ComponentReferral), url(controllers.ComponentHousing), url(controllers.ComponentReporting)
		// Only the portal reaches Kratos' admin API besides the operator (its NetworkPolicy says so),
		// for the partnership admin's user pages.
		settings.KratosAdminURL = fmt.Sprintf("http://%s.%s.svc:%d", controllers.ComponentKratos, ns, controllers.PortKratosAdmin)
		settings.AllowedEmailDomains = strings.Join(p.Spec.Identity.AllowedEmailDomains, ",")
	}
	// Traces name the pod and namespace they come from (the downward API, then the standard
	// OTEL_RESOURCE_ATTRIBUTES, which Kubernetes expands from the variables before it). The field
	// selectors spell out the API version the server would default, so a resync finds nothing to change.
	env := []*corev1ac.EnvVarApplyConfiguration{
		corev1ac.EnvVar().WithName("K8S_POD_NAME").WithValueFrom(corev1ac.EnvVarSource().WithFieldRef(corev1ac.ObjectFieldSelector().WithAPIVersion("v1").WithFieldPath("metadata.name"))),
		corev1ac.EnvVar().WithName("K8S_NAMESPACE").WithValueFrom(corev1ac.EnvVarSource().WithFieldRef(corev1ac.ObjectFieldSelector().WithAPIVersion("v1").WithFieldPath("metadata.namespace"))),
		corev1ac.EnvVar().WithName("OTEL_RESOURCE_ATTRIBUTES").WithValue("k8s.namespace.name=$(K8S_NAMESPACE),k8s.pod.name=$(K8S_POD_NAME)"),
	}
	for _, v := range settings.Environ() {
		env = append(env, corev1ac.EnvVar().WithName(v.Name).WithValue(v.Value))
	}
	container := restrictedContainer(component, image, homewardUID, "50m", "128Mi").
		WithArgs(controllers.ServiceSubcommand(component)).
		WithEnv(env...).
		WithPorts(corev1ac.ContainerPort().WithName("http").WithContainerPort(controllers.PortService)).
		WithVolumeMounts(mount("credentials", "/var/run/homeward"), mount("tmp", "/tmp")).
		WithReadinessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath("/readyz").WithPort(intstr.FromString("http"))).WithPeriodSeconds(5)).
		WithLivenessProbe(corev1ac.Probe().WithHTTPGet(corev1ac.HTTPGetAction().WithPath("/healthz").WithPort(intstr.FromString("http"))).WithPeriodSeconds(10))
	return appsv1ac.Deployment(component, ns).
		WithLabels(controllers.TenantLabels(p, component)).
		WithOwnerReferences(controllers.OwnerRef(p)).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(controllers.Replicas(p, component)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(controllers.SelectorLabels(p, component))).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(controllers.TenantLabels(p, component)).
				WithSpec(restrictedPod(component, homewardUID).
					WithContainers(container).
					WithVolumes(secretVolume("credentials", "svc-"+component), tmpVolume()))))
}

func disruptionBudget(p *platformv1alpha1.Partnership, component string) *policyv1ac.PodDisruptionBudgetApplyConfiguration {
	return policyv1ac.PodDisruptionBudget(component, controllers.NamespaceName(p.Name)).
		WithLabels(controllers.TenantLabels(p, component)).
		WithOwnerReferences(controllers.OwnerRef(p)).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMinAvailable(intstr.FromInt32(1)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(controllers.SelectorLabels(p, component))))
}

func portalIngress(p *platformv1alpha1.Partnership, class string) *networkingv1ac.IngressApplyConfiguration {
	spec := networkingv1ac.IngressSpec().WithRules(networkingv1ac.IngressRule().
		WithHost(p.Spec.Host).
		WithHTTP(networkingv1ac.HTTPIngressRuleValue().WithPaths(networkingv1ac.HTTPIngressPath().
			WithPath("/").WithPathType(networkingv1.PathTypePrefix).
			WithBackend(networkingv1ac.IngressBackend().WithService(networkingv1ac.IngressServiceBackend().
				WithName(controllers.ComponentPortal).WithPort(networkingv1ac.ServiceBackendPort().WithName("http")))))))
	if class != "" {
		spec.WithIngressClassName(class)
	}
	return networkingv1ac.Ingress("portal", controllers.NamespaceName(p.Name)).
		WithLabels(controllers.TenantLabels(p, controllers.ComponentPortal)).
		WithOwnerReferences(controllers.OwnerRef(p)).
		WithSpec(spec)
}
