// Package v1alpha1 holds the platform.homeward.dev/v1alpha1 API: the Partnership, one per local
// hospital-discharge housing partnership, from which the operator provisions an isolated tenant.
//
// +kubebuilder:object:generate=true
// +groupName=platform.homeward.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "platform.homeward.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
