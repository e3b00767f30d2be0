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
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func TestApprovalRequired(t *testing.T) {
	req, not := v1beta1.ApprovalRequired, v1beta1.ApprovalNotRequired
	tests := []struct {
		name     string
		strategy v1beta1.Strategy
		policy   v1beta1.ApprovalMode
		rule     v1beta1.ApprovalMode
		want     bool
	}{
		{name: "default: no approval", strategy: v1beta1.StrategyDirect},
		{name: "policy requires", strategy: v1beta1.StrategyDirect, policy: req, want: true},
		{name: "rule requires, policy does not say", strategy: v1beta1.StrategyDirect, rule: req, want: true},
		{name: "rule wins: not required", strategy: v1beta1.StrategyDirect, policy: req, rule: not},
		{name: "rule wins: required", strategy: v1beta1.StrategyDirect, policy: not, rule: req, want: true},
		{name: "GitOps is reviewed in its pull request", strategy: v1beta1.StrategyGitOps, policy: req},
		{name: "DryRun applies nothing", strategy: v1beta1.StrategyDryRun, policy: req},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			r := rem("r", v1beta1.ActionIncreaseMemory, 0)
			r.Spec.Strategy = tt.strategy
			p := policy(nil)
			p.Spec.Approval = tt.policy
			p.Spec.Rules[0].Approval = tt.rule
			g.Expect(ApprovalRequired(&r, p)).To(Equal(tt.want))
		})
	}
	g := NewWithT(t)
	r := rem("r", v1beta1.ActionIncreaseMemory, 0)
	g.Expect(ApprovalRequired(&r, nil)).To(BeFalse(), "no policy, no approval (PolicyExists skips it anyway)")
	g.Expect(ApprovalTimeout(nil)).To(Equal(time.Hour))
	p := policy(nil)
	p.Spec.ApprovalTimeout = &metav1.Duration{Duration: 5 * time.Minute}
	g.Expect(ApprovalTimeout(p)).To(Equal(5 * time.Minute))
}

func TestJudge(t *testing.T) {
	const digest = "d1"
	ok := &ApprovalRequest{Decision: v1beta1.ApprovalApproved, User: "alice", Plan: digest, Reason: "looks right"}
	tests := []struct {
		name     string
		req      *ApprovalRequest
		allowed  bool
		decision v1beta1.ApprovalDecision
		refused  string
	}{
		{name: "no decision", req: nil},
		{name: "approved by a user with the right", req: ok, allowed: true, decision: v1beta1.ApprovalApproved},
		{name: "rejected by a user with the right", req: &ApprovalRequest{Decision: v1beta1.ApprovalRejected, User: "bob", Plan: digest}, allowed: true,
			decision: v1beta1.ApprovalRejected},
		{name: "a user without the right (forged or not) is refused", req: ok, allowed: false, refused: "alice may not approve"},
		{name: "a decision about another plan is refused", req: &ApprovalRequest{Decision: v1beta1.ApprovalApproved, User: "alice", Plan: "old"},
			allowed: true, refused: `about plan "old"`},
		{name: "a decision without a user is refused", req: &ApprovalRequest{Decision: v1beta1.ApprovalApproved, Plan: digest}, allowed: true,
			refused: "names no user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := Judge(tt.req, digest, tt.allowed)
			g.Expect(got.Decision).To(Equal(tt.decision))
			if tt.refused == "" {
				g.Expect(got.Refused).To(BeEmpty())
			} else {
				g.Expect(got.Refused).To(ContainSubstring(tt.refused))
			}
		})
	}
}

func TestReadApproval(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ReadApproval(nil)).To(BeNil())
	g.Expect(ReadApproval(map[string]string{v1beta1.AnnotationApprovalDecision: "Expired"})).To(BeNil(), "only a person's decision is read")
	got := ReadApproval(map[string]string{v1beta1.AnnotationApprovalDecision: "Rejected", v1beta1.AnnotationApprovalUser: " bob ",
		v1beta1.AnnotationApprovalPlan: "d", v1beta1.AnnotationApprovalReason: strings.Repeat("é", 1000)})
	g.Expect(got.Decision).To(Equal(v1beta1.ApprovalRejected))
	g.Expect(got.User).To(Equal("bob"))
	g.Expect(len(got.Reason)).To(BeNumerically("<=", 1024), "the reason is bounded")
	g.Expect(strings.ToValidUTF8(got.Reason, "?")).To(Equal(got.Reason), "and cut on a rune boundary")
}

func TestPlanDigest(t *testing.T) {
	g := NewWithT(t)
	a := PlanDigest(&v1beta1.Plan{Patch: `[{"op":"replace","path":"/x","value":"320Mi"}]`})
	b := PlanDigest(&v1beta1.Plan{Patch: `[{"op":"replace","path":"/x","value":"64Gi"}]`})
	g.Expect(a).To(HaveLen(32))
	g.Expect(a).NotTo(Equal(b))
	g.Expect(PlanDigest(&v1beta1.Plan{Patch: `[{"op":"replace","path":"/x","value":"320Mi"}]`, Reason: "other words"})).To(Equal(a))
	g.Expect(PlanDigest(nil)).To(BeEmpty())
}

func TestTransitionApproval(t *testing.T) {
	plan := &v1beta1.Plan{Patch: "[]", Reason: "256Mi to 320Mi"}
	s := set
	s.ApprovalTimeout = 10 * time.Minute
	approved := &ApprovalObservation{Decision: v1beta1.ApprovalApproved, User: "alice"}
	rejected := &ApprovalObservation{Decision: v1beta1.ApprovalRejected, User: "bob", Reason: "not during the sale"}
	refused := &ApprovalObservation{Refused: "mallory may not approve Remediations here"}
	tests := []struct {
		name    string
		phase   v1beta1.Phase
		obs     Observations
		to      v1beta1.Phase
		reason  string
		message string
	}{
		{name: "a plan that needs approval waits for it", phase: v1beta1.PhasePlanning,
			obs: Observations{Now: t0, Plan: plan, ApprovalRequired: true}, to: v1beta1.PhaseAwaitingApproval, reason: AwaitingApprovalReason,
			message: "256Mi to 320Mi"},
		{name: "a plan that needs none is proposed", phase: v1beta1.PhasePlanning, obs: Observations{Now: t0, Plan: plan},
			to: v1beta1.PhaseProposed, reason: PlannedReason},
		{name: "nothing decided: it waits", phase: v1beta1.PhaseAwaitingApproval, obs: Observations{Now: t0},
			to: v1beta1.PhaseAwaitingApproval},
		{name: "approved: the plan is applied", phase: v1beta1.PhaseAwaitingApproval, obs: Observations{Now: t0, Approval: approved},
			to: v1beta1.PhaseProposed, reason: ApprovedReason, message: "Approved by alice"},
		{name: "rejected: a veto", phase: v1beta1.PhaseAwaitingApproval, obs: Observations{Now: t0, Approval: rejected},
			to: v1beta1.PhaseFailed, reason: RejectedReason, message: "Rejected by bob: not during the sale"},
		{name: "refused: it keeps waiting and says why", phase: v1beta1.PhaseAwaitingApproval, obs: Observations{Now: t0, Approval: refused},
			to: v1beta1.PhaseAwaitingApproval, reason: ApprovalRefusedReason, message: "mallory may not"},
		{name: "nobody decided in time: expired", phase: v1beta1.PhaseAwaitingApproval, obs: Observations{Now: t0.Add(9 * time.Minute)},
			to: v1beta1.PhaseSkipped, reason: ApprovalExpiredReason, message: "within 10m0s"},
		{name: "a refused approval does not stop expiry", phase: v1beta1.PhaseAwaitingApproval,
			obs: Observations{Now: t0.Add(9 * time.Minute), Approval: refused}, to: v1beta1.PhaseSkipped, reason: ApprovalExpiredReason},
		{name: "a newer alert supersedes a plan awaiting approval", phase: v1beta1.PhaseAwaitingApproval,
			obs: Observations{Now: t0, SupersededBy: "newer"}, to: v1beta1.PhaseSuperseded, reason: SupersededReason},
		{name: "an approval arriving in Pending moves nothing", phase: v1beta1.PhasePending, obs: Observations{Now: t0, Approval: approved},
			to: v1beta1.PhasePending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			r := remIn(tt.phase, v1beta1.StrategyDirect)
			d := Transition(r, s, tt.obs)
			g.Expect(d.Next).To(Equal(tt.to))
			if tt.reason != "" {
				g.Expect(d.Reason).To(Equal(tt.reason))
			}
			g.Expect(d.Message).To(ContainSubstring(tt.message))
		})
	}

	g := NewWithT(t)
	d := Transition(remIn(v1beta1.PhaseAwaitingApproval, v1beta1.StrategyDirect), s, Observations{Now: t0.Add(8 * time.Minute)})
	g.Expect(d.RequeueAfter).To(BeNumerically("<=", time.Minute), "looks again by the deadline")
	g.Expect(MayHaveApplied(remIn(v1beta1.PhaseAwaitingApproval, v1beta1.StrategyDirect))).To(BeFalse())
	g.Expect(v1beta1.PhaseAwaitingApproval.IsTerminal()).To(BeFalse())
}

func TestRejectedApprovalIsAVeto(t *testing.T) {
	g := NewWithT(t)
	self := rem("self", v1beta1.ActionIncreaseMemory, 0)
	vetoed := ended(rem("old", v1beta1.ActionIncreaseMemory, -time.Hour), v1beta1.PhaseFailed, RejectedReason, -time.Hour, -30*time.Minute)
	in := Input{Remediation: &self, Policy: policy(func(s *v1beta1.SafetySpec) { s.VetoPeriod = &metav1.Duration{Duration: 24 * time.Hour} }),
		Others: []*v1beta1.Remediation{&vetoed}, Now: t0}
	v, reason, _, _ := NotVetoed(in)
	g.Expect(v).To(Equal(Never))
	g.Expect(reason).To(Equal(VetoedReason))
	// A rejected approval applied nothing: it takes no place in the budget.
	v, _, _, _ = WithinBudget(Input{Remediation: &self, Policy: policy(func(s *v1beta1.SafetySpec) { s.MaxPerTarget = ptrInt32(1) }),
		Others: pointers([]v1beta1.Remediation{ended(rem("exp", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseSkipped, ApprovalExpiredReason, -time.Minute, 0)}), Now: t0})
	g.Expect(v).To(Equal(Allow), "an expired approval is Skipped and counts against no budget")
}

func ptrInt32(v int32) *int32 { return &v }

func TestPolicyNotPaused(t *testing.T) {
	self := rem("self", v1beta1.ActionIncreaseMemory, 0)
	tests := []struct {
		name    string
		pauses  []string
		suspend bool
		verdict Verdict
		reason  string
		message string
	}{
		{name: "no pause", verdict: Allow},
		{name: "one pause", pauses: []string{"maintenance"}, verdict: Never, reason: PolicyPausedReason, message: "paused by maintenance"},
		{name: "several pauses, named in order", pauses: []string{"zeta-freeze", "alice"}, verdict: Never, reason: PolicyPausedReason,
			message: "paused by alice, zeta-freeze"},
		{name: "suspend is its own reason", suspend: true, verdict: Never, reason: PolicySuspendedReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p := policy(func(s *v1beta1.SafetySpec) { s.PauseRequests, s.Suspend = tt.pauses, tt.suspend })
			res := RunGuards(DefaultGuards(), Input{Remediation: &self, Policy: p, TargetExists: true, Now: t0})
			g.Expect(res.Verdict).To(Equal(tt.verdict))
			g.Expect(res.Reason).To(Equal(tt.reason))
			g.Expect(res.Message).To(ContainSubstring(tt.message))
		})
	}
}

func TestRetry(t *testing.T) {
	failed := func(reason string, history ...v1beta1.Phase) *v1beta1.Remediation {
		r := rem("r", v1beta1.ActionIncreaseMemory, 0)
		r.Status.Phase, r.Status.Reason = v1beta1.PhaseFailed, reason
		for _, h := range history {
			r.Status.History = append(r.Status.History, v1beta1.PhaseTransition{Phase: h, Time: metav1.NewTime(t0)})
		}
		return &r
	}
	skipped := failed(BudgetExhaustedReason)
	skipped.Status.Phase = v1beta1.PhaseSkipped
	running := failed("")
	running.Status.Phase = v1beta1.PhaseVerifying
	withPR := failed(ManifestNotFoundReason)
	withPR.Status.PullRequest = &v1beta1.PullRequestStatus{Number: 1}
	tests := []struct {
		name    string
		rem     *v1beta1.Remediation
		refusal string
	}{
		{name: "Failed before applying anything", rem: failed(ForbiddenReason, v1beta1.PhasePlanning, v1beta1.PhaseProposed, v1beta1.PhaseFailed)},
		{name: "Skipped", rem: skipped},
		{name: "still running", rem: running, refusal: "not one in Verifying"},
		{name: "a veto stands", rem: failed(RejectedReason), refusal: "veto"},
		{name: "a change already made", rem: failed(AlertRefiredReason, v1beta1.PhaseProposed, v1beta1.PhaseVerifying, v1beta1.PhaseFailed),
			refusal: "changed its target already"},
		{name: "a pull request holds it", rem: withPR, refusal: "pull request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := RetryRefusal(tt.rem)
			if tt.refusal == "" {
				g.Expect(got).To(BeEmpty())
			} else {
				g.Expect(got).To(ContainSubstring(tt.refusal))
			}
		})
	}

	g := NewWithT(t)
	r := failed(ForbiddenReason, v1beta1.PhasePlanning, v1beta1.PhaseFailed)
	r.Status.StartedAt, r.Status.CompletedAt = &metav1.Time{Time: t0}, &metav1.Time{Time: t0}
	r.Status.Plan = &v1beta1.Plan{Patch: "[]"}
	r.Annotations = map[string]string{v1beta1.AnnotationRetry: "t1"}
	g.Expect(RetryToken(r)).To(Equal("t1"))
	st := Retry(r.Status, "t1", t0.Add(time.Minute))
	g.Expect(st.Phase).To(Equal(v1beta1.PhasePending))
	g.Expect(st.Reason).To(Equal(RetryRequestedReason))
	g.Expect(st.StartedAt).To(BeNil(), "the guards count the new attempt when it starts")
	g.Expect(st.Plan).To(BeNil(), "planned again from the live object")
	g.Expect(st.Retry.Count).To(Equal(int32(1)))
	g.Expect(st.Retry.PreviousReason).To(Equal(ForbiddenReason))
	g.Expect(st.History[len(st.History)-1].Phase).To(Equal(v1beta1.PhasePending))
	r.Status = st
	g.Expect(RetryToken(r)).To(BeEmpty(), "a token is honoured once")
	r.Annotations[v1beta1.AnnotationRetry] = "t2"
	g.Expect(RetryToken(r)).To(Equal("t2"))
	refused := RefuseRetry(r.Status, "t2", "no", t0)
	g.Expect(refused.Retry.Count).To(Equal(int32(1)))
	g.Expect(refused.Retry.Refused).To(Equal("no"))
	g.Expect(refused.Phase).To(Equal(r.Status.Phase))
}
