package controllers

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
)

// NewScheme knows the built-in types and the Partnership.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("register built-in types: %w", err)
	}
	if err := v1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("register partnership types: %w", err)
	}
	return s, nil
}

// NewClient is an uncached client of the API server at cfg that knows NewScheme's types: for tools
// and tests, where the operator's manager and its cache are not running.
func NewClient(cfg *rest.Config) (client.Client, error) {
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	return c, nil
}

// CacheOptions keep in memory only the objects this operator manages: never every Secret or
// Deployment in the cluster. It is what keeps the operator small with many tenants.
func CacheOptions() cache.Options {
	managed := labels.SelectorFromSet(labels.Set{LabelManagedBy: managedByValue})
	byObject := map[client.Object]cache.ByObject{}
	for _, o := range []client.Object{
		&corev1.Namespace{}, &corev1.Secret{}, &corev1.ServiceAccount{}, &corev1.Service{},
		&corev1.ResourceQuota{}, &corev1.LimitRange{}, &corev1.PersistentVolumeClaim{},
		&rbacv1.Role{}, &rbacv1.RoleBinding{}, &networkingv1.NetworkPolicy{}, &networkingv1.Ingress{},
		&appsv1.Deployment{}, &appsv1.StatefulSet{}, &policyv1.PodDisruptionBudget{},
	} {
		byObject[o] = cache.ByObject{Label: managed}
	}
	return cache.Options{ByObject: byObject}
}
