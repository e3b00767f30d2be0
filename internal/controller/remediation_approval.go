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
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// ApprovalAuthorizer answers whether user may approve the Remediation namespace/name: verb
// approve on remediations/approval in heal8s.io. The default asks the API server with a
// SubjectAccessReview (SARApprovalAuthorizer).
type ApprovalAuthorizer func(ctx context.Context, user, namespace, name string) (bool, error)

// SARApprovalAuthorizer asks the API server, with a SubjectAccessReview through c, whether user
// holds the approve right. The user's groups are not known to heal8s (the approval annotation
// could claim any): the review names only the groups every such user has, system:authenticated
// and, for a ServiceAccount, its two ServiceAccount groups. A right granted only through another
// group is therefore not seen (docs/approvals.md).
func SARApprovalAuthorizer(c client.Client) ApprovalAuthorizer {
	return func(ctx context.Context, user, namespace, name string) (bool, error) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   user,
			Groups: impliedGroups(user),
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: remediation.ApprovalVerb, Group: v1beta1.GroupVersion.Group,
				Resource: remediation.ApprovalResource, Subresource: remediation.ApprovalSubresource, Name: name,
			},
		}}
		if err := c.Create(ctx, sar); err != nil {
			return false, fmt.Errorf("asking whether %s may approve Remediation %s/%s: %w", user, namespace, name, err)
		}
		return sar.Status.Allowed && !sar.Status.Denied, nil
	}
}

// impliedGroups are the groups the API server gives every authenticated user, and a
// ServiceAccount's own groups, derived from the username alone.
func impliedGroups(user string) []string {
	groups := []string{"system:authenticated"}
	if rest, ok := strings.CutPrefix(user, "system:serviceaccount:"); ok {
		if ns, _, ok := strings.Cut(rest, ":"); ok && ns != "" {
			groups = append(groups, "system:serviceaccounts", "system:serviceaccounts:"+ns)
		}
	}
	return groups
}

// observeApproval reads the decision written on the Remediation and judges it: it counts only
// for the plan in status, and only when the user it names holds the approve right now.
func (r *RemediationReconciler) observeApproval(ctx context.Context, s *scope, obs *remediation.Observations) error {
	plan := s.rem.Status.Plan
	if plan == nil || plan.Patch == "" {
		obs.Failure = &remediation.Outcome{Reason: remediation.NoPlanReason, Message: "The remediation awaits approval but records no plan"}
		return nil
	}
	req := remediation.ReadApproval(s.rem.Annotations)
	digest := remediation.PlanDigest(plan)
	allowed := false
	if req != nil && req.User != "" && req.Plan == digest {
		authorize := r.ApprovalAuthorizer
		if authorize == nil {
			authorize = SARApprovalAuthorizer(r.Client)
		}
		ok, err := authorize(ctx, req.User, s.rem.Namespace, s.rem.Name)
		if err != nil {
			return err
		}
		allowed = ok
		if !ok {
			ctrl.LoggerFrom(ctx).Info("Refused an approval by a user without the approve right", "user", req.User, "decision", req.Decision)
		}
	}
	a := remediation.Judge(req, digest, allowed)
	obs.Approval = &a
	return nil
}

// approvalStatus keeps status.approval in step with a decision: the plan's digest and deadline
// on entering AwaitingApproval, who decided once they did, the last refusal while it waits.
func approvalStatus(st *v1beta1.RemediationStatus, from v1beta1.Phase, obs remediation.Observations, d remediation.Decision,
	timeout time.Duration, now time.Time) {
	at := metav1.NewTime(now)
	switch {
	case d.Next == v1beta1.PhaseAwaitingApproval && from != v1beta1.PhaseAwaitingApproval:
		exp := metav1.NewTime(now.Add(timeout))
		st.Approval = &v1beta1.ApprovalStatus{PlanDigest: remediation.PlanDigest(st.Plan), ExpiresAt: &exp}
	case from != v1beta1.PhaseAwaitingApproval || st.Approval == nil:
	case d.Reason == remediation.ApprovedReason || (d.Next == v1beta1.PhaseFailed && d.Reason == remediation.RejectedReason):
		st.Approval.Decision, st.Approval.User, st.Approval.Reason, st.Approval.Time = obs.Approval.Decision, obs.Approval.User, obs.Approval.Reason, &at
		st.Approval.Refused = ""
	case d.Reason == remediation.ApprovalExpiredReason:
		st.Approval.Decision, st.Approval.Time = v1beta1.ApprovalExpired, &at
	case obs.Approval != nil && obs.Approval.Refused != "":
		st.Approval.Refused = obs.Approval.Refused
	}
}

// retryNotFinished records a retry asked of a Remediation that has not finished, so the token
// does not fire later, when it ends.
func retryNotFinished(rem *v1beta1.Remediation, now time.Time) {
	if tok := remediation.RetryToken(rem); tok != "" {
		rem.Status = remediation.RefuseRetry(rem.Status, tok, remediation.RetryRefusal(rem), now)
	}
}

// retry honours (or refuses, with the reason in status.retry) a new heal8s.io/retry token on a
// finished Remediation. Honoured, it re-enters Pending, where every guard decides again. It
// reports whether it wrote.
func (r *RemediationReconciler) retry(ctx context.Context, rem *v1beta1.Remediation) (bool, error) {
	tok := remediation.RetryToken(rem)
	if tok == "" {
		return false, nil
	}
	orig := rem.DeepCopy()
	now := r.Clock.Now()
	why := remediation.RetryRefusal(rem)
	if why == "" {
		rem.Status = remediation.Retry(rem.Status, tok, now)
	} else {
		rem.Status = remediation.RefuseRetry(rem.Status, tok, why, now)
	}
	if err := r.Status().Patch(ctx, rem, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("recording the retry of Remediation %s/%s: %w", rem.Namespace, rem.Name, err)
	}
	log := ctrl.LoggerFrom(ctx)
	if why != "" {
		log.Info("Refused a retry", "token", tok, "reason", why)
		return true, nil
	}
	log.Info("Phase changed", "from", orig.Status.Phase, "to", v1beta1.PhasePending, "reason", remediation.RetryRequestedReason, "token", tok)
	if r.Metrics != nil {
		r.Metrics.PhaseTransitions.WithLabelValues(string(orig.Status.Phase), string(v1beta1.PhasePending)).Inc()
	}
	return true, nil
}
