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
	"k8s.io/apimachinery/pkg/api/resource"
)

// ActionType names one member of the Action union. It is what metrics, labels and pull-request
// titles call the action, so it is stable API.
// +kubebuilder:validation:Enum=IncreaseMemory;IncreaseCPU;ScaleUp;RollbackImage
type ActionType string

const (
	// ActionIncreaseMemory raises a container's memory limit (and request) after an OOMKill.
	ActionIncreaseMemory ActionType = "IncreaseMemory"
	// ActionIncreaseCPU raises a container's CPU limit (and request) when it is throttled.
	ActionIncreaseCPU ActionType = "IncreaseCPU"
	// ActionScaleUp raises an HPA's maxReplicas, or a workload's replicas where no HPA controls it.
	ActionScaleUp ActionType = "ScaleUp"
	// ActionRollbackImage puts back the image of the newest earlier revision that is not crashing.
	ActionRollbackImage ActionType = "RollbackImage"
)

// Action is a union: exactly one member is set. It says what heal8s may change and within which
// bounds, so that every change it proposes is bounded by the policy that allowed it.
// +kubebuilder:validation:XValidation:rule="[has(self.increaseMemory), has(self.increaseCPU), has(self.scaleUp), has(self.rollbackImage)].filter(x, x).size() == 1",message="exactly one of increaseMemory, increaseCPU, scaleUp or rollbackImage must be set"
type Action struct {
	// increaseMemory raises the memory limit of the target container.
	// +optional
	IncreaseMemory *IncreaseMemoryAction `json:"increaseMemory,omitempty"`

	// increaseCPU raises the CPU limit of the target container.
	// +optional
	IncreaseCPU *IncreaseCPUAction `json:"increaseCPU,omitempty"`

	// scaleUp raises the replica ceiling of the target.
	// +optional
	ScaleUp *ScaleUpAction `json:"scaleUp,omitempty"`

	// rollbackImage restores the image of an earlier, healthy revision.
	// +optional
	RollbackImage *RollbackImageAction `json:"rollbackImage,omitempty"`
}

// Type returns which member of the union is set, or "" when none is. Callers that need exactly
// one member rely on validation having run.
func (a Action) Type() ActionType {
	switch {
	case a.IncreaseMemory != nil:
		return ActionIncreaseMemory
	case a.IncreaseCPU != nil:
		return ActionIncreaseCPU
	case a.ScaleUp != nil:
		return ActionScaleUp
	case a.RollbackImage != nil:
		return ActionRollbackImage
	}
	return ""
}

// IncreaseMemoryAction raises a memory limit by a percentage with a floor, rounding and a cap:
// new = min(max, roundUp(max(current*(1+percent/100), current+minIncrease), roundTo)).
type IncreaseMemoryAction struct {
	// percent is how much to raise the limit by, in percent of the current value.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Percent *int32 `json:"percent,omitempty"`

	// minIncrease is the smallest raise, so that small limits grow by a useful step.
	// +optional
	MinIncrease *resource.Quantity `json:"minIncrease,omitempty"`

	// roundTo rounds the new limit up to a multiple of this quantity.
	// +optional
	RoundTo *resource.Quantity `json:"roundTo,omitempty"`

	// max is the ceiling: heal8s never proposes a limit above it.
	// +optional
	Max *resource.Quantity `json:"max,omitempty"`
}

// IncreaseCPUAction raises a CPU limit by a percentage, capped.
type IncreaseCPUAction struct {
	// percent is how much to raise the limit by, in percent of the current value.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Percent *int32 `json:"percent,omitempty"`

	// max is the ceiling: heal8s never proposes a CPU limit above it.
	// +optional
	Max *resource.Quantity `json:"max,omitempty"`
}

// ScaleUpAction raises replicas (or an HPA's maxReplicas) by a percentage, at least by one, capped.
type ScaleUpAction struct {
	// percent is how much to raise the replica count by, in percent of the current value.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Percent *int32 `json:"percent,omitempty"`

	// maxReplicas is the ceiling: heal8s never proposes more replicas than this.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxReplicas *int32 `json:"maxReplicas,omitempty"`
}

// RollbackImageAction restores the image of an earlier revision.
type RollbackImageAction struct {
	// maxRevisions is how many earlier revisions, newest first, heal8s may look back through.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxRevisions *int32 `json:"maxRevisions,omitempty"`
}

// Strategy says how a planned change reaches the cluster.
// +kubebuilder:validation:Enum=GitOps;Direct;DryRun
type Strategy string

const (
	// StrategyGitOps proposes the change as a pull request against the manifest in Git.
	StrategyGitOps Strategy = "GitOps"
	// StrategyDirect patches the live object, guarded by test operations on the values it read.
	StrategyDirect Strategy = "Direct"
	// StrategyDryRun plans and records the change without applying it.
	StrategyDryRun Strategy = "DryRun"
)

// TargetKind is a kind of workload heal8s can act on.
// +kubebuilder:validation:Enum=Deployment;StatefulSet;DaemonSet;HorizontalPodAutoscaler
type TargetKind string

const (
	// TargetKindDeployment is an apps/v1 Deployment.
	TargetKindDeployment TargetKind = "Deployment"
	// TargetKindStatefulSet is an apps/v1 StatefulSet.
	TargetKindStatefulSet TargetKind = "StatefulSet"
	// TargetKindDaemonSet is an apps/v1 DaemonSet.
	TargetKindDaemonSet TargetKind = "DaemonSet"
	// TargetKindHorizontalPodAutoscaler is an autoscaling/v2 HorizontalPodAutoscaler.
	TargetKindHorizontalPodAutoscaler TargetKind = "HorizontalPodAutoscaler"
)

// APIVersion is the API version heal8s reads and patches this kind with; "" for a kind it does
// not act on. Conversion, defaulting, validation and the receiver all take it from here.
func (k TargetKind) APIVersion() string {
	switch k {
	case TargetKindDeployment, TargetKindStatefulSet, TargetKindDaemonSet:
		return "apps/v1"
	case TargetKindHorizontalPodAutoscaler:
		return "autoscaling/v2"
	}
	return ""
}
