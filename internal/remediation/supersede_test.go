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
)

// firing is r for an alert that started at t0+at.
func firing(r v1beta1.Remediation, at time.Duration) v1beta1.Remediation {
	r.Spec.Alert.StartsAt = ptr.To(metav1.NewTime(t0.Add(at)))
	return r
}

func TestNewer(t *testing.T) {
	mem := v1beta1.ActionIncreaseMemory
	tests := []struct {
		name string
		a, b v1beta1.Remediation
		want bool
	}{
		{name: "the alert that started later wins over an earlier creation",
			a: firing(rem("a", mem, 0), time.Minute), b: firing(rem("b", mem, time.Hour), 0), want: true},
		{name: "the alert that started earlier loses over a later creation",
			a: firing(rem("a", mem, time.Hour), 0), b: firing(rem("b", mem, 0), time.Minute), want: false},
		{name: "an alert start beats none", a: firing(rem("a", mem, 0), 0), b: rem("b", mem, time.Hour), want: true},
		{name: "same start: the later creation wins",
			a: firing(rem("a", mem, time.Second), 0), b: firing(rem("b", mem, 0), 0), want: true},
		{name: "no start on either: the later creation wins", a: rem("a", mem, time.Second), b: rem("b", mem, 0), want: true},
		{name: "same start and creation: the greater name wins", a: firing(rem("b", mem, 0), 0), b: firing(rem("a", mem, 0), 0), want: true},
		{name: "same start and creation: the lesser name loses", a: firing(rem("a", mem, 0), 0), b: firing(rem("b", mem, 0), 0), want: false},
		{name: "a remediation is not newer than itself", a: rem("a", mem, 0), b: rem("a", mem, 0), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(Newer(&tt.a, &tt.b)).To(Equal(tt.want))
			if tt.a.Name != tt.b.Name {
				g.Expect(Newer(&tt.b, &tt.a)).To(Equal(!tt.want), "exactly one of two distinct remediations is newer")
			}
		})
	}
}

func TestSupersedableAndMayHaveApplied(t *testing.T) {
	mem := v1beta1.ActionIncreaseMemory
	withPR := func(r v1beta1.Remediation) v1beta1.Remediation {
		r.Status.PullRequest = &v1beta1.PullRequestStatus{Number: 7, State: v1beta1.PullRequestOpen}
		return r
	}
	strategy := func(r v1beta1.Remediation, s v1beta1.Strategy) v1beta1.Remediation {
		r.Spec.Strategy = s
		return r
	}
	in := func(phase v1beta1.Phase, s v1beta1.Strategy) v1beta1.Remediation {
		return running(strategy(rem("r", mem, 0), s), phase, 0)
	}
	tests := []struct {
		name                string
		r                   v1beta1.Remediation
		supersedable, apply bool
	}{
		{name: "new, no phase yet", r: rem("r", mem, 0), supersedable: true},
		{name: "Pending", r: in(v1beta1.PhasePending, v1beta1.StrategyDirect), supersedable: true},
		{name: "Planning", r: in(v1beta1.PhasePlanning, v1beta1.StrategyDirect), supersedable: true},
		{name: "Direct Proposed: the patch may have gone out", r: in(v1beta1.PhaseProposed, v1beta1.StrategyDirect), apply: true},
		{name: "GitOps Proposed without a recorded pull request: one may be open, unknown",
			r: in(v1beta1.PhaseProposed, v1beta1.StrategyGitOps)},
		{name: "GitOps Proposed with its pull request recorded", r: withPR(in(v1beta1.PhaseProposed, v1beta1.StrategyGitOps)), supersedable: true},
		{name: "DryRun Proposed", r: in(v1beta1.PhaseProposed, v1beta1.StrategyDryRun), supersedable: true},
		{name: "AwaitingMerge", r: withPR(in(v1beta1.PhaseAwaitingMerge, v1beta1.StrategyGitOps)), supersedable: true},
		{name: "AwaitingMerge with the merge recorded by a webhook", r: func() v1beta1.Remediation {
			r := withPR(in(v1beta1.PhaseAwaitingMerge, v1beta1.StrategyGitOps))
			r.Status.PullRequest.State = v1beta1.PullRequestMerged
			return r
		}(), apply: true},
		{name: "AwaitingMerge with a close recorded: the provider tells whose close it was", r: func() v1beta1.Remediation {
			r := withPR(in(v1beta1.PhaseAwaitingMerge, v1beta1.StrategyGitOps))
			r.Status.PullRequest.State = v1beta1.PullRequestClosed
			return r
		}(), supersedable: true},
		{name: "Applying", r: in(v1beta1.PhaseApplying, v1beta1.StrategyGitOps), apply: true},
		{name: "Verifying", r: in(v1beta1.PhaseVerifying, v1beta1.StrategyDirect), apply: true},
		{name: "Succeeded", r: ended(rem("r", mem, 0), v1beta1.PhaseSucceeded, AlertResolvedReason, 0, time.Minute)},
		{name: "Superseded", r: ended(rem("r", mem, 0), v1beta1.PhaseSuperseded, SupersededReason, 0, time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(Supersedable(&tt.r)).To(Equal(tt.supersedable), "Supersedable")
			g.Expect(MayHaveApplied(&tt.r)).To(Equal(tt.apply), "MayHaveApplied")
		})
	}
}

func TestSupersededBy(t *testing.T) {
	mem := v1beta1.ActionIncreaseMemory
	self := firing(rem("self", mem, 0), 0)
	otherTargetOf := func(r v1beta1.Remediation) v1beta1.Remediation {
		r.Spec.Target.Name = "api"
		return r
	}
	tests := []struct {
		name   string
		self   v1beta1.Remediation
		others []v1beta1.Remediation
		want   string
	}{
		{name: "alone", self: self},
		{name: "a newer open one of the same action and target", self: self,
			others: []v1beta1.Remediation{firing(rem("newer", mem, time.Minute), time.Minute)}, want: "newer"},
		{name: "the newest of several newer ones", self: self,
			others: []v1beta1.Remediation{firing(rem("newer", mem, time.Minute), time.Minute), firing(rem("newest", mem, time.Second), 2*time.Minute)},
			want:   "newest"},
		{name: "a newer one that is already past its guards still takes over", self: self,
			others: []v1beta1.Remediation{running(firing(rem("newer", mem, time.Minute), time.Minute), v1beta1.PhaseVerifying, time.Minute)},
			want:   "newer"},
		{name: "an older open one does not", self: self,
			others: []v1beta1.Remediation{firing(rem("older", mem, time.Minute), -time.Minute)}},
		{name: "a newer one that ended does not", self: self,
			others: []v1beta1.Remediation{ended(firing(rem("newer", mem, time.Minute), time.Minute), v1beta1.PhaseFailed, RejectedReason, 0, time.Minute)}},
		{name: "a newer one of another action does not", self: self,
			others: []v1beta1.Remediation{firing(rem("cpu", v1beta1.ActionIncreaseCPU, time.Minute), time.Minute)}},
		{name: "a newer one of another target does not", self: self,
			others: []v1beta1.Remediation{otherTargetOf(firing(rem("api", mem, time.Minute), time.Minute))}},
		{name: "self in AwaitingMerge is superseded", self: running(self, v1beta1.PhaseAwaitingMerge, 0),
			others: []v1beta1.Remediation{firing(rem("newer", mem, time.Minute), time.Minute)}, want: "newer"},
		{name: "self Verifying is never superseded", self: running(self, v1beta1.PhaseVerifying, 0),
			others: []v1beta1.Remediation{firing(rem("newer", mem, time.Minute), time.Minute)}},
		{name: "self Direct Proposed is never superseded", self: running(self, v1beta1.PhaseProposed, 0),
			others: []v1beta1.Remediation{firing(rem("newer", mem, time.Minute), time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := SupersededBy(&tt.self, pointers(append([]v1beta1.Remediation{tt.self}, tt.others...)))
			if tt.want == "" {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got).NotTo(BeNil())
			g.Expect(got.Name).To(Equal(tt.want))
		})
	}
}

// The guard and the supersede decision agree: whatever two open remediations of one action and
// target are doing, at most one goes ahead, and the other either waits to supersede, is
// superseded, or is skipped InProgress once the other may have applied.
func TestSupersedeAndOneAtATimeAgree(t *testing.T) {
	mem := v1beta1.ActionIncreaseMemory
	phases := []v1beta1.Phase{v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseProposed,
		v1beta1.PhaseAwaitingMerge, v1beta1.PhaseApplying, v1beta1.PhaseVerifying}
	for _, strategy := range []v1beta1.Strategy{v1beta1.StrategyDirect, v1beta1.StrategyGitOps} {
		for _, phase := range phases {
			t.Run(string(strategy)+"/older "+string(phase), func(t *testing.T) {
				g := NewWithT(t)
				older := running(firing(rem("older", mem, 0), 0), phase, 0)
				older.Spec.Strategy = strategy
				if strategy == v1beta1.StrategyGitOps && phase != v1beta1.PhasePending && phase != v1beta1.PhasePlanning {
					older.Status.PullRequest = &v1beta1.PullRequestStatus{Number: 1, State: v1beta1.PullRequestOpen}
				}
				newer := firing(rem("newer", mem, time.Minute), time.Minute)
				newer.Spec.Strategy = strategy
				all := []*v1beta1.Remediation{&older, &newer}
				v, reason, _, _ := OneAtATime(Input{Remediation: &newer, Others: all, Now: t0})
				by := SupersededBy(&older, all)
				if MayHaveApplied(&older) {
					g.Expect(by).To(BeNil(), "an older one that may have applied is not superseded")
					g.Expect(v).To(Equal(Never))
					g.Expect(reason).To(Equal(InProgressReason))
					return
				}
				g.Expect(by).NotTo(BeNil(), "an older one that applied nothing is superseded")
				g.Expect(by.Name).To(Equal("newer"))
				g.Expect(v).To(Equal(NotYet), "the newer one waits until the older has ended")
				g.Expect(reason).To(Equal(SupersedingReason))
			})
		}
	}
}
