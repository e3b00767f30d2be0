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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// RemediationPolicySpec says which alerts deserve which fix, how the fix reaches the cluster, and
// the bounds every fix must stay within.
type RemediationPolicySpec struct {
	// rules are tried in order; the first rule whose matchers all match an alert wins.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +required
	Rules []Rule `json:"rules"`

	// strategy says how a planned change reaches the cluster. Defaults to GitOps when git is set,
	// otherwise to DryRun.
	// +optional
	Strategy Strategy `json:"strategy,omitempty"`

	// git says where the manifests live, for the GitOps strategy.
	// +optional
	Git *GitSpec `json:"git,omitempty"`

	// safety bounds how often and how much heal8s may act.
	// +optional
	Safety SafetySpec `json:"safety,omitempty"`

	// verify says how a change is judged to have worked.
	// +optional
	Verify VerifySpec `json:"verify,omitempty"`

	// retention says how long the policy's finished Remediations are kept. A Remediation a
	// safety bound still counts (cooldown, budgetWindow, vetoPeriod, the hour of maxPerHour) is
	// kept until that bound no longer needs it, whatever these say.
	// +optional
	Retention RetentionSpec `json:"retention,omitempty"`

	// namespaceSelector lets a policy in the operator's own namespace act on workloads in the
	// namespaces it selects. A policy in any other namespace acts only on its own namespace and
	// must leave this empty.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// serviceAccountName names a ServiceAccount in the policy's namespace whose rights the
	// Direct strategy's patches are made with (heal8s impersonates it), so a policy can change
	// no more than that account may. Empty uses heal8s's own rights, unless the manager runs with
	// --default-service-account, which then applies to policies outside the operator namespace.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// approval Required holds every planned Direct Remediation of the policy in AwaitingApproval
	// until a person with the approve right on remediations/approval approves it (kubectl heal8s
	// approve), or rejects it (a veto). A rule's own approval wins over this. GitOps is reviewed
	// through its pull request and DryRun applies nothing, so neither waits. Defaults to NotRequired.
	// +optional
	Approval ApprovalMode `json:"approval,omitempty"`

	// approvalTimeout is how long a plan waits for a decision before the Remediation ends Skipped
	// (ApprovalExpired). Defaults to 1h.
	// +optional
	ApprovalTimeout *metav1.Duration `json:"approvalTimeout,omitempty"`
}

// RetentionSpec bounds how many finished (Succeeded, Failed, Skipped, Superseded) Remediations a
// policy leaves in the cluster, in the manner of a Job's ttlSecondsAfterFinished and a
// CronJob's history limits. Their outcomes stay counted in heal8s's metrics and in the
// policy's status after they are deleted.
type RetentionSpec struct {
	// ttlSecondsAfterFinished deletes a finished Remediation this long after it finished.
	// Defaults to 604800 (7 days); 0 deletes it as soon as no safety bound needs it.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// historyLimit keeps at most this many finished Remediations per target (the newest),
	// deleting older ones before their TTL. Defaults to 10.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	HistoryLimit *int32 `json:"historyLimit,omitempty"`
}

// Rule maps alerts to an action.
type Rule struct {
	// name identifies the rule in the policy, in Remediation names, labels and metrics.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`

	// matchers use Alertmanager's matcher syntax (alertname="KubePodOOMKilled",
	// severity=~"warning|critical", !=, !~); all must match.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +required
	Matchers []string `json:"matchers"`

	// action is what to do about a matching alert.
	// +required
	Action Action `json:"action"`

	// target overrides how the target workload is read from the alert's labels.
	// +optional
	Target *TargetOverride `json:"target,omitempty"`

	// approval overrides the policy's spec.approval for this rule's Remediations.
	// +optional
	Approval ApprovalMode `json:"approval,omitempty"`
}

// TargetOverride changes how a rule reads its target from an alert, for alerts whose labels do
// not follow kube-state-metrics' names.
type TargetOverride struct {
	// kind fixes the target's kind instead of inferring it from which labels are present.
	// +optional
	Kind TargetKind `json:"kind,omitempty"`

	// nameLabel names the alert label that holds the target's name.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	NameLabel string `json:"nameLabel,omitempty"`

	// containerLabel names the alert label that holds the container's name. Without it, the
	// container label is read only when the target comes from a pod label: on an alert that names
	// a workload (deployment, statefulset, daemonset, horizontalpodautoscaler) the pod and
	// container labels usually belong to the exporter that was scraped, not to the workload.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	ContainerLabel string `json:"containerLabel,omitempty"`

	// namespaceLabel names the alert label that holds the target's namespace, for rules whose
	// alerts carry it under another name (a recording rule's target_namespace, say). Without it
	// the namespace is read from exported_namespace when the scrape renamed it (honorLabels:
	// false), else from namespace.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	NamespaceLabel string `json:"namespaceLabel,omitempty"`
}

// GitProvider names a Git hosting service.
// +kubebuilder:validation:Enum=github;gitlab
type GitProvider string

const (
	// GitProviderGitHub is github.com or a GitHub Enterprise server.
	GitProviderGitHub GitProvider = "github"
	// GitProviderGitLab is gitlab.com or a self-managed GitLab: merge requests instead of pull
	// requests, a project path with nested groups instead of owner/name.
	GitProviderGitLab GitProvider = "gitlab"
)

// GitSpec says where the manifests live and how to reach them.
// +kubebuilder:validation:XValidation:rule="(has(self.provider) && self.provider == 'gitlab') || !has(self.repository) || self.repository.matches('^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$')",message="a GitHub repository is owner/name; nested groups (group/sub/project) are for provider gitlab"
type GitSpec struct {
	// provider is the Git hosting service: github (default) or gitlab.
	// +optional
	Provider GitProvider `json:"provider,omitempty"`

	// repository is "owner/name" on GitHub, the project path ("group/project" or
	// "group/subgroup/project") on GitLab. It may be left out when the targets are applied by
	// Flux or Argo CD: heal8s then takes the repository, branch and directory from the
	// Kustomization, HelmRelease or Application that claims the target (see docs/policies.md,
	// "GitOps source discovery"); when set, a discovered repository must be this one.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`
	// +optional
	Repository string `json:"repository,omitempty"`

	// baseBranch is the branch pull requests target. Defaults to main.
	// +optional
	BaseBranch string `json:"baseBranch,omitempty"`

	// path is a Go template over .Namespace, .Name and .Kind giving the manifest's file, tried
	// after the heal8s.io/source-path annotation and before a search of the repository.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Path string `json:"path,omitempty"`

	// secretRef names a Secret in the operator's namespace holding either a GitHub App
	// (appID, installationID, privateKey) or a token (GitHub: a personal or fine-grained token;
	// GitLab: a personal, group or project access token with the api scope).
	// +required
	SecretRef corev1.LocalObjectReference `json:"secretRef"`

	// baseURL is the API address of a GitHub Enterprise server (https://ghe.example.com/api/v3),
	// or the address of a self-managed GitLab (https://gitlab.example.com; /api/v4 is added);
	// empty means github.com or gitlab.com.
	// +optional
	BaseURL string `json:"baseURL,omitempty"`
}

// GitLabDefaultURL is the address of gitlab.com, the baseURL of a GitLab policy without one.
const GitLabDefaultURL = "https://gitlab.com"

// EffectiveBaseURL is the address requests go to, which the Git host allowlist and the
// Secret's heal8s.io/git-host are checked against: baseURL, or gitlab.com's for a GitLab policy
// without one ("" stays github.com's).
func (g *GitSpec) EffectiveBaseURL() string {
	if g.BaseURL == "" && g.Provider == GitProviderGitLab {
		return GitLabDefaultURL
	}
	return g.BaseURL
}

// SafetySpec bounds how often and how much heal8s may act, so that a flapping alert cannot turn
// into a ladder of changes.
type SafetySpec struct {
	// suspend stops the policy from starting new remediations.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// pauseRequests are named pauses (a maintenance window, a deploy freeze, an incident): while
	// any is present the policy starts no new remediation, as with suspend. Several tools or people
	// pause independently, each adding and removing its own name (kubectl heal8s pause / resume).
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.@:]*[A-Za-z0-9])?$`
	// +listType=set
	// +optional
	PauseRequests []string `json:"pauseRequests,omitempty"`

	// cooldown is the least time between two remediations of the same action on the same target.
	// +optional
	Cooldown *metav1.Duration `json:"cooldown,omitempty"`

	// maxConcurrent is how many of this policy's remediations may be open at once.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxConcurrent *int32 `json:"maxConcurrent,omitempty"`

	// maxPerHour is how many remediations this policy may start in any hour.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxPerHour *int32 `json:"maxPerHour,omitempty"`

	// maxPerTarget is how many remediations one target may receive within budgetWindow; past it
	// a leak or a deeper fault is likely and heal8s stops.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxPerTarget *int32 `json:"maxPerTarget,omitempty"`

	// budgetWindow is the window maxPerTarget counts in.
	// +optional
	BudgetWindow *metav1.Duration `json:"budgetWindow,omitempty"`

	// vetoPeriod is how long a pull request closed by a human without merging suppresses the
	// same action on the same target.
	// +optional
	VetoPeriod *metav1.Duration `json:"vetoPeriod,omitempty"`
}

// VerifySpec says how a change is judged to have worked.
type VerifySpec struct {
	// window is how long the alert must stay quiet after the change for it to count as healed.
	// +optional
	Window *metav1.Duration `json:"window,omitempty"`

	// applyTimeout is how long heal8s waits, after a pull request merges, for the live object to
	// carry the planned values.
	// +optional
	ApplyTimeout *metav1.Duration `json:"applyTimeout,omitempty"`
}

// RemediationPolicyStatus is what the controller observed of the policy.
type RemediationPolicyStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready says whether every rule compiled; its message names the rule that did not.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// compiledRules is how many rules are in the routing table.
	// +optional
	CompiledRules int32 `json:"compiledRules,omitempty"`

	// lastMatchTime is when an alert last matched one of the rules.
	// +optional
	LastMatchTime *metav1.Time `json:"lastMatchTime,omitempty"`

	// expired records the outcomes of the policy's finished Remediations that spec.retention
	// deleted, so what heal8s did stays visible after the Remediations are gone. It is bounded:
	// counts per phase and reason, and the last few deleted.
	// +optional
	Expired *ExpiredOutcomes `json:"expired,omitempty"`
}

// MaxExpiredOutcomeCounts bounds status.expired.byOutcome; outcomes past it are counted under
// the reason ExpiredOtherReason of their phase.
const MaxExpiredOutcomeCounts = 64

// MaxExpiredRecent bounds status.expired.recent.
const MaxExpiredRecent = 10

// ExpiredOtherReason collects the outcomes that do not fit in MaxExpiredOutcomeCounts.
const ExpiredOtherReason = "Other"

// ExpiredOutcomes is a bounded record of the finished Remediations retention deleted.
type ExpiredOutcomes struct {
	// total is how many of the policy's finished Remediations retention deleted.
	// +optional
	Total int64 `json:"total,omitempty"`

	// byOutcome counts them per phase and reason.
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=phase
	// +listMapKey=reason
	// +optional
	ByOutcome []OutcomeCount `json:"byOutcome,omitempty"`

	// recent lists the last deleted, newest first, at most MaxExpiredRecent.
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	// +optional
	Recent []ExpiredRemediation `json:"recent,omitempty"`

	// lastDeletionTime is when retention last deleted one of the policy's Remediations.
	// +optional
	LastDeletionTime *metav1.Time `json:"lastDeletionTime,omitempty"`
}

// OutcomeCount is how many deleted Remediations ended in one phase with one reason.
type OutcomeCount struct {
	// phase the Remediations ended in.
	// +required
	Phase Phase `json:"phase"`

	// reason they ended with; empty when none was recorded.
	// +kubebuilder:validation:MaxLength=128
	// +required
	Reason string `json:"reason"`

	// count of deleted Remediations with this outcome.
	// +required
	Count int64 `json:"count"`
}

// ExpiredRemediation is what is kept of one deleted Remediation.
type ExpiredRemediation struct {
	// name of the deleted Remediation.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// namespace of the deleted Remediation.
	// +kubebuilder:validation:MaxLength=63
	// +required
	Namespace string `json:"namespace"`

	// target is "<kind>/<name>" of the workload it was about.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Target string `json:"target,omitempty"`

	// action it took or planned.
	// +optional
	Action ActionType `json:"action,omitempty"`

	// phase it ended in.
	// +required
	Phase Phase `json:"phase"`

	// reason it ended with.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Reason string `json:"reason,omitempty"`

	// completedAt is when it finished.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`

	// deletedAt is when retention deleted it.
	// +required
	DeletedAt metav1.Time `json:"deletedAt"`
}

// Condition types and reasons of a RemediationPolicy.
const (
	// ConditionReady is True when every rule compiled and the policy is in the routing table.
	ConditionReady = "Ready"
	// CompiledReason means every rule compiled.
	CompiledReason = "Compiled"
	// CompileFailedReason means a rule did not compile; the message names it and the error.
	CompileFailedReason = "CompileFailed"
	// SuspendedReason means the policy is suspended and starts no remediation.
	SuspendedReason = "Suspended"
	// PausedReason means the policy has at least one pause request (spec.safety.pauseRequests)
	// and starts no remediation; the message names them.
	PausedReason = "Paused"

	// ConditionGitAccess says, for a policy with a git section, whether the credential Secret it
	// names may be used by it towards its host and repository (the platform's grant). False
	// means its GitOps remediations will end GitAccessDenied.
	ConditionGitAccess = "GitAccess"
	// GitAccessGrantedReason means the Secret grants this policy its host and repository.
	GitAccessGrantedReason = "Granted"
	// GitAccessDeniedReason means the Secret does not grant it, or its host is not allowed.
	GitAccessDeniedReason = "Denied"
	// SecretNotFoundReason means the Secret git.secretRef names does not exist.
	SecretNotFoundReason = "SecretNotFound"
)

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rempol,categories=heal8s
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.spec.strategy`
// +kubebuilder:printcolumn:name="Rules",type=integer,JSONPath=`.status.compiledRules`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.safety.suspend`,priority=1
// +kubebuilder:printcolumn:name="Paused",type=string,JSONPath=`.spec.safety.pauseRequests`
// +kubebuilder:printcolumn:name="Approval",type=string,JSONPath=`.spec.approval`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// RemediationPolicy says which alerts deserve which fix and within which bounds.
type RemediationPolicy struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is a standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the desired behaviour.
	// +required
	Spec RemediationPolicySpec `json:"spec"`

	// status is what the controller observed.
	// +optional
	Status RemediationPolicyStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// RemediationPolicyList contains a list of RemediationPolicy.
type RemediationPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []RemediationPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &RemediationPolicy{}, &RemediationPolicyList{})
		return nil
	})
}
