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

	"github.com/heal8s/heal8s/api/v1beta1"
)

var (
	t0  = time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)
	set = Settings{ApplyTimeout: 30 * time.Minute, VerifyWindow: 10 * time.Minute, MaxAttempts: 3, PollInterval: 20 * time.Second}
)

// remIn is a Remediation that entered phase one minute before t0.
func remIn(phase v1beta1.Phase, strategy v1beta1.Strategy) *v1beta1.Remediation {
	r := &v1beta1.Remediation{}
	r.Spec.Strategy = strategy
	r.Spec.Action.IncreaseMemory = &v1beta1.IncreaseMemoryAction{}
	r.Status.Phase = phase
	if phase != "" {
		r.Status.History = []v1beta1.PhaseTransition{{Phase: phase, Time: metav1.NewTime(t0.Add(-time.Minute))}}
	}
	return r
}

// observations names every single observation the reconciler can report, whatever the phase.
func observations() map[string]Observations {
	pr := func(s v1beta1.PullRequestState) *v1beta1.PullRequestStatus {
		return &v1beta1.PullRequestStatus{URL: "https://example.test/pr/1", Number: 1, State: s}
	}
	return map[string]Observations{
		"nothing":          {Now: t0},
		"guard allows":     {Now: t0, Guard: &GuardResult{Verdict: Allow}},
		"guard not yet":    {Now: t0, Guard: &GuardResult{Verdict: NotYet, Reason: CooldownReason, RetryAt: t0.Add(5 * time.Minute)}},
		"guard never":      {Now: t0, Guard: &GuardResult{Verdict: Never, Reason: BudgetExhaustedReason}},
		"plan":             {Now: t0, Plan: &v1beta1.Plan{Patch: "[]", Reason: "25%"}},
		"skip":             {Now: t0, Skip: &Outcome{Reason: AtMaximumReason}},
		"applied":          {Now: t0, Applied: true},
		"conflict":         {Now: t0, Conflict: true},
		"live carries":     {Now: t0, LiveCarriesPlan: true},
		"pr open":          {Now: t0, PullRequest: pr(v1beta1.PullRequestOpen)},
		"pr merged":        {Now: t0, PullRequest: pr(v1beta1.PullRequestMerged)},
		"pr closed":        {Now: t0, PullRequest: pr(v1beta1.PullRequestClosed)},
		"rollout healthy":  {Now: t0, RolloutHealthy: true},
		"alert resolved":   {Now: t0, AlertResolved: true},
		"healthy+resolved": {Now: t0, RolloutHealthy: true, AlertResolved: true},
		"alert refired":    {Now: t0, AlertRefired: true, RolloutHealthy: true},
		"failure":          {Now: t0, Failure: &Outcome{Reason: "ManifestNotFound", Message: "no manifest"}},
		"superseded":       {Now: t0, SupersededBy: "newer"},
	}
}

type move struct {
	to     v1beta1.Phase
	reason string
}

// expected lists every move; any (phase, strategy, observation) not listed must keep the phase.
func expected() map[v1beta1.Strategy]map[v1beta1.Phase]map[string]move {
	failure := move{v1beta1.PhaseFailed, "ManifestNotFound"}
	common := func(s v1beta1.Strategy) map[v1beta1.Phase]map[string]move {
		m := map[v1beta1.Phase]map[string]move{
			v1beta1.PhasePending: {
				"guard allows": {v1beta1.PhasePlanning, GuardsPassedReason},
				"guard never":  {v1beta1.PhaseSkipped, BudgetExhaustedReason},
				"failure":      failure,
			},
			v1beta1.PhasePlanning: {
				"plan":    {v1beta1.PhaseProposed, PlannedReason},
				"skip":    {v1beta1.PhaseSkipped, AtMaximumReason},
				"failure": failure,
			},
			v1beta1.PhaseProposed:      {"failure": failure},
			v1beta1.PhaseAwaitingMerge: {"failure": failure},
			v1beta1.PhaseApplying: {
				"live carries": {v1beta1.PhaseVerifying, ChangeLiveReason},
				"failure":      failure,
			},
			v1beta1.PhaseVerifying: {
				"healthy+resolved": {v1beta1.PhaseSucceeded, AlertResolvedReason},
				"alert refired":    {v1beta1.PhaseFailed, AlertRefiredReason},
				"failure":          failure,
			},
		}
		// A newer remediation takes over from one that applied nothing.
		superseded := move{v1beta1.PhaseSuperseded, SupersededReason}
		for _, p := range []v1beta1.Phase{v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseAwaitingMerge} {
			m[p]["superseded"] = superseded
		}
		// A remediation created by the receiver has no phase yet: it behaves as Pending.
		m[""] = m[v1beta1.PhasePending]
		// An AwaitingMerge remediation learns the pull request's fate; so does a Proposed one,
		// whose idempotent Propose may find it already merged or closed.
		if s == v1beta1.StrategyGitOps {
			m[v1beta1.PhaseProposed]["pr open"] = move{v1beta1.PhaseAwaitingMerge, PullRequestOpenedReason}
			// The target changed, or the stored plan is not what planning gives now: plan again
			// before proposing it.
			m[v1beta1.PhaseProposed]["conflict"] = move{v1beta1.PhasePlanning, TargetChangedReason}
			for _, p := range []v1beta1.Phase{v1beta1.PhaseProposed, v1beta1.PhaseAwaitingMerge} {
				m[p]["pr merged"] = move{v1beta1.PhaseApplying, MergedReason}
				m[p]["pr closed"] = move{v1beta1.PhaseFailed, RejectedReason}
			}
		}
		// AwaitingMerge reads the pull request whatever the strategy says now.
		if s != v1beta1.StrategyGitOps {
			m[v1beta1.PhaseAwaitingMerge]["pr merged"] = move{v1beta1.PhaseApplying, MergedReason}
			m[v1beta1.PhaseAwaitingMerge]["pr closed"] = move{v1beta1.PhaseFailed, RejectedReason}
		}
		return m
	}
	direct := common(v1beta1.StrategyDirect)
	direct[v1beta1.PhaseProposed]["applied"] = move{v1beta1.PhaseVerifying, AppliedReason}
	direct[v1beta1.PhaseProposed]["live carries"] = move{v1beta1.PhaseVerifying, AlreadyAppliedReason}
	direct[v1beta1.PhaseProposed]["conflict"] = move{v1beta1.PhasePlanning, TargetChangedReason}

	dry := common(v1beta1.StrategyDryRun)
	dry[v1beta1.PhasePlanning]["plan"] = move{v1beta1.PhaseSucceeded, DryRunReason}
	dry[v1beta1.PhaseProposed]["superseded"] = move{v1beta1.PhaseSuperseded, SupersededReason}
	// A DryRun remediation never reaches Proposed; if one is found there, it ends as planned.
	for name := range observations() {
		if name != "failure" && name != "superseded" {
			dry[v1beta1.PhaseProposed][name] = move{v1beta1.PhaseSucceeded, DryRunReason}
		}
	}
	return map[v1beta1.Strategy]map[v1beta1.Phase]map[string]move{
		v1beta1.StrategyDirect: direct,
		v1beta1.StrategyGitOps: common(v1beta1.StrategyGitOps),
		v1beta1.StrategyDryRun: dry,
	}
}

func TestTransitionEveryPhaseEveryObservation(t *testing.T) {
	phases := []v1beta1.Phase{"", v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseProposed,
		v1beta1.PhaseAwaitingMerge, v1beta1.PhaseApplying, v1beta1.PhaseVerifying, v1beta1.PhaseSucceeded,
		v1beta1.PhaseFailed, v1beta1.PhaseSkipped, v1beta1.PhaseSuperseded}
	exp := expected()
	n := 0
	for _, strategy := range []v1beta1.Strategy{v1beta1.StrategyDirect, v1beta1.StrategyGitOps, v1beta1.StrategyDryRun} {
		for _, phase := range phases {
			for name, obs := range observations() {
				t.Run(string(strategy)+"/"+string(Current(phase))+"/"+name, func(t *testing.T) {
					g := NewWithT(t)
					rem := remIn(phase, strategy)
					if phase.IsTerminal() {
						rem.Status.Reason = "Earlier"
					}
					d := Transition(rem, set, obs)
					want, moves := exp[strategy][phase][name]
					if !moves || phase.IsTerminal() {
						g.Expect(d.Next).To(Equal(Current(phase)), "must not move")
						if phase.IsTerminal() {
							g.Expect(d.Reason).To(Equal("Earlier"), "a terminal phase keeps its reason")
							g.Expect(d.RequeueAfter).To(BeZero())
						} else {
							g.Expect(d.RequeueAfter).To(BeNumerically(">", 0), "a waiting phase looks again")
						}
						return
					}
					g.Expect(d.Next).To(Equal(want.to))
					g.Expect(d.Reason).To(Equal(want.reason))
					g.Expect(d.Moved(phase)).To(BeTrue())
				})
				n++
			}
		}
	}
	g := NewWithT(t)
	g.Expect(n).To(Equal(3 * len(phases) * len(observations())))
}

func TestTransitionPendingNotYetRequeuesAtAllowedTime(t *testing.T) {
	g := NewWithT(t)
	d := Transition(remIn(v1beta1.PhasePending, v1beta1.StrategyDirect), set, observations()["guard not yet"])
	g.Expect(d.Next).To(Equal(v1beta1.PhasePending))
	g.Expect(d.Reason).To(Equal(CooldownReason))
	g.Expect(d.RequeueAfter).To(Equal(5 * time.Minute))
}

func TestTransitionAwaitingMergePollsThePullRequestSlowly(t *testing.T) {
	g := NewWithT(t)
	rem := remIn(v1beta1.PhaseAwaitingMerge, v1beta1.StrategyGitOps)
	d := Transition(rem, set, observations()["pr open"])
	g.Expect(d.Next).To(Equal(v1beta1.PhaseAwaitingMerge))
	g.Expect(d.RequeueAfter).To(Equal(DefaultPullRequestPollInterval))
	s := set
	s.PullRequestPollInterval = 5 * time.Minute
	g.Expect(Transition(rem, s, observations()["nothing"]).RequeueAfter).To(Equal(5 * time.Minute))
}

func TestTransitionConflictRetriesAreBounded(t *testing.T) {
	g := NewWithT(t)
	rem := remIn(v1beta1.PhaseProposed, v1beta1.StrategyDirect)
	conflict := Observations{Now: t0, Conflict: true}
	for attempt := int32(0); attempt < set.MaxAttempts-1; attempt++ {
		rem.Status.Phase, rem.Status.Attempts = v1beta1.PhaseProposed, attempt
		d := Transition(rem, set, conflict)
		g.Expect(d.Next).To(Equal(v1beta1.PhasePlanning))
		g.Expect(d.Attempts).To(Equal(attempt + 1))
		// Planning again keeps the count, so the bound spans the whole retry loop.
		rem.Status.Phase, rem.Status.Attempts = v1beta1.PhasePlanning, d.Attempts
		d = Transition(rem, set, Observations{Now: t0, Plan: &v1beta1.Plan{}})
		g.Expect(d.Next).To(Equal(v1beta1.PhaseProposed))
		g.Expect(d.Attempts).To(Equal(attempt + 1))
	}
	rem.Status.Phase, rem.Status.Attempts = v1beta1.PhaseProposed, set.MaxAttempts-1
	d := Transition(rem, set, conflict)
	g.Expect(d.Next).To(Equal(v1beta1.PhaseFailed))
	g.Expect(d.Reason).To(Equal(ConflictRetriesExhaustedReason))

	rem.Status.Phase = v1beta1.PhaseProposed
	d = Transition(rem, set, Observations{Now: t0, Applied: true})
	g.Expect(d.Attempts).To(BeZero(), "a successful apply resets the count")
}

func TestTransitionTimeouts(t *testing.T) {
	entered := t0.Add(-time.Minute) // remIn entered the phase a minute before t0
	tests := []struct {
		name      string
		phase     v1beta1.Phase
		obs       Observations
		want      v1beta1.Phase
		reason    string
		requeueLE time.Duration
	}{
		{"applying before the timeout waits", v1beta1.PhaseApplying, Observations{Now: entered.Add(29 * time.Minute)},
			v1beta1.PhaseApplying, WaitingReason, 20 * time.Second},
		{"applying waits at most until the timeout", v1beta1.PhaseApplying, Observations{Now: entered.Add(30*time.Minute - 5*time.Second)},
			v1beta1.PhaseApplying, WaitingReason, 5 * time.Second},
		{"applying at the timeout fails", v1beta1.PhaseApplying, Observations{Now: entered.Add(30 * time.Minute)},
			v1beta1.PhaseFailed, ApplyTimeoutReason, 0},
		{"applying carries the plan at the timeout", v1beta1.PhaseApplying, Observations{Now: entered.Add(31 * time.Minute), LiveCarriesPlan: true},
			v1beta1.PhaseVerifying, ChangeLiveReason, 20 * time.Second},
		{"verifying healthy inside the window waits", v1beta1.PhaseVerifying, Observations{Now: entered.Add(9 * time.Minute), RolloutHealthy: true},
			v1beta1.PhaseVerifying, WaitingReason, 20 * time.Second},
		{"verifying healthy after the window succeeds", v1beta1.PhaseVerifying, Observations{Now: entered.Add(10 * time.Minute), RolloutHealthy: true},
			v1beta1.PhaseSucceeded, VerifyWindowPassedReason, 0},
		{"verifying still firing inside the window waits for a resolve", v1beta1.PhaseVerifying, Observations{Now: entered.Add(9 * time.Minute), RolloutHealthy: true, AlertStillFiring: true},
			v1beta1.PhaseVerifying, WaitingReason, 20 * time.Second},
		{"verifying still firing at the end of the window fails", v1beta1.PhaseVerifying, Observations{Now: entered.Add(10 * time.Minute), RolloutHealthy: true, AlertStillFiring: true},
			v1beta1.PhaseFailed, AlertStillFiringReason, 0},
		{"verifying still firing then resolved succeeds", v1beta1.PhaseVerifying, Observations{Now: entered.Add(5 * time.Minute), RolloutHealthy: true, AlertResolved: true},
			v1beta1.PhaseSucceeded, AlertResolvedReason, 0},
		{"verifying unhealthy after the window waits for the rollout", v1beta1.PhaseVerifying, Observations{Now: entered.Add(20 * time.Minute), AlertResolved: true},
			v1beta1.PhaseVerifying, WaitingReason, 20 * time.Second},
		{"verifying unhealthy past the apply timeout fails", v1beta1.PhaseVerifying, Observations{Now: entered.Add(30 * time.Minute)},
			v1beta1.PhaseFailed, RolloutUnhealthyReason, 0},
		{"a refire wins over a resolve", v1beta1.PhaseVerifying, Observations{Now: entered.Add(time.Minute), RolloutHealthy: true, AlertResolved: true, AlertRefired: true},
			v1beta1.PhaseFailed, AlertRefiredReason, 0},
		{"a refire while the rollout is unhealthy fails", v1beta1.PhaseVerifying, Observations{Now: entered.Add(time.Minute), AlertRefired: true},
			v1beta1.PhaseFailed, AlertRefiredReason, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := Transition(remIn(tt.phase, v1beta1.StrategyGitOps), set, tt.obs)
			g.Expect(d.Next).To(Equal(tt.want))
			g.Expect(d.Reason).To(Equal(tt.reason))
			g.Expect(d.RequeueAfter).To(BeNumerically("<=", tt.requeueLE))
			if !tt.want.IsTerminal() {
				g.Expect(d.RequeueAfter).To(BeNumerically(">", 0))
			}
		})
	}
}

func TestAlertState(t *testing.T) {
	applied := t0
	at := func(d time.Duration) *metav1.Time { x := metav1.NewTime(applied.Add(d)); return &x }
	tests := []struct {
		name                           string
		lastSeen, resolve              *metav1.Time
		resolved, refired, stillFiring bool
	}{
		{"never seen", nil, nil, false, false, false},
		{"seen before the change only", at(-time.Minute), nil, false, false, false},
		{"a repeat after the change is still firing, not a refire", at(time.Minute), nil, false, false, true},
		{"resolved after the change", at(-time.Minute), at(time.Minute), true, false, false},
		{"resolved before the change does not count", at(-2 * time.Minute), at(-time.Minute), false, false, false},
		{"resolved then fired again", at(2 * time.Minute), at(time.Minute), false, true, false},
		{"fired again after a resolve before the change", at(-30 * time.Second), at(-time.Minute), false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			resolved, refired, stillFiring := AlertState(v1beta1.RemediationStatus{LastSeen: tt.lastSeen, AlertResolvedAt: tt.resolve}, applied)
			g.Expect(resolved).To(Equal(tt.resolved))
			g.Expect(refired).To(Equal(tt.refired))
			g.Expect(stillFiring).To(Equal(tt.stillFiring))
		})
	}
}

func TestEnteredAtUsesTheLatestEntry(t *testing.T) {
	g := NewWithT(t)
	r := &v1beta1.Remediation{}
	r.Status.History = []v1beta1.PhaseTransition{
		{Phase: v1beta1.PhasePlanning, Time: metav1.NewTime(t0)},
		{Phase: v1beta1.PhaseProposed, Time: metav1.NewTime(t0.Add(time.Minute))},
		{Phase: v1beta1.PhasePlanning, Time: metav1.NewTime(t0.Add(2 * time.Minute))},
	}
	g.Expect(EnteredAt(r, v1beta1.PhasePlanning, time.Time{})).To(Equal(t0.Add(2 * time.Minute)))
	g.Expect(EnteredAt(r, v1beta1.PhaseVerifying, t0.Add(time.Hour))).To(Equal(t0.Add(time.Hour)))
}
