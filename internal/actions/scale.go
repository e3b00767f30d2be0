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
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// ControllingHPA returns the HorizontalPodAutoscaler whose scaleTargetRef names the workload, or
// nil when none does, so that a ScaleUp raises the autoscaler's ceiling instead of fighting it by
// setting replicas. HPAs in other namespaces are ignored. Two HPAs on one workload (which the HPA
// controller itself refuses to act on) is ErrUnsupportedTarget.
func ControllingHPA(workload runtime.Object, hpas []autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	ref, err := targetRef(workload)
	if err != nil || ref.Kind == v1beta1.TargetKindHorizontalPodAutoscaler {
		return nil, nil //nolint:nilerr // Only workloads have a controlling HPA.
	}
	var found []*autoscalingv2.HorizontalPodAutoscaler
	for i := range hpas {
		h := &hpas[i]
		st := h.Spec.ScaleTargetRef
		if h.Namespace != ref.Namespace || st.Kind != string(ref.Kind) || st.Name != ref.Name {
			continue
		}
		gv, err := schema.ParseGroupVersion(st.APIVersion)
		if err != nil || gv.Group != appsv1.GroupName {
			continue
		}
		found = append(found, h)
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	names := make([]string, 0, len(found))
	for _, h := range found {
		names = append(names, h.Name)
	}
	return nil, fmt.Errorf("%s %s is targeted by %d HorizontalPodAutoscalers (%s): %w",
		ref.Kind, ref.Name, len(found), strings.Join(names, ", "), ErrUnsupportedTarget)
}

// PlanScaleUp raises an HPA's spec.maxReplicas, or a Deployment's or StatefulSet's spec.replicas:
// new = min(maxReplicas, max(current+1, ceil(current*(1+percent/100)))). Callers with a workload
// must check ControllingHPA first (PlanFor does). A nil params uses the v1beta1 defaults.
func PlanScaleUp(obj runtime.Object, params *v1beta1.ScaleUpAction) (Plan, error) {
	if params == nil {
		params = &v1beta1.ScaleUpAction{}
	}
	percent := int64(valueOrDefault(params.Percent, v1beta1.DefaultScaleUpPercent))
	ceiling := int64(valueOrDefault(params.MaxReplicas, v1beta1.DefaultScaleUpMaxReplicas))

	var current int64
	var field string
	switch o := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		if o != nil {
			if ref := metav1.GetControllerOf(o); ref != nil {
				return Plan{}, fmt.Errorf("planning ScaleUp for HorizontalPodAutoscaler %s/%s: it is controlled by %s %s (%s), "+
					"which would revert maxReplicas; raise the limit there (for KEDA, the ScaledObject's maxReplicaCount): %w",
					o.Namespace, o.Name, ref.Kind, ref.Name, ref.APIVersion, ErrControlled)
			}
			current, field = int64(o.Spec.MaxReplicas), "maxReplicas"
		}
	case *appsv1.Deployment:
		if o != nil {
			current, field = int64(valueOrDefault(o.Spec.Replicas, 1)), "replicas"
		}
	case *appsv1.StatefulSet:
		if o != nil {
			current, field = int64(valueOrDefault(o.Spec.Replicas, 1)), "replicas"
		}
	}
	if field == "" {
		return Plan{}, fmt.Errorf("planning ScaleUp for %s: only a HorizontalPodAutoscaler, Deployment or StatefulSet can be scaled: %w",
			describe(obj), ErrUnsupportedTarget)
	}
	ref, err := targetRef(obj)
	if err != nil {
		return Plan{}, fmt.Errorf("planning ScaleUp: %w", err)
	}
	key := "spec." + field
	if current >= ceiling {
		return Plan{}, fmt.Errorf("planning ScaleUp for %s %s: %s is %d, at or above the policy maximum of %d: %w",
			ref.Kind, ref.Name, key, current, ceiling, ErrAtMaximum)
	}
	byPercent := mulDivCeil(current, 100+percent, 100)
	next := max(current+1, byPercent)
	steps := fmt.Sprintf("+%d%% of %d rounded up is %d, at least one more is %d", percent, current, byPercent, current+1)
	if next > ceiling {
		next = ceiling
		steps += fmt.Sprintf(", capped at the policy maximum of %d", ceiling)
	} else {
		steps += fmt.Sprintf(", within the policy maximum of %d", ceiling)
	}

	b, err := newPatchBuilder(obj)
	if err != nil {
		return Plan{}, fmt.Errorf("planning ScaleUp: %w", err)
	}
	if err := b.set([]string{"spec", field}, next); err != nil {
		return Plan{}, fmt.Errorf("planning ScaleUp: %w", err)
	}
	patch, err := b.build()
	if err != nil {
		return Plan{}, fmt.Errorf("planning ScaleUp: %w", err)
	}
	reason := fmt.Sprintf("Raise %s of %s %s from %d to %d: %s.", key, ref.Kind, ref.Name, current, next, steps)
	if ref.Kind == v1beta1.TargetKindHorizontalPodAutoscaler {
		reason += " The autoscaler keeps deciding the replica count; heal8s only lifts its ceiling."
	}
	before := map[string]string{}
	if _, set := lookup(b.orig, []string{"spec", field}); set {
		before[key] = strconv.FormatInt(current, 10)
	} else {
		reason += fmt.Sprintf(" %s was unset, which Kubernetes reads as 1.", key)
	}
	return Plan{
		Target: ref,
		Before: before,
		After:  map[string]string{key: strconv.FormatInt(next, 10)},
		Patch:  patch,
		Reason: reason,
	}, nil
}
