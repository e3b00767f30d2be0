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
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/routing"
)

// rem builds a Remediation of the "web" Deployment in "shop" by policy shop/p, created at t0+created.
func rem(name string, action v1beta1.ActionType, created time.Duration) v1beta1.Remediation {
	r := v1beta1.Remediation{}
	r.Name, r.Namespace = name, "shop"
	r.CreationTimestamp = metav1.NewTime(t0.Add(created))
	r.Spec.PolicyRef = v1beta1.PolicyReference{Namespace: "shop", Name: "p"}
	r.Spec.Target = v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: "web", Namespace: "shop", Container: "app"}
	r.Spec.Strategy = v1beta1.StrategyDirect
	r.Spec.Rule = "oom"
	switch action {
	case v1beta1.ActionIncreaseMemory:
		r.Spec.Action.IncreaseMemory = &v1beta1.IncreaseMemoryAction{}
	case v1beta1.ActionIncreaseCPU:
		r.Spec.Action.IncreaseCPU = &v1beta1.IncreaseCPUAction{}
	case v1beta1.ActionScaleUp:
		r.Spec.Action.ScaleUp = &v1beta1.ScaleUpAction{}
	case v1beta1.ActionRollbackImage:
		r.Spec.Action.RollbackImage = &v1beta1.RollbackImageAction{}
	}
	return r
}

// ended marks r as having started at start and ended in phase at end (relative to t0).
func reopened(r v1beta1.Remediation) v1beta1.Remediation {
	r.Status.PullRequest = &v1beta1.PullRequestStatus{Number: 1, State: v1beta1.PullRequestOpen}
	return r
}

func ended(r v1beta1.Remediation, phase v1beta1.Phase, reason string, start, end time.Duration) v1beta1.Remediation {
	r.Status.Phase, r.Status.Reason = phase, reason
	r.Status.StartedAt = ptr.To(metav1.NewTime(t0.Add(start)))
	if end != 0 || phase.IsTerminal() {
		r.Status.CompletedAt = ptr.To(metav1.NewTime(t0.Add(end)))
	}
	return r
}

func running(r v1beta1.Remediation, phase v1beta1.Phase, start time.Duration) v1beta1.Remediation {
	r.Status.Phase = phase
	r.Status.StartedAt = ptr.To(metav1.NewTime(t0.Add(start)))
	return r
}

func policy(mut func(*v1beta1.SafetySpec)) *v1beta1.RemediationPolicy {
	p := &v1beta1.RemediationPolicy{}
	p.Name, p.Namespace = "p", "shop"
	p.Spec.Strategy = v1beta1.StrategyDirect
	p.Spec.Rules = []v1beta1.Rule{
		{Name: "oom", Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}},
		{Name: "scale", Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}},
	}
	if mut != nil {
		mut(&p.Spec.Safety)
	}
	return p
}

func TestGuards(t *testing.T) {
	self := rem("self", v1beta1.ActionIncreaseMemory, 0)
	mem := v1beta1.ActionIncreaseMemory
	h := time.Hour
	tests := []struct {
		name    string
		self    *v1beta1.Remediation
		policy  *v1beta1.RemediationPolicy
		missing bool
		// nsLabels are the Remediation's namespace's labels; nil when it is gone.
		nsLabels map[string]string
		others   []v1beta1.Remediation
		vpas     []VPA
		verdict  Verdict
		reason   string
		retryAt  time.Time
		message  string
	}{
		{name: "nothing in the way", policy: policy(nil), verdict: Allow},
		{name: "policy gone", verdict: Never, reason: PolicyNotFoundReason},
		{name: "target in another namespace", self: ptr.To(mutRem(self, func(r *v1beta1.Remediation) { r.Spec.Target.Namespace = "bank" })),
			policy: policy(nil), verdict: Never, reason: TargetOutOfScopeReason},
		{name: "policy in another namespace", self: ptr.To(mutRem(self, func(r *v1beta1.Remediation) { r.Spec.PolicyRef.Namespace = "bank" })),
			policy: policy(nil), verdict: Never, reason: TargetOutOfScopeReason},
		{name: "cluster-wide policy whose selector selects the namespace", self: ptr.To(clusterWide(self)),
			policy: selecting(policy(nil)), nsLabels: map[string]string{"heal8s.io/remediate": "true"}, verdict: Allow},
		{name: "cluster-wide policy whose selector excludes the namespace", self: ptr.To(clusterWide(self)),
			policy: selecting(policy(nil)), nsLabels: map[string]string{"team": "bank"}, verdict: Never, reason: TargetOutOfScopeReason,
			message: "does not select"},
		{name: "policy in the operator's namespace without a selector", self: ptr.To(clusterWide(self)),
			policy: policy(nil), nsLabels: map[string]string{"heal8s.io/remediate": "true"}, verdict: Never, reason: TargetOutOfScopeReason},
		{name: "protected namespace, whoever made the Remediation", self: ptr.To(mutRem(clusterWide(self), func(r *v1beta1.Remediation) {
			r.Namespace, r.Spec.Target.Namespace = "kube-system", "kube-system"
		})), policy: selecting(policy(nil)), nsLabels: map[string]string{"heal8s.io/remediate": "true"}, verdict: Never, reason: ProtectedNamespaceReason},
		{name: "the operator's namespace is protected", self: ptr.To(mutRem(self, func(r *v1beta1.Remediation) {
			r.Namespace, r.Spec.Target.Namespace, r.Spec.PolicyRef.Namespace = "heal8s-system", "heal8s-system", "heal8s-system"
		})), policy: policy(nil), verdict: Never, reason: ProtectedNamespaceReason},
		{name: "cluster-wide budgets are per namespace: another namespace's fix does not count",
			self: ptr.To(clusterWide(self)), nsLabels: map[string]string{"heal8s.io/remediate": "true"},
			policy: selecting(policy(func(s *v1beta1.SafetySpec) { s.MaxConcurrent = ptr.To[int32](1); s.MaxPerHour = ptr.To[int32](1) })),
			others: []v1beta1.Remediation{running(inNamespace(clusterWide(otherTarget(rem("a", mem, -time.Minute), "a")), "bank"),
				v1beta1.PhaseAwaitingMerge, -time.Minute)},
			verdict: Allow},
		{name: "cluster-wide budgets are per namespace: this namespace's fix counts",
			self: ptr.To(clusterWide(self)), nsLabels: map[string]string{"heal8s.io/remediate": "true"},
			policy:  selecting(policy(func(s *v1beta1.SafetySpec) { s.MaxConcurrent = ptr.To[int32](1) })),
			others:  []v1beta1.Remediation{running(clusterWide(otherTarget(rem("a", mem, -time.Minute), "a")), v1beta1.PhaseAwaitingMerge, -time.Minute)},
			verdict: NotYet, reason: MaxConcurrentReason, retryAt: t0.Add(20 * time.Second)},
		{name: "rule gone", self: ptr.To(mutRem(self, func(r *v1beta1.Remediation) { r.Spec.Rule = "gone" })),
			policy: policy(nil), verdict: Never, reason: PolicyMismatchReason, message: `no rule "gone"`},
		{name: "rule allows another action", self: ptr.To(mutRem(self, func(r *v1beta1.Remediation) { r.Spec.Rule = "scale" })),
			policy: policy(nil), verdict: Never, reason: PolicyMismatchReason, message: "allows ScaleUp, not IncreaseMemory"},
		{name: "strategy stronger than the policy's", self: ptr.To(mutRem(self, func(r *v1beta1.Remediation) { r.Spec.Strategy = v1beta1.StrategyDirect })),
			policy: policy(nil), verdict: Allow},
		{name: "strategy other than the policy's", self: ptr.To(mutRem(self, func(r *v1beta1.Remediation) { r.Spec.Strategy = v1beta1.StrategyGitOps })),
			policy: policy(nil), verdict: Never, reason: PolicyMismatchReason, message: "uses strategy Direct, not GitOps"},
		{name: "policy suspended", policy: policy(func(s *v1beta1.SafetySpec) { s.Suspend = true }), verdict: Never, reason: PolicySuspendedReason},
		{name: "target gone", policy: policy(nil), missing: true, verdict: Never, reason: TargetNotFoundReason},
		{name: "an older open one of the same action", policy: policy(nil),
			others:  []v1beta1.Remediation{running(rem("first", mem, -time.Minute), v1beta1.PhaseVerifying, -time.Minute)},
			verdict: Never, reason: InProgressReason, message: "Remediation first is already Verifying"},
		{name: "an older pending one of the same action: this newer one waits for it to be superseded", policy: policy(nil),
			others:  []v1beta1.Remediation{rem("first", mem, -time.Minute)},
			verdict: NotYet, reason: SupersedingReason, retryAt: t0.Add(20 * time.Second), message: "waiting for it to be superseded by this one"},
		{name: "an older one awaiting its merge: this newer one waits for it to be superseded", policy: policy(nil),
			others:  []v1beta1.Remediation{running(rem("first", mem, -time.Minute), v1beta1.PhaseAwaitingMerge, -time.Minute)},
			verdict: NotYet, reason: SupersedingReason, retryAt: t0.Add(20 * time.Second)},
		{name: "a newer pending one: this older one waits to be superseded, never plans", policy: policy(nil),
			others:  []v1beta1.Remediation{rem("second", mem, time.Minute)},
			verdict: NotYet, reason: SupersedingReason, retryAt: t0.Add(20 * time.Second), message: "about to be superseded"},
		{name: "a superseded one holds nothing", policy: policy(nil),
			others:  []v1beta1.Remediation{ended(rem("first", mem, -time.Minute), v1beta1.PhaseSuperseded, SupersededReason, -time.Minute, -time.Second)},
			verdict: Allow},
		// Created in the same second, the other ranks as newer by name, but it may have applied
		// its change: it holds this one (the double memory bump of docs/performance.md).
		{name: "one that may have applied holds a same-second one that ranks older", policy: policy(nil),
			others:  []v1beta1.Remediation{running(rem("zz-started", mem, 0), v1beta1.PhaseVerifying, 0)},
			verdict: Never, reason: InProgressReason, message: "Remediation zz-started is already Verifying"},
		{name: "a Direct one in Proposed may have sent its patch: it holds even an older pending one", policy: policy(nil),
			others:  []v1beta1.Remediation{running(rem("newer", mem, time.Minute), v1beta1.PhaseProposed, time.Minute)},
			verdict: Never, reason: InProgressReason, message: "Remediation newer is already Proposed"},
		{name: "one applying holds a newer one", policy: policy(nil),
			others:  []v1beta1.Remediation{running(rem("first", mem, -time.Minute), v1beta1.PhaseApplying, -time.Minute)},
			verdict: Never, reason: InProgressReason, message: "Remediation first is already Applying"},
		{name: "an open one of another action", policy: policy(nil),
			others: []v1beta1.Remediation{running(rem("cpu", v1beta1.ActionIncreaseCPU, -time.Minute), v1beta1.PhaseVerifying, -time.Minute)}, verdict: Allow},
		{name: "rejected within the veto period", policy: policy(nil),
			others:  []v1beta1.Remediation{ended(rem("old", mem, -48*h), v1beta1.PhaseFailed, RejectedReason, -48*h, -47*h)},
			verdict: Never, reason: VetoedReason},
		{name: "rejected before the veto period", policy: policy(func(s *v1beta1.SafetySpec) { s.VetoPeriod = &metav1.Duration{Duration: 24 * h} }),
			others: []v1beta1.Remediation{ended(rem("old", mem, -48*h), v1beta1.PhaseFailed, RejectedReason, -48*h, -47*h)}, verdict: Allow},
		{name: "a reopened pull request lifts the veto", policy: policy(nil),
			others:  []v1beta1.Remediation{reopened(ended(rem("old", mem, -48*h), v1beta1.PhaseFailed, RejectedReason, -48*h, -47*h))},
			verdict: Allow},
		{name: "failed for another reason is no veto", policy: policy(nil),
			others: []v1beta1.Remediation{ended(rem("old", mem, -48*h), v1beta1.PhaseFailed, AlertRefiredReason, -48*h, -47*h)}, verdict: Allow},
		{name: "budget exhausted by any action on the target", policy: policy(nil),
			others: []v1beta1.Remediation{
				ended(rem("a", mem, -72*h), v1beta1.PhaseSucceeded, AlertResolvedReason, -72*h, -71*h),
				ended(rem("b", v1beta1.ActionIncreaseCPU, -48*h), v1beta1.PhaseSucceeded, AlertResolvedReason, -48*h, -47*h),
				ended(rem("c", mem, -24*h), v1beta1.PhaseFailed, AlertRefiredReason, -24*h, -23*h),
			},
			verdict: Never, reason: BudgetExhaustedReason, message: "a leak or a deeper fault is likely"},
		{name: "budget counts only inside the window", policy: policy(nil),
			others: []v1beta1.Remediation{
				ended(rem("a", mem, -200*h), v1beta1.PhaseSucceeded, AlertResolvedReason, -200*h, -199*h),
				ended(rem("b", v1beta1.ActionIncreaseCPU, -48*h), v1beta1.PhaseSucceeded, AlertResolvedReason, -48*h, -47*h),
				ended(rem("c", mem, -24*h), v1beta1.PhaseFailed, AlertRefiredReason, -24*h, -23*h),
			}, verdict: Allow},
		{name: "skipped ones spend no budget", policy: policy(func(s *v1beta1.SafetySpec) { s.MaxPerTarget = ptr.To[int32](1) }),
			others: []v1beta1.Remediation{ended(rem("a", mem, -48*h), v1beta1.PhaseSkipped, AtMaximumReason, -48*h, -48*h)}, verdict: Allow},
		{name: "VPA in Auto mode manages memory", policy: policy(nil),
			vpas:    []VPA{{Name: "web", TargetKind: "Deployment", TargetName: "web"}},
			verdict: Never, reason: ManagedByVPAReason, message: "VerticalPodAutoscaler web (updateMode Auto)"},
		{name: "VPA in Recreate mode", policy: policy(nil),
			vpas:    []VPA{{Name: "web", TargetKind: "Deployment", TargetName: "web", UpdateMode: "Recreate"}},
			verdict: Never, reason: ManagedByVPAReason},
		{name: "VPA recommending only", policy: policy(nil),
			vpas: []VPA{{Name: "web", TargetKind: "Deployment", TargetName: "web", UpdateMode: "Off"}}, verdict: Allow},
		{name: "VPA of another workload", policy: policy(nil),
			vpas: []VPA{{Name: "api", TargetKind: "Deployment", TargetName: "api"}}, verdict: Allow},
		{name: "VPA controlling only cpu", policy: policy(nil),
			vpas: []VPA{{Name: "web", TargetKind: "Deployment", TargetName: "web",
				Containers: []VPAContainerPolicy{{ContainerName: "*", ControlledResources: []string{"cpu"}}}}}, verdict: Allow},
		{name: "VPA off for the container, on for the rest", policy: policy(nil),
			vpas: []VPA{{Name: "web", TargetKind: "Deployment", TargetName: "web",
				Containers: []VPAContainerPolicy{{ContainerName: "*"}, {ContainerName: "app", Mode: "Off"}}}}, verdict: Allow},
		{name: "VPA does not concern ScaleUp", self: ptr.To(mutRem(rem("self", v1beta1.ActionScaleUp, 0), func(r *v1beta1.Remediation) { r.Spec.Rule = "scale" })), policy: policy(nil),
			vpas: []VPA{{Name: "web", TargetKind: "Deployment", TargetName: "web"}}, verdict: Allow},
		{name: "cooldown not over", policy: policy(nil),
			others:  []v1beta1.Remediation{ended(rem("old", mem, -h), v1beta1.PhaseSucceeded, AlertResolvedReason, -h, -10*time.Minute)},
			verdict: NotYet, reason: CooldownReason, retryAt: t0.Add(20 * time.Minute)},
		{name: "cooldown over", policy: policy(nil),
			others: []v1beta1.Remediation{ended(rem("old", mem, -h), v1beta1.PhaseSucceeded, AlertResolvedReason, -h, -40*time.Minute)}, verdict: Allow},
		{name: "cooldown is per action", policy: policy(nil),
			others: []v1beta1.Remediation{ended(rem("old", v1beta1.ActionIncreaseCPU, -h), v1beta1.PhaseSucceeded, AlertResolvedReason, -h, -10*time.Minute)}, verdict: Allow},
		{name: "max per hour reached", policy: policy(func(s *v1beta1.SafetySpec) { s.MaxPerHour = ptr.To[int32](2) }),
			others: []v1beta1.Remediation{
				ended(otherTarget(rem("a", mem, -50*time.Minute), "a"), v1beta1.PhaseSucceeded, AlertResolvedReason, -50*time.Minute, -45*time.Minute),
				ended(otherTarget(rem("b", mem, -20*time.Minute), "b"), v1beta1.PhaseSucceeded, AlertResolvedReason, -20*time.Minute, -15*time.Minute),
				ended(otherTarget(rem("c", mem, -90*time.Minute), "c"), v1beta1.PhaseSucceeded, AlertResolvedReason, -90*time.Minute, -85*time.Minute),
			},
			verdict: NotYet, reason: MaxPerHourReason, retryAt: t0.Add(10 * time.Minute)},
		{name: "another policy's starts do not count", policy: policy(func(s *v1beta1.SafetySpec) { s.MaxPerHour = ptr.To[int32](1) }),
			others:  []v1beta1.Remediation{otherPolicy(ended(otherTarget(rem("a", mem, -50*time.Minute), "a"), v1beta1.PhaseSucceeded, AlertResolvedReason, -50*time.Minute, -45*time.Minute))},
			verdict: Allow},
		{name: "max concurrent reached", policy: policy(func(s *v1beta1.SafetySpec) { s.MaxConcurrent = ptr.To[int32](1) }),
			others:  []v1beta1.Remediation{running(otherTarget(rem("a", mem, -time.Minute), "a"), v1beta1.PhaseAwaitingMerge, -time.Minute)},
			verdict: NotYet, reason: MaxConcurrentReason, retryAt: t0.Add(20 * time.Second)},
		{name: "pending ones are not concurrent", policy: policy(func(s *v1beta1.SafetySpec) { s.MaxConcurrent = ptr.To[int32](1) }),
			others: []v1beta1.Remediation{otherTarget(rem("a", mem, time.Minute), "a")}, verdict: Allow},
		{name: "never wins over not yet", policy: policy(nil),
			others: []v1beta1.Remediation{
				ended(rem("old", mem, -h), v1beta1.PhaseSucceeded, AlertResolvedReason, -h, -10*time.Minute),
				ended(rem("older", mem, -2*h), v1beta1.PhaseFailed, RejectedReason, -2*h, -90*time.Minute),
			},
			verdict: Never, reason: VetoedReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := self
			if tt.self != nil {
				s = *tt.self
			}
			in := Input{Remediation: &s, Policy: tt.policy, OperatorNamespace: "heal8s-system", TargetExists: !tt.missing, Now: t0,
				Others: pointers(append([]v1beta1.Remediation{s}, tt.others...)), VPAs: tt.vpas, RecheckInterval: 20 * time.Second,
				NamespaceLabels: tt.nsLabels, NamespaceFound: tt.nsLabels != nil, ProtectedNamespaces: routing.DefaultProtectedNamespaces}
			if tt.policy != nil {
				p := tt.policy.DeepCopy()
				p.Namespace = s.Spec.PolicyRef.Namespace
				in.Compiled, _ = routing.Compile(p)
			}
			res := RunGuards(DefaultGuards(), in)
			g.Expect(res.Verdict).To(Equal(tt.verdict), res.Message)
			g.Expect(res.Reason).To(Equal(tt.reason))
			if tt.verdict == NotYet {
				g.Expect(res.RetryAt).To(Equal(tt.retryAt))
			}
			g.Expect(res.Message).To(ContainSubstring(tt.message))
			if tt.verdict != Allow {
				g.Expect(res.Message).NotTo(BeEmpty())
			}
		})
	}
}

func mutRem(r v1beta1.Remediation, mut func(*v1beta1.Remediation)) v1beta1.Remediation {
	r = *r.DeepCopy()
	mut(&r)
	return r
}

func otherTarget(r v1beta1.Remediation, name string) v1beta1.Remediation {
	r.Spec.Target.Name = name
	return r
}

// clusterWide makes r a Remediation of the policy of the same name in the operator's namespace.
func clusterWide(r v1beta1.Remediation) v1beta1.Remediation {
	r = *r.DeepCopy()
	r.Spec.PolicyRef.Namespace = "heal8s-system"
	return r
}

func inNamespace(r v1beta1.Remediation, ns string) v1beta1.Remediation {
	r.Namespace, r.Spec.Target.Namespace = ns, ns
	return r
}

// selecting gives a policy the namespaceSelector of the shipped policies (examples/policies).
func selecting(p *v1beta1.RemediationPolicy) *v1beta1.RemediationPolicy {
	p.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"heal8s.io/remediate": "true"}}
	return p
}

func otherPolicy(r v1beta1.Remediation) v1beta1.Remediation {
	r.Spec.PolicyRef.Name = "other"
	return r
}

func TestGuardsSurviveAMissingPolicy(t *testing.T) {
	g := NewWithT(t)
	self := rem("self", v1beta1.ActionIncreaseMemory, 0)
	for _, guard := range DefaultGuards()[1:] {
		g.Expect(func() { guard(Input{Remediation: &self, TargetExists: true, Now: t0}) }).NotTo(Panic())
	}
}

// pointers is the guards' view of a table's Remediations: one pointer each, as the controller's
// peer index hands them over.
func pointers(rs []v1beta1.Remediation) []*v1beta1.Remediation {
	out := make([]*v1beta1.Remediation, len(rs))
	for i := range rs {
		out[i] = &rs[i]
	}
	return out
}
