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

import (
	"encoding/json"
	"fmt"
	"reflect"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// PatchState is what a plan's patch says about a live object.
type PatchState struct {
	// Carries means the live object already has every value the patch writes.
	Carries bool
	// TestsPass means every test operation holds: the object is as it was planned from.
	TestsPass bool
}

// CheckPatch evaluates an RFC 6902 patch against a live object's JSON without sending anything:
// whether the object already carries the patch's writes (applying them changes nothing), and
// whether its test operations still hold. The reconciler uses the first to never apply a plan
// twice after a restart, and the second to re-plan instead of sending a patch bound to fail.
func CheckPatch(live, patch []byte) (PatchState, error) {
	var ops []map[string]json.RawMessage
	if err := json.Unmarshal(patch, &ops); err != nil {
		return PatchState{}, fmt.Errorf("decoding the plan's patch: %w", err)
	}
	var writes []map[string]json.RawMessage
	for _, op := range ops {
		var kind string
		if err := json.Unmarshal(op["op"], &kind); err != nil {
			return PatchState{}, fmt.Errorf("decoding an operation of the plan's patch: %w", err)
		}
		if kind != "test" {
			writes = append(writes, op)
		}
	}
	var st PatchState
	full, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return PatchState{}, fmt.Errorf("decoding the plan's patch: %w", err)
	}
	if _, err := full.Apply(live); err == nil {
		st.TestsPass = true
	}
	rawWrites, err := json.Marshal(writes)
	if err != nil {
		return PatchState{}, fmt.Errorf("encoding the plan's writes: %w", err)
	}
	w, err := jsonpatch.DecodePatch(rawWrites)
	if err != nil {
		return PatchState{}, fmt.Errorf("decoding the plan's writes: %w", err)
	}
	after, err := w.Apply(live)
	if err != nil {
		// A write whose parent is missing cannot have been applied.
		return st, nil
	}
	var a, b any
	if err := json.Unmarshal(live, &a); err != nil {
		return PatchState{}, fmt.Errorf("decoding the live object: %w", err)
	}
	if err := json.Unmarshal(after, &b); err != nil {
		return PatchState{}, fmt.Errorf("decoding the patched object: %w", err)
	}
	st.Carries = reflect.DeepEqual(a, b)
	return st, nil
}

// RolloutHealthy reports whether a workload's controller has caught up with its latest spec and
// every desired replica runs it: observedGeneration at least the generation, and updated and
// available replicas (for a DaemonSet, scheduled pods) as desired. An HPA is healthy once its
// controller observed its generation, since its own rollout is the workload's.
func RolloutHealthy(obj *unstructured.Unstructured) bool {
	if obj == nil {
		return false
	}
	u := obj.Object
	if obj.GetKind() == "HorizontalPodAutoscaler" {
		// A raised maxReplicas rolls nothing out: the HPA itself is the change, and its
		// observedGeneration is only written by an HPA controller that can read metrics.
		return true
	}
	observed, _, _ := unstructured.NestedInt64(u, "status", "observedGeneration")
	if observed < obj.GetGeneration() {
		return false
	}
	num := func(fields ...string) int64 {
		v, _, _ := unstructured.NestedInt64(u, fields...)
		return v
	}
	switch obj.GetKind() {
	case "Deployment", "StatefulSet":
		desired, found, _ := unstructured.NestedInt64(u, "spec", "replicas")
		if !found {
			desired = 1
		}
		return num("status", "replicas") == desired && num("status", "updatedReplicas") == desired &&
			num("status", "availableReplicas") == desired
	case "DaemonSet":
		desired := num("status", "desiredNumberScheduled")
		return num("status", "updatedNumberScheduled") == desired && num("status", "numberAvailable") == desired
	}
	return false
}

// VPAFrom reads the fields the ManagedByVPA guard needs from an autoscaling.k8s.io/v1
// VerticalPodAutoscaler, so the operator needs no VPA Go types and works where the CRD is absent.
func VPAFrom(obj *unstructured.Unstructured) VPA {
	u := obj.Object
	v := VPA{Name: obj.GetName()}
	v.TargetKind, _, _ = unstructured.NestedString(u, "spec", "targetRef", "kind")
	v.TargetName, _, _ = unstructured.NestedString(u, "spec", "targetRef", "name")
	v.UpdateMode, _, _ = unstructured.NestedString(u, "spec", "updatePolicy", "updateMode")
	pols, _, _ := unstructured.NestedSlice(u, "spec", "resourcePolicy", "containerPolicies")
	for _, p := range pols {
		m, ok := p.(map[string]any)
		if !ok {
			continue
		}
		var c VPAContainerPolicy
		c.ContainerName, _, _ = unstructured.NestedString(m, "containerName")
		c.Mode, _, _ = unstructured.NestedString(m, "mode")
		c.ControlledResources, _, _ = unstructured.NestedStringSlice(m, "controlledResources")
		v.Containers = append(v.Containers, c)
	}
	return v
}
