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
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/remediation"
)

// ProviderFactory builds a Git provider from credentials a policy was allowed to use
// (internal/gitaccess decided), for their endpoint only. main wires the GitHub implementation;
// tests an in-memory one.
type ProviderFactory func(creds GitCredentials) (gitprovider.Provider, error)

// RemediationReconciler walks a Remediation through the state machine of internal/remediation:
// it folds in the sightings, gathers what the current phase needs, asks remediation.Transition
// for the next phase, and writes the result with one status patch, the metrics of the
// transition and an Event where a person needs one (eventWorthy).
type RemediationReconciler struct {
	// Client reads through the manager's cache and writes.
	client.Client
	// Scheme names the kinds of typed targets (for the manifest lookup of a GitOps proposal).
	Scheme *runtime.Scheme
	// APIReader reads around the cache: the target right before a Direct patch (a stale cache
	// must never cause a second apply), Secrets (so they are not cached cluster-wide) and VPAs.
	APIReader client.Reader
	// Recorder emits the Events of the transitions a person needs to hear of (eventWorthy).
	Recorder events.EventRecorder
	// Metrics receives the transition counters and durations.
	Metrics *metrics.Recorder
	// Clock is the time source of every decision; a fake clock in tests.
	Clock clock.PassiveClock
	// Providers builds Git providers for GitOps policies; nil fails GitOps remediations.
	Providers ProviderFactory
	// ProtectedNamespaces are the --protected-namespaces patterns: no Remediation acts there,
	// nor in the operator's namespace.
	ProtectedNamespaces []string
	// Impersonate builds the client a Direct patch is made with when the policy names a
	// ServiceAccount (spec.serviceAccountName, or DefaultServiceAccount).
	Impersonate Impersonator
	// DefaultServiceAccount is --default-service-account: the ServiceAccount, in the policy's
	// namespace, whose rights Direct patches of policies outside the operator namespace that name
	// none are made with; empty makes them with heal8s's own.
	DefaultServiceAccount string
	// OperatorNamespace holds the Secrets that policies' git.secretRef name.
	OperatorNamespace string
	// ArgoCDNamespaces are where Argo CD Applications are read from to discover a target's Git
	// source (--argocd-namespaces); empty means DefaultArgoCDNamespaces.
	ArgoCDNamespaces []string
	// GitAccess says which policies may use which credential Secret, towards which hosts; its
	// OperatorNamespace defaults to OperatorNamespace, its hosts to github.com.
	GitAccess gitaccess.Config
	// PollInterval is how often waiting phases look again; zero means remediation.DefaultPollInterval.
	PollInterval time.Duration
	// PullRequestPollInterval is how often an open pull request's state is read from the Git
	// provider; zero means remediation.DefaultPullRequestPollInterval.
	PullRequestPollInterval time.Duration
	// MaxAttempts bounds re-plans after the target changed under heal8s; zero means
	// remediation.DefaultMaxAttempts.
	MaxAttempts int32
	// Guards is the Pending phase's chain; nil means remediation.DefaultGuards().
	Guards []remediation.Guard
	// ApprovalAuthorizer decides whether the user an approval names may approve; nil asks the
	// API server (SARApprovalAuthorizer).
	ApprovalAuthorizer ApprovalAuthorizer
	// Workers is how many Remediations are reconciled at once; zero means one. The guards'
	// budgets stay exact at any number (see reservations).
	Workers int

	reservationsOnce sync.Once
	reservations     *reservations
	// peerIndex reads a target's and a policy budget's Remediations from the cache without a
	// copy; SetupWithManager builds it.
	peerIndex *peerIndex
	wakeOnce  sync.Once
	wake      chan event.GenericEvent
}

// +kubebuilder:rbac:groups=heal8s.io,resources=remediations,verbs=get;list;watch
// +kubebuilder:rbac:groups=heal8s.io,resources=remediations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=heal8s.io,resources=remediationpolicies,verbs=get;list;watch
// Patching workloads (Direct) is not in the generated role: config/rbac/direct_patch_role.yaml
// grants it, and a lock-down install leaves it out so that every Direct patch is made with a
// policy's ServiceAccount (spec.serviceAccountName, --default-service-account).
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=replicasets;controllerrevisions,verbs=get;list;watch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch
// +kubebuilder:rbac:groups=autoscaling.k8s.io,resources=verticalpodautoscalers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",namespace=heal8s-system,resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=impersonate

// Reconcile moves one Remediation at most one phase forward. Terminal phases only take in new
// sightings; everything else is fold sightings, observe, decide, act, write.
func (r *RemediationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rem := &v1beta1.Remediation{}
	if err := r.Get(ctx, req.NamespacedName, rem); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	t := rem.Spec.Target
	log := ctrl.LoggerFrom(ctx).WithValues("phase", remediation.Current(rem.Status.Phase), "action", rem.Spec.Action.Type(),
		"targetKind", string(t.Kind), "target", klog.KRef(t.Namespace, t.Name))
	ctx = ctrl.LoggerInto(ctx, log)
	if rem.Status.Phase.IsTerminal() {
		wrote, err := r.retry(ctx, rem)
		if wrote || err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{}, nil // the newer version is on its way through the watch
			}
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.foldTerminal(ctx, rem)
	}

	pending := remediation.Current(rem.Status.Phase) == v1beta1.PhasePending
	read := rem.DeepCopy()
	s, steps, err := r.decide(ctx, rem)
	if err != nil {
		return ctrl.Result{}, err
	}
	if pending && steps[0].decision.Next == v1beta1.PhasePlanning {
		// Leaving Pending reserves a place in the target's and the policy's budgets: decide
		// again, and write, under their locks (see reservations). A decision to wait or to skip
		// reserves nothing, so it needs no lock: one policy's storm of skips is not serialised.
		unlock := r.reserved().lock(TargetKey(read), BudgetKey(read))
		defer unlock()
		rem = read.DeepCopy()
		if s, steps, err = r.decide(ctx, rem); err != nil {
			return ctrl.Result{}, err
		}
	}
	d := steps[len(steps)-1].decision
	wrote, err := r.commit(ctx, s, steps)
	if err != nil {
		if apierrors.IsConflict(err) {
			// The cache held an older version: the newer one is on its way through the watch,
			// which reconciles this Remediation again. Every step is idempotent.
			log.V(1).Info("Status write met a newer version, waiting for it", "error", err.Error())
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if wrote {
		// Every status written counts for the next decision of its peers before the cache shows it.
		r.reserved().record(client.ObjectKeyFromObject(s.rem), &s.rem.Status, s.orig.ResourceVersion, s.now)
		if by := s.rem.Status.SupersededBy; by != "" && s.rem.Status.Phase == v1beta1.PhaseSuperseded {
			// The newer one waits (Superseding) for this one to end: it may go ahead now.
			r.wakeUp(s.rem.Namespace, by)
		}
	}
	for _, st := range steps {
		if st.moved && st.from != st.decision.Next {
			log.Info("Phase changed", "from", st.from, "to", st.decision.Next, "reason", st.decision.Reason)
		}
	}
	return ctrl.Result{RequeueAfter: d.RequeueAfter}, nil
}

// decide loads the scope of rem and steps the state machine: one step, or two when the guards
// pass and the plan is made in the same reconcile (written with one patch: planning only reads,
// so a failed write loses nothing, and the plan is written before anything acts on it). It
// leaves the new status in rem.
func (r *RemediationReconciler) decide(ctx context.Context, rem *v1beta1.Remediation) (*scope, []step, error) {
	s, err := r.newScope(ctx, rem)
	if err != nil {
		return nil, nil, err
	}
	var steps []step
	for {
		from := rem.Status.Phase
		obs, err := r.observe(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		d := remediation.Transition(rem, s.settings, obs)
		moved := d.Moved(from) || from == ""
		nextStatus(&rem.Status, rem.Generation, obs, d, moved, s.now)
		approvalStatus(&rem.Status, remediation.Current(from), obs, d, s.settings.ApprovalTimeout, s.now)
		retryNotFinished(rem, s.now)
		steps = append(steps, step{from: remediation.Current(from), decision: d, moved: moved})
		if remediation.Current(from) != v1beta1.PhasePending || d.Next != v1beta1.PhasePlanning {
			return s, steps, nil
		}
	}
}

// foldTerminal takes a finished Remediation's new sightings (a late repeat or resolution) into
// status; nothing else about it changes.
func (r *RemediationReconciler) foldTerminal(ctx context.Context, rem *v1beta1.Remediation) error {
	orig := rem.DeepCopy()
	if !remediation.FoldAlert(&rem.Status, remediation.ReadSightings(rem.Annotations)) {
		return nil
	}
	err := r.Status().Patch(ctx, rem, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // a newer version is on its way through the watch, or it is gone
	}
	if err != nil {
		return fmt.Errorf("recording sightings on finished Remediation %s/%s: %w", rem.Namespace, rem.Name, err)
	}
	return nil
}

// wakeups is the channel wakeUp sends on, made on first use.
func (r *RemediationReconciler) wakeups() chan event.GenericEvent {
	r.wakeOnce.Do(func() { r.wake = make(chan event.GenericEvent, wakeBuffer) })
	return r.wake
}

// wakeBuffer bounds the pending wake-ups; past it a wake-up is dropped and the Remediation is
// looked at on its own requeue (RecheckInterval) instead.
const wakeBuffer = 1024

// wakeUp asks for a reconcile of the Remediation namespace/name soon, without blocking.
func (r *RemediationReconciler) wakeUp(namespace, name string) {
	ev := event.GenericEvent{Object: &v1beta1.Remediation{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}}
	select {
	case r.wakeups() <- ev:
	default:
	}
}

// reserved returns the reconciler's reservations, made on first use.
func (r *RemediationReconciler) reserved() *reservations {
	r.reservationsOnce.Do(func() { r.reservations = newReservations() })
	return r.reservations
}

// scope is what one reconcile of one Remediation works with.
type scope struct {
	rem *v1beta1.Remediation
	// policy is the RemediationPolicy with defaults filled in, or nil when it is gone.
	policy *v1beta1.RemediationPolicy
	// action is the action with its bounds: the policy rule's, or the Remediation's own (with
	// defaults) once the policy is gone.
	action   v1beta1.Action
	settings remediation.Settings
	now      time.Time
	// orig is the Remediation as read, defaults filled in, before sightings were folded: the
	// status patch is computed against it.
	orig *v1beta1.Remediation
	// sameTarget are the Remediations of the target, read once per scope (competitors).
	sameTarget []*v1beta1.Remediation
}

// newScope loads the policy and fills the defaults, so a cluster without the defaulting webhook
// is bounded exactly like one with it.
func (r *RemediationReconciler) newScope(ctx context.Context, rem *v1beta1.Remediation) (*scope, error) {
	s := &scope{rem: rem, now: r.Clock.Now()}
	// Defaults fill the in-memory copy only; the status patch never carries the spec.
	defaults.Remediation(rem)
	rem.Spec.Action.DeepCopyInto(&s.action)

	ref := rem.Spec.PolicyRef
	p := &v1beta1.RemediationPolicy{}
	key := client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
	err := r.Get(ctx, key, p)
	if apierrors.IsNotFound(err) {
		// The cache may not have seen a policy created a moment ago; ask the API server before
		// skipping for good.
		err = r.APIReader.Get(ctx, key, p)
	}
	switch {
	case apierrors.IsNotFound(err):
		p = nil
	case err != nil:
		return nil, fmt.Errorf("reading RemediationPolicy %s/%s: %w", ref.Namespace, ref.Name, err)
	default:
		defaults.Policy(p)
		// The bounds are the policy's rule's, as it is now; the MatchesPolicy guard has made
		// sure it is the same action.
		if rule := remediation.RuleOf(p, rem.Spec.Rule); rule != nil && rule.Action.Type() == s.action.Type() {
			s.action = *rule.Action.DeepCopy()
		}
	}
	s.policy = p
	s.orig = rem.DeepCopy()
	// What the receiver and the pull request webhook recorded since the last write.
	remediation.FoldAlert(&rem.Status, remediation.ReadSightings(rem.Annotations))
	legacyRepository := ""
	if p != nil && p.Spec.Git != nil {
		legacyRepository = p.Spec.Git.Repository
	}
	if rem.Status.PullRequest != nil && rem.Status.PullRequest.Repository != "" {
		legacyRepository = ""
	}
	foldPullRequest(&rem.Status, rem.Annotations, legacyRepository)

	var verify v1beta1.VerifySpec
	if p != nil {
		verify = p.Spec.Verify
	}
	defaults.Verify(&verify)
	s.settings = remediation.Settings{
		ApplyTimeout: verify.ApplyTimeout.Duration,
		VerifyWindow: verify.Window.Duration,
		MaxAttempts:  r.MaxAttempts,
		PollInterval: r.PollInterval,

		PullRequestPollInterval: r.PullRequestPollInterval,
		ApprovalTimeout:         remediation.ApprovalTimeout(p),
	}
	return s, nil
}

// SetupWithManager registers the reconciler. Waiting phases poll (PollInterval) rather than
// watching every workload in the cluster; the receiver's and the pull request webhook's
// sighting annotations wake them at once. It adds the peer index (peerindex.go) to the Remediation informer.
func (r *RemediationReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Scheme == nil {
		r.Scheme = mgr.GetScheme()
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder("heal8s-remediation")
	}
	if r.Metrics == nil {
		return fmt.Errorf("setting up the Remediation controller: no metrics recorder")
	}
	idx, err := newPeerIndex(context.Background(), mgr.GetCache())
	if err != nil {
		return fmt.Errorf("setting up the Remediation controller: %w", err)
	}
	r.peerIndex = idx
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.Remediation{}).
		// Superseding wakes exactly the Remediations it concerns (wakeUp), not every competitor
		// on every change: a storm on one target would make that quadratic.
		WatchesRawSource(source.Channel(r.wakeups(), &handler.EnqueueRequestForObject{})).
		Named("remediation").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)}).
		Complete(r)
}
