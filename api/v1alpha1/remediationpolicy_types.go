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

// RemediationPolicySpec is v1alpha1's flat policy: each rule matches one alertname.
type RemediationPolicySpec struct {
	// rules map alert names to actions, tried in order.
	// +optional
	Rules []Rule `json:"rules,omitempty"`

	// strategy is GitOps, Direct or DryRun.
	// +optional
	Strategy string `json:"strategy,omitempty"`

	// repository is "owner/name" of the Git repository holding the manifests, for GitOps.
	// +optional
	Repository string `json:"repository,omitempty"`

	// baseBranch is the branch pull requests target.
	// +optional
	BaseBranch string `json:"baseBranch,omitempty"`

	// secretName names the Secret with the Git credentials, in the operator's namespace.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// suspend stops the policy from starting new remediations.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// cooldown is the least time between two remediations of the same target and action.
	// +optional
	Cooldown *metav1.Duration `json:"cooldown,omitempty"`
}

// Rule is v1alpha1's rule: an alert name, an action name and string parameters.
type Rule struct {
	// name of the rule.
	// +optional
	Name string `json:"name,omitempty"`

	// alertName is the alertname the rule matches.
	// +optional
	AlertName string `json:"alertName,omitempty"`

	// action is one of IncreaseMemory, IncreaseCPU, ScaleUp, RollbackImage.
	// +optional
	Action string `json:"action,omitempty"`

	// params are the action's parameters as strings.
	// +optional
	Params map[string]string `json:"params,omitempty"`
}

// RemediationPolicyStatus is v1alpha1's policy status.
type RemediationPolicyStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions of the policy.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rempol,categories=heal8s
// +kubebuilder:deprecatedversion:warning="heal8s.io/v1alpha1 RemediationPolicy is deprecated; use heal8s.io/v1beta1"
// +kubebuilder:unservedversion
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.spec.strategy`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// RemediationPolicy is v1alpha1's shape of a policy. The API server no longer serves it
// (docs/api-versions.md); kubectl heal8s still reads it from files and converts it.
type RemediationPolicy struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is a standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec of the policy.
	// +optional
	Spec RemediationPolicySpec `json:"spec,omitzero"`

	// status of the policy.
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
