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

// Reasons a transition gives, every one of them: the controller has none of its own. They land
// in status.reason, the conditions, Events and the
// heal8s_remediations_failed_total{reason} label, so they are stable API in UpperCamel.
const (
	// WaitingReason means nothing happened that moves the remediation; it keeps its phase.
	WaitingReason = "Waiting"
	// GuardsPassedReason means every safety guard allowed the remediation to start.
	GuardsPassedReason = "GuardsPassed"
	// PlannedReason means a change was computed from the live target.
	PlannedReason = "Planned"
	// DryRunReason means the strategy is DryRun: the plan is recorded and nothing is applied.
	DryRunReason = "DryRun"
	// AppliedReason means the Direct patch was accepted by the API server.
	AppliedReason = "Applied"
	// AlreadyAppliedReason means the live object already carries the planned values, so the
	// patch is not sent again (a restart after the patch, or a merged change already synced).
	AlreadyAppliedReason = "AlreadyApplied"
	// TargetChangedReason means the target changed between planning and applying (a test
	// operation failed); the remediation plans again from the new values instead of clobbering.
	TargetChangedReason = "TargetChanged"
	// ConflictRetriesExhaustedReason means the target kept changing under heal8s for
	// Settings.MaxAttempts plans in a row; someone else is editing it, so heal8s stops.
	ConflictRetriesExhaustedReason = "ConflictRetriesExhausted"
	// PullRequestOpenedReason means a pull request holds the change and waits for review.
	PullRequestOpenedReason = "PullRequestOpened"
	// MergedReason means the pull request was merged; heal8s waits for the change to go live.
	MergedReason = "Merged"
	// RejectedReason means a human closed the pull request without merging it, or rejected the
	// plan awaiting approval: a veto.
	RejectedReason = "Rejected"
	// ChangeLiveReason means the merged change reached the live object.
	ChangeLiveReason = "ChangeLive"
	// ApplyTimeoutReason means the merged change did not reach the live object within
	// verify.applyTimeout; the GitOps tool syncing the repository is likely stuck.
	ApplyTimeoutReason = "ApplyTimeout"
	// AlertResolvedReason means the rollout is healthy and Alertmanager resolved the alert.
	AlertResolvedReason = "AlertResolved"
	// VerifyWindowPassedReason means the rollout is healthy and the alert stayed quiet for the
	// whole verify.window.
	VerifyWindowPassedReason = "VerifyWindowPassed"
	// AlertRefiredReason means the alert fired again after the change: the fix did not heal, and
	// a person should look.
	AlertRefiredReason = "AlertRefired"
	// AlertStillFiringReason means the alert kept firing through the whole verify.window after
	// the change and never resolved: the fix did not heal, and a person should look.
	AlertStillFiringReason = "AlertStillFiring"
	// RolloutUnhealthyReason means the rollout did not become healthy within the later of
	// verify.window and verify.applyTimeout after the change.
	RolloutUnhealthyReason = "RolloutUnhealthy"
	// SupersededReason means a newer remediation of the same action on the same target took over
	// before this one applied anything; status.supersededBy names it, and its pull request, if
	// any, was closed with a comment naming it.
	SupersededReason = "Superseded"
	// StepFailedReason is the fallback reason of a step that failed for good without a more
	// specific one.
	StepFailedReason = "StepFailed"
)

// Reasons the guards of the Pending phase give.
const (
	// PolicyNotFoundReason means the RemediationPolicy the remediation names no longer exists.
	PolicyNotFoundReason = "PolicyNotFound"
	// PolicySuspendedReason means the policy is suspended and starts no remediation.
	PolicySuspendedReason = "PolicySuspended"
	// TargetOutOfScopeReason means the target is not in the Remediation's own namespace, or the
	// policy lives in another namespace than the Remediation and is not the operator's: acting
	// would let whoever wrote the Remediation change a workload the policy does not cover.
	TargetOutOfScopeReason = "TargetOutOfScope"
	// ProtectedNamespaceReason means the target is in a namespace heal8s never changes (kube-*,
	// the operator's own, --protected-namespaces).
	ProtectedNamespaceReason = "ProtectedNamespace"
	// PolicyMismatchReason means the Remediation asks for more than its policy allows now: its
	// rule is gone, or names another action or strategy.
	PolicyMismatchReason = "PolicyMismatch"
	// TargetNotFoundReason means the target workload does not exist.
	TargetNotFoundReason = "TargetNotFound"
	// InProgressReason means another remediation of the same action on the same target is
	// already under way; the message names it.
	InProgressReason = "InProgress"
	// SupersedingReason means another open remediation of the same action on the same target has
	// applied nothing yet: the newer of the two supersedes the older, and this one waits until the
	// older has ended.
	SupersedingReason = "Superseding"
	// VetoedReason means a human rejected the same action on the same target within vetoPeriod.
	VetoedReason = "Vetoed"
	// BudgetExhaustedReason means the target received maxPerTarget remediations within
	// budgetWindow: a leak or a deeper fault is likely, and another bump would only hide it.
	BudgetExhaustedReason = "BudgetExhausted"
	// ManagedByVPAReason means a VerticalPodAutoscaler in Auto or Recreate mode manages the
	// resource the action would change; heal8s would fight it.
	ManagedByVPAReason = "ManagedByVPA"
	// CooldownReason means the same action on the same target completed less than cooldown ago.
	CooldownReason = "Cooldown"
	// MaxPerHourReason means the policy started maxPerHour remediations in the last hour.
	MaxPerHourReason = "MaxPerHour"
	// MaxConcurrentReason means maxConcurrent of the policy's remediations are under way.
	MaxConcurrentReason = "MaxConcurrent"
)

// Reasons of the steps' permanent failures (Failed); Classify maps errors to most of them.
const (
	// PlanFailedReason means a planner failed in a way retrying cannot fix (a value it cannot parse).
	PlanFailedReason = "PlanFailed"
	// NoPlanReason means a remediation reached a phase that needs a plan without one (written by hand).
	NoPlanReason = "NoPlan"
	// GitNotConfiguredReason means a GitOps remediation's policy is gone, has no git section, or no
	// provider factory is wired.
	GitNotConfiguredReason = "GitNotConfigured"
	// GitAccessDeniedReason means a GitOps remediation's policy may not use the credential it
	// names, or not towards the host or repository it names (see internal/gitaccess). Nothing was
	// sent anywhere.
	GitAccessDeniedReason = "GitAccessDenied"
	// ManifestNotFoundReason means no document in the repository declares the target.
	ManifestNotFoundReason = "ManifestNotFound"
	// ManifestAmbiguousReason means several documents declare the target; the
	// heal8s.io/source-path annotation settles it.
	ManifestAmbiguousReason = "ManifestAmbiguous"
	// PatchRejectedReason means the API server refused a Direct patch whose test operations
	// held: validation or an admission policy forbids the planned values.
	PatchRejectedReason = "PatchRejected"
	// ForbiddenReason means the identity a Direct patch is made with (the policy's
	// ServiceAccount) may not make it: the policy asked for no more rights than that account has.
	ForbiddenReason = "Forbidden"
	// ProposalInvalidReason means the Git provider refused the proposal as built (a missing field,
	// nothing to change in the manifest).
	ProposalInvalidReason = "ProposalInvalid"
	// InvalidPathTemplateReason means the policy's git.path is more than plain text with the
	// placeholders {{ .Namespace }}, {{ .Name }}, {{ .Kind }}, or expands to nothing. It is never
	// executed.
	InvalidPathTemplateReason = "InvalidPathTemplate"
	// BranchNotOwnedReason means the branch heal8s/<remediation> (or a pull request from it)
	// exists and was not made by heal8s for this Remediation: heal8s does not adopt it.
	BranchNotOwnedReason = "BranchNotOwned"
	// GitSourceRefusedReason means the repository discovered from Flux or Argo CD is not one the
	// policy may propose to (another host than its credentials', another repository than its
	// spec.git.repository), or discovery found nothing and the policy names no repository.
	GitSourceRefusedReason = "GitSourceRefused"
	// RenderProofFailedReason means no edit of the repository renders to exactly the planned
	// change on the target without changing anything else (internal/gitops/overlay), or no
	// Helm values key demonstrably produces the field (internal/gitops/helmvalues).
	RenderProofFailedReason = "RenderProofFailed"
)

// Reasons for not acting that the planners of internal/actions report as sentinel errors.
const (
	// AtMaximumReason means the value is already at the cap the policy allows.
	AtMaximumReason = "AtMaximum"
	// ContainerNotFoundReason means the named container is not in the pod template.
	ContainerNotFoundReason = "ContainerNotFound"
	// NoCandidateReason means no earlier revision qualifies for a rollback.
	NoCandidateReason = "NoCandidate"
	// NoChangeReason means the plan would change nothing.
	NoChangeReason = "NoChange"
	// UnsupportedTargetReason means the action cannot act on the target's kind.
	UnsupportedTargetReason = "UnsupportedTarget"
	// ControlledHPAReason means the HorizontalPodAutoscaler is controlled by another object (a KEDA
	// ScaledObject) that would revert a change to it.
	ControlledHPAReason = "ControlledHPA"
)
