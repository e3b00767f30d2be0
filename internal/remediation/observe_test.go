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
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestCheckPatch(t *testing.T) {
	patch := `[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":3}]`
	addPatch := `[{"op":"test","path":"/spec/template","value":{}},{"op":"add","path":"/spec/template/limits","value":{"memory":"1Gi"}}]`
	tests := []struct {
		name, live, patch string
		want              PatchState
	}{
		{"as planned", `{"spec":{"replicas":2}}`, patch, PatchState{TestsPass: true}},
		{"already applied", `{"spec":{"replicas":3}}`, patch, PatchState{Carries: true}},
		{"changed by someone else", `{"spec":{"replicas":5}}`, patch, PatchState{}},
		{"add into an empty parent", `{"spec":{"template":{}}}`, addPatch, PatchState{TestsPass: true}},
		{"add already applied", `{"spec":{"template":{"limits":{"memory":"1Gi"}}}}`, addPatch, PatchState{Carries: true}},
		{"parent gone", `{"spec":{}}`, addPatch, PatchState{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := CheckPatch([]byte(tt.live), []byte(tt.patch))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
	g := NewWithT(t)
	_, err := CheckPatch([]byte(`{}`), []byte(`not json`))
	g.Expect(err).To(HaveOccurred())
}

func TestRolloutHealthy(t *testing.T) {
	obj := func(kind string, gen int64, spec, status map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"kind": kind, "spec": spec, "status": status}}
		u.SetGeneration(gen)
		return u
	}
	full := map[string]any{"observedGeneration": int64(2), "replicas": int64(3), "updatedReplicas": int64(3), "availableReplicas": int64(3)}
	tests := []struct {
		name string
		obj  *unstructured.Unstructured
		want bool
	}{
		{"deployment rolled out", obj("Deployment", 2, map[string]any{"replicas": int64(3)}, full), true},
		{"deployment generation not observed", obj("Deployment", 3, map[string]any{"replicas": int64(3)}, full), false},
		{"deployment updating", obj("Deployment", 2, map[string]any{"replicas": int64(3)},
			map[string]any{"observedGeneration": int64(2), "replicas": int64(4), "updatedReplicas": int64(2), "availableReplicas": int64(3)}), false},
		{"deployment scaled up, not available yet", obj("Deployment", 2, map[string]any{"replicas": int64(4)}, full), false},
		{"statefulset rolled out", obj("StatefulSet", 2, map[string]any{"replicas": int64(3)}, full), true},
		{"replicas defaulted to one", obj("Deployment", 1, map[string]any{},
			map[string]any{"observedGeneration": int64(1), "replicas": int64(1), "updatedReplicas": int64(1), "availableReplicas": int64(1)}), true},
		{"daemonset rolled out", obj("DaemonSet", 1, map[string]any{}, map[string]any{"observedGeneration": int64(1),
			"desiredNumberScheduled": int64(2), "updatedNumberScheduled": int64(2), "numberAvailable": int64(2)}), true},
		{"daemonset updating", obj("DaemonSet", 1, map[string]any{}, map[string]any{"observedGeneration": int64(1),
			"desiredNumberScheduled": int64(2), "updatedNumberScheduled": int64(1), "numberAvailable": int64(2)}), false},
		{"hpa observed", obj("HorizontalPodAutoscaler", 1, map[string]any{}, map[string]any{"observedGeneration": int64(1)}), true},
		{"unknown kind", obj("Pod", 1, map[string]any{}, full), false},
		{"nothing", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(RolloutHealthy(tt.obj)).To(Equal(tt.want))
		})
	}
}

func TestVPAFrom(t *testing.T) {
	g := NewWithT(t)
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "web-vpa"},
		"spec": map[string]any{
			"targetRef":    map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
			"updatePolicy": map[string]any{"updateMode": "Recreate"},
			"resourcePolicy": map[string]any{"containerPolicies": []any{
				map[string]any{"containerName": "app", "mode": "Off"},
				map[string]any{"containerName": "*", "controlledResources": []any{"cpu"}},
			}},
		},
	}}
	g.Expect(VPAFrom(u)).To(Equal(VPA{Name: "web-vpa", TargetKind: "Deployment", TargetName: "web", UpdateMode: "Recreate",
		Containers: []VPAContainerPolicy{{ContainerName: "app", Mode: "Off"}, {ContainerName: "*", ControlledResources: []string{"cpu"}}}}))
}
