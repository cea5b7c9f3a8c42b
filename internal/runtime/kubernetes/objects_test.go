package kubernetes

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/controllers"
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
		controllers.ComponentRedis:  redisStatefulSet(p, "redis:7").Spec.Template.Spec,
		controllers.ComponentKratos: kratosDeployment(p, "kratos:1").Spec.Template.Spec,
	}
	for _, c := range controllers.ServiceComponents {
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
	p.Spec.Observability.TraceSamplePercent = ptr.To[int32](25)
	known := map[string]bool{"OTEL_RESOURCE_ATTRIBUTES": true} // read by the OpenTelemetry SDK
	for _, name := range config.Env {
		known[name] = true
	}
	for _, c := range controllers.ServiceComponents {
		env, fromPod := map[string]string{}, map[string]string{}
		for _, e := range serviceDeployment(p, c, "homeward:1", "otel:4317", `{"policy":{}}`).Spec.Template.Spec.Containers[0].Env {
			if e.ValueFrom != nil {
				fromPod[*e.Name] = *e.ValueFrom.FieldRef.FieldPath
				continue
			}
			if !known[*e.Name] && !strings.Contains(env["OTEL_RESOURCE_ATTRIBUTES"], "$("+*e.Name+")") {
				t.Errorf("%s: %s is not a variable the services read", c, *e.Name)
			}
			env[*e.Name] = *e.Value
		}
		if env["HOMEWARD_REDIS_USER"] != c || env["HOMEWARD_PARTNERSHIP"] != "oldham" || env["OTEL_EXPORTER_OTLP_ENDPOINT"] != "otel:4317" ||
			env["HOMEWARD_TRACE_SAMPLE_RATIO"] != "0.25" {
			t.Errorf("%s: %v", c, env)
		}
		// Traces name their pod and namespace: the downward API, expanded into the SDK's variable.
		if fromPod["K8S_POD_NAME"] != "metadata.name" || fromPod["K8S_NAMESPACE"] != "metadata.namespace" ||
			env["OTEL_RESOURCE_ATTRIBUTES"] != "k8s.namespace.name=$(K8S_NAMESPACE),k8s.pod.name=$(K8S_POD_NAME)" {
			t.Errorf("%s: the traces' resource: %v %v", c, fromPod, env["OTEL_RESOURCE_ATTRIBUTES"])
		}
		if c == controllers.ComponentPortal && (env["HOMEWARD_HOUSING_URL"] != "http://housing.hw-oldham.svc:8080" ||
			env["HOMEWARD_KRATOS_ADMIN_URL"] != "http://kratos.hw-oldham.svc:4434") {
			t.Errorf("the portal reaches housing at %q, Kratos' admin API at %q", env["HOMEWARD_HOUSING_URL"], env["HOMEWARD_KRATOS_ADMIN_URL"])
		}
		if c != controllers.ComponentPortal && env["HOMEWARD_KRATOS_ADMIN_URL"] != "" {
			t.Errorf("%s is given Kratos' admin API", c)
		}
		if c != controllers.ComponentPortal && env["HOMEWARD_REFERRAL_URL"] != "" {
			t.Errorf("%s is given the services' URLs", c)
		}
	}
}
