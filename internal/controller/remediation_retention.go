/*
Copyright 2026 The heal8s Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/remediation"
)

// RemediationRetentionReconciler deletes finished Remediations as their policy's spec.retention
// says (remediation.Retain decides; a Remediation a guard still counts is never deleted) and
// records what it deleted in the policy's status.expired. It works per target: its requests are
// "<kind>/<name>" in the target's namespace (retentionRequest), and it finds the target's
// Remediations through the peer index (peerindex.go). It
// only looks at finished Remediations and never writes a Remediation's status, so it stays
// apart from the RemediationReconciler.
type RemediationRetentionReconciler struct {
	// Client reads through the manager's cache (with the field indexes), deletes and patches
	// policies' status.
	client.Client
	// APIReader re-reads a policy whose status changed under a patch.
	APIReader client.Reader
	// Clock is the time source of every decision; a fake clock in tests.
	Clock clock.PassiveClock
	// OperatorNamespace holds cluster-wide policies, whose safety bounds may count any target's
	// Remediations.
	OperatorNamespace string
	// BatchDelay is how long a change of a target's finished Remediations waits before the target
	// is reconciled, so a burst of them (a storm ending on one target) costs one reconcile;
	// zero means DefaultRetentionBatchDelay.
	BatchDelay time.Duration
	// Workers is how many targets are reconciled at once; zero means DefaultRetentionWorkers.
	// Targets sharing a policy write its status.expired one at a time (flush), each write
	// taking every outcome waiting for that policy, so no outcome is written twice.
	Workers int

	mu sync.Mutex
	// pending holds, per policy, what was deleted but not yet written to its status (a status
	// patch failed, or another worker is writing that policy's status); the next flush writes it.
	pending map[types.NamespacedName][]v1beta1.ExpiredRemediation
	// writing holds one lock per policy: the flush that holds it owns the policy's status write.
	writing map[types.NamespacedName]*sync.Mutex
	// peers reads a target's Remediations from the informer's index (SetupWithManager).
	peers *peerIndex
}

// +kubebuilder:rbac:groups=heal8s.io,resources=remediations,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=heal8s.io,resources=remediationpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=heal8s.io,resources=remediationpolicies/status,verbs=get;update;patch

// DefaultRetentionBatchDelay is the default BatchDelay: retention is never urgent.
const DefaultRetentionBatchDelay = 10 * time.Second

// DefaultRetentionWorkers is the default Workers: enough that deletions keep up with a storm's
// creates (docs/performance.md, "Throughput after session 5").
const DefaultRetentionWorkers = 4

// retentionDeletesAtOnce bounds the deletions one reconcile sends at once: a target with
// thousands of expired Remediations (a storm) is cleared in parallel, not one request after
// another, without flooding the API server.
const retentionDeletesAtOnce = 8

// retentionRecheckFloor is the shortest requeue: a Remediation deleted by someone else, or
// changed between the read and the delete, is looked at again this soon.
const retentionRecheckFloor = time.Second

// statusPatchAttempts bounds the retries of a policy status patch that met a newer write.
const statusPatchAttempts = 5

// Reconcile applies retention to one target's finished Remediations: deletes what
// remediation.Retain says with preconditions on UID and resourceVersion (a Remediation changed
// or replaced since it was read is not deleted), writes the outcomes to each policy's status in
// one patch, and requeues at the next expiry.
func (r *RemediationRetentionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("target", req.Namespace+"/"+req.Name)
	ctx = ctrl.LoggerInto(ctx, log)
	now := r.Clock.Now()

	// The cache's own objects, not copies: a target can have thousands of Remediations (an alert
	// storm), and nothing here changes them (Retain sorts its own slice of pointers; Delete
	// sends only the object's key and preconditions).
	list, err := r.peers.byTarget(req.Namespace + "/" + req.Name)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the Remediations of %s/%s: %w", req.Namespace, req.Name, err)
	}
	groups := map[types.NamespacedName][]*v1beta1.Remediation{}
	for _, rem := range list {
		if !rem.Status.Phase.IsTerminal() {
			continue
		}
		ref := remediationPolicy(rem)
		key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		groups[key] = append(groups[key], rem)
	}

	var next time.Time
	if len(groups) > 0 {
		policies, safety, err := r.policies(ctx, req.Namespace, groups)
		if err != nil {
			return ctrl.Result{}, err
		}
		for key, finished := range groups {
			var ret v1beta1.RetentionSpec
			if p := policies[key]; p != nil {
				ret = p.Spec.Retention
			}
			d := remediation.Retain(remediation.RetentionInput{Retention: ret, Safety: safety, Now: now, Finished: finished})
			missed, err := r.deleteAll(ctx, key, d.Delete, now)
			if missed {
				// Changed, replaced or gone since it was read: look again shortly.
				next = earliest(next, now.Add(retentionRecheckFloor))
			}
			if err != nil {
				// What was deleted is pending already; flush writes it below or next time.
				return ctrl.Result{}, errors.Join(err, r.flush(ctx))
			}
			next = earliest(next, d.NextCheck)
		}
	}
	if err := r.flush(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(now), retentionRecheckFloor)}, nil
}

// policies reads the policies whose bounds matter to a target in namespace: those its finished
// Remediations name (with defaults filled in; absent when gone), and, for the widest safety
// windows, every policy of the namespace and every cluster-wide one, since any of them may
// start the next Remediation of the target and its guards would count these.
func (r *RemediationRetentionReconciler) policies(ctx context.Context, namespace string,
	groups map[types.NamespacedName][]*v1beta1.Remediation) (map[types.NamespacedName]*v1beta1.RemediationPolicy, v1beta1.SafetySpec, error) {
	found := map[types.NamespacedName]*v1beta1.RemediationPolicy{}
	var specs []v1beta1.SafetySpec
	add := func(p *v1beta1.RemediationPolicy) {
		key := client.ObjectKeyFromObject(p)
		if _, ok := found[key]; ok {
			return
		}
		defaults.Policy(p)
		found[key] = p
		specs = append(specs, p.Spec.Safety)
	}
	for _, ns := range []string{namespace, r.OperatorNamespace} {
		if ns == "" {
			continue
		}
		var list v1beta1.RemediationPolicyList
		if err := r.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return nil, v1beta1.SafetySpec{}, fmt.Errorf("listing the RemediationPolicies of %s: %w", ns, err)
		}
		for i := range list.Items {
			if p := &list.Items[i]; p.Namespace == namespace || p.Spec.NamespaceSelector != nil {
				add(p)
			}
		}
	}
	for key := range groups {
		if _, ok := found[key]; ok {
			continue
		}
		p := &v1beta1.RemediationPolicy{}
		switch err := r.Get(ctx, key, p); {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, v1beta1.SafetySpec{}, fmt.Errorf("reading RemediationPolicy %s: %w", key, err)
		default:
			add(p)
		}
	}
	return found, remediation.WidestSafety(specs...), nil
}

// delete deletes one finished Remediation if it is still the object Retain decided on.
func (r *RemediationRetentionReconciler) delete(ctx context.Context, d remediation.Deletion) (bool, error) {
	rem := d.Remediation
	uid, rv := rem.UID, rem.ResourceVersion
	err := r.Delete(ctx, rem, client.Preconditions{UID: &uid, ResourceVersion: &rv})
	switch {
	case err == nil:
		ctrl.LoggerFrom(ctx).Info("Deleted finished Remediation", "Remediation", client.ObjectKeyFromObject(rem),
			"phase", rem.Status.Phase, "reason", rem.Status.Reason, "why", d.Reason)
		return true, nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		ctrl.LoggerFrom(ctx).V(1).Info("Did not delete a Remediation that changed since it was read",
			"Remediation", client.ObjectKeyFromObject(rem), "error", err.Error())
		return false, nil
	default:
		return false, fmt.Errorf("deleting finished Remediation %s: %w", client.ObjectKeyFromObject(rem), err)
	}
}

// deleteAll deletes dels, retentionDeletesAtOnce at a time, and adds each deleted one's outcome
// to the policy's pending outcomes as soon as its delete succeeded. missed says whether any had
// changed since it was read; the error joins every failed delete.
func (r *RemediationRetentionReconciler) deleteAll(ctx context.Context, key types.NamespacedName, dels []remediation.Deletion,
	now time.Time) (missed bool, err error) {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, retentionDeletesAtOnce)
	)
	for _, del := range dels {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			deleted, err := r.delete(ctx, del)
			if deleted {
				r.addPending(key, remediation.ExpiredRecord(del.Remediation, now))
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case !deleted:
				missed = true
			}
		})
	}
	wg.Wait()
	return missed, errors.Join(errs...)
}

func (r *RemediationRetentionReconciler) addPending(key types.NamespacedName, rec v1beta1.ExpiredRemediation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[types.NamespacedName][]v1beta1.ExpiredRemediation{}
	}
	r.pending[key] = append(r.pending[key], rec)
}

// flush writes every policy's pending outcomes with one status patch per policy. A policy that
// is gone takes its outcomes with it (the metrics counted them when they happened). Several
// workers may flush at once: each policy's write is made under that policy's lock by one of
// them, and takes every outcome pending for the policy at that moment, so an outcome is written
// exactly once (a failed write puts its outcomes back, ahead of any added meanwhile).
func (r *RemediationRetentionReconciler) flush(ctx context.Context) error {
	r.mu.Lock()
	keys := make([]types.NamespacedName, 0, len(r.pending))
	for k := range r.pending {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	slices.SortFunc(keys, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
	for _, key := range keys {
		if err := r.flushPolicy(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// flushPolicy writes the outcomes pending for one policy, if any are left once its lock is held.
func (r *RemediationRetentionReconciler) flushPolicy(ctx context.Context, key types.NamespacedName) error {
	r.mu.Lock()
	if r.writing == nil {
		r.writing = map[types.NamespacedName]*sync.Mutex{}
	}
	lock := r.writing[key]
	if lock == nil {
		lock = &sync.Mutex{}
		r.writing[key] = lock
	}
	r.mu.Unlock()

	lock.Lock()
	defer lock.Unlock()
	r.mu.Lock()
	recs := r.pending[key]
	delete(r.pending, key)
	r.mu.Unlock()
	if len(recs) == 0 {
		return nil // another worker wrote them
	}
	if err := r.recordOutcomes(ctx, key, recs); err != nil {
		r.mu.Lock()
		r.pending[key] = append(recs, r.pending[key]...)
		r.mu.Unlock()
		return err
	}
	return nil
}

// recordOutcomes adds recs to the policy's status.expired. The patch carries the
// resourceVersion read, so a count is never computed from a stale copy: on a conflict the
// policy is read again from the API server and the patch retried.
func (r *RemediationRetentionReconciler) recordOutcomes(ctx context.Context, key types.NamespacedName, recs []v1beta1.ExpiredRemediation) error {
	var reader client.Reader = r.Client
	for range statusPatchAttempts {
		p := &v1beta1.RemediationPolicy{}
		if err := reader.Get(ctx, key, p); err != nil {
			if apierrors.IsNotFound(err) {
				ctrl.LoggerFrom(ctx).Info("Dropped the outcomes of deleted Remediations: their RemediationPolicy is gone",
					"RemediationPolicy", key, "count", len(recs))
				return nil
			}
			return fmt.Errorf("reading RemediationPolicy %s to record expired Remediations: %w", key, err)
		}
		base := p.DeepCopy()
		p.Status.Expired = remediation.RecordExpired(p.Status.Expired.DeepCopy(), recs...)
		err := r.Status().Patch(ctx, p, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		switch {
		case err == nil:
			return nil
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err):
			reader = r.APIReader
			continue
		default:
			return fmt.Errorf("recording %d expired Remediations on RemediationPolicy %s: %w", len(recs), key, err)
		}
	}
	return fmt.Errorf("recording %d expired Remediations on RemediationPolicy %s: the status kept changing", len(recs), key)
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	default:
		return b
	}
}

// retentionRequest maps a Remediation to its target's request: "<kind>/<name>" in the
// target's namespace, the TargetKey split at its first slash. All the
// Remediations of a target share one request, so a target is reconciled once however many
// of its Remediations change.
func retentionRequest(_ context.Context, o client.Object) []reconcile.Request {
	rem, ok := o.(*v1beta1.Remediation)
	if !ok {
		return nil
	}
	t := remediationTarget(rem)
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: t.Namespace, Name: string(t.Kind) + "/" + t.Name}}}
}

// enqueueTargetAfter enqueues the target of a finished Remediation after delay. A target already
// waiting keeps its earlier time (the workqueue holds one entry per request), so however many of
// its Remediations change within delay, it is reconciled once.
func enqueueTargetAfter(delay time.Duration) handler.EventHandler {
	add := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range retentionRequest(ctx, o) {
			q.AddAfter(req, delay)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.ObjectNew, q)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
	}
}

// finishedOnly passes only Remediations in a terminal phase; deletions change nothing to keep.
func finishedOnly() predicate.Predicate {
	finished := func(o client.Object) bool {
		rem, ok := o.(*v1beta1.Remediation)
		return ok && rem.Status.Phase.IsTerminal()
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return finished(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return finished(e.ObjectNew) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(e event.GenericEvent) bool { return finished(e.Object) },
	}
}

// SetupWithManager registers the controller under the name "remediationretention", and the peer
// index on the manager's Remediation informer if no other controller has.
func (r *RemediationRetentionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	peers, err := newPeerIndex(context.Background(), mgr.GetCache())
	if err != nil {
		return fmt.Errorf("setting up the retention controller: %w", err)
	}
	r.peers = peers
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	delay := r.BatchDelay
	if delay <= 0 {
		delay = DefaultRetentionBatchDelay
	}
	workers := r.Workers
	if workers <= 0 {
		workers = DefaultRetentionWorkers
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("remediationretention").
		Watches(&v1beta1.Remediation{}, enqueueTargetAfter(delay), builder.WithPredicates(finishedOnly())).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}
