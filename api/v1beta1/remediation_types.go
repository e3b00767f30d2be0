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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// RemediationSpec is written once, by the receiver, from the alert and the rule that matched it.
// It never changes afterwards, so the Remediation is a faithful record of why heal8s acted.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable"
type RemediationSpec struct {
	// policyRef names the RemediationPolicy whose rule matched.
	// +required
	PolicyRef PolicyReference `json:"policyRef"`

	// rule is the name of the rule that matched.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Rule string `json:"rule"`

	// alert is the alert that triggered the remediation, as Alertmanager sent it.
	// +required
	Alert AlertInfo `json:"alert"`

	// target is the workload to change.
	// +required
	Target TargetRef `json:"target"`

	// action is the rule's action with the policy's defaults filled in.
	// +required
	Action Action `json:"action"`

	// strategy is how the change reaches the cluster.
	// +required
	Strategy Strategy `json:"strategy"`
}

// PolicyReference points at a RemediationPolicy, which may live in another namespace when it
// acts cluster-wide from the operator's namespace.
type PolicyReference struct {
	// name of the RemediationPolicy.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// namespace of the RemediationPolicy.
	// +kubebuilder:validation:MinLength=1
	// +required
	Namespace string `json:"namespace"`
}

// AlertInfo is the part of an Alertmanager alert heal8s keeps.
type AlertInfo struct {
	// name is the alertname label.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Name string `json:"name"`

	// fingerprint is Alertmanager's identity of the alert's label set.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +required
	Fingerprint string `json:"fingerprint"`

	// labels of the alert: at most 64, names up to 128 and values up to 1024 bytes, as the
	// receiver accepts them.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 128 && size(self[k]) <= 1024)",message="label names are at most 128 and values at most 1024 characters"
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations of the alert (summary, description, runbook_url, ...): untrusted text, shown
	// and never acted on; at most 32, each up to 2048 characters. The receiver keeps at most
	// 4096 bytes of them in all (summary, description, message and runbook_url first) and cuts
	// longer ones.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 253 && size(self[k]) <= 2048)",message="annotations are at most 2048 characters"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// startsAt is when the alert started firing.
	// +optional
	StartsAt *metav1.Time `json:"startsAt,omitempty"`

	// generatorURL links back to the expression that fired.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	GeneratorURL string `json:"generatorURL,omitempty"`
}

// TargetRef identifies the workload a remediation changes.
type TargetRef struct {
	// apiVersion of the target, e.g. apps/v1.
	// +kubebuilder:validation:MinLength=1
	// +required
	APIVersion string `json:"apiVersion"`

	// kind of the target.
	// +required
	Kind TargetKind `json:"kind"`

	// name of the target.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// namespace of the target; always the Remediation's own namespace.
	// +kubebuilder:validation:MinLength=1
	// +required
	Namespace string `json:"namespace"`

	// container is the container to change, for the resource and image actions.
	// +optional
	Container string `json:"container,omitempty"`
}

// Phase is where a Remediation is in its life. Only the state machine in internal/remediation
// sets it.
// +kubebuilder:validation:Enum=Pending;Planning;AwaitingApproval;Proposed;AwaitingMerge;Applying;Verifying;Succeeded;Failed;Skipped;Superseded
type Phase string

const (
	// PhasePending waits for the safety guards (suspend, cooldown, budgets, concurrency) to allow it.
	PhasePending Phase = "Pending"
	// PhasePlanning reads the live target and computes the change.
	PhasePlanning Phase = "Planning"
	// PhaseAwaitingApproval holds a planned Direct change until a person approves or rejects it,
	// or its approval times out (spec.approval Required on the policy or rule).
	PhaseAwaitingApproval Phase = "AwaitingApproval"
	// PhaseProposed has a plan being proposed: a pull request opened or a patch applied.
	PhaseProposed Phase = "Proposed"
	// PhaseAwaitingMerge waits for a human to merge or close the pull request.
	PhaseAwaitingMerge Phase = "AwaitingMerge"
	// PhaseApplying waits for the merged change to appear on the live object.
	PhaseApplying Phase = "Applying"
	// PhaseVerifying waits for the rollout to be healthy and the alert to stay resolved.
	PhaseVerifying Phase = "Verifying"
	// PhaseSucceeded means the change is live and the alert resolved (or, for DryRun, planned).
	PhaseSucceeded Phase = "Succeeded"
	// PhaseFailed means the remediation ended without healing; the reason says why.
	PhaseFailed Phase = "Failed"
	// PhaseSkipped means heal8s decided not to act; the reason says why.
	PhaseSkipped Phase = "Skipped"
	// PhaseSuperseded means a newer remediation of the same target and action took over.
	PhaseSuperseded Phase = "Superseded"
)

// IsTerminal reports whether the phase is final: nothing moves a Remediation out of it.
func (p Phase) IsTerminal() bool {
	switch p {
	case PhaseSucceeded, PhaseFailed, PhaseSkipped, PhaseSuperseded:
		return true
	case PhasePending, PhasePlanning, PhaseAwaitingApproval, PhaseProposed, PhaseAwaitingMerge, PhaseApplying, PhaseVerifying:
		return false
	}
	return false
}

// Plan is the change heal8s computed from the live object.
type Plan struct {
	// before holds the values the plan read, keyed by a readable field path.
	// +optional
	Before map[string]string `json:"before,omitempty"`

	// after holds the values the plan writes, keyed like before.
	// +optional
	After map[string]string `json:"after,omitempty"`

	// patch is the change as an RFC 6902 JSON patch, with test operations on the values read.
	// +optional
	Patch string `json:"patch,omitempty"`

	// reason explains the numbers: percent, floor, rounding and cap applied.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// PullRequestState is the state of a pull request as the Git provider reports it.
// +kubebuilder:validation:Enum=open;merged;closed
type PullRequestState string

const (
	// PullRequestOpen is open for review.
	PullRequestOpen PullRequestState = "open"
	// PullRequestMerged was merged.
	PullRequestMerged PullRequestState = "merged"
	// PullRequestClosed was closed without merging: a human veto.
	PullRequestClosed PullRequestState = "closed"
)

// PullRequestStatus records the pull request a GitOps remediation opened.
type PullRequestStatus struct {
	// provider is the Git hosting service.
	// +optional
	Provider GitProvider `json:"provider,omitempty"`

	// url is the pull request's web address.
	// +optional
	URL string `json:"url,omitempty"`

	// number is the pull request's number in its repository.
	// +optional
	Number int32 `json:"number,omitempty"`

	// branch is the head branch, heal8s/<remediation-name>.
	// +optional
	Branch string `json:"branch,omitempty"`

	// state is the pull request's last known state.
	// +optional
	State PullRequestState `json:"state,omitempty"`

	// repository is the "owner/name" the pull request was opened in. Webhook events and polls
	// are matched on repository and number (and nodeID), never on the number alone.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Repository string `json:"repository,omitempty"`

	// edited is true once someone else pushed to heal8s's branch: heal8s left the pull request
	// alone (one comment, the label heal8s-edited), never closes it for a newer Remediation, and
	// follows what a person decides (a merge is verified, a close is a veto).
	// +optional
	Edited bool `json:"edited,omitempty"`

	// nodeID is the provider's global identifier of the pull request (GitHub's node_id).
	// +kubebuilder:validation:MaxLength=128
	// +optional
	NodeID string `json:"nodeID,omitempty"`

	// updatedAt is the provider's last update time of the pull request as last recorded; an
	// event or poll older than it is a replay and changes nothing.
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// PhaseTransition is one step of a Remediation's history, for the timeline a person reads.
type PhaseTransition struct {
	// phase entered.
	// +required
	Phase Phase `json:"phase"`

	// reason for entering it.
	// +optional
	Reason string `json:"reason,omitempty"`

	// time it was entered.
	// +required
	Time metav1.Time `json:"time"`
}

// MaxHistory bounds status.history so a Remediation's size stays small.
const MaxHistory = 20

// RemediationStatus is what heal8s did and observed.
type RemediationStatus struct {
	// phase is where the remediation is in its life.
	// +optional
	Phase Phase `json:"phase,omitempty"`

	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions summarise progress: Ready is True once Succeeded, False when Failed or Skipped.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// plan is the change computed from the live object.
	// +optional
	Plan *Plan `json:"plan,omitempty"`

	// pullRequest is the pull request a GitOps remediation opened.
	// +optional
	PullRequest *PullRequestStatus `json:"pullRequest,omitempty"`

	// attempts counts tries of the current step (re-plans after a conflict, provider retries).
	// +optional
	Attempts int32 `json:"attempts,omitempty"`

	// alertCount is how many times Alertmanager sent this alert while firing.
	// +optional
	AlertCount int32 `json:"alertCount,omitempty"`

	// lastSeen is when Alertmanager last sent this alert while firing.
	// +optional
	LastSeen *metav1.Time `json:"lastSeen,omitempty"`

	// alertResolvedAt is when Alertmanager reported the alert resolved.
	// +optional
	AlertResolvedAt *metav1.Time `json:"alertResolvedAt,omitempty"`

	// startedAt is when the remediation left Pending.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// completedAt is when the remediation reached a terminal phase.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`

	// reason is the machine-readable reason of the last transition.
	// +optional
	Reason string `json:"reason,omitempty"`

	// message is a human-readable explanation of the last transition.
	// +optional
	Message string `json:"message,omitempty"`

	// supersededBy names the remediation that took over, when Superseded.
	// +optional
	SupersededBy string `json:"supersededBy,omitempty"`

	// source says where a GitOps change was proposed and how that place was found: from the
	// policy, or discovered from the Flux or Argo CD object that applies the target; which file
	// (layer) was edited and whether rendering proved the change.
	// +optional
	Source *GitSourceStatus `json:"source,omitempty"`

	// approval is the approval state of a plan that needs one: the plan's digest, when it
	// expires, and who decided what.
	// +optional
	Approval *ApprovalStatus `json:"approval,omitempty"`

	// retry records the last retry asked for with the heal8s.io/retry annotation.
	// +optional
	Retry *RetryStatus `json:"retry,omitempty"`

	// history lists the last phase transitions, oldest first, at most MaxHistory.
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	History []PhaseTransition `json:"history,omitempty"`
}

// Condition types and reasons of a Remediation.
const (
	// ConditionProgressing is True while the remediation is not in a terminal phase.
	ConditionProgressing = "Progressing"
	// ConditionSucceeded is True once the remediation succeeded and False once it ended otherwise.
	ConditionSucceeded = "Succeeded"
)

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rem,categories=heal8s
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Action",type=string,JSONPath=`.metadata.labels.heal8s\.io/action`
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.target.kind`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.target.name`
// +kubebuilder:printcolumn:name="Pull Request",type=string,JSONPath=`.status.pullRequest.url`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Remediation is one incident's fix: the alert, the target, the planned change and its progress.
type Remediation struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is a standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is written once from the alert and the matching rule.
	// +required
	Spec RemediationSpec `json:"spec"`

	// status is what heal8s did and observed.
	// +optional
	Status RemediationStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// RemediationList contains a list of Remediation.
type RemediationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []Remediation `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &Remediation{}, &RemediationList{})
		return nil
	})
}
