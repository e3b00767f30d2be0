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

package routing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// fakeResolver is a cluster in a few maps.
type fakeResolver struct {
	namespaces map[string]map[string]string
	owners     map[string]string // "ns/pod" -> "Kind/name"
	scrape     map[string]string // "ns/pod" -> instance it serves
	hpaOwners  map[string]*metav1.OwnerReference
	err        error // returned by every call when set
	calls      []string
}

func (f *fakeResolver) NamespaceLabels(_ context.Context, ns string) (map[string]string, bool, error) {
	f.calls = append(f.calls, "ns:"+ns)
	if f.err != nil {
		return nil, false, f.err
	}
	l, ok := f.namespaces[ns]
	return l, ok, nil
}

func (f *fakeResolver) PodOwner(_ context.Context, ns, pod string) (v1beta1.TargetKind, string, error) {
	f.calls = append(f.calls, "owner:"+ns+"/"+pod)
	if f.err != nil {
		return "", "", f.err
	}
	o, ok := f.owners[ns+"/"+pod]
	if !ok {
		return "", "", fmt.Errorf("%w: pod %s/%s is gone", ErrTargetNotFound, ns, pod)
	}
	kind, name, _ := strings.Cut(o, "/")
	return v1beta1.TargetKind(kind), name, nil
}

func (f *fakeResolver) ScrapeTarget(_ context.Context, ns, pod, instance string) (bool, error) {
	f.calls = append(f.calls, "scrape:"+ns+"/"+pod)
	if f.err != nil {
		return false, f.err
	}
	return f.scrape[ns+"/"+pod] == instance, nil
}

func (f *fakeResolver) Controller(_ context.Context, _ v1beta1.TargetKind, ns, name string) (*metav1.OwnerReference, error) {
	f.calls = append(f.calls, "controller:"+ns+"/"+name)
	if f.err != nil {
		return nil, f.err
	}
	return f.hpaOwners[ns+"/"+name], nil
}

func world() *fakeResolver {
	return &fakeResolver{
		namespaces: map[string]map[string]string{
			"shop": {"heal8s.io/remediate": "true"}, "monitoring": {"heal8s.io/remediate": "true"},
			"kube-system": {"heal8s.io/remediate": "true"}, "payments": {"heal8s.io/remediate": "true"}, "quiet": {},
		},
		owners: map[string]string{
			"shop/checkout-5f7b8c9d4-abcde":                                   "Deployment/checkout",
			"monitoring/kube-prometheus-stack-prometheus-node-exporter-x7k2p": "DaemonSet/kube-prometheus-stack-prometheus-node-exporter",
			"kube-system/coredns-6d4b75cb6d-lm2xq":                            "Deployment/coredns",
		},
		scrape: map[string]string{
			"monitoring/kube-prometheus-stack-prometheus-node-exporter-x7k2p": "192.168.10.11:9100",
		},
		hpaOwners: map[string]*metav1.OwnerReference{"payments/keda-hpa-worker": {
			APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "worker", Controller: new(true),
		}},
	}
}

func clusterWidePolicy(rules ...v1beta1.Rule) *v1beta1.RemediationPolicy {
	p := policy(opNS, "cluster", rules...)
	p.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"heal8s.io/remediate": "true"}}
	return p
}

func TestDecide(t *testing.T) {
	oom := rule("oom", `alertname=~".*Oom.*|.*OOM.*"`)
	crash := v1beta1.Rule{Name: "crash", Matchers: []string{`alertname="KubePodCrashLooping"`}, Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}}
	hpa := v1beta1.Rule{Name: "hpa", Matchers: []string{`alertname="KubeHpaMaxedOut"`}, Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}}
	moved := v1beta1.Rule{Name: "moved", Matchers: []string{`alertname="Moved"`}, Action: memAction(),
		Target: &v1beta1.TargetOverride{NamespaceLabel: "target_namespace"}}
	tbl := NewTable(TableOptions{OperatorNamespace: opNS, ProtectedNamespaces: DefaultProtectedNamespaces, ClusterName: "prod-eu-1"})
	tbl.Set(mustCompile(t, clusterWidePolicy(oom, crash, hpa, moved)))

	tests := []struct {
		name       string
		labels     map[string]string
		wantReason SkipReason
		wantTarget Target // Kind, Name, Namespace, Container compared
	}{
		{name: "pod alert resolves to its Deployment",
			labels:     map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-5f7b8c9d4-abcde", "container": "app", "instance": "10.244.1.17:8080"},
			wantTarget: Target{Kind: v1beta1.TargetKindDeployment, Name: "checkout", Namespace: "shop", Container: "app"}},
		{name: "exporter's own pod is the scrape target",
			labels: map[string]string{"alertname": "HostOomKillDetected", "namespace": "monitoring", "pod": "kube-prometheus-stack-prometheus-node-exporter-x7k2p",
				"container": "node-exporter", "instance": "192.168.10.11:9100", "job": "node-exporter"},
			wantReason: SkipScrapeTarget},
		{name: "protected namespace never reaches the cluster",
			labels:     map[string]string{"alertname": "KubePodCrashLooping", "namespace": "kube-system", "pod": "coredns-6d4b75cb6d-lm2xq", "container": "coredns"},
			wantReason: SkipProtectedNamespace},
		{name: "operator namespace is protected",
			labels:     map[string]string{"alertname": "KubePodCrashLooping", "namespace": opNS, "deployment": "heal8s-controller-manager"},
			wantReason: SkipProtectedNamespace},
		{name: "other cluster skipped before anything",
			labels:     map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-5f7b8c9d4-abcde", "cluster": "prod-us-1"},
			wantReason: SkipOtherCluster},
		{name: "this cluster acts",
			labels:     map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-5f7b8c9d4-abcde", "cluster": "prod-eu-1"},
			wantTarget: Target{Kind: v1beta1.TargetKindDeployment, Name: "checkout", Namespace: "shop"}},
		{name: "KEDA-owned HPA",
			labels:     map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "payments", "horizontalpodautoscaler": "keda-hpa-worker", "pod": "ksm-1", "container": "kube-state-metrics"},
			wantReason: SkipControlledHPA},
		{name: "plain HPA, exporter's container dropped",
			labels:     map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop", "horizontalpodautoscaler": "checkout", "pod": "ksm-1", "container": "kube-state-metrics"},
			wantTarget: Target{Kind: v1beta1.TargetKindHorizontalPodAutoscaler, Name: "checkout", Namespace: "shop"}},
		{name: "gone pod",
			labels:     map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "gone-0"},
			wantReason: SkipTargetNotFound},
		{name: "honorLabels false reads exported labels",
			labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "monitoring", "pod": "kube-state-metrics-6b7c9d8f5-q2w3e",
				"container": "kube-state-metrics", "exported_namespace": "shop", "exported_pod": "checkout-5f7b8c9d4-abcde", "exported_container": "app"},
			wantTarget: Target{Kind: v1beta1.TargetKindDeployment, Name: "checkout", Namespace: "shop", Container: "app"}},
		{name: "namespace the selector excludes",
			labels:     map[string]string{"alertname": "KubePodCrashLooping", "namespace": "quiet", "pod": "x-0"},
			wantReason: SkipNamespaceOutOfScope},
		{name: "namespaceLabel moves the target into an excluded namespace",
			labels:     map[string]string{"alertname": "Moved", "namespace": "shop", "target_namespace": "quiet", "deployment": "d"},
			wantReason: SkipNamespaceOutOfScope},
		{name: "namespaceLabel moves the target into a protected namespace",
			labels:     map[string]string{"alertname": "Moved", "namespace": "shop", "target_namespace": "kube-system", "deployment": "d"},
			wantReason: SkipProtectedNamespace},
		{name: "namespaceLabel moves the target into a selected namespace",
			labels:     map[string]string{"alertname": "Moved", "namespace": "monitoring", "target_namespace": "shop", "deployment": "d"},
			wantTarget: Target{Kind: v1beta1.TargetKindDeployment, Name: "d", Namespace: "shop"}},
		{name: "no namespace at all (cAdvisor's ContainerHighMemoryUsage)",
			labels:     map[string]string{"alertname": "ContainerHighMemoryUsage", "instance": "10.0.0.1:8080", "name": "k8s_app"},
			wantReason: SkipNoRule},
		{name: "no namespace, a rule matches",
			labels:     map[string]string{"alertname": "HostOomKillDetected", "instance": "192.168.10.11:9100"},
			wantReason: SkipNoTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			r := world()
			d, err := tbl.Decide(context.Background(), tt.labels, r)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(d.Reason).To(Equal(tt.wantReason), d.Detail)
			g.Expect(d.Detail).NotTo(BeEmpty())
			g.Expect(d.Unresolved).To(BeFalse())
			if tt.wantReason == "" {
				got := Target{Kind: d.Target.Kind, Name: d.Target.Name, Namespace: d.Target.Namespace, Container: d.Target.Container}
				g.Expect(got).To(Equal(tt.wantTarget))
			}
			switch tt.wantReason {
			case SkipOtherCluster:
				g.Expect(r.calls).To(BeEmpty(), "another cluster's alert reads nothing")
			case SkipProtectedNamespace:
				for _, c := range r.calls {
					g.Expect(c).To(HavePrefix("ns:"), "a protected target reads no pod or owner")
				}
			default:
			}
		})
	}
}

func TestDecideOffline(t *testing.T) {
	g := NewWithT(t)
	crash := v1beta1.Rule{Name: "crash", Matchers: []string{`alertname="KubePodCrashLooping"`}, Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}}
	tbl := NewTable(TableOptions{OperatorNamespace: opNS, ProtectedNamespaces: DefaultProtectedNamespaces})
	tbl.Set(mustCompile(t, clusterWidePolicy(crash)))
	offline := &fakeResolver{err: fmt.Errorf("offline: %w", ErrUnresolved)}
	d, err := tbl.Decide(context.Background(), map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop",
		"pod": "checkout-5f7b8c9d4-abcde", "container": "app", "instance": "10.244.1.17:8080"}, offline)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(d.Reason).To(BeEmpty())
	g.Expect(d.Unresolved).To(BeTrue())
	g.Expect(d.Rule).To(Equal("crash"))
	g.Expect(d.Target.Pod).To(Equal("checkout-5f7b8c9d4-abcde"))
	g.Expect(d.Target.Container).To(Equal("app"))
	g.Expect(d.Detail).To(And(ContainSubstring("assumed selected"), ContainSubstring("not resolved"), ContainSubstring("scrape target")))

	// Protected namespaces and other clusters need no cluster: offline gives the final answer.
	d, err = tbl.Decide(context.Background(), map[string]string{"alertname": "KubePodCrashLooping", "namespace": "kube-system", "pod": "p-0"}, offline)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(d.Reason).To(Equal(SkipProtectedNamespace))
}

func TestDecideReadError(t *testing.T) {
	g := NewWithT(t)
	crash := v1beta1.Rule{Name: "crash", Matchers: []string{`alertname="KubePodCrashLooping"`}, Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}}
	tbl := NewTable(TableOptions{OperatorNamespace: opNS})
	tbl.Set(mustCompile(t, policy("shop", "p", crash)))
	boom := errors.New("connection refused")
	_, err := tbl.Decide(context.Background(), map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "p-0"},
		&fakeResolver{err: boom})
	g.Expect(err).To(MatchError(boom))
}

func TestProtected(t *testing.T) {
	tbl := NewTable(TableOptions{OperatorNamespace: opNS, ProtectedNamespaces: []string{"kube-*", "monitoring", "[bad"}})
	for ns, want := range map[string]bool{
		"kube-system": true, "kube-public": true, "kube-node-lease": true, opNS: true, "monitoring": true,
		"shop": false, "kubernetes-dashboard": false, "[bad": false,
	} {
		if got := tbl.Protected(ns); got != want {
			t.Errorf("Protected(%q) = %v, want %v", ns, got, want)
		}
	}
}
