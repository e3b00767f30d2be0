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

package remediation

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/routing"
)

// Verdict is a guard's answer.
type Verdict string

const (
	// Allow lets the remediation go on to the next guard, and past the last one to Planning.
	Allow Verdict = "Allow"
	// NotYet holds the remediation in Pending until RetryAt.
	NotYet Verdict = "NotYet"
	// Never ends the remediation as Skipped.
	Never Verdict = "Never"
)

// Guard is one safety rule of the Pending phase, a pure function in the manner of cert-manager's
// policy chains. retryAt matters only for NotYet: it is the time the guard will allow.
type Guard func(in Input) (verdict Verdict, reason, message string, retryAt time.Time)

// GuardResult is the first verdict of a chain that is not Allow, or Allow.
type GuardResult struct {
	Verdict Verdict
	Reason  string
	Message string
	RetryAt time.Time
}

// VPA is the part of a VerticalPodAutoscaler the ManagedByVPA guard needs, read by the
// reconciler from unstructured autoscaling.k8s.io/v1 objects.
type VPA struct {
	// Name of the VPA, for the message.
	Name string
	// TargetKind and TargetName are its spec.targetRef.
	TargetKind, TargetName string
	// UpdateMode is spec.updatePolicy.updateMode; empty means the VPA default, Auto.
	UpdateMode string
	// Containers are spec.resourcePolicy.containerPolicies.
	Containers []VPAContainerPolicy
}

// VPAContainerPolicy is one entry of a VPA's resourcePolicy.containerPolicies.
type VPAContainerPolicy struct {
	// ContainerName is a container's name or "*".
	ContainerName string
	// Mode is Auto or Off; empty means Auto.
	Mode string
	// ControlledResources lists "cpu" and/or "memory"; empty means both.
	ControlledResources []string
}

// Input is everything the guards read, gathered by the reconciler.
type Input struct {
	// Remediation is the one being guarded.
	Remediation *v1beta1.Remediation
	// Policy is its RemediationPolicy with defaults filled in, or nil when it is gone.
	Policy *v1beta1.RemediationPolicy
	// TargetExists reports whether the target workload exists.
	TargetExists bool
	// Others are the other Remediations of the target's namespace and of the policy, in any
	// phase; the guard's own Remediation may be among them and is ignored. They may be shared
	// with the informer's cache: guards only read them.
	Others []*v1beta1.Remediation
	// VPAs in the target's namespace; empty when the VPA CRD is not installed.
	VPAs []VPA
	// Now is the reconciler's clock reading.
	Now time.Time
	// OperatorNamespace is where cluster-wide policies live; a policy elsewhere acts only on
	// Remediations in its own namespace.
	OperatorNamespace string
	// RecheckInterval is when a guard that cannot know the time it will allow looks again
	// (maxConcurrent); zero means DefaultPollInterval.
	RecheckInterval time.Duration
	// Compiled is the policy as routing.Compile interprets it (its namespaceSelector above all);
	// nil when the policy is gone or does not compile.
	Compiled *routing.Policy
	// NamespaceLabels are the labels of the Remediation's namespace, for a cluster-wide policy's
	// selector; NamespaceFound is false when the namespace is gone.
	NamespaceLabels map[string]string
	NamespaceFound  bool
	// ProtectedNamespaces are the --protected-namespaces patterns; the operator's namespace is
	// always protected.
	ProtectedNamespaces []string
}

// DefaultGuards is the chain the reconciler runs, "never" verdicts first so that a remediation
// that will be skipped is not held in Pending by a "not yet" first.
func DefaultGuards() []Guard {
	return []Guard{
		PolicyExists, NotProtected, InScope, MatchesPolicy, PolicyNotSuspended, PolicyNotPaused, TargetExists, OneAtATime, NotVetoed, WithinBudget,
		NotManagedByVPA, CooledDown, WithinHourlyRate, WithinConcurrency,
	}
}

// RunGuards returns the first verdict of chain that is not Allow, or Allow.
func RunGuards(chain []Guard, in Input) GuardResult {
	for _, g := range chain {
		v, reason, msg, at := g(in)
		if v != Allow {
			return GuardResult{Verdict: v, Reason: reason, Message: msg, RetryAt: at}
		}
	}
	return GuardResult{Verdict: Allow}
}

// PolicyExists skips a remediation whose policy is gone: nothing bounds it any more.
func PolicyExists(in Input) (Verdict, string, string, time.Time) {
	if in.Policy == nil {
		ref := in.Remediation.Spec.PolicyRef
		return Never, PolicyNotFoundReason, fmt.Sprintf("RemediationPolicy %s/%s does not exist", ref.Namespace, ref.Name), time.Time{}
	}
	return Allow, "", "", time.Time{}
}

// InScope keeps heal8s within the namespaces a policy covers: the target must be in the
// Remediation's namespace, and the policy in that namespace too unless it is a cluster-wide
// policy in the operator's namespace. Without it, anyone allowed to create a Remediation could
// have heal8s change workloads elsewhere.
func InScope(in Input) (Verdict, string, string, time.Time) {
	r := in.Remediation
	if t := r.Spec.Target.Namespace; t != r.Namespace {
		return Never, TargetOutOfScopeReason, fmt.Sprintf("The target's namespace %q is not the Remediation's namespace %q", t, r.Namespace), time.Time{}
	}
	if p := r.Spec.PolicyRef.Namespace; p != r.Namespace && (in.OperatorNamespace == "" || p != in.OperatorNamespace) {
		return Never, TargetOutOfScopeReason, fmt.Sprintf("RemediationPolicy %s/%s acts only on its own namespace, not %q",
			p, r.Spec.PolicyRef.Name, r.Namespace), time.Time{}
	}
	if r.Spec.PolicyRef.Namespace != r.Namespace {
		// A cluster-wide policy: its namespaceSelector, read the way the receiver reads it.
		if in.Compiled == nil || !routing.Covers(in.Compiled, in.OperatorNamespace, r.Namespace, in.NamespaceLabels, in.NamespaceFound) {
			return Never, TargetOutOfScopeReason, fmt.Sprintf("The namespaceSelector of RemediationPolicy %s/%s does not select namespace %q",
				r.Spec.PolicyRef.Namespace, r.Spec.PolicyRef.Name, r.Namespace), time.Time{}
		}
	}
	return Allow, "", "", time.Time{}
}

// NotProtected skips a remediation whose target is in a protected namespace (kube-*, the
// operator's own, --protected-namespaces), whoever created it: the receiver never routes alerts
// there, and a Remediation written by hand is held to the same rule.
func NotProtected(in Input) (Verdict, string, string, time.Time) {
	ns := in.Remediation.Spec.Target.Namespace
	if routing.IsProtected(ns, in.OperatorNamespace, in.ProtectedNamespaces) || routing.IsProtected(in.Remediation.Namespace, in.OperatorNamespace, in.ProtectedNamespaces) {
		return Never, ProtectedNamespaceReason, fmt.Sprintf("Namespace %q is protected: heal8s never changes workloads there", ns), time.Time{}
	}
	return Allow, "", "", time.Time{}
}

// MatchesPolicy checks the Remediation against its policy as it is now: the rule still exists
// with the same action, and the strategy is the policy's. The bounds applied are the rule's, so
// a Remediation written by hand cannot ask for more than the policy allows.
func MatchesPolicy(in Input) (Verdict, string, string, time.Time) {
	if in.Policy == nil {
		return Allow, "", "", time.Time{}
	}
	r := in.Remediation
	rule := RuleOf(in.Policy, r.Spec.Rule)
	switch {
	case rule == nil:
		return Never, PolicyMismatchReason, fmt.Sprintf("RemediationPolicy %s has no rule %q", in.Policy.Name, r.Spec.Rule), time.Time{}
	case rule.Action.Type() != r.Spec.Action.Type():
		return Never, PolicyMismatchReason, fmt.Sprintf("Rule %q of RemediationPolicy %s allows %s, not %s",
			rule.Name, in.Policy.Name, rule.Action.Type(), r.Spec.Action.Type()), time.Time{}
	case in.Policy.Spec.Strategy != "" && in.Policy.Spec.Strategy != r.Spec.Strategy:
		return Never, PolicyMismatchReason, fmt.Sprintf("RemediationPolicy %s uses strategy %s, not %s",
			in.Policy.Name, in.Policy.Spec.Strategy, r.Spec.Strategy), time.Time{}
	}
	return Allow, "", "", time.Time{}
}

// RuleOf returns the policy's rule of that name, or nil.
func RuleOf(p *v1beta1.RemediationPolicy, name string) *v1beta1.Rule {
	for i := range p.Spec.Rules {
		if p.Spec.Rules[i].Name == name {
			return &p.Spec.Rules[i]
		}
	}
	return nil
}

// PolicyNotSuspended skips remediations of a suspended policy rather than queueing them, so that
// resuming it does not release a burst of stale fixes.
func PolicyNotSuspended(in Input) (Verdict, string, string, time.Time) {
	if in.Policy != nil && in.Policy.Spec.Safety.Suspend {
		return Never, PolicySuspendedReason, fmt.Sprintf("RemediationPolicy %s is suspended", in.Policy.Name), time.Time{}
	}
	return Allow, "", "", time.Time{}
}

// TargetExists skips a remediation whose workload is gone.
func TargetExists(in Input) (Verdict, string, string, time.Time) {
	if !in.TargetExists {
		t := in.Remediation.Spec.Target
		return Never, TargetNotFoundReason, fmt.Sprintf("%s %s/%s does not exist", t.Kind, t.Namespace, t.Name), time.Time{}
	}
	return Allow, "", "", time.Time{}
}

// OneAtATime lets only one open remediation of an action on a target proceed: two bumps planned
// from the same live value would be one bump applied twice. An open one that may have applied
// its change (MayHaveApplied) holds every other, whatever their ages: they end Skipped
// InProgress. Any other open one is on its way out: the newer of the two supersedes the older
// (see Newer), so this one waits until the other has ended, superseded by this one or by a
// newer one, or moved past the point where it may apply (and then holds this one).
func OneAtATime(in Input) (Verdict, string, string, time.Time) {
	self := in.Remediation
	var wait *v1beta1.Remediation
	for _, o := range in.Others {
		if o == nil {
			continue
		}
		if isSelf(self, o) || !sameTargetAndAction(self, o) || Current(o.Status.Phase).IsTerminal() {
			continue
		}
		if MayHaveApplied(o) {
			return Never, InProgressReason, fmt.Sprintf("Remediation %s is already %s for the same action and target",
				o.Name, Current(o.Status.Phase)), time.Time{}
		}
		if wait == nil {
			wait = o
		}
	}
	if wait != nil {
		every := in.RecheckInterval
		if every <= 0 {
			every = DefaultPollInterval
		}
		msg := fmt.Sprintf("Remediation %s (%s) of the same action and target is open; waiting for it to be superseded by this one",
			wait.Name, Current(wait.Status.Phase))
		if Newer(wait, self) {
			msg = fmt.Sprintf("Remediation %s (%s) of the same action and target is newer; this one is about to be superseded",
				wait.Name, Current(wait.Status.Phase))
		}
		return NotYet, SupersedingReason, msg, in.Now.Add(every)
	}
	return Allow, "", "", time.Time{}
}

// NotVetoed skips an action a human rejected on this target within vetoPeriod: heal8s does not
// keep proposing what a reviewer closed.
func NotVetoed(in Input) (Verdict, string, string, time.Time) {
	period := durationOf(in.safety().VetoPeriod)
	for _, o := range in.Others {
		if o == nil {
			continue
		}
		if isSelf(in.Remediation, o) || !sameTargetAndAction(in.Remediation, o) {
			continue
		}
		// A reviewer who reopens the pull request lifts the veto.
		reopened := o.Status.PullRequest != nil && o.Status.PullRequest.State == v1beta1.PullRequestOpen
		if o.Status.Phase == v1beta1.PhaseFailed && o.Status.Reason == RejectedReason && !reopened &&
			o.Status.CompletedAt != nil && in.Now.Sub(o.Status.CompletedAt.Time) < period {
			return Never, VetoedReason, fmt.Sprintf("A reviewer rejected Remediation %s at %s; the veto lasts %s",
				o.Name, o.Status.CompletedAt.UTC().Format(time.RFC3339), period), time.Time{}
		}
	}
	return Allow, "", "", time.Time{}
}

// WithinBudget stops heal8s climbing a ladder of bumps on one target: past maxPerTarget changes
// within budgetWindow, a leak or a deeper fault is likely and a person should look.
func WithinBudget(in Input) (Verdict, string, string, time.Time) {
	s := in.safety()
	window := durationOf(s.BudgetWindow)
	limit := int32Of(s.MaxPerTarget)
	var n int32
	for _, o := range in.Others {
		if o == nil {
			continue
		}
		if isSelf(in.Remediation, o) || !sameTarget(in.Remediation, o) || !acted(o) {
			continue
		}
		if in.Now.Sub(o.Status.StartedAt.Time) < window {
			n++
		}
	}
	if n >= limit {
		t := in.Remediation.Spec.Target
		return Never, BudgetExhaustedReason, fmt.Sprintf(
			"%s %s received %d remediations within %s (maxPerTarget %d): a leak or a deeper fault is likely; fix the cause instead of bumping again",
			t.Kind, t.Name, n, window, limit), time.Time{}
	}
	return Allow, "", "", time.Time{}
}

// NotManagedByVPA skips resource actions on containers whose resources a VerticalPodAutoscaler
// in Auto or Recreate mode sets: the VPA would undo heal8s's change, or heal8s would fight it.
func NotManagedByVPA(in Input) (Verdict, string, string, time.Time) {
	spec := in.Remediation.Spec
	var resource string
	switch spec.Action.Type() {
	case v1beta1.ActionIncreaseMemory:
		resource = "memory"
	case v1beta1.ActionIncreaseCPU:
		resource = "cpu"
	case v1beta1.ActionScaleUp, v1beta1.ActionRollbackImage:
		return Allow, "", "", time.Time{}
	}
	for _, v := range in.VPAs {
		if v.TargetKind != string(spec.Target.Kind) || v.TargetName != spec.Target.Name {
			continue
		}
		mode := orDefault(v.UpdateMode, "Auto")
		if mode != "Auto" && mode != "Recreate" {
			continue
		}
		if vpaControls(v, spec.Target.Container, resource) {
			return Never, ManagedByVPAReason, fmt.Sprintf("VerticalPodAutoscaler %s (updateMode %s) manages the %s of %s %s",
				v.Name, mode, resource, spec.Target.Kind, spec.Target.Name), time.Time{}
		}
	}
	return Allow, "", "", time.Time{}
}

// vpaControls applies the VPA's container policies: the named container's entry wins over "*";
// mode Off or a controlledResources list without the resource leaves it alone.
func vpaControls(v VPA, container, resource string) bool {
	var pol *VPAContainerPolicy
	for i := range v.Containers {
		c := &v.Containers[i]
		if container != "" && c.ContainerName == container {
			pol = c
			break
		}
		if c.ContainerName == "*" {
			pol = c
		}
	}
	if pol == nil {
		return true
	}
	if pol.Mode == "Off" {
		return false
	}
	if len(pol.ControlledResources) == 0 {
		return true
	}
	for _, r := range pol.ControlledResources {
		if strings.EqualFold(r, resource) {
			return true
		}
	}
	return false
}

// CooledDown holds the remediation until cooldown has passed since the same action on the same
// target last completed, so the previous change can show its effect first.
func CooledDown(in Input) (Verdict, string, string, time.Time) {
	cooldown := durationOf(in.safety().Cooldown)
	var until time.Time
	var last string
	for _, o := range in.Others {
		if o == nil {
			continue
		}
		if isSelf(in.Remediation, o) || !sameTargetAndAction(in.Remediation, o) || !acted(o) || o.Status.CompletedAt == nil {
			continue
		}
		if end := o.Status.CompletedAt.Add(cooldown); end.After(until) {
			until, last = end, o.Name
		}
	}
	if in.Now.Before(until) {
		return NotYet, CooldownReason, fmt.Sprintf("Remediation %s of the same action and target completed less than %s ago; waiting until %s",
			last, cooldown, until.UTC().Format(time.RFC3339)), until
	}
	return Allow, "", "", time.Time{}
}

// WithinHourlyRate holds the remediation while the policy started maxPerHour remediations in
// the last hour (in this namespace, for a cluster-wide policy), until the oldest of them leaves
// the hour.
func WithinHourlyRate(in Input) (Verdict, string, string, time.Time) {
	limit := int32Of(in.safety().MaxPerHour)
	var starts []time.Time
	for _, o := range in.Others {
		if o == nil {
			continue
		}
		// A superseded one gave its place to the one that took over, which counts itself.
		if isSelf(in.Remediation, o) || !budgetPeer(in.Remediation, o) || o.Status.StartedAt == nil ||
			o.Status.Phase == v1beta1.PhaseSkipped || o.Status.Phase == v1beta1.PhaseSuperseded {
			continue
		}
		if t := o.Status.StartedAt.Time; in.Now.Sub(t) < time.Hour {
			starts = append(starts, t)
		}
	}
	if int32(len(starts)) >= limit {
		slices.SortFunc(starts, time.Time.Compare)
		at := starts[len(starts)-int(limit)].Add(time.Hour)
		return NotYet, MaxPerHourReason, fmt.Sprintf("RemediationPolicy %s started %d remediations in the last hour (maxPerHour %d); waiting until %s",
			in.policyName(), len(starts), limit, at.UTC().Format(time.RFC3339)), at
	}
	return Allow, "", "", time.Time{}
}

// WithinConcurrency holds the remediation while maxConcurrent of the policy's remediations (in
// this namespace, for a cluster-wide policy) are under way. Their end cannot be known, so it looks again after RecheckInterval.
func WithinConcurrency(in Input) (Verdict, string, string, time.Time) {
	limit := int32Of(in.safety().MaxConcurrent)
	var n int32
	for _, o := range in.Others {
		if o == nil {
			continue
		}
		p := Current(o.Status.Phase)
		if isSelf(in.Remediation, o) || !budgetPeer(in.Remediation, o) || p == v1beta1.PhasePending || p.IsTerminal() {
			continue
		}
		n++
	}
	if n >= limit {
		every := in.RecheckInterval
		if every <= 0 {
			every = DefaultPollInterval
		}
		return NotYet, MaxConcurrentReason, fmt.Sprintf("RemediationPolicy %s has %d remediations under way (maxConcurrent %d)",
			in.policyName(), n, limit), in.Now.Add(every)
	}
	return Allow, "", "", time.Time{}
}

func isSelf(a, b *v1beta1.Remediation) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name
}

func sameTarget(a, b *v1beta1.Remediation) bool {
	x, y := a.Spec.Target, b.Spec.Target
	return x.Kind == y.Kind && x.Name == y.Name && x.Namespace == y.Namespace
}

func sameTargetAndAction(a, b *v1beta1.Remediation) bool {
	return sameTarget(a, b) && a.Spec.Action.Type() == b.Spec.Action.Type()
}

func samePolicy(a, b *v1beta1.Remediation) bool {
	return a.Spec.PolicyRef == b.Spec.PolicyRef
}

// budgetPeer reports whether b counts against a's policy budgets (maxPerHour, maxConcurrent).
// A cluster-wide policy (one outside the Remediation's namespace) keeps them per namespace, so
// one tenant's storm cannot use up every other namespace's fixes.
func budgetPeer(a, b *v1beta1.Remediation) bool {
	if !samePolicy(a, b) {
		return false
	}
	return a.Spec.PolicyRef.Namespace == a.Namespace || a.Namespace == b.Namespace
}

// acted reports whether a remediation got past the guards with a strategy that changes things:
// those count against cooldowns and budgets; DryRun, skipped and superseded ones (which applied
// nothing) do not.
func acted(o *v1beta1.Remediation) bool {
	return o.Status.StartedAt != nil && o.Status.Phase != v1beta1.PhaseSkipped && o.Status.Phase != v1beta1.PhaseSuperseded &&
		o.Spec.Strategy != v1beta1.StrategyDryRun
}

func durationOf(d *metav1.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.Duration
}

// safety is the policy's safety spec with defaults filled in, so a policy read from a cluster
// without the defaulting webhook is bounded the same; the zero spec when the policy is gone.
func (in Input) safety() v1beta1.SafetySpec {
	var s v1beta1.SafetySpec
	if in.Policy != nil {
		in.Policy.Spec.Safety.DeepCopyInto(&s)
	}
	defaults.Safety(&s)
	return s
}

func (in Input) policyName() string {
	if in.Policy == nil {
		return in.Remediation.Spec.PolicyRef.Name
	}
	return in.Policy.Name
}

func int32Of(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
