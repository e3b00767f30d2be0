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

package controller

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1apply "k8s.io/client-go/applyconfigurations/apps/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/actions"
	"github.com/heal8s/heal8s/internal/defaults"
)

// richTemplate is a pod template with what real workloads carry beside what heal8s reads:
// labels and annotations, an init container, env, volumes and mounts, probes, ports and a
// security context, two containers.
func richTemplate() corev1.PodTemplateSpec {
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 5}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"prometheus.io/scrape": "true"}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "migrate", Image: "example.test/migrate:v2", Command: []string{"/migrate"}}},
			Containers: []corev1.Container{
				{
					Name: "app", Image: "example.test/app:v2",
					Env:           []corev1.EnvVar{{Name: "DB_URL", Value: "postgres://db"}, {Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
					Ports:         []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
					VolumeMounts:  []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}},
					LivenessProbe: probe, ReadinessProbe: probe,
					SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)},
					Resources: corev1.ResourceRequirements{
						Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi"), corev1.ResourceCPU: resource.MustParse("500m")},
						Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
					},
				},
				{Name: "proxy", Image: "example.test/proxy:v1", Args: []string{"--port=9000"}},
			},
			Volumes:            []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web"}}}}},
			ServiceAccountName: "web",
		},
	}
}

func TestSlimWorkloadKeepsWhatPlannersRead(t *testing.T) {
	g := NewWithT(t)
	meta := metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "u-1", Generation: 3,
		Labels: map[string]string{"app": "web"}, Annotations: map[string]string{actions.RevisionAnnotation: "2"}}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	d := &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: sel, Template: richTemplate(),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}, MinReadySeconds: 10},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}}
	old := d.DeepCopy()
	old.Name, old.Annotations = "web-1", map[string]string{actions.RevisionAnnotation: "1"}
	rsOld := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Annotations: map[string]string{actions.RevisionAnnotation: "1"},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
		Spec: appsv1.ReplicaSetSpec{Template: richTemplate()}}
	rsOld.Spec.Template.Spec.Containers[0].Image = "example.test/app:v1"
	rsNew := *rsOld.DeepCopy()
	rsNew.Name, rsNew.Annotations = "web-2", map[string]string{actions.RevisionAnnotation: "2"}
	rsNew.Spec.Template.Spec.Containers[0].Image = "example.test/app:v2"

	out, err := CacheTransform()(d.DeepCopy())
	g.Expect(err).NotTo(HaveOccurred())
	slim := out.(*appsv1.Deployment)
	g.Expect(slim.ObjectMeta).To(Equal(d.ObjectMeta))
	g.Expect(slim.Status).To(Equal(d.Status))
	g.Expect(slim.Spec.Replicas).To(Equal(d.Spec.Replicas))
	g.Expect(slim.Spec.Selector).To(Equal(d.Spec.Selector))
	g.Expect(slim.Spec.Template.Spec.InitContainers).To(BeNil())
	g.Expect(slim.Spec.Template.Spec.Volumes).To(BeNil())
	g.Expect(slim.Spec.Template.Labels).To(BeNil(), "a whole-object Update of a slim copy fails selector validation")
	g.Expect(slim.Spec.Template.Spec.Containers).To(Equal([]corev1.Container{
		{Name: "app", Image: "example.test/app:v2", Resources: d.Spec.Template.Spec.Containers[0].Resources},
		{Name: "proxy", Image: "example.test/proxy:v1"},
	}))

	// Every planner plans the same from the slim copy as from the whole object, so a plan made
	// from the cache holds against the API server's copy.
	statefulSet := &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Selector: sel, Template: richTemplate(),
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}}}
	daemonSet := &appsv1.DaemonSet{ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Selector: sel, Template: richTemplate()}}
	daemonSet.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
	for _, tc := range []struct {
		name   string
		obj    runtime.Object
		action v1beta1.Action
		rss    []appsv1.ReplicaSet
	}{
		{"memory", d, v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}, nil},
		{"cpu", d, v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{}}, nil},
		{"scale", d, v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}, nil},
		{"rollback", d, v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}, []appsv1.ReplicaSet{rsOld, rsNew}},
		{"statefulset memory", statefulSet, v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}, nil},
		{"statefulset scale", statefulSet, v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}, nil},
		{"daemonset memory, no resources set", daemonSet, v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}, nil},
	} {
		defaults.Action(&tc.action)
		slimObj, err := CacheTransform()(tc.obj.DeepCopyObject())
		g.Expect(err).NotTo(HaveOccurred())
		for _, container := range []string{"app", ""} {
			full, errFull := actions.PlanFor(tc.action, actions.Inputs{Object: tc.obj, Container: container, ReplicaSets: tc.rss})
			fromSlim, errSlim := actions.PlanFor(tc.action, actions.Inputs{Object: slimObj.(runtime.Object), Container: container, ReplicaSets: tc.rss})
			g.Expect(fmt.Sprint(errSlim)).To(Equal(fmt.Sprint(errFull)), tc.name)
			g.Expect(fromSlim).To(Equal(full), tc.name+" container "+container)
			if container == "app" {
				g.Expect(errFull).NotTo(HaveOccurred(), tc.name)
			}
		}
	}
}

func TestGuardWorkloadWrites(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: appsv1.DeploymentSpec{Template: richTemplate()}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cfg"}}
	c := GuardWorkloadWrites(fake.NewClientBuilder().WithScheme(scheme).WithObjects(d, cm).Build())

	got := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(d), got)).To(Succeed())
	g.Expect(c.Update(ctx, got)).To(MatchError(ErrSlimWorkloadWrite))
	g.Expect(c.Patch(ctx, got, client.MergeFrom(got.DeepCopy()))).To(MatchError(ErrSlimWorkloadWrite))
	g.Expect(c.Patch(ctx, got, client.StrategicMergeFrom(got.DeepCopy()))).To(MatchError(ErrSlimWorkloadWrite))
	g.Expect(c.Patch(ctx, &appsv1.StatefulSet{ObjectMeta: d.ObjectMeta}, client.RawPatch(types.MergePatchType, []byte(`{}`)))).To(MatchError(ErrSlimWorkloadWrite))
	g.Expect(c.Update(ctx, &appsv1.DaemonSet{ObjectMeta: d.ObjectMeta})).To(MatchError(ErrSlimWorkloadWrite))
	g.Expect(c.Apply(ctx, appsv1apply.Deployment("web", "shop"))).To(MatchError(ErrSlimWorkloadWrite))

	// A JSON patch goes through, and so does any write of another kind.
	g.Expect(c.Patch(ctx, got, client.RawPatch(types.JSONPatchType,
		[]byte(`[{"op":"test","path":"/spec/template/spec/containers/0/name","value":"app"},{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"example.test/app:v3"}]`)))).To(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(d), got)).To(Succeed())
	g.Expect(got.Spec.Template.Spec.Containers[0].Image).To(Equal("example.test/app:v3"))
	g.Expect(got.Spec.Template.Spec.Containers[0].Env).To(Equal(d.Spec.Template.Spec.Containers[0].Env))
	gotCM := &corev1.ConfigMap{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(cm), gotCM)).To(Succeed())
	gotCM.Data = map[string]string{"k": "v"}
	g.Expect(c.Update(ctx, gotCM)).To(Succeed())
}
