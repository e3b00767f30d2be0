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
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/notify"
)

// NotifierResync is how often a Notifier's status is brought up to date (its high-water mark,
// counters) and its Secret read again: at most one status write per Notifier per resync.
const NotifierResync = time.Minute

// Reasons of a Notifier's Ready condition.
const (
	NotifierReadyReason          = "Ready"
	NotifierSuspendedReason      = "Suspended"
	NotifierSecretMissingReason  = "SecretNotReadable"
	NotifierSecretInvalidReason  = "SecretInvalid"
	NotifierAddressDeniedReason  = "AddressNotAllowed"
	NotifierDeliveryFailedReason = "DeliveryFailed"
)

// NotifierReconciler keeps each Notifier's destination in the dispatcher (from its Secret, in
// its own namespace only) and its status: Ready, the last delivery error, and the high-water
// mark a restarted manager resumes from. It writes only Notifier status.
type NotifierReconciler struct {
	client.Client
	// APIReader reads the Notifier's Secret from the API server: Secrets are not cached.
	APIReader  client.Reader
	Dispatcher *notify.Dispatcher
	// Resync is NotifierResync unless set (tests shorten it).
	Resync time.Duration

	changes chan event.GenericEvent
}

// +kubebuilder:rbac:groups=heal8s.io,resources=notifiers,verbs=get;list;watch
// +kubebuilder:rbac:groups=heal8s.io,resources=notifiers/status,verbs=get;update;patch

// Reconcile brings one Notifier's destination and status up to date.
func (r *NotifierReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	n := &v1beta1.Notifier{}
	if err := r.Get(ctx, req.NamespacedName, n); err != nil {
		if apierrors.IsNotFound(err) {
			r.Dispatcher.Remove(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading Notifier %s: %w", req, err)
	}
	ensureOutbox(r.Dispatcher, n)
	ready := metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: NotifierReadyReason, Message: "Delivering"}
	if n.Spec.Suspend {
		r.Dispatcher.Suspend(req.NamespacedName)
		ready = metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse, Reason: NotifierSuspendedReason, Message: "Suspended: nothing is sent"}
	} else {
		target, reason, err := r.target(ctx, n)
		if err != nil {
			r.Dispatcher.Configure(req.NamespacedName, nil)
			ready = metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: err.Error()}
		} else {
			r.Dispatcher.Configure(req.NamespacedName, target)
		}
	}
	stats, _ := r.Dispatcher.Stats(req.NamespacedName)
	if ready.Status == metav1.ConditionTrue && stats.LastError != "" {
		ready = metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse, Reason: NotifierDeliveryFailedReason, Message: stats.LastError}
	}
	if err := r.writeStatus(ctx, n, ready, stats); err != nil {
		log.V(1).Info("Could not update Notifier status", "error", err.Error())
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.Resync}, nil
}

// ensureOutbox gives n an outbox in the dispatcher, accepting events from its handledUntil on
// (after a restart) or from its creation (a new Notifier does not report the past).
func ensureOutbox(d *notify.Dispatcher, n *v1beta1.Notifier) time.Time {
	since := n.CreationTimestamp.Time
	if h := n.Status.HandledUntil; h != nil && h.After(since) {
		since = h.Time
	}
	interval := 10 * time.Second
	if n.Spec.RateLimit.Interval != nil {
		interval = n.Spec.RateLimit.Interval.Duration
	}
	burst := int(n.Spec.RateLimit.Burst)
	if burst == 0 {
		burst = 5
	}
	return d.Ensure(types.NamespacedName{Namespace: n.Namespace, Name: n.Name}, since, burst, interval)
}

// target reads the Notifier's Secret, from its own namespace only, and checks the address
// against the platform's AddressPolicy.
func (r *NotifierReconciler) target(ctx context.Context, n *v1beta1.Notifier) (*notify.Target, string, error) {
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: n.Namespace, Name: n.Spec.SecretRef.Name}
	if err := r.APIReader.Get(ctx, key, s); err != nil {
		if apierrors.IsForbidden(err) {
			return nil, NotifierSecretMissingReason, fmt.Errorf("heal8s may not read Secret %s: grant it get on that Secret (docs/notifications.md)", key.Name)
		}
		return nil, NotifierSecretMissingReason, fmt.Errorf("reading Secret %s: %w", key.Name, err)
	}
	// A Secret says what it is for (as Git credentials do, docs/security.md): without this
	// annotation a Notifier cannot turn another credential of its namespace (in the operator
	// namespace: the GitHub token) into a bearer token sent to a webhook.
	if s.Annotations[v1beta1.AnnotationNotifierSecret] != markerTrue {
		return nil, NotifierSecretInvalidReason, fmt.Errorf("secret %s lacks the annotation %s: \"true\" that makes it a notification Secret", key.Name, v1beta1.AnnotationNotifierSecret)
	}
	t := &notify.Target{
		Type:    n.Spec.Type,
		Address: string(s.Data["address"]),
		Token:   string(s.Data["token"]),
		Channel: n.Spec.Channel,
		HMACKey: s.Data["hmacKey"],
	}
	switch {
	case t.Type == v1beta1.NotifierSlack && t.Token != "" && t.Channel == "":
		return nil, NotifierSecretInvalidReason, fmt.Errorf("a Slack bot token needs spec.channel")
	case t.Type == v1beta1.NotifierSlack && t.Token != "" && t.Address == "":
		t.Address = notify.DefaultSlackAPI
	case t.Type == v1beta1.NotifierGeneric && len(t.HMACKey) < 16:
		return nil, NotifierSecretInvalidReason, fmt.Errorf("secret %s needs an hmacKey of at least 16 bytes to sign generic messages", key.Name)
	case t.Address == "":
		return nil, NotifierSecretInvalidReason, fmt.Errorf("secret %s has no address", key.Name)
	}
	if _, err := r.Dispatcher.Policy.CheckURL(t.Address); err != nil {
		// The reason, never the address: a webhook URL is a credential.
		return nil, NotifierAddressDeniedReason, fmt.Errorf("the address in Secret %s is not allowed: %w", key.Name, err)
	}
	return t, "", nil
}

func (r *NotifierReconciler) writeStatus(ctx context.Context, n *v1beta1.Notifier, ready metav1.Condition, stats notify.Stats) error {
	st := n.Status.DeepCopy()
	ready.ObservedGeneration = n.Generation
	apimeta.SetStatusCondition(&st.Conditions, ready)
	st.ObservedGeneration = n.Generation
	if !stats.HandledUntil.IsZero() && (st.HandledUntil == nil || stats.HandledUntil.Truncate(time.Second).After(st.HandledUntil.Time)) {
		st.HandledUntil = &metav1.Time{Time: stats.HandledUntil.Truncate(time.Second)}
	}
	if !stats.LastDelivery.IsZero() {
		st.LastDeliveryTime = &metav1.Time{Time: stats.LastDelivery.Truncate(time.Second)}
	}
	st.LastDeliveryError = stats.LastError
	st.Delivered, st.Dropped = stats.Delivered, stats.Dropped
	if equality.Semantic.DeepEqual(st, &n.Status) {
		return nil
	}
	patch := client.MergeFrom(n.DeepCopy())
	n.Status = *st
	if err := r.Status().Patch(ctx, n, patch); err != nil {
		return fmt.Errorf("patching Notifier %s/%s status: %w", n.Namespace, n.Name, err)
	}
	return nil
}

// SetupWithManager registers the controller and the dispatcher's change notices.
func (r *NotifierReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Resync <= 0 {
		r.Resync = NotifierResync
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	r.changes = make(chan event.GenericEvent, 64)
	prev := r.Dispatcher.OnChange
	r.Dispatcher.OnChange = func(n types.NamespacedName) {
		if prev != nil {
			prev(n)
		}
		o := &v1beta1.Notifier{}
		o.Namespace, o.Name = n.Namespace, n.Name
		select {
		case r.changes <- event.GenericEvent{Object: o}:
		default: // the resync catches up
		}
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("notifier").
		For(&v1beta1.Notifier{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.changes, &handler.EnqueueRequestForObject{})).
		Complete(r)
}

// NotificationReconciler feeds the dispatcher: on each phase change of a Remediation it finds
// the Notifiers of the Remediation's namespace that want to hear of it and queues the events.
// It reads only (the Remediation reconciler stays the only writer of Remediation status), and
// does nothing but one cache list in a namespace without Notifiers.
type NotificationReconciler struct {
	client.Client
	Dispatcher *notify.Dispatcher
	Clock      clock.Clock
	// DashboardURL is the dashboard's external URL (--dashboard-url); empty links no dashboard.
	DashboardURL string
	// peers reads a target's Remediations from the informer's index (SetupWithManager).
	peers *peerIndex
}

// Reconcile queues the unreported events of one Remediation for each Notifier that wants them.
func (r *NotificationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var notifiers v1beta1.NotifierList
	if err := r.List(ctx, &notifiers, client.InNamespace(req.Namespace)); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing Notifiers in %s: %w", req.Namespace, err)
	}
	if len(notifiers.Items) == 0 {
		return ctrl.Result{}, nil
	}
	rem := &v1beta1.Remediation{}
	if err := r.Get(ctx, req.NamespacedName, rem); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	var policy *v1beta1.RemediationPolicy
	ref := remediationPolicy(rem)
	p := &v1beta1.RemediationPolicy{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, p); err == nil {
		policy = p
	} else if !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("reading RemediationPolicy %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	nctx := notify.Context{Policy: policy, DashboardURL: r.DashboardURL, Now: r.Clock.Now()}
	if needsBudget(rem) {
		peers, err := r.peers.byTarget(TargetKey(rem))
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("listing the Remediations of %s: %w", TargetKey(rem), err)
		}
		// Copies of the structs (notify only reads them), of this namespace's only.
		for _, o := range peers {
			if o.Namespace == rem.Namespace {
				nctx.Others = append(nctx.Others, *o)
			}
		}
	}
	for i := range notifiers.Items {
		n := &notifiers.Items[i]
		if n.Spec.Suspend || !selectsPolicy(n, rem, policy) {
			continue
		}
		since := ensureOutbox(r.Dispatcher, n)
		var want []notify.Event
		for _, e := range notify.EventsOf(rem, nctx, since) {
			if notify.Wants(&n.Spec, e.Type) {
				want = append(want, e)
			}
		}
		if len(want) > 0 {
			r.Dispatcher.Enqueue(types.NamespacedName{Namespace: n.Namespace, Name: n.Name}, want)
		}
	}
	return ctrl.Result{}, nil
}

func needsBudget(r *v1beta1.Remediation) bool {
	return r.Status.Phase == v1beta1.PhaseSucceeded || r.Status.Phase == v1beta1.PhaseSkipped
}

// selectsPolicy: a Notifier with neither policies nor policySelector hears every Remediation of
// its namespace; otherwise the policy must be named or its labels selected.
func selectsPolicy(n *v1beta1.Notifier, r *v1beta1.Remediation, p *v1beta1.RemediationPolicy) bool {
	if len(n.Spec.Policies) == 0 && n.Spec.PolicySelector == nil {
		return true
	}
	if slices.Contains(n.Spec.Policies, r.Spec.PolicyRef.Name) {
		return true
	}
	if n.Spec.PolicySelector != nil && p != nil {
		sel, err := metav1.LabelSelectorAsSelector(n.Spec.PolicySelector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
			return true
		}
	}
	return false
}

// phaseChanged passes creations and updates that change status.phase: the only moments a
// Remediation has something to report.
func phaseChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*v1beta1.Remediation)
			n, ok2 := e.ObjectNew.(*v1beta1.Remediation)
			return ok1 && ok2 && o.Status.Phase != n.Status.Phase
		},
	}
}

// SetupWithManager registers the controller and the Notifier watch (a new or changed Notifier
// looks again at its namespace's Remediations, which it reports only from its creation on).
func (r *NotificationReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	peers, err := newPeerIndex(context.Background(), mgr.GetCache())
	if err != nil {
		return fmt.Errorf("setting up the notification controller: %w", err)
	}
	r.peers = peers
	return ctrl.NewControllerManagedBy(mgr).
		Named("notification").
		For(&v1beta1.Remediation{}, builder.WithPredicates(phaseChanged())).
		Complete(r)
}
