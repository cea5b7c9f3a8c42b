package controllers_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kubeletStandIn plays a cluster's kubelets and workload controllers for the benchmarks' fleets:
// it watches every Deployment and StatefulSet, starts a tenant's Redis in the background once the
// tenant's keys exist (as a kubelet starts a pod), and writes a workload's status as ready once
// that Redis answers (as a readiness probe would allow). It reacts to watch events, so the time
// to Ready is the operator's and the API server's, not a poll interval's.
type kubeletStandIn struct {
	c        client.WithWatch
	backends *tenantBackends
	// spent is the time spent writing workload status, summed over the writers.
	spent atomic.Int64

	mu sync.Mutex
	// waiting holds, by namespace, the latest version of each workload not yet ready, to be
	// marked once the namespace's Redis answers.
	waiting map[string]map[string]client.Object
}

// runKubelet starts the stand-in; stop ends it and waits for its writers.
func runKubelet(b *testing.B, c client.WithWatch, backends *tenantBackends) (k *kubeletStandIn, stop func()) {
	k = &kubeletStandIn{c: c, backends: backends, waiting: map[string]map[string]client.Object{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// A cluster's kubelets work side by side: four writers, as many as the operator's workers.
	work := make(chan client.Object, 1024)
	for range 4 {
		wg.Go(func() {
			for o := range work {
				if err := k.mark(ctx, o); err != nil && ctx.Err() == nil {
					b.Errorf("kubelet stand-in, %s/%s: %v", o.GetNamespace(), o.GetName(), err)
				}
			}
		})
	}
	var watchers sync.WaitGroup
	for _, list := range []client.ObjectList{&appsv1.DeploymentList{}, &appsv1.StatefulSetList{}} {
		w, err := c.Watch(ctx, list)
		if err != nil {
			b.Fatal(err)
		}
		watchers.Go(func() {
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						if ctx.Err() == nil {
							b.Error("kubelet stand-in: watch closed")
						}
						return
					}
					if o, isObject := ev.Object.(client.Object); isObject && ev.Type != watch.Deleted && !ready(o) {
						k.mu.Lock()
						ns := o.GetNamespace()
						if k.waiting[ns] == nil {
							k.waiting[ns] = map[string]client.Object{}
						}
						k.waiting[ns][fmt.Sprintf("%T/%s", o, o.GetName())] = o
						k.mu.Unlock()
					}
				}
			}
		})
	}
	// Every 20 ms, the waiting workloads of each namespace whose Redis answers are marked; the
	// others have their Redis started (once) and wait.
	watchers.Go(func() {
		wait.UntilWithContext(ctx, func(context.Context) {
			k.mu.Lock()
			var due []client.Object
			for ns, objects := range k.waiting {
				if backends.launch(ns) {
					for _, o := range objects {
						due = append(due, o)
					}
					delete(k.waiting, ns)
				}
			}
			k.mu.Unlock()
			for _, o := range due {
				work <- o
			}
		}, 20*time.Millisecond)
	})
	return k, func() {
		cancel()
		watchers.Wait()
		close(work)
		wg.Wait()
	}
}

// ready reports whether a workload's status already says every replica of its generation is ready.
func ready(o client.Object) bool {
	switch w := o.(type) {
	case *appsv1.Deployment:
		return equality.Semantic.DeepEqual(w.Status, deploymentReady(w))
	case *appsv1.StatefulSet:
		return w.Status.ObservedGeneration == w.Generation && w.Status.ReadyReplicas == *w.Spec.Replicas && w.Status.Replicas == *w.Spec.Replicas
	}
	return true
}

func deploymentReady(d *appsv1.Deployment) appsv1.DeploymentStatus {
	r := *d.Spec.Replicas
	return appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: r, UpdatedReplicas: r, ReadyReplicas: r, AvailableReplicas: r}
}

// mark writes a workload's status as ready. A write that meets a newer version is left: the newer
// version's watch event brings the workload back.
func (k *kubeletStandIn) mark(ctx context.Context, o client.Object) error {
	defer func(t0 time.Time) { k.spent.Add(int64(time.Since(t0))) }(time.Now())
	switch w := o.(type) {
	case *appsv1.Deployment:
		w.Status = deploymentReady(w)
	case *appsv1.StatefulSet:
		r := *w.Spec.Replicas
		w.Status = appsv1.StatefulSetStatus{ObservedGeneration: w.Generation, Replicas: r, ReadyReplicas: r, CurrentReplicas: r, UpdatedReplicas: r, AvailableReplicas: r}
	}
	if err := k.c.Status().Update(ctx, o); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
