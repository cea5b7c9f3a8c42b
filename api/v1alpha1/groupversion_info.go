// Package v1alpha1 holds the platform.homeward.dev/v1alpha1 API: the Partnership, one per local
// hospital-discharge housing partnership, from which the operator provisions an isolated tenant.
// It depends only on k8s.io/apimachinery so any client can import it cheaply.
//
// +kubebuilder:object:generate=true
// +groupName=platform.homeward.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "platform.homeward.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Partnership{}, &PartnershipList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
