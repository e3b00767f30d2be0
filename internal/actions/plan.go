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

package actions

import (
	"errors"
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Sentinel errors for the cases where heal8s decides not to act. The engine maps each of them to
// the Skipped phase, using the wrapped message as the reason, so they are checked with errors.Is.
var (
	// ErrAtMaximum means the value is already at or above the cap the policy allows.
	ErrAtMaximum = errors.New("already at the maximum the policy allows")
	// ErrContainerNotFound means the named container is not in the pod template, or no name was
	// given and the template has more than one container.
	ErrContainerNotFound = errors.New("container not found")
	// ErrNoCandidate means no earlier revision qualifies as a rollback target.
	ErrNoCandidate = errors.New("no rollback candidate")
	// ErrNoChange means the plan would not change anything.
	ErrNoChange = errors.New("no change needed")
	// ErrUnsupportedTarget means the action cannot act on this kind of object.
	// ErrControlled means the target is controlled by another object (a KEDA ScaledObject owns
	// its HorizontalPodAutoscaler) that would revert the change.
	ErrControlled        = errors.New("controlled by another object")
	ErrUnsupportedTarget = errors.New("unsupported target")
)

// Plan is a computed change: what was read, what will be written, the guarded patch and why. It
// is what a reviewer sees in the pull request and in Remediation.status.plan.
type Plan struct {
	// Target is the object Patch applies to. It differs from the remediation's target when a
	// ScaleUp goes through the HorizontalPodAutoscaler that controls the workload.
	Target v1beta1.TargetRef
	// Before holds the values read, keyed by readable field path.
	Before map[string]string
	// After holds the values to write, keyed like Before.
	After map[string]string
	// Patch is an RFC 6902 JSON patch: test operations on every value read, then the changes.
	Patch []byte
	// Reason explains the numbers in a sentence a reviewer understands.
	Reason string
}

// API converts the plan to the form stored in Remediation.status.plan. The maps are copied so
// the status does not alias the plan.
func (p Plan) API() v1beta1.Plan {
	return v1beta1.Plan{
		Before: maps.Clone(p.Before),
		After:  maps.Clone(p.After),
		Patch:  string(p.Patch),
		Reason: p.Reason,
	}
}

// Inputs is everything a planner may need, read by the engine from the cluster.
type Inputs struct {
	// Object is the live target: *appsv1.Deployment, *appsv1.StatefulSet, *appsv1.DaemonSet or
	// *autoscalingv2.HorizontalPodAutoscaler.
	Object runtime.Object
	// Container names the container for the resource and image actions; empty means the only one.
	Container string
	// ReplicaSets in the target's namespace, for RollbackImage on a Deployment. Those not
	// controlled by the Deployment are ignored.
	ReplicaSets []appsv1.ReplicaSet
	// ControllerRevisions in the target's namespace, for RollbackImage on a StatefulSet. Those not
	// controlled by the StatefulSet are ignored.
	ControllerRevisions []appsv1.ControllerRevision
	// HPAs in the target's namespace, for ScaleUp: when one controls the workload the plan raises
	// its maxReplicas instead of the workload's replicas. The engine must list them, or a ScaleUp
	// of an autoscaled workload would fight the autoscaler.
	HPAs []autoscalingv2.HorizontalPodAutoscaler
}

// PlanFor computes the plan for whichever member of the action union is set. It is the one entry
// point the engine calls in the Planning phase.
func PlanFor(action v1beta1.Action, in Inputs) (Plan, error) {
	switch action.Type() {
	case v1beta1.ActionIncreaseMemory:
		return PlanIncreaseMemory(in.Object, in.Container, action.IncreaseMemory)
	case v1beta1.ActionIncreaseCPU:
		return PlanIncreaseCPU(in.Object, in.Container, action.IncreaseCPU)
	case v1beta1.ActionScaleUp:
		obj := in.Object
		hpa, err := ControllingHPA(obj, in.HPAs)
		if err != nil {
			return Plan{}, err
		}
		if hpa != nil {
			obj = hpa
		}
		return PlanScaleUp(obj, action.ScaleUp)
	case v1beta1.ActionRollbackImage:
		switch o := in.Object.(type) {
		case *appsv1.Deployment:
			return PlanRollbackDeployment(o, in.ReplicaSets, in.Container, action.RollbackImage)
		case *appsv1.StatefulSet:
			return PlanRollbackStatefulSet(o, in.ControllerRevisions, in.Container, action.RollbackImage)
		default:
			return Plan{}, fmt.Errorf("planning RollbackImage for %s: %w", describe(in.Object), ErrUnsupportedTarget)
		}
	}
	return Plan{}, fmt.Errorf("planning: the action sets no member of the union: %w", ErrUnsupportedTarget)
}

// targetRef names obj the way a Remediation's target does.
func targetRef(obj runtime.Object) (v1beta1.TargetRef, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: o.Name, Namespace: o.Namespace}, nil
	case *appsv1.StatefulSet:
		return v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindStatefulSet, Name: o.Name, Namespace: o.Namespace}, nil
	case *appsv1.DaemonSet:
		return v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDaemonSet, Name: o.Name, Namespace: o.Namespace}, nil
	case *autoscalingv2.HorizontalPodAutoscaler:
		return v1beta1.TargetRef{APIVersion: "autoscaling/v2", Kind: v1beta1.TargetKindHorizontalPodAutoscaler, Name: o.Name, Namespace: o.Namespace}, nil
	}
	return v1beta1.TargetRef{}, fmt.Errorf("%s: %w", describe(obj), ErrUnsupportedTarget)
}

// describe names an object's Go type for error messages, including a nil one.
func describe(obj runtime.Object) string {
	if obj == nil {
		return "no object"
	}
	return fmt.Sprintf("%T", obj)
}
