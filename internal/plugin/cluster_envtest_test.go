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

package plugin

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/routing"
	"github.com/heal8s/heal8s/test/utils"
)

// TestAgainstAPIServer runs the cluster half of the plugin against a real API server (envtest):
// the cluster's policies, the receiver's resolver through the plugin's uncached client, and the
// events.k8s.io field selector of explain. It is skipped where the envtest binaries are absent
// (make setup-envtest provides them) and with -short.
func TestAgainstAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no API server")
	}
	assets, err := utils.EnvtestAssets()
	if errors.Is(err, utils.ErrEnvtestAssetsMissing) {
		t.Skipf("no envtest binaries: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	create := func(objs ...client.Object) {
		t.Helper()
		for _, o := range objs {
			if err := c.Create(ctx, o); err != nil {
				t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
			}
		}
	}

	// The world: namespace shop opted in, a Deployment's ReplicaSet's pod, an HPA.
	yes := true
	app := map[string]string{"app": "checkout"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: app},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/checkout:2"}}}}
	create(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"heal8s.io/remediate": "true"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "heal8s-system"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}},
	)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: app}, Template: tmpl}}
	create(dep)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "checkout-5f7b8c9d4", Namespace: "shop",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: dep.Name, UID: dep.UID, Controller: &yes}}},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: app}, Template: tmpl}}
	create(rs)
	one := int32(1)
	create(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "checkout-5f7b8c9d4-abcde", Namespace: "shop", Labels: app,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes}}},
			Spec: tmpl.Spec},
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &one, MaxReplicas: 3,
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "checkout"}}},
		mustDecode(t, kpsPolicy),
	)

	policies, err := ListPolicies(ctx, c, "")
	if err != nil || len(policies) != 1 || policies[0].Name != "kube-prometheus-stack" {
		t.Fatalf("ListPolicies = %v, %v", names(policies), err)
	}
	table, _, err := BuildTable(policies, routing.TableOptions{OperatorNamespace: "heal8s-system",
		ProtectedNamespaces: routing.DefaultProtectedNamespaces})
	if err != nil {
		t.Fatal(err)
	}
	alerts := []AlertInput{
		firing(map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-5f7b8c9d4-abcde", "container": "app"}),
		firing(map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "gone-5f7b8c9d4-abcde"}),
		firing(map[string]string{"alertname": "KubePodCrashLooping", "namespace": "other", "pod": "x-5f7b8c9d4-abcde"}),
		firing(with(ksmScrape, "alertname", "KubeHpaMaxedOut", "namespace", "shop", "horizontalpodautoscaler", "checkout")),
	}
	results, err := RouteTest(ctx, table, alerts, NewClusterResolver(c))
	if err != nil {
		t.Fatal(err)
	}
	if d := results[0].Decision; d.Unresolved || d.Reason != "" || d.Target.Kind != v1beta1.TargetKindDeployment ||
		d.Target.Name != "checkout" || d.Target.Container != "app" {
		t.Errorf("pod of a Deployment: %+v", d)
	}
	if d := results[1].Decision; d.Reason != routing.SkipTargetNotFound {
		t.Errorf("a pod that is gone: reason %q (%s), want target_not_found", d.Reason, d.Detail)
	}
	if d := results[2].Decision; d.Reason != routing.SkipNamespaceOutOfScope {
		t.Errorf("a namespace not opted in: reason %q (%s), want namespace_out_of_scope", d.Reason, d.Detail)
	}
	if d := results[3].Decision; d.Unresolved || d.Reason != "" || d.Target.Kind != v1beta1.TargetKindHorizontalPodAutoscaler ||
		d.Target.Container != "" {
		t.Errorf("HPA: %+v", d)
	}

	// explain: the Remediation and only the Events regarding it, through the field selector.
	rem := &v1beta1.Remediation{ObjectMeta: metav1.ObjectMeta{Name: "crash-looping-3f9a1c2b7d", Namespace: "shop"},
		Spec: v1beta1.RemediationSpec{
			PolicyRef: v1beta1.PolicyReference{Name: "kube-prometheus-stack", Namespace: "heal8s-system"}, Rule: "crash-looping",
			Alert:  v1beta1.AlertInfo{Name: "KubePodCrashLooping", Fingerprint: "b42d1614a73bbbba"},
			Target: v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: "checkout", Namespace: "shop"},
			Action: policies[0].Spec.Rules[0].Action, Strategy: v1beta1.StrategyDryRun,
		}}
	create(rem)
	ev := func(name string, regarding corev1.ObjectReference, ago time.Duration) *eventsv1.Event {
		return &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			EventTime: metav1.NewMicroTime(time.Now().Add(-ago)), Reason: name, Action: "Phase", Type: corev1.EventTypeNormal,
			ReportingController: "heal8s-remediation", ReportingInstance: "test", Regarding: regarding}
	}
	mine := corev1.ObjectReference{APIVersion: "heal8s.io/v1beta1", Kind: "Remediation", Name: rem.Name, Namespace: "shop", UID: rem.UID}
	create(ev("pending", mine, 3*time.Minute), ev("planning", mine, 2*time.Minute),
		ev("unrelated", corev1.ObjectReference{Kind: "Pod", Name: "x", Namespace: "shop"}, time.Minute))
	e, err := Explain(ctx, c, types.NamespacedName{Namespace: "shop", Name: rem.Name}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.EventsError != "" || len(e.Events) != 2 || e.Events[0].Reason != "pending" || e.Events[1].Reason != "planning" {
		t.Errorf("events = %+v (error %q), want pending then planning", e.Events, e.EventsError)
	}
}
