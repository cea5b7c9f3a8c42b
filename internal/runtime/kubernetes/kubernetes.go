package kubernetes

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/homeward-dev/homeward/controllers"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/redisserver"
)

// Runtime runs a tenant's workloads as StatefulSets, Deployments, Services and an
// Ingress in the tenant namespace.
type Runtime struct {
	Client       client.Client
	Images       Images
	OTLPEndpoint string
	IngressClass string
	// Reach says where the operator itself connects to a tenant's Redis and Kratos admin API;
	// by default the in-cluster Service names.
	Reach func(namespace string) (redisAddr, kratosPublic, kratosAdmin string)
}

// InClusterReach addresses a tenant's Services by their cluster DNS names.
func InClusterReach(ns string) (string, string, string) {
	return fmt.Sprintf("%s.%s.svc:%d", controllers.ComponentRedis, ns, controllers.PortRedis),
		fmt.Sprintf("http://%s.%s.svc:%d", controllers.ComponentKratos, ns, controllers.PortKratosPublic),
		fmt.Sprintf("http://%s.%s.svc:%d", controllers.ComponentKratos, ns, controllers.PortKratosAdmin)
}

// Name implements controllers.Runtime.
func (k *Runtime) Name() string { return "kubernetes" }

func (k *Runtime) reach(ns string) (string, string, string) {
	if k.Reach != nil {
		return k.Reach(ns)
	}
	return InClusterReach(ns)
}

func (k *Runtime) applySecret(ctx context.Context, s *corev1ac.SecretApplyConfiguration) error {
	_, err := controllers.ApplyIfChanged(ctx, k.Client, client.ObjectKey{Namespace: *s.Namespace, Name: *s.Name}, &corev1.Secret{}, s, corev1ac.ExtractSecret)
	return err
}

func (k *Runtime) applyService(ctx context.Context, s *corev1ac.ServiceApplyConfiguration) error {
	_, err := controllers.ApplyIfChanged(ctx, k.Client, client.ObjectKey{Namespace: *s.Namespace, Name: *s.Name}, &corev1.Service{}, s, corev1ac.ExtractService)
	return err
}

// Storage implements controllers.Runtime.
func (k *Runtime) Storage(ctx context.Context, t controllers.Tenant) (string, controllers.State, error) {
	p := t.Partnership
	conf := redisserver.ConfigFile(redisserver.Config{
		Bind: "0.0.0.0 -::*", Port: controllers.PortRedis, Dir: "/data",
		AppendFsync: string(p.Spec.Storage.Redis.AppendFsync), ACLFile: "/etc/redis/users.acl",
	})
	acl := redisserver.ACLFile(t.Keys.RedisAdmin, controllers.RedisUsers(p.Name, t.Keys))
	secret := corev1ac.Secret("redis-config", t.Namespace).
		WithLabels(controllers.TenantLabels(p, controllers.ComponentRedis)).
		WithOwnerReferences(controllers.OwnerRef(p)).
		WithStringData(map[string]string{"redis.conf": conf, "users.acl": acl})
	if err := k.applySecret(ctx, secretFromStringData(secret)); err != nil {
		return "", controllers.State{}, err
	}
	if err := k.applyService(ctx, clusterService(p, controllers.ComponentRedis, servicePort("redis", controllers.PortRedis))); err != nil {
		return "", controllers.State{}, err
	}
	sts := redisStatefulSet(p, k.Images.Redis)
	var live appsv1.StatefulSet
	if _, err := controllers.ApplyIfChanged(ctx, k.Client, client.ObjectKey{Namespace: t.Namespace, Name: controllers.ComponentRedis}, &live, sts, appsv1ac.ExtractStatefulSet); err != nil {
		return "", controllers.State{}, err
	}
	addr, _, _ := k.reach(t.Namespace)
	if p.Spec.Suspend {
		return addr, controllers.Waiting(platformv1alpha1.ReasonSuspended, "Redis is scaled to zero; its volume is kept"), nil
	}
	if live.Status.ObservedGeneration < live.Generation || live.Status.ReadyReplicas < 1 {
		return addr, controllers.Waiting(platformv1alpha1.ReasonRedisStarting, "waiting for the redis StatefulSet to have a ready replica"), nil
	}
	return addr, controllers.Ready("redis StatefulSet ready"), nil
}

// secretFromStringData moves stringData into data so the applied object reads back the same way
// (the apiserver never stores stringData), keeping re-applies of unchanged Secrets write-free.
func secretFromStringData(s *corev1ac.SecretApplyConfiguration) *corev1ac.SecretApplyConfiguration {
	data := make(map[string][]byte, len(s.StringData))
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	s.StringData = nil
	return s.WithData(data)
}

// Identity implements controllers.Runtime.
func (k *Runtime) Identity(ctx context.Context, t controllers.Tenant) (string, string, controllers.State, error) {
	p := t.Partnership
	ns := t.Namespace
	public := "https://" + p.Spec.Host + kratosserver.PortalKratosPath
	config, err := kratosserver.ConfigFile(kratosserver.Config{
		PublicURL: public, AdminURL: fmt.Sprintf("http://%s.%s.svc:%d/", controllers.ComponentKratos, ns, controllers.PortKratosAdmin),
		Host: "0.0.0.0", PublicPort: controllers.PortKratosPublic, AdminPort: controllers.PortKratosAdmin,
		SchemaURL:       "file:///etc/kratos/identity.schema.json",
		PortalURL:       "https://" + p.Spec.Host + "/",
		SessionLifespan: controllers.SessionLifespan(p),
		CookieSecret:    t.Keys.KratosCookie, CipherSecret: t.Keys.KratosCipher,
		Hasher: kratosserver.HasherProduction,
	})
	if err != nil {
		return "", "", controllers.State{}, err
	}
	secret := corev1ac.Secret("kratos-config", ns).
		WithLabels(controllers.TenantLabels(p, controllers.ComponentKratos)).
		WithOwnerReferences(controllers.OwnerRef(p)).
		WithData(map[string][]byte{"kratos.yaml": config, "identity.schema.json": kratosserver.IdentitySchema})
	if err := k.applySecret(ctx, secret); err != nil {
		return "", "", controllers.State{}, err
	}
	if p.Spec.Identity.ExternalDSNSecretRef == nil {
		if _, err := controllers.ApplyIfChanged(ctx, k.Client, client.ObjectKey{Namespace: ns, Name: "kratos-data"}, &corev1.PersistentVolumeClaim{}, kratosDataClaim(p), corev1ac.ExtractPersistentVolumeClaim); err != nil {
			return "", "", controllers.State{}, err
		}
	}
	if err := k.applyService(ctx, clusterService(p, controllers.ComponentKratos, servicePort("public", controllers.PortKratosPublic), servicePort("admin", controllers.PortKratosAdmin))); err != nil {
		return "", "", controllers.State{}, err
	}
	var live appsv1.Deployment
	if _, err := controllers.ApplyIfChanged(ctx, k.Client, client.ObjectKey{Namespace: ns, Name: controllers.ComponentKratos}, &live, kratosDeployment(p, k.Images.Kratos), appsv1ac.ExtractDeployment); err != nil {
		return "", "", controllers.State{}, err
	}
	_, publicURL, adminURL := k.reach(ns)
	if p.Spec.Suspend {
		return publicURL, adminURL, controllers.Waiting(platformv1alpha1.ReasonSuspended, "Kratos is scaled to zero; identities are kept"), nil
	}
	if !deploymentAvailable(&live, 1) {
		return publicURL, adminURL, controllers.Waiting(platformv1alpha1.ReasonKratosStarting, "waiting for the kratos Deployment to migrate its database and become available"), nil
	}
	return publicURL, adminURL, controllers.Ready("kratos Deployment available"), nil
}

func deploymentAvailable(d *appsv1.Deployment, want int32) bool {
	if want == 0 {
		return true
	}
	return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas >= want && d.Status.AvailableReplicas >= want
}

// Services implements controllers.Runtime.
func (k *Runtime) Services(ctx context.Context, t controllers.Tenant) ([]platformv1alpha1.ServiceEndpoint, controllers.State, error) {
	p := t.Partnership
	var endpoints []platformv1alpha1.ServiceEndpoint
	var notReady []string
	policy, err := controllers.ServicePolicy(p)
	if err != nil {
		return nil, controllers.State{}, err
	}
	for _, c := range controllers.ServiceComponents {
		credentials := corev1ac.Secret("svc-"+c, t.Namespace).
			WithLabels(controllers.TenantLabels(p, c)).
			WithOwnerReferences(controllers.OwnerRef(p)).
			WithData(map[string][]byte{
				"redis-password": []byte(t.Keys.RedisUsers[c]),
				"pii-key":        []byte(base64.StdEncoding.EncodeToString(t.Keys.PIIKey)),
			})
		if err := k.applySecret(ctx, credentials); err != nil {
			return nil, controllers.State{}, err
		}
		if err := k.applyService(ctx, clusterService(p, c, servicePort("http", controllers.PortService))); err != nil {
			return nil, controllers.State{}, err
		}
		want := controllers.Replicas(p, c)
		var live appsv1.Deployment
		if _, err := controllers.ApplyIfChanged(ctx, k.Client, client.ObjectKey{Namespace: t.Namespace, Name: c}, &live,
			serviceDeployment(p, c, k.Images.Homeward, k.OTLPEndpoint, policy), appsv1ac.ExtractDeployment); err != nil {
			return nil, controllers.State{}, err
		}
		if err := k.reconcileDisruptionBudget(ctx, p, c, want); err != nil {
			return nil, controllers.State{}, err
		}
		if !deploymentAvailable(&live, want) {
			notReady = append(notReady, c)
		}
		endpoints = append(endpoints, platformv1alpha1.ServiceEndpoint{
			Name: c, URL: fmt.Sprintf("http://%s.%s.svc:%d", c, t.Namespace, controllers.PortService),
		})
	}
	switch {
	case p.Spec.Suspend:
		return endpoints, controllers.Waiting(platformv1alpha1.ReasonSuspended, "services are scaled to zero"), nil
	case len(notReady) > 0:
		return endpoints, controllers.Waiting(platformv1alpha1.ReasonServicesStarting, fmt.Sprintf("waiting for %v to be available", notReady)), nil
	}
	return endpoints, controllers.Ready("all service Deployments available"), nil
}

// reconcileDisruptionBudget keeps one replica up during node drains when there is more than one.
func (k *Runtime) reconcileDisruptionBudget(ctx context.Context, p *platformv1alpha1.Partnership, component string, replicas int32) error {
	key := client.ObjectKey{Namespace: controllers.NamespaceName(p.Name), Name: component}
	if replicas > 1 {
		_, err := controllers.ApplyIfChanged(ctx, k.Client, key, &policyv1.PodDisruptionBudget{}, disruptionBudget(p, component), policyv1ac.ExtractPodDisruptionBudget)
		return err
	}
	return k.deleteIfExists(ctx, key, &policyv1.PodDisruptionBudget{})
}

func (k *Runtime) deleteIfExists(ctx context.Context, key client.ObjectKey, obj client.Object) error {
	if err := k.Client.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("get %T %s: %w", obj, key, err)
	}
	if err := k.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %T %s: %w", obj, key, err)
	}
	return nil
}

// Ingress implements controllers.Runtime.
func (k *Runtime) Ingress(ctx context.Context, t controllers.Tenant, publish bool) (string, error) {
	key := client.ObjectKey{Namespace: t.Namespace, Name: "portal"}
	if !publish {
		return "", k.deleteIfExists(ctx, key, &networkingv1.Ingress{})
	}
	if _, err := controllers.ApplyIfChanged(ctx, k.Client, key, &networkingv1.Ingress{}, portalIngress(t.Partnership, k.IngressClass), networkingv1ac.ExtractIngress); err != nil {
		return "", err
	}
	return "https://" + t.Partnership.Spec.Host + "/", nil
}

// Teardown implements Runtime: everything the kubernetes runtime creates lives in the namespace
// and goes by owner reference or with the namespace, so there is nothing outside to remove.
func (k *Runtime) Teardown(context.Context, *platformv1alpha1.Partnership) error {
	return nil
}
