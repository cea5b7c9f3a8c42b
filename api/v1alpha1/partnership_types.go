package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PartnershipSpec is what a platform admin asks for. The full tenant specification (partners,
// host, admins, services, policy, cost model, storage, identity) grows with the operator; a
// field is added here only together with the behaviour that honours it.
type PartnershipSpec struct {
	// DisplayName is the partnership's name as its staff know it, e.g. "Oldham Hospital2Home".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:rule="self == self.trim()",message="displayName must not start or end with spaces"
	DisplayName string `json:"displayName"`

	// Region is the NHS region or local area the partnership serves, e.g. "North West".
	// +optional
	// +kubebuilder:validation:MaxLength=100
	Region string `json:"region,omitempty"`
}

// Condition types of a Partnership. Ready summarises the others.
const (
	ConditionReady = "Ready"
)

// PartnershipStatus is what the operator observed and did.
type PartnershipStatus struct {
	// ObservedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions describe the tenant's state, one per area plus Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Partnership is one local hospital-discharge housing partnership (councils, housing providers,
// NHS trusts) and the isolated tenant the operator runs for it. Cluster-scoped, because it owns
// a namespace rather than living in one.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=pship,categories=homeward
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Partnership struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PartnershipSpec   `json:"spec"`
	Status PartnershipStatus `json:"status,omitempty"`
}

// PartnershipList is a list of Partnerships.
//
// +kubebuilder:object:root=true
type PartnershipList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Partnership `json:"items"`
}
