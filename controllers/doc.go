// Package controllers holds the Homeward operator's reconcilers, which turn each Partnership into
// an isolated tenant. The RBAC markers below are the operator's whole access to the cluster;
// controller-gen renders them into config/rbac/role.yaml.
//
// +kubebuilder:rbac:groups=platform.homeward.dev,resources=partnerships,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=platform.homeward.dev,resources=partnerships/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=platform.homeward.dev,resources=partnerships/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
package controllers
