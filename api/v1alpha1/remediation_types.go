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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// RemediationSpec is v1alpha1's flat shape: the action as a name and its parameters as strings.
type RemediationSpec struct {
	// policy is the name of the RemediationPolicy that matched, in policyNamespace.
	// +optional
	Policy string `json:"policy,omitempty"`

	// policyNamespace is the namespace of the policy; empty means the Remediation's own.
	// +optional
	PolicyNamespace string `json:"policyNamespace,omitempty"`

	// rule is the name of the rule that matched.
	// +optional
	Rule string `json:"rule,omitempty"`

	// alertName is the alertname label of the alert.
	// +optional
	AlertName string `json:"alertName,omitempty"`

	// fingerprint is Alertmanager's fingerprint of the alert.
	// +optional
	Fingerprint string `json:"fingerprint,omitempty"`

	// alertLabels are the alert's labels.
	// +optional
	AlertLabels map[string]string `json:"alertLabels,omitempty"`

	// target is the workload to change.
	// +optional
	Target Target `json:"target,omitempty"`

	// action is one of IncreaseMemory, IncreaseCPU, ScaleUp, RollbackImage.
	// +optional
	Action string `json:"action,omitempty"`

	// params are the action's parameters as strings (percent, minIncrease, roundTo, max,
	// maxReplicas, maxRevisions).
	// +optional
	Params map[string]string `json:"params,omitempty"`

	// strategy is GitOps, Direct or DryRun.
	// +optional
	Strategy string `json:"strategy,omitempty"`
}

// Target is v1alpha1's target reference.
type Target struct {
	// kind of the target, e.g. Deployment.
	// +optional
	Kind string `json:"kind,omitempty"`

	// name of the target.
	// +optional
	Name string `json:"name,omitempty"`

	// namespace of the target.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// container to change.
	// +optional
	Container string `json:"container,omitempty"`
}

// RemediationStatus is v1alpha1's status.
type RemediationStatus struct {
	// phase of the remediation.
	// +optional
	Phase string `json:"phase,omitempty"`

	// message explains the phase.
	// +optional
	Message string `json:"message,omitempty"`

	// prURL is the pull request's address, for GitOps.
	// +optional
	PRURL string `json:"prURL,omitempty"`

	// prNumber is the pull request's number, for GitOps.
	// +optional
	PRNumber int32 `json:"prNumber,omitempty"`

	// conditions of the remediation.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rem,categories=heal8s
// +kubebuilder:deprecatedversion:warning="heal8s.io/v1alpha1 Remediation is deprecated; use heal8s.io/v1beta1"
// +kubebuilder:unservedversion
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Action",type=string,JSONPath=`.spec.action`
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.target.kind`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.target.name`
// +kubebuilder:printcolumn:name="Pull Request",type=string,JSONPath=`.status.prURL`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Remediation is v1alpha1's shape of a remediation. The API server no longer serves it
// (docs/api-versions.md); the CRD keeps it, unserved, so objects an early install stored in it
// are still read, converted to v1beta1 (the storage version) by the conversion webhook. What
// this version cannot hold is kept in an annotation.
type Remediation struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is a standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec of the remediation.
	// +optional
	Spec RemediationSpec `json:"spec,omitzero"`

	// status of the remediation.
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
