package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/services/kit/telemetry"
)

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets;serviceaccounts;services;resourcequotas;limitranges;persistentvolumeclaims,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies;ingresses,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete;bind;escalate
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// PartnershipReconciler turns each Partnership into an isolated tenant.
type PartnershipReconciler struct {
	Client client.Client
	// APIReader reads past the cache, which holds only objects this operator labelled: it is how
	// a namespace of the same name that someone else owns is noticed.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Runtime   Runtime
	Access    AccessOptions
	// Changes receives a partnership whenever its local processes stop or start.
	Changes chan event.GenericEvent
	// Workers reconcile different partnerships in parallel; one partnership is never
	// reconciled twice at once.
	Workers int
	// Tracer records each reconcile as a trace: a root span naming the partnership, a child per
	// phase, and the API requests each phase makes beneath it. Nil records nothing.
	Tracer trace.Tracer
	// HealthRecheck reconciles a Ready partnership again after this long, because some faults
	// (Redis' append-only file turned off, an admin identity deleted in Kratos) raise no event the
	// operator watches. Zero leaves it to the manager's resync.
	HealthRecheck time.Duration
}

func (r *PartnershipReconciler) tracer() trace.Tracer {
	if r.Tracer == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return r.Tracer
}

// inSpan runs one step of a reconcile as a child span, marked failed when the step fails.
func (r *PartnershipReconciler) inSpan(ctx context.Context, name string, step func(context.Context) error) error {
	ctx, span := r.tracer().Start(ctx, name)
	defer span.End()
	err := step(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "failed")
	}
	return err
}

// scope is what one reconcile of one partnership gathers and decides.
type scope struct {
	p        *v1.Partnership
	ns       string
	keys     Keys
	obs      observation
	storage  string
	status   v1.PartnershipStatus
	requeue  time.Duration
	services []v1.ServiceEndpoint
}

type phase func(context.Context, *scope) error

// Reconcile implements reconcile.Reconciler.
func (r *PartnershipReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, err error) {
	ctx, span := r.tracer().Start(ctx, "reconcile Partnership", trace.WithAttributes(attribute.String(telemetry.PartnershipAttribute, req.Name)))
	defer func() {
		if err != nil {
			span.SetStatus(codes.Error, "failed")
		}
		span.End()
	}()
	var p v1.Partnership
	if err := r.Client.Get(ctx, req.NamespacedName, &p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, &p)
	}
	// The finalizer comes first: nothing may exist outside the namespace before it is there to
	// clean it up.
	if !controllerutil.ContainsFinalizer(&p, Finalizer) {
		patch := client.MergeFrom(p.DeepCopy())
		controllerutil.AddFinalizer(&p, Finalizer)
		if err := r.Client.Patch(ctx, &p, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}

	s := &scope{p: &p, ns: NamespaceName(p.Name)}
	s.obs.Generation = p.Generation
	s.obs.Suspended = p.Spec.Suspend
	var errs []error
	for _, ph := range []struct {
		name string
		run  phase
	}{
		{"namespace", r.reconcileNamespace}, {"access", r.reconcileAccess}, {"storage", r.reconcileStorage},
		{"identity", r.reconcileIdentity}, {"services", r.reconcileServices}, {"ingress", r.reconcileIngress},
	} {
		if err := r.inSpan(ctx, "phase "+ph.name, func(ctx context.Context) error { return ph.run(ctx, s) }); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.inSpan(ctx, "status", func(ctx context.Context) error { return r.writeStatus(ctx, s) }); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		// Returning the error requeues with controller-runtime's exponential backoff.
		return ctrl.Result{}, err
	}
	return requeueResult(s.requeue, r.HealthRecheck), nil
}

// requeueResult schedules the next reconcile of a partnership that reconciled without error: after
// waiting, when a phase waits on something; otherwise the health recheck, at low priority. At
// hundreds of partnerships a recheck falls due every second or so, and a change someone made (a
// spec edit, a deleted object) must not queue behind them.
func requeueResult(waiting, healthRecheck time.Duration) ctrl.Result {
	if waiting > 0 {
		return ctrl.Result{RequeueAfter: waiting}
	}
	return ctrl.Result{RequeueAfter: healthRecheck, Priority: new(handler.LowPriority)}
}

func (r *PartnershipReconciler) reconcileNamespace(ctx context.Context, s *scope) error {
	var existing corev1.Namespace
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: s.ns}, &existing)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return s.obs.Namespace.fail(v1.ReasonApplyFailed, fmt.Errorf("read namespace %s: %w", s.ns, err))
	case existing.Labels[LabelPartnership] != s.p.Name:
		_ = s.obs.Namespace.fail(v1.ReasonNamespaceTaken, fmt.Errorf("namespace %s exists and does not belong to this partnership", s.ns))
		return nil // a person must resolve it; retrying will not
	case !existing.DeletionTimestamp.IsZero():
		s.obs.Namespace.State = Waiting(v1.ReasonNamespaceTerminating, "namespace "+s.ns+" is still being deleted")
		s.requeue = 2 * time.Second
		return nil
	}
	if _, err := ApplyIfChanged(ctx, r.Client, client.ObjectKey{Name: s.ns}, &corev1.Namespace{}, namespaceObject(s.p, r.Access), corev1ac.ExtractNamespace); err != nil {
		return s.obs.Namespace.fail(v1.ReasonApplyFailed, err)
	}
	keys, err := ensureKeys(ctx, r.Client, s.p)
	if err != nil {
		return s.obs.Namespace.fail(v1.ReasonApplyFailed, err)
	}
	s.keys = keys
	s.obs.Namespace.State = Ready("namespace " + s.ns + " and tenant keys in place")
	return nil
}

func (s *scope) namespaceReady() bool { return s.obs.Namespace.Ready }

func (r *PartnershipReconciler) reconcileAccess(ctx context.Context, s *scope) error {
	if !s.namespaceReady() {
		s.obs.Access.Skipped = true
		return nil
	}
	p := s.p
	var errs []error
	for _, c := range AllComponents {
		sa := serviceAccountObject(p, c)
		_, err := ApplyIfChanged(ctx, r.Client, client.ObjectKey{Namespace: s.ns, Name: c}, &corev1.ServiceAccount{}, sa, corev1ac.ExtractServiceAccount)
		errs = append(errs, err)
	}
	_, err := ApplyIfChanged(ctx, r.Client, client.ObjectKey{Namespace: s.ns, Name: "partnership-support"}, &rbacv1.Role{}, supportRole(p), rbacv1ac.ExtractRole)
	errs = append(errs, err)
	_, err = ApplyIfChanged(ctx, r.Client, client.ObjectKey{Namespace: s.ns, Name: "partnership-support"}, &rbacv1.RoleBinding{}, supportRoleBinding(p), rbacv1ac.ExtractRoleBinding)
	errs = append(errs, err)
	_, err = ApplyIfChanged(ctx, r.Client, client.ObjectKey{Namespace: s.ns, Name: "tenant-quota"}, &corev1.ResourceQuota{}, resourceQuota(p), corev1ac.ExtractResourceQuota)
	errs = append(errs, err)
	_, err = ApplyIfChanged(ctx, r.Client, client.ObjectKey{Namespace: s.ns, Name: "tenant-limits"}, &corev1.LimitRange{}, limitRange(p), corev1ac.ExtractLimitRange)
	errs = append(errs, err)
	for _, np := range networkPolicies(p, r.Access) {
		_, err := ApplyIfChanged(ctx, r.Client, client.ObjectKey{Namespace: s.ns, Name: *np.Name}, &networkingv1.NetworkPolicy{}, np, networkingv1ac.ExtractNetworkPolicy)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return s.obs.Access.fail(v1.ReasonApplyFailed, err)
	}
	s.obs.Access.State = Ready("service accounts, RBAC, quota, limits and network policies in place")
	return nil
}

func (r *PartnershipReconciler) tenant(s *scope) Tenant {
	return Tenant{Partnership: s.p, Namespace: s.ns, Keys: s.keys}
}

func (r *PartnershipReconciler) reconcileStorage(ctx context.Context, s *scope) error {
	if !s.obs.Access.Ready {
		s.obs.Storage.Skipped = true
		return nil
	}
	addr, state, err := r.Runtime.Storage(ctx, r.tenant(s))
	if err != nil {
		return s.obs.Storage.fail(reasonFor(err, v1.ReasonRedisNotAnswering), err)
	}
	s.storage = addr
	if state.Ready {
		if err := bootstrapStorage(ctx, addr, r.tenant(s)); err != nil {
			reason := v1.ReasonRedisNotAnswering
			if errors.Is(err, errAppendOnlyFileOff) {
				reason = v1.ReasonAppendOnlyFileOff
			}
			return s.obs.Storage.fail(reason, fmt.Errorf("storage bootstrap: %w", err))
		}
	}
	s.obs.Storage.State = state
	return nil
}

func (r *PartnershipReconciler) reconcileIdentity(ctx context.Context, s *scope) error {
	if !s.obs.Access.Ready {
		s.obs.Identity.Skipped = true
		return nil
	}
	_, admin, state, err := r.Runtime.Identity(ctx, r.tenant(s))
	if err != nil {
		return s.obs.Identity.fail(reasonFor(err, v1.ReasonKratosNotAnswering), err)
	}
	s.status.Admins = s.p.Status.Admins
	if state.Ready {
		admins, err := bootstrapIdentity(ctx, r.Client, admin, r.tenant(s), s.p.Status.Admins)
		s.status.Admins = admins
		if err != nil {
			return s.obs.Identity.fail(reasonFor(err, v1.ReasonAdminInviteFailed), fmt.Errorf("identity bootstrap: %w", err))
		}
		state.Message = fmt.Sprintf("%s; %d admin(s) invited", state.Message, len(admins))
		s.services = append(s.services, state.Endpoints...)
	}
	s.obs.Identity.State = state
	if state.RecheckAfter > 0 && (s.requeue == 0 || state.RecheckAfter < s.requeue) {
		s.requeue = state.RecheckAfter
	}
	return nil
}

func (r *PartnershipReconciler) reconcileServices(ctx context.Context, s *scope) error {
	if !s.obs.Access.Ready {
		s.obs.Services.Skipped = true
		return nil
	}
	endpoints, state, err := r.Runtime.Services(ctx, r.tenant(s))
	if err != nil {
		return s.obs.Services.fail(reasonFor(err, v1.ReasonFailed), err)
	}
	if s.obs.Storage.Ready {
		s.services = append(s.services, s.obs.Storage.Endpoints...)
	}
	s.services = append(s.services, endpoints...)
	s.obs.Services.State = state
	return nil
}

func (r *PartnershipReconciler) reconcileIngress(ctx context.Context, s *scope) error {
	if !s.obs.Access.Ready {
		return nil
	}
	// The portal is part of the services: a tenant whose portal cannot be published is not ready.
	holder, err := r.hostHolder(ctx, s.p)
	if err != nil {
		return s.obs.Services.fail(v1.ReasonPortalNotPublished, err)
	}
	s.obs.HostConflict = holder
	portal, err := r.Runtime.Ingress(ctx, r.tenant(s), holder == "")
	if err != nil {
		return s.obs.Services.fail(v1.ReasonPortalNotPublished, fmt.Errorf("publish the portal: %w", err))
	}
	s.status.Endpoints.Portal = portal
	return nil
}

// hostHolder returns the partnership that claimed p's host before p did, if any: the oldest
// claimant keeps a host, and ties go to the name that sorts first.
func (r *PartnershipReconciler) hostHolder(ctx context.Context, p *v1.Partnership) (string, error) {
	var all v1.PartnershipList
	if err := r.Client.List(ctx, &all, client.MatchingFields{hostIndex: hostKey(p)}); err != nil {
		return "", fmt.Errorf("list the partnerships claiming %s: %w", p.Spec.Host, err)
	}
	for _, other := range all.Items {
		if other.Name == p.Name || other.Spec.Host != p.Spec.Host || !other.DeletionTimestamp.IsZero() {
			continue
		}
		older := other.CreationTimestamp.Before(&p.CreationTimestamp) ||
			(other.CreationTimestamp.Equal(&p.CreationTimestamp) && other.Name < p.Name)
		if older {
			return other.Name, nil
		}
	}
	return "", nil
}

// writeStatus computes the status from what the phases observed and writes it once, only when
// it changed, with an event for every condition that changed.
func (r *PartnershipReconciler) writeStatus(ctx context.Context, s *scope) error {
	next := s.p.Status.DeepCopy()
	next.ObservedGeneration = s.p.Generation
	next.Namespace = s.ns
	next.Conditions = computeConditions(s.p.Status.Conditions, s.obs)
	next.Endpoints.Services = s.services
	if s.obs.Access.Ready {
		next.Endpoints.Portal = s.status.Endpoints.Portal
	}
	if s.status.Admins != nil {
		next.Admins = s.status.Admins
	}
	if equality.Semantic.DeepEqual(&s.p.Status, next) {
		return nil
	}
	changed := changedConditions(s.p.Status.Conditions, next.Conditions)
	patch := client.MergeFrom(s.p.DeepCopy())
	s.p.Status = *next
	if err := r.Client.Status().Patch(ctx, s.p, patch); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	if len(changed) > 0 {
		kind, reason, note := conditionsEvent(changed)
		r.Recorder.Eventf(s.p, nil, kind, reason, "Reconcile", "%s", note)
	}
	return nil
}

// reconcileDelete removes what the deletion policy says goes, then lets the Partnership go.
// Retain: the workloads go with their owner; the namespace, keys, volumes and invitations stay,
// labelled, for a Partnership of the same name to adopt. Delete: the namespace goes too.
func (r *PartnershipReconciler) reconcileDelete(ctx context.Context, p *v1.Partnership) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(p, Finalizer) {
		return ctrl.Result{}, nil
	}
	if err := r.markDeleting(ctx, p); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Runtime.Teardown(ctx, p); err != nil {
		return ctrl.Result{}, fmt.Errorf("tear down %s: %w", r.Runtime.Name(), err)
	}
	if p.Spec.DeletionPolicy == v1.DeletionDelete {
		var ns corev1.Namespace
		err := r.APIReader.Get(ctx, client.ObjectKey{Name: NamespaceName(p.Name)}, &ns)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return ctrl.Result{}, fmt.Errorf("read namespace: %w", err)
		case ns.Labels[LabelPartnership] != p.Name:
			// Not ours: never delete it.
		default:
			if ns.DeletionTimestamp.IsZero() {
				if err := r.Client.Delete(ctx, &ns); err != nil && !apierrors.IsNotFound(err) {
					return ctrl.Result{}, fmt.Errorf("delete namespace: %w", err)
				}
				r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, v1.ReasonDeleting, "Delete", "deleting namespace %s and all its data", ns.Name)
			}
			// The namespace watch brings us back when it is gone; the requeue is a safety net.
			return ctrl.Result{RequeueAfter: 5 * time.Second}, nil
		}
	}
	patch := client.MergeFrom(p.DeepCopy())
	controllerutil.RemoveFinalizer(p, Finalizer)
	if err := r.Client.Patch(ctx, p, patch); err != nil {
		return ctrl.Result{}, fmt.Errorf("remove finalizer: %w", err)
	}
	log.FromContext(ctx).Info("partnership deleted", "deletionPolicy", p.Spec.DeletionPolicy)
	return ctrl.Result{}, nil
}

// markDeleting says in the status that the tenant is being taken down, and what will be kept.
func (r *PartnershipReconciler) markDeleting(ctx context.Context, p *v1.Partnership) error {
	msg := "deletionPolicy Retain: the workloads stop; namespace " + NamespaceName(p.Name) + ", its keys, volumes and invitations are kept for a Partnership of the same name"
	if p.Spec.DeletionPolicy == v1.DeletionDelete {
		msg = "deletionPolicy Delete: the workloads stop and namespace " + NamespaceName(p.Name) + " is deleted with all its data"
	}
	next := deletingConditions(p.Status.Conditions, p.Generation, msg)
	if equality.Semantic.DeepEqual(p.Status.Conditions, next) {
		return nil
	}
	patch := client.MergeFrom(p.DeepCopy())
	p.Status.Conditions = next
	if err := r.Client.Status().Patch(ctx, p, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("write deleting status: %w", err)
	}
	return nil
}

// byPartnershipLabel maps any labelled tenant object to its Partnership.
func byPartnershipLabel(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[LabelPartnership]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
}

// hostIndex indexes Partnerships by host in the manager's cache, so finding the claimants of a host
// reads a handful of objects rather than every Partnership on each reconcile.
const hostIndex = "spec.host"

func hostKey(p *v1.Partnership) string { return strings.ToLower(p.Spec.Host) }

// sameHost maps a Partnership to the others claiming its host, so the next claimant is
// reconsidered when the holder changes host or goes.
func (r *PartnershipReconciler) sameHost(ctx context.Context, o client.Object) []reconcile.Request {
	p, ok := o.(*v1.Partnership)
	if !ok {
		return nil
	}
	var all v1.PartnershipList
	if err := r.Client.List(ctx, &all, client.MatchingFields{hostIndex: hostKey(p)}); err != nil {
		// The cache answers this list; it fails only while the manager stops.
		log.FromContext(ctx).Error(err, "list the partnerships sharing a host", "host", p.Spec.Host)
		return nil
	}
	var reqs []reconcile.Request
	for _, other := range all.Items {
		if other.Name != p.Name {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: other.Name}})
		}
	}
	return reqs
}

// specOrDeletionChanged ignores the Partnership's own status writes.
var specOrDeletionChanged = predicate.Or(
	predicate.GenerationChangedPredicate{},
	predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !slices.Equal(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers()) ||
			e.ObjectOld.GetDeletionTimestamp().IsZero() != e.ObjectNew.GetDeletionTimestamp().IsZero()
	}},
)

// SetupWithManager registers the controller and every watch.
func (r *PartnershipReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1.Partnership{}, hostIndex, func(o client.Object) []string {
		p, ok := o.(*v1.Partnership)
		if !ok {
			return nil
		}
		return []string{hostKey(p)}
	}); err != nil {
		return fmt.Errorf("index partnerships by host: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("partnership").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		For(&v1.Partnership{}, builder.WithPredicates(specOrDeletionChanged)).
		Owns(&corev1.ServiceAccount{}).
		Owns(&rbacv1.Role{}).
		Owns(&rbacv1.RoleBinding{}).
		Owns(&corev1.ResourceQuota{}).
		Owns(&corev1.LimitRange{}).
		Owns(&networkingv1.NetworkPolicy{}).
		Owns(&corev1.Service{}).
		Owns(&appsv1.Deployment{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&networkingv1.Ingress{}).
		// Retained objects (namespace, keys, volumes) have no owner: they are found by label.
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(byPartnershipLabel)).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(byPartnershipLabel)).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(byPartnershipLabel)).
		Watches(&v1.Partnership{}, handler.EnqueueRequestsFromMapFunc(r.sameHost))
	if r.Changes != nil {
		b = b.WatchesRawSource(source.Channel(r.Changes, &handler.EnqueueRequestForObject{}))
	}
	return b.Complete(r)
}
