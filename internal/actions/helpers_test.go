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
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// ctr builds a container; limits and requests are "resource=quantity" pairs, e.g. "memory=512Mi".
func ctr(name string, limits, requests map[corev1.ResourceName]string) corev1.Container {
	c := corev1.Container{Name: name, Image: name + ":v1"}
	if limits != nil {
		c.Resources.Limits = corev1.ResourceList{}
		for k, v := range limits {
			c.Resources.Limits[k] = resource.MustParse(v)
		}
	}
	if requests != nil {
		c.Resources.Requests = corev1.ResourceList{}
		for k, v := range requests {
			c.Resources.Requests[k] = resource.MustParse(v)
		}
	}
	return c
}

// mem is a one-entry memory ResourceList spec for ctr, or nil for "".
func mem(q string) map[corev1.ResourceName]string {
	if q == "" {
		return nil
	}
	return map[corev1.ResourceName]string{corev1.ResourceMemory: q}
}

// cpu is a one-entry CPU ResourceList spec for ctr, or nil for "".
func cpu(q string) map[corev1.ResourceName]string {
	if q == "" {
		return nil
	}
	return map[corev1.ResourceName]string{corev1.ResourceCPU: q}
}

func deployment(containers ...corev1.Container) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "d-uid", Generation: 3},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}},
		},
	}
}

func statefulSet(containers ...corev1.Container) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", UID: "s-uid"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}},
		},
	}
}

func daemonSet(containers ...corev1.Container) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "shop"},
		Spec:       appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}},
	}
}

func hpa(name, kind, target string, maxReplicas int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: target},
			MinReplicas:    ptr.To[int32](1),
			MaxReplicas:    maxReplicas,
		},
	}
}

// controller is an owner reference that makes an object controlled by uid.
func controller(kind, name string, uid types.UID) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: uid, Controller: ptr.To(true)}}
}

// applyPlan applies the plan's patch to obj's JSON and decodes the result into out. It also
// proves the guards work: tests come before changes, and corrupting the value any test op reads
// makes the whole patch fail with a failed test.
func applyPlan(t *testing.T, obj runtime.Object, p Plan, out any) {
	t.Helper()
	g := NewWithT(t)
	doc, err := json.Marshal(obj)
	g.Expect(err).NotTo(HaveOccurred())
	patch, err := jsonpatch.DecodePatch(p.Patch)
	g.Expect(err).NotTo(HaveOccurred())
	result, err := patch.Apply(doc)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(json.Unmarshal(result, out)).To(Succeed())

	var ops []operation
	g.Expect(json.Unmarshal(p.Patch, &ops)).To(Succeed())
	seenWrite, tests := false, 0
	for _, op := range ops {
		switch op.Op {
		case "test":
			g.Expect(seenWrite).To(BeFalse(), "test op %s after a change", op.Path)
			tests++
			// Corrupt the value this op guards and expect the patch to be refused.
			changed, err := jsonpatch.DecodePatch([]byte(`[{"op":"replace","path":"` + op.Path + `","value":"changed-concurrently"}]`))
			g.Expect(err).NotTo(HaveOccurred())
			corrupted, err := changed.Apply(doc)
			g.Expect(err).NotTo(HaveOccurred())
			_, err = patch.Apply(corrupted)
			g.Expect(err).To(HaveOccurred(), "patch still applies with %s changed", op.Path)
			g.Expect(errors.Is(err, jsonpatch.ErrTestFailed)).To(BeTrue(), "unexpected error %v", err)
		case "replace", "add":
			seenWrite = true
		default:
			t.Fatalf("unexpected op %q", op.Op)
		}
	}
	g.Expect(tests).To(BeNumerically(">", 0))
	g.Expect(seenWrite).To(BeTrue())
}

// ops decodes a plan's patch for assertions on paths.
func ops(t *testing.T, p Plan) []operation {
	t.Helper()
	var out []operation
	NewWithT(t).Expect(json.Unmarshal(p.Patch, &out)).To(Succeed())
	return out
}

// opPaths lists "op path" for each operation.
func opPaths(t *testing.T, p Plan) []string {
	t.Helper()
	var out []string
	for _, o := range ops(t, p) {
		out = append(out, o.Op+" "+o.Path)
	}
	return out
}

// mustAtoi parses a decimal test expectation.
func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("bad number %q: %v", s, err)
	}
	return n
}
