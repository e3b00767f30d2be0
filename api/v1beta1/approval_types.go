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

package v1beta1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApprovalMode says whether a person must approve a planned Direct change before it is applied.
// +kubebuilder:validation:Enum=Required;NotRequired
type ApprovalMode string

const (
	// ApprovalRequired holds a planned Direct Remediation in AwaitingApproval until someone with
	// the approve right on remediations/approval in its namespace approves it.
	ApprovalRequired ApprovalMode = "Required"
	// ApprovalNotRequired applies a Direct plan without asking (the default).
	ApprovalNotRequired ApprovalMode = "NotRequired"
)

// DefaultApprovalTimeout is how long a plan waits for approval when the policy does not say.
const DefaultApprovalTimeout = time.Hour

// ApprovalDecision is what a person decided about a plan, or that nobody decided in time.
// +kubebuilder:validation:Enum=Approved;Rejected;Expired
type ApprovalDecision string

const (
	// ApprovalApproved lets the plan be applied.
	ApprovalApproved ApprovalDecision = "Approved"
	// ApprovalRejected is a veto: the Remediation ends Failed (Rejected), and the same action on
	// the same target is skipped for the policy's vetoPeriod, as for a closed pull request.
	ApprovalRejected ApprovalDecision = "Rejected"
	// ApprovalExpired means nobody decided within approvalTimeout: the Remediation ends Skipped.
	ApprovalExpired ApprovalDecision = "Expired"
)

// Annotations of a Remediation that carry a person's decision on its plan. They are written by
// the approver (kubectl heal8s approve / reject) and read by the Remediation reconciler, which
// checks them itself before acting (docs/approvals.md, docs/security.md): the user they name
// must hold the verb "approve" on remediations/approval in the Remediation's namespace
// (a SubjectAccessReview), and the plan digest must be the digest of the plan in status.
const (
	// AnnotationApprovalDecision is "Approved" or "Rejected".
	AnnotationApprovalDecision = "approval.heal8s.io/decision"
	// AnnotationApprovalUser is the Kubernetes username of who decided; the ValidatingAdmissionPolicy
	// heal8s-approval binds it to the user who writes it.
	AnnotationApprovalUser = "approval.heal8s.io/user"
	// AnnotationApprovalPlan is the digest of the plan decided on (status.approval.planDigest,
	// remediation.PlanDigest): a decision counts only for the plan it names.
	AnnotationApprovalPlan = "approval.heal8s.io/plan"
	// AnnotationApprovalReason is the approver's free-text reason, shown and never acted on.
	AnnotationApprovalReason = "approval.heal8s.io/reason"

	// AnnotationRetry asks for one more try of a Failed or Skipped Remediation: a new value (a
	// token) is honoured once by the reconciler, which records it in status.retry.
	AnnotationRetry = "heal8s.io/retry"
)

// ApprovalStatus is the approval state of a Remediation whose policy requires approval, written
// by the Remediation reconciler only.
type ApprovalStatus struct {
	// planDigest identifies the plan awaiting a decision; an approval must name it.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	PlanDigest string `json:"planDigest,omitempty"`

	// expiresAt is when the plan stops waiting and the Remediation ends Skipped (ApprovalExpired).
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// decision is what was decided, once decided.
	// +optional
	Decision ApprovalDecision `json:"decision,omitempty"`

	// user is who decided, as the API server authenticated them and a SubjectAccessReview
	// allowed them.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	User string `json:"user,omitempty"`

	// reason is the approver's reason.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Reason string `json:"reason,omitempty"`

	// time is when heal8s accepted the decision.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`

	// refused records the last approval heal8s did not accept (a user without the right, a
	// stale plan), so the person who tried can see why.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Refused string `json:"refused,omitempty"`
}

// RetryStatus records the last retry a person asked for (the heal8s.io/retry annotation).
type RetryStatus struct {
	// token is the annotation's value that was last honoured or refused; the same token is never
	// honoured twice.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Token string `json:"token,omitempty"`

	// count is how many retries were honoured.
	// +optional
	Count int32 `json:"count,omitempty"`

	// time is when the last retry was honoured or refused.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`

	// previousPhase and previousReason are how the Remediation had ended before the last retry.
	// +optional
	PreviousPhase Phase `json:"previousPhase,omitempty"`
	// +kubebuilder:validation:MaxLength=128
	// +optional
	PreviousReason string `json:"previousReason,omitempty"`

	// refused says why the last token was not honoured, when it was not.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Refused string `json:"refused,omitempty"`
}
