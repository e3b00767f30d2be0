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
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func TestPlanScaleUp(t *testing.T) {
	withReplicas := func(d *appsv1.Deployment, n *int32) *appsv1.Deployment { d.Spec.Replicas = n; return d }
	keda := hpa("keda-hpa-web", "Deployment", "web", 4)
	keda.OwnerReferences = []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "web", UID: "so-uid", Controller: ptr.To(true)}}
	owned := hpa("web", "Deployment", "web", 4)
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "example.com/v1", Kind: "App", Name: "web", UID: "a-uid"}}
	tests := []struct {
		name   string
		obj    runtime.Object
		params *v1beta1.ScaleUpAction
		key    string
		before string
		after  string
		reason []string
		err    error
	}{{
		name: "HPA: +50% of 4", obj: hpa("web", "Deployment", "web", 4),
		key: "spec.maxReplicas", before: "4", after: "6",
		reason: []string{"+50% of 4 rounded up is 6", "only lifts its ceiling"},
	}, {
		name: "HPA: one replica grows by at least one", obj: hpa("web", "Deployment", "web", 1),
		key: "spec.maxReplicas", before: "1", after: "2",
	}, {
		name: "HPA: capped", obj: hpa("web", "Deployment", "web", 8),
		key: "spec.maxReplicas", before: "8", after: "10",
		reason: []string{"capped at the policy maximum of 10"},
	}, {
		name: "HPA: at the cap", obj: hpa("web", "Deployment", "web", 10), err: ErrAtMaximum,
	}, {
		name: "HPA controlled by a KEDA ScaledObject", obj: keda, err: ErrControlled,
	}, {
		name: "HPA owned but not controlled", obj: owned,
		key: "spec.maxReplicas", before: "4", after: "6",
	}, {
		name: "HPA: above a custom cap", obj: hpa("web", "Deployment", "web", 12),
		params: &v1beta1.ScaleUpAction{MaxReplicas: ptr.To[int32](11)}, err: ErrAtMaximum,
	}, {
		name: "small percent: at least one more", obj: hpa("web", "Deployment", "web", 3),
		params: &v1beta1.ScaleUpAction{Percent: ptr.To[int32](10)},
		key:    "spec.maxReplicas", before: "3", after: "4",
		reason: []string{"+10% of 3 rounded up is 4, at least one more is 4"},
	}, {
		name: "custom percent and cap", obj: hpa("web", "Deployment", "web", 7),
		params: &v1beta1.ScaleUpAction{Percent: ptr.To[int32](100), MaxReplicas: ptr.To[int32](20)},
		key:    "spec.maxReplicas", before: "7", after: "14",
	}, {
		name: "Deployment replicas", obj: deployment(ctr("app", nil, nil)),
		key: "spec.replicas", before: "3", after: "5",
	}, {
		name: "StatefulSet replicas", obj: statefulSet(ctr("app", nil, nil)),
		key: "spec.replicas", before: "2", after: "3",
	}, {
		name: "Deployment with unset replicas", obj: withReplicas(deployment(ctr("app", nil, nil)), nil),
		key: "spec.replicas", after: "2", reason: []string{"was unset, which Kubernetes reads as 1"},
	}, {
		name: "DaemonSet cannot scale", obj: daemonSet(ctr("app", nil, nil)), err: ErrUnsupportedTarget,
	}, {
		name: "typed nil", obj: (*appsv1.Deployment)(nil), err: ErrUnsupportedTarget,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p, err := PlanScaleUp(tt.obj, tt.params)
			if tt.err != nil {
				g.Expect(err).To(MatchError(tt.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			if tt.before == "" {
				g.Expect(p.Before).To(BeEmpty())
			} else {
				g.Expect(p.Before).To(Equal(map[string]string{tt.key: tt.before}))
			}
			g.Expect(p.After).To(Equal(map[string]string{tt.key: tt.after}))
			for _, s := range tt.reason {
				g.Expect(p.Reason).To(ContainSubstring(s))
			}
			out := tt.obj.DeepCopyObject()
			applyPlan(t, tt.obj, p, out)
			var got int32
			switch o := out.(type) {
			case *autoscalingv2.HorizontalPodAutoscaler:
				got = o.Spec.MaxReplicas
				g.Expect(*o.Spec.MinReplicas).To(Equal(int32(1)))
			case *appsv1.Deployment:
				got = *o.Spec.Replicas
			case *appsv1.StatefulSet:
				got = *o.Spec.Replicas
			}
			g.Expect(int(got)).To(Equal(mustAtoi(t, tt.after)))
		})
	}
}

func TestControllingHPA(t *testing.T) {
	other := hpa("other-ns", "Deployment", "web", 4)
	other.Namespace = "elsewhere"
	legacy := hpa("legacy", "Deployment", "web", 4)
	legacy.Spec.ScaleTargetRef.APIVersion = "extensions/v1beta1"
	tests := []struct {
		name     string
		workload runtime.Object
		hpas     []*autoscalingv2.HorizontalPodAutoscaler
		want     string
		err      error
	}{
		{name: "none", workload: deployment(), hpas: nil},
		{name: "controls the Deployment", workload: deployment(), hpas: []*autoscalingv2.HorizontalPodAutoscaler{
			hpa("api", "Deployment", "api", 4), hpa("web-hpa", "Deployment", "web", 4)}, want: "web-hpa"},
		{name: "same name, other kind", workload: deployment(), hpas: []*autoscalingv2.HorizontalPodAutoscaler{
			hpa("web-hpa", "StatefulSet", "web", 4)}},
		{name: "StatefulSet", workload: statefulSet(), hpas: []*autoscalingv2.HorizontalPodAutoscaler{
			hpa("db-hpa", "StatefulSet", "db", 4)}, want: "db-hpa"},
		{name: "other namespace and other group ignored", workload: deployment(), hpas: []*autoscalingv2.HorizontalPodAutoscaler{
			other, legacy}},
		{name: "two HPAs on one workload", workload: deployment(), hpas: []*autoscalingv2.HorizontalPodAutoscaler{
			hpa("a", "Deployment", "web", 4), hpa("b", "Deployment", "web", 4)}, err: ErrUnsupportedTarget},
		{name: "an HPA has no HPA", workload: hpa("x", "Deployment", "web", 4), hpas: []*autoscalingv2.HorizontalPodAutoscaler{
			hpa("web-hpa", "Deployment", "web", 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var list []autoscalingv2.HorizontalPodAutoscaler
			for _, h := range tt.hpas {
				list = append(list, *h)
			}
			got, err := ControllingHPA(tt.workload, list)
			if tt.err != nil {
				g.Expect(err).To(MatchError(tt.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			if tt.want == "" {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got).NotTo(BeNil())
			g.Expect(got.Name).To(Equal(tt.want))
		})
	}
}

func TestPlanForScaleUpGoesThroughTheHPA(t *testing.T) {
	g := NewWithT(t)
	d := deployment(ctr("app", nil, nil))
	h := hpa("web-hpa", "Deployment", "web", 4)
	action := v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}

	p, err := PlanFor(action, Inputs{Object: d, HPAs: []autoscalingv2.HorizontalPodAutoscaler{*h}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.Target).To(Equal(v1beta1.TargetRef{APIVersion: "autoscaling/v2", Kind: v1beta1.TargetKindHorizontalPodAutoscaler, Name: "web-hpa", Namespace: "shop"}))
	g.Expect(p.After).To(Equal(map[string]string{"spec.maxReplicas": "6"}))
	var out autoscalingv2.HorizontalPodAutoscaler
	applyPlan(t, h, p, &out)
	g.Expect(out.Spec.MaxReplicas).To(Equal(int32(6)))

	// Without an HPA the workload itself is scaled.
	p, err = PlanFor(action, Inputs{Object: d})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.Target.Kind).To(Equal(v1beta1.TargetKindDeployment))
	g.Expect(p.After).To(Equal(map[string]string{"spec.replicas": "5"}))
}
