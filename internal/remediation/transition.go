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
	"time"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Settings are the timing bounds of one remediation, taken from its policy's verify spec (after
// defaulting) and the reconciler's configuration.
type Settings struct {
	// ApplyTimeout bounds the wait, after a merge, for the live object to carry the plan.
	ApplyTimeout time.Duration
	// VerifyWindow is how long the alert must stay quiet after the change.
	VerifyWindow time.Duration
	// MaxAttempts bounds how many times a remediation plans again after the target changed
	// under it; zero means DefaultMaxAttempts.
	MaxAttempts int32
	// PollInterval is how often a waiting phase looks again (pull request state, live object,
	// rollout); zero means DefaultPollInterval.
	PollInterval time.Duration
	// PullRequestPollInterval is how often AwaitingMerge asks the Git provider for the pull
	// request's state, slower than PollInterval to spare the provider's rate limit (a webhook
	// may tell sooner); zero means DefaultPullRequestPollInterval.
	PullRequestPollInterval time.Duration
	// ApprovalTimeout is how long a plan waits in AwaitingApproval; zero means
	// v1beta1.DefaultApprovalTimeout.
	ApprovalTimeout time.Duration
}

// Defaults of Settings the policy does not carry.
const (
	// DefaultMaxAttempts is how many plans a remediation makes before a changing target fails it.
	DefaultMaxAttempts int32 = 3
	// DefaultPollInterval is how often waiting phases look again when no watch event arrives.
	DefaultPollInterval = 30 * time.Second
	// DefaultPullRequestPollInterval is how often an open pull request's state is read: 30 open
	// pull requests cost 900 of GitHub's 5000 requests an hour.
	DefaultPullRequestPollInterval = 2 * time.Minute
)

// Outcome is a reason with its human explanation, for a step that ends the remediation.
type Outcome struct {
	// Reason is one of the XxxReason constants.
	Reason string
	// Message says what happened in words a person acts on.
	Message string
}

// Observations are what the reconciler saw and did in the current phase, as plain data. The
// reconciler fills only what the phase needs; anything else is ignored by Transition, so an
// observation that cannot arrive in a phase never moves the machine.
type Observations struct {
	// Now is the reconciler's clock reading.
	Now time.Time

	// Guard is the verdict of the guard chain (Pending).
	Guard *GuardResult

	// Plan is the change computed from the live target (Planning).
	Plan *v1beta1.Plan
	// Skip is a reason not to act found while planning: a planner's sentinel error or a target
	// that is gone (Planning).
	Skip *Outcome
	// ApprovalRequired means the plan must be approved before it is applied (Planning; see
	// ApprovalRequired).
	ApprovalRequired bool
	// Approval is the decision found on the Remediation, judged (AwaitingApproval).
	Approval *ApprovalObservation

	// Applied means the Direct patch was accepted (Proposed).
	Applied bool
	// Conflict means a test operation of the Direct patch failed: the target changed since the
	// plan was made (Proposed).
	Conflict bool
	// LiveCarriesPlan means the live object already has every value the plan writes (Proposed,
	// Applying).
	LiveCarriesPlan bool
	// PullRequest is the pull request's state as Propose or Status returned it (Proposed,
	// AwaitingMerge).
	PullRequest *v1beta1.PullRequestStatus
	// Source is where the change was proposed and how it was found (Proposed).
	Source *v1beta1.GitSourceStatus

	// RolloutHealthy means the target's controller caught up with its generation and every
	// desired replica is updated and available (Verifying).
	RolloutHealthy bool
	// AlertResolved means Alertmanager resolved the alert and it has not fired since (Verifying).
	AlertResolved bool
	// AlertRefired means the alert fired after the change was applied or after it resolved
	// (Verifying).
	AlertRefired bool
	// AlertStillFiring means Alertmanager resent the original alert as firing after the change
	// went live and has not resolved it (Verifying): at the end of the window it is a failure.
	AlertStillFiring bool

	// SupersededBy names the newer remediation of the same action and target that takes over
	// (any phase where Supersedable holds); its pull request, if any, is closed.
	SupersededBy string

	// Failure is a permanent failure of the phase's step, such as a manifest that cannot be
	// found in the repository (any active phase).
	Failure *Outcome
}

// Decision is what Transition decided: the phase to be in next, why, and when to look again.
type Decision struct {
	// Next is the phase to be in; equal to the current phase when nothing moved.
	Next v1beta1.Phase
	// Reason is one of the XxxReason constants.
	Reason string
	// Message explains the decision to a person.
	Message string
	// RequeueAfter is when to look again if no watch event comes first; zero means only on events.
	RequeueAfter time.Duration
	// Attempts is the new value of status.attempts.
	Attempts int32
}

// Moved reports whether the decision changes the phase of a remediation currently in from.
func (d Decision) Moved(from v1beta1.Phase) bool { return d.Next != Current(from) }

// Current normalises the phase of a new Remediation, which has none yet, to Pending.
func Current(p v1beta1.Phase) v1beta1.Phase {
	if p == "" {
		return v1beta1.PhasePending
	}
	return p
}

// Transition is the state machine of docs/architecture.md. It is the only place that decides phases:
// terminal phases never move, a phase moves only on the observations that can arrive in it, and
// everything else keeps the phase and says when to look again.
func Transition(rem *v1beta1.Remediation, set Settings, obs Observations) Decision {
	phase := Current(rem.Status.Phase)
	attempts := rem.Status.Attempts
	poll := set.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	// Staying keeps the reason of the last transition, so a waiting phase does not rewrite its
	// status (and cost a write) on every look.
	stay := Decision{Next: phase, Reason: rem.Status.Reason, Message: rem.Status.Message, RequeueAfter: poll, Attempts: attempts}
	if rem.Status.Phase == "" || stay.Reason == "" {
		stay.Reason, stay.Message = WaitingReason, fmt.Sprintf("Waiting in %s", phase)
	}
	move := func(next v1beta1.Phase, reason, msg string) Decision {
		return Decision{Next: next, Reason: reason, Message: msg, RequeueAfter: requeueFor(next, poll), Attempts: 0}
	}
	if phase.IsTerminal() {
		return Decision{Next: phase, Reason: rem.Status.Reason, Message: rem.Status.Message, Attempts: attempts}
	}
	if by := obs.SupersededBy; by != "" && Supersedable(rem) {
		return move(v1beta1.PhaseSuperseded, SupersededReason,
			fmt.Sprintf("Remediation %s of the same action and target, for a later alert, took over before this one applied anything", by))
	}
	if f := obs.Failure; f != nil {
		return move(v1beta1.PhaseFailed, orDefault(f.Reason, StepFailedReason), f.Message)
	}

	switch phase {
	case v1beta1.PhasePending:
		return fromPending(phase, obs, attempts, move, stay)

	case v1beta1.PhasePlanning:
		switch {
		case obs.Skip != nil:
			return move(v1beta1.PhaseSkipped, obs.Skip.Reason, obs.Skip.Message)
		case obs.Plan == nil:
			return stay
		case rem.Spec.Strategy == v1beta1.StrategyDryRun:
			return move(v1beta1.PhaseSucceeded, DryRunReason, "Planned and recorded without applying (DryRun): "+obs.Plan.Reason)
		case obs.ApprovalRequired:
			d := move(v1beta1.PhaseAwaitingApproval, AwaitingApprovalReason, "Waiting for approval: "+obs.Plan.Reason)
			d.Attempts = attempts
			return d
		default:
			d := move(v1beta1.PhaseProposed, PlannedReason, obs.Plan.Reason)
			d.Attempts = attempts
			return d
		}

	case v1beta1.PhaseAwaitingApproval:
		return awaitingApproval(rem, set, obs, stay, move)

	case v1beta1.PhaseProposed:
		return fromProposed(rem, set, obs, attempts, move, stay)

	case v1beta1.PhaseAwaitingMerge:
		stay.RequeueAfter = set.PullRequestPollInterval
		if stay.RequeueAfter <= 0 {
			stay.RequeueAfter = DefaultPullRequestPollInterval
		}
		if obs.PullRequest != nil {
			return fromPullRequest(phase, obs.PullRequest, move, stay)
		}
		return stay

	case v1beta1.PhaseApplying:
		if obs.LiveCarriesPlan {
			return move(v1beta1.PhaseVerifying, ChangeLiveReason, "The merged change reached the live object")
		}
		since := EnteredAt(rem, v1beta1.PhaseApplying, obs.Now)
		deadline := since.Add(set.ApplyTimeout)
		if !obs.Now.Before(deadline) {
			return move(v1beta1.PhaseFailed, ApplyTimeoutReason,
				fmt.Sprintf("The merged change did not reach the live object within %s; check the GitOps sync", set.ApplyTimeout))
		}
		stay.RequeueAfter = min(poll, deadline.Sub(obs.Now))
		return stay

	case v1beta1.PhaseVerifying:
		return fromVerifying(rem, set, obs, poll, move, stay)

	case v1beta1.PhaseSucceeded, v1beta1.PhaseFailed, v1beta1.PhaseSkipped, v1beta1.PhaseSuperseded:
		// Handled above: terminal phases never move.
	}
	return stay
}

// moveFunc builds a Decision that moves to a phase (Transition's move).
type moveFunc = func(next v1beta1.Phase, reason, msg string) Decision

// fromPending moves a Pending remediation by its guards' verdict.
func fromPending(phase v1beta1.Phase, obs Observations, attempts int32, move moveFunc, stay Decision) Decision {
	g := obs.Guard
	if g == nil {
		return stay
	}
	switch g.Verdict {
	case Allow:
		return move(v1beta1.PhasePlanning, GuardsPassedReason, "Every safety guard allows this remediation")
	case NotYet:
		wait := g.RetryAt.Sub(obs.Now)
		if wait <= 0 {
			wait = time.Second
		}
		return Decision{Next: phase, Reason: g.Reason, Message: g.Message, RequeueAfter: wait, Attempts: attempts}
	case Never:
		return move(v1beta1.PhaseSkipped, g.Reason, g.Message)
	}
	return stay
}

// fromProposed moves a Proposed remediation by its strategy: DryRun ends, Direct waits for the
// patch, GitOps for its pull request.
func fromProposed(rem *v1beta1.Remediation, set Settings, obs Observations, attempts int32,
	move moveFunc, stay Decision) Decision {
	switch rem.Spec.Strategy {
	case v1beta1.StrategyDryRun:
		return move(v1beta1.PhaseSucceeded, DryRunReason, "Planned and recorded without applying (DryRun)")
	case v1beta1.StrategyDirect:
		switch {
		case obs.LiveCarriesPlan:
			return move(v1beta1.PhaseVerifying, AlreadyAppliedReason, "The live object already carries the planned values")
		case obs.Applied:
			return move(v1beta1.PhaseVerifying, AppliedReason, "Patched the live object as planned")
		case obs.Conflict:
			return replan(set, attempts, move)
		}
		return stay
	case v1beta1.StrategyGitOps:
		if obs.PullRequest != nil {
			return fromPullRequest(v1beta1.PhaseProposed, obs.PullRequest, move, stay)
		}
		if obs.Conflict {
			return replan(set, attempts, move)
		}
		return stay
	}
	return stay
}

// fromVerifying ends verification: healthy and resolved (or quiet for the window) succeeds, a
// refired or still firing alert or a rollout unhealthy past the deadline fails.
func fromVerifying(rem *v1beta1.Remediation, set Settings, obs Observations, poll time.Duration,
	move moveFunc, stay Decision) Decision {
	if obs.AlertRefired {
		return move(v1beta1.PhaseFailed, AlertRefiredReason, "The alert fired again after the change: the fix did not heal, a person should look")
	}
	since := EnteredAt(rem, v1beta1.PhaseVerifying, obs.Now)
	windowEnd := since.Add(set.VerifyWindow)
	if obs.RolloutHealthy {
		if obs.AlertResolved {
			return move(v1beta1.PhaseSucceeded, AlertResolvedReason, "The rollout is healthy and the alert resolved")
		}
		if !obs.Now.Before(windowEnd) {
			if obs.AlertStillFiring {
				return move(v1beta1.PhaseFailed, AlertStillFiringReason,
					fmt.Sprintf("Alertmanager still reported the alert firing after the change and did not resolve it within %s: the fix did not heal, a person should look", set.VerifyWindow))
			}
			return move(v1beta1.PhaseSucceeded, VerifyWindowPassedReason,
				fmt.Sprintf("The rollout is healthy and the alert stayed quiet for %s", set.VerifyWindow))
		}
		stay.RequeueAfter = min(poll, windowEnd.Sub(obs.Now))
		return stay
	}
	giveUp := since.Add(max(set.VerifyWindow, set.ApplyTimeout))
	if !obs.Now.Before(giveUp) {
		return move(v1beta1.PhaseFailed, RolloutUnhealthyReason,
			fmt.Sprintf("The rollout was still not healthy %s after the change", giveUp.Sub(since)))
	}
	stay.RequeueAfter = min(poll, giveUp.Sub(obs.Now))
	return stay
}

// fromPullRequest moves a GitOps remediation by its pull request's state.
func fromPullRequest(phase v1beta1.Phase, pr *v1beta1.PullRequestStatus,
	move func(v1beta1.Phase, string, string) Decision, stay Decision) Decision {
	switch pr.State {
	case v1beta1.PullRequestMerged:
		return move(v1beta1.PhaseApplying, MergedReason, fmt.Sprintf("Pull request %s was merged; waiting for the change to go live", pr.URL))
	case v1beta1.PullRequestClosed:
		return move(v1beta1.PhaseFailed, RejectedReason, fmt.Sprintf("Pull request %s was closed without merging", pr.URL))
	case v1beta1.PullRequestOpen:
		if phase == v1beta1.PhaseProposed {
			return move(v1beta1.PhaseAwaitingMerge, PullRequestOpenedReason, fmt.Sprintf("Pull request %s waits for review", pr.URL))
		}
	}
	return stay
}

// requeueFor is when to look again at a remediation that just entered next. The status write's
// own watch event runs the next step at once; the poll is a safety net. Terminal phases: never.
func requeueFor(next v1beta1.Phase, poll time.Duration) time.Duration {
	if next.IsTerminal() {
		return 0
	}
	return poll
}

// EnteredAt is when the remediation last entered phase, from its history; fallback when the
// history does not say (an object written by hand).
func EnteredAt(rem *v1beta1.Remediation, phase v1beta1.Phase, fallback time.Time) time.Time {
	h := rem.Status.History
	for _, v := range slices.Backward(h) {
		if v.Phase == phase {
			return v.Time.Time
		}
	}
	return fallback
}

// AlertState derives, from what the receiver recorded in status, whether the alert resolved
// after appliedAt (the moment the change went live), whether it fired again after resolving
// (the receiver moves lastSeen past alertResolvedAt when a firing notification or a new instance
// of the alert arrives after the resolve), and whether Alertmanager kept reporting the original
// instance as firing after the change. A repeat of a still-firing alert is not a refire: the
// alert never stopped, and Alertmanager resends it every repeat_interval.
func AlertState(st v1beta1.RemediationStatus, appliedAt time.Time) (resolved, refired, stillFiring bool) {
	var lastSeen time.Time
	if st.LastSeen != nil {
		lastSeen = st.LastSeen.Time
	}
	if st.AlertResolvedAt != nil {
		res := st.AlertResolvedAt.Time
		if lastSeen.After(res) {
			return false, true, false
		}
		// A resolve that arrived before the change went live does not count as healing.
		return !res.Before(appliedAt), false, false
	}
	return false, false, lastSeen.After(appliedAt)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// replan goes back to Planning after the target changed since it was planned (or the stored plan
// is not what planning gives now), at most MaxAttempts times in a row.
func replan(set Settings, attempts int32, move func(v1beta1.Phase, string, string) Decision) Decision {
	max := set.MaxAttempts
	if max <= 0 {
		max = DefaultMaxAttempts
	}
	if attempts+1 >= max {
		return move(v1beta1.PhaseFailed, ConflictRetriesExhaustedReason,
			fmt.Sprintf("The target changed under heal8s %d times in a row; someone else is editing it", attempts+1))
	}
	d := move(v1beta1.PhasePlanning, TargetChangedReason, "The target changed since it was planned; planning again from the new values")
	d.Attempts = attempts + 1
	return d
}
