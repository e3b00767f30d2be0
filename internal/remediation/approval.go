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
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Approval (docs/approvals.md): a Direct Remediation whose policy or rule says approval Required
// waits, once planned, in AwaitingApproval. A person records a decision in the approval
// annotations (v1beta1.AnnotationApproval*); the reconciler reads them with ReadApproval, asks
// the API server whether the named user holds the approve right (a SubjectAccessReview) and
// hands Transition an ApprovalObservation. Nothing here trusts the annotations: Judge turns them
// into a decision only for the plan in status, and only when the check allowed the user.

// ApprovalVerb, ApprovalResource and ApprovalSubresource name the right an approver needs in the
// Remediation's namespace: verb approve on remediations/approval in heal8s.io.
const (
	ApprovalVerb        = "approve"
	ApprovalResource    = "remediations"
	ApprovalSubresource = "approval"
)

// Reasons of approval.
const (
	// AwaitingApprovalReason means the plan waits for a person to approve or reject it.
	AwaitingApprovalReason = "AwaitingApproval"
	// ApprovedReason means a person with the approve right approved the plan.
	ApprovedReason = "Approved"
	// ApprovalExpiredReason means nobody approved or rejected the plan within approvalTimeout.
	ApprovalExpiredReason = "ApprovalExpired"
	// ApprovalRefusedReason means an approval was written that heal8s did not accept (a user
	// without the right, or a decision about another plan); the plan keeps waiting.
	ApprovalRefusedReason = "ApprovalRefused"
)

// ApprovalRequired reports whether rem's plan must be approved before it is applied: only Direct
// changes wait (GitOps is reviewed in its pull request, DryRun applies nothing), when the rule
// says Required, or says nothing and the policy says Required.
func ApprovalRequired(rem *v1beta1.Remediation, policy *v1beta1.RemediationPolicy) bool {
	if rem.Spec.Strategy != v1beta1.StrategyDirect || policy == nil {
		return false
	}
	mode := policy.Spec.Approval
	if rule := RuleOf(policy, rem.Spec.Rule); rule != nil && rule.Approval != "" {
		mode = rule.Approval
	}
	return mode == v1beta1.ApprovalRequired
}

// ApprovalTimeout is the policy's approvalTimeout, or the default.
func ApprovalTimeout(policy *v1beta1.RemediationPolicy) time.Duration {
	if policy != nil && policy.Spec.ApprovalTimeout != nil && policy.Spec.ApprovalTimeout.Duration > 0 {
		return policy.Spec.ApprovalTimeout.Duration
	}
	return v1beta1.DefaultApprovalTimeout
}

// PlanDigest identifies a plan for approval: the first 16 bytes of the SHA-256 of its patch, in
// hex. The patch holds every value the plan reads (test operations) and writes, so an approval
// of one plan never approves another.
func PlanDigest(p *v1beta1.Plan) string {
	if p == nil {
		return ""
	}
	sum := sha256.Sum256([]byte(p.Patch))
	return hex.EncodeToString(sum[:16])
}

// ApprovalRequest is a decision as written in the annotations: untrusted input.
type ApprovalRequest struct {
	Decision v1beta1.ApprovalDecision
	User     string
	Plan     string
	Reason   string
}

// ReadApproval reads the approval annotations; nil when there is no decision, or it is neither
// Approved nor Rejected.
func ReadApproval(annotations map[string]string) *ApprovalRequest {
	d := v1beta1.ApprovalDecision(annotations[v1beta1.AnnotationApprovalDecision])
	if d != v1beta1.ApprovalApproved && d != v1beta1.ApprovalRejected {
		return nil
	}
	return &ApprovalRequest{Decision: d, User: strings.TrimSpace(annotations[v1beta1.AnnotationApprovalUser]),
		Plan: annotations[v1beta1.AnnotationApprovalPlan], Reason: bounded(annotations[v1beta1.AnnotationApprovalReason], 1024)}
}

// ApprovalObservation is what the reconciler found about approval in AwaitingApproval.
type ApprovalObservation struct {
	// Decision is Approved or Rejected when an accepted decision is there; empty when none is.
	Decision v1beta1.ApprovalDecision
	// User and Reason are the accepted decision's.
	User, Reason string
	// Refused, when not empty, says why a written decision was not accepted.
	Refused string
}

// Judge turns an approval request into an observation: accepted only when it names the plan in
// status (digest) and a user, and allowed reports that the user holds the approve right.
func Judge(req *ApprovalRequest, digest string, allowed bool) ApprovalObservation {
	switch {
	case req == nil:
		return ApprovalObservation{}
	case req.User == "":
		return ApprovalObservation{Refused: fmt.Sprintf("The %s decision names no user", req.Decision)}
	case req.Plan != digest:
		return ApprovalObservation{Refused: fmt.Sprintf("%s's %s decision is about plan %q, not the plan awaiting approval (%s)",
			req.User, req.Decision, bounded(req.Plan, 64), digest)}
	case !allowed:
		return ApprovalObservation{Refused: fmt.Sprintf("%s may not approve Remediations here (verb %s on %s/%s, granted to the user itself: "+
			"heal8s cannot see rights held through groups): the decision is ignored", req.User, ApprovalVerb, ApprovalResource, ApprovalSubresource)}
	}
	return ApprovalObservation{Decision: req.Decision, User: req.User, Reason: req.Reason}
}

// awaitingApproval decides the AwaitingApproval phase.
func awaitingApproval(rem *v1beta1.Remediation, set Settings, obs Observations, stay Decision,
	move func(v1beta1.Phase, string, string) Decision) Decision {
	a := obs.Approval
	if a != nil {
		switch a.Decision {
		case v1beta1.ApprovalApproved:
			d := move(v1beta1.PhaseProposed, ApprovedReason, fmt.Sprintf("Approved by %s%s", a.User, withReason(a.Reason)))
			d.Attempts = rem.Status.Attempts
			return d
		case v1beta1.ApprovalRejected:
			return move(v1beta1.PhaseFailed, RejectedReason, fmt.Sprintf("Rejected by %s%s", a.User, withReason(a.Reason)))
		case v1beta1.ApprovalExpired:
		}
	}
	timeout := set.ApprovalTimeout
	if timeout <= 0 {
		timeout = v1beta1.DefaultApprovalTimeout
	}
	deadline := EnteredAt(rem, v1beta1.PhaseAwaitingApproval, obs.Now).Add(timeout)
	if !obs.Now.Before(deadline) {
		return move(v1beta1.PhaseSkipped, ApprovalExpiredReason,
			fmt.Sprintf("Nobody approved or rejected the plan within %s", timeout))
	}
	if a != nil && a.Refused != "" {
		stay.Reason, stay.Message = ApprovalRefusedReason, a.Refused
	}
	stay.RequeueAfter = min(stay.RequeueAfter, deadline.Sub(obs.Now))
	return stay
}

func withReason(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// bounded cuts s to at most n bytes (on a rune boundary), for text copied into status.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// PolicyNotPaused skips remediations of a policy with any pause request, as PolicyNotSuspended
// does for suspend: resuming does not release a burst of stale fixes.
func PolicyNotPaused(in Input) (Verdict, string, string, time.Time) {
	if in.Policy == nil || len(in.Policy.Spec.Safety.PauseRequests) == 0 {
		return Allow, "", "", time.Time{}
	}
	names := slices.Clone(in.Policy.Spec.Safety.PauseRequests)
	slices.Sort(names)
	return Never, PolicyPausedReason, fmt.Sprintf("RemediationPolicy %s is paused by %s", in.Policy.Name, strings.Join(names, ", ")), time.Time{}
}

// PolicyPausedReason means the policy has at least one pause request (spec.safety.pauseRequests);
// the message names them.
const PolicyPausedReason = "PolicyPaused"

// Reasons of a retry.
const (
	// RetryRequestedReason means a person asked for another try (heal8s.io/retry) and the
	// Remediation went back to Pending, where every guard decides again.
	RetryRequestedReason = "RetryRequested"
)

// RetryRefusal says why a retry of rem is not honoured, or "" when it may be. A retry re-enters
// Pending, so every guard (suspend, pauses, veto, budgets, cooldown, rate) decides again; what
// is refused here is what the guards could not see: a Remediation that is not finished or
// finished well, a veto (rejecting is final for the veto period), one that may have changed its
// target (a second change for one alert would be the same bump twice: a new alert is a new
// Remediation, within the budget), and a GitOps one that opened a pull request (its branch is
// the Remediation's and would be found again as it was).
func RetryRefusal(rem *v1beta1.Remediation) string {
	st := rem.Status
	switch {
	case st.Phase != v1beta1.PhaseFailed && st.Phase != v1beta1.PhaseSkipped:
		return fmt.Sprintf("Only a Failed or Skipped Remediation can be retried, not one in %s", Current(st.Phase))
	case st.Reason == RejectedReason:
		return "A rejected Remediation is a veto and is not retried; it lasts the policy's vetoPeriod"
	case st.PullRequest != nil:
		return "A GitOps Remediation that opened a pull request is not retried; its pull request holds the change"
	}
	for _, h := range st.History {
		if h.Phase == v1beta1.PhaseApplying || h.Phase == v1beta1.PhaseVerifying {
			return "The Remediation changed its target already; another change for the same alert is not retried (a new alert makes a new Remediation, within the budget)"
		}
	}
	return ""
}

// Retry returns the status a Remediation re-enters Pending with after a retry asked with token:
// the attempt's outcome moves into status.retry and the history keeps it; the plan, the
// approval and the times of the failed attempt are cleared, so the guards count it as new.
func Retry(st v1beta1.RemediationStatus, token string, now time.Time) v1beta1.RemediationStatus {
	count := int32(0)
	if st.Retry != nil {
		count = st.Retry.Count
	}
	out := *st.DeepCopy()
	at := nowTime(now)
	out.Retry = &v1beta1.RetryStatus{Token: token, Count: count + 1, Time: &at, PreviousPhase: st.Phase, PreviousReason: st.Reason}
	out.Phase = v1beta1.PhasePending
	out.Reason = RetryRequestedReason
	out.Message = fmt.Sprintf("Retry %d asked for after %s (%s); the guards decide again", count+1, st.Phase, st.Reason)
	out.Plan, out.Approval, out.StartedAt, out.CompletedAt, out.Attempts = nil, nil, nil, nil, 0
	out.History = append(out.History, v1beta1.PhaseTransition{Phase: v1beta1.PhasePending, Reason: RetryRequestedReason, Time: at})
	if n := len(out.History); n > v1beta1.MaxHistory {
		out.History = append([]v1beta1.PhaseTransition(nil), out.History[n-v1beta1.MaxHistory:]...)
	}
	return out
}

// RefuseRetry records a refused retry token, so it is refused once and shown.
func RefuseRetry(st v1beta1.RemediationStatus, token, why string, now time.Time) v1beta1.RemediationStatus {
	out := *st.DeepCopy()
	at := nowTime(now)
	r := &v1beta1.RetryStatus{}
	if st.Retry != nil {
		r = st.Retry.DeepCopy()
	}
	r.Token, r.Time, r.Refused = token, &at, why
	out.Retry = r
	return out
}

// RetryToken is the retry annotation's value when it asks for a retry not yet honoured or
// refused; "" otherwise.
func RetryToken(rem *v1beta1.Remediation) string {
	tok := bounded(strings.TrimSpace(rem.Annotations[v1beta1.AnnotationRetry]), 128)
	if tok == "" || (rem.Status.Retry != nil && rem.Status.Retry.Token == tok) {
		return ""
	}
	return tok
}

func nowTime(t time.Time) metav1.Time { return metav1.NewTime(t) }
