package controllers

import (
	"context"
	"time"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
)

// Tenant is what a runtime needs to run one partnership's components.
type Tenant struct {
	Partnership *platformv1alpha1.Partnership
	Namespace   string
	Keys        Keys
}

// State is what a runtime observed about one area of a tenant.
type State struct {
	Ready   bool
	Reason  string
	Message string
	// RecheckAfter asks for another reconcile when nothing watched will bring one (e.g. waiting for
	// a Secret the operator does not watch).
	RecheckAfter time.Duration
	// Endpoints are addresses the runtime wants published in status.endpoints.services once the
	// area is ready (the local runtime's Redis and Kratos, which people reach directly).
	Endpoints []platformv1alpha1.ServiceEndpoint
}

func Ready(msg string) State {
	return State{Ready: true, Reason: platformv1alpha1.ReasonReady, Message: msg}
}

func Waiting(reason, msg string) State { return State{Reason: reason, Message: msg} }

// Runtime runs a tenant's workloads: as Kubernetes objects, or as local processes. The tenant
// logic (namespace, keys, access, bootstrap, status) is the same for both.
type Runtime interface {
	// Name is "kubernetes" or "local".
	Name() string
	// Storage makes the tenant's Redis run (or stop, when suspended) and says how to reach it.
	Storage(ctx context.Context, t Tenant) (addr string, s State, err error)
	// Identity makes the tenant's Kratos run and says how to reach its public and admin APIs.
	Identity(ctx context.Context, t Tenant) (public, admin string, s State, err error)
	// Services makes the Homeward services run and lists their addresses.
	Services(ctx context.Context, t Tenant) ([]platformv1alpha1.ServiceEndpoint, State, error)
	// Ingress publishes the portal on the tenant's host, or withdraws it when publish is false
	// (a host conflict); it returns the portal URL.
	Ingress(ctx context.Context, t Tenant, publish bool) (string, error)
	// Teardown removes what the runtime runs outside Kubernetes' garbage collection: local
	// processes and, under the Delete policy, their data. It reports whether it is finished.
	Teardown(ctx context.Context, p *platformv1alpha1.Partnership) error
}
