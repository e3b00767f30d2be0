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
	"testing"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Label sets as the seed's alerts carry them in a kube-prometheus stack: kube-state-metrics
// series scraped with honorLabels (namespace/pod are the subject's), cAdvisor series from the
// kubelet's /metrics/cadvisor endpoint.
var (
	ksmOOMKilled = map[string]string{
		"alertname": "KubePodOOMKilled", "severity": "warning", "container": "app", "namespace": "shop",
		"pod": "api-7d9f8b6c5d-x2k4q", "reason": "OOMKilled", "uid": "0b5f", "job": "kube-state-metrics",
		"instance": "10.0.0.7:8080", "endpoint": "http", "service": "kube-state-metrics",
	}
	ksmHpaMaxedOut = map[string]string{
		"alertname": "KubeHpaMaxedOut", "severity": "warning", "namespace": "shop", "horizontalpodautoscaler": "api",
		"job": "kube-state-metrics", "instance": "10.0.0.7:8080", "service": "kube-state-metrics",
	}
	ksmCrashLooping = map[string]string{
		"alertname": "KubePodCrashLooping", "severity": "warning", "container": "worker", "namespace": "shop",
		"pod": "queue-0", "reason": "CrashLoopBackOff", "uid": "77aa", "job": "kube-state-metrics",
	}
	cadvisorMemoryNearLimit = map[string]string{
		"alertname": "ContainerMemoryNearLimit", "severity": "warning", "container": "app", "namespace": "shop",
		"pod": "api-7d9f8b6c5d-x2k4q", "image": "ghcr.io/acme/api:1.4.2", "name": "k8s_app_api-7d9f8b6c5d-x2k4q_shop",
		"id": "/kubepods/burstable/pod0b5f/abc", "job": "kubelet", "metrics_path": "/metrics/cadvisor", "node": "n1",
	}
	cadvisorCPUThrottling = map[string]string{
		"alertname": "ContainerCPUThrottling", "severity": "info", "container": "agent", "namespace": "monitoring",
		"pod": "node-agent-9xk2p", "job": "kubelet", "metrics_path": "/metrics/cadvisor", "instance": "n2",
	}
	// Older cAdvisor (before Kubernetes 1.16) labels pods and containers differently.
	legacyCadvisorThrottling = map[string]string{
		"alertname": "ContainerCPUThrottling", "namespace": "monitoring", "pod_name": "node-agent-9xk2p",
		"container_name": "agent", "job": "kubelet",
	}
	// Label sets as kube-prometheus-stack's rules leave them (test/fixtures/alerts has the
	// whole notifications and their sources).
	ksmHpaMaxedOutTargetLabels = map[string]string{
		"alertname": "KubeHpaMaxedOut", "severity": "warning", "namespace": "shop", "horizontalpodautoscaler": "api",
		"container": "kube-state-metrics", "pod": "kube-prometheus-stack-kube-state-metrics-6b7c9d8f5-q2w3e",
		"endpoint": "http", "instance": "10.244.1.17:8080", "job": "kube-state-metrics",
		"service": "kube-prometheus-stack-kube-state-metrics",
	}
	ksmRolloutStuckTargetLabels = map[string]string{
		"alertname": "KubeDeploymentRolloutStuck", "severity": "warning", "namespace": "shop", "deployment": "api",
		"condition": "Progressing", "status": "false", "container": "kube-state-metrics", "main_container": "web",
		"pod": "kube-prometheus-stack-kube-state-metrics-6b7c9d8f5-q2w3e", "instance": "10.244.1.17:8080",
		"job": "kube-state-metrics",
	}
	ksmCrashLoopingExported = map[string]string{
		"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "monitoring",
		"pod": "kube-state-metrics-6b7c9d8f5-q2w3e", "container": "kube-state-metrics",
		"exported_namespace": "shop", "exported_pod": "api-7d9f8b6c5d-x2k4q", "exported_container": "app",
		"reason": "CrashLoopBackOff", "instance": "10.244.1.17:8080", "job": "kube-state-metrics",
	}
	ksmHpaMaxedOutExported = map[string]string{
		"alertname": "KubeHpaMaxedOut", "severity": "warning", "namespace": "monitoring", "exported_namespace": "shop",
		"horizontalpodautoscaler": "api", "pod": "kube-state-metrics-6b7c9d8f5-q2w3e", "container": "kube-state-metrics",
		"instance": "10.244.1.17:8080", "job": "kube-state-metrics",
	}
	ksmDeploymentAlert = map[string]string{
		"alertname": "KubeDeploymentReplicasMismatch", "namespace": "shop", "deployment": "api", "job": "kube-state-metrics",
	}
)

func TestExtractTarget(t *testing.T) {
	tests := []struct {
		name     string
		labels   map[string]string
		override *v1beta1.TargetOverride
		want     Target
		wantErr  error
	}{
		{name: "KubePodOOMKilled (kube-state-metrics)", labels: ksmOOMKilled,
			want: Target{Namespace: "shop", Pod: "api-7d9f8b6c5d-x2k4q", Container: "app"}},
		{name: "KubeHpaMaxedOut (kube-state-metrics)", labels: ksmHpaMaxedOut,
			want: Target{Namespace: "shop", Kind: v1beta1.TargetKindHorizontalPodAutoscaler, Name: "api"}},
		{name: "KubePodCrashLooping (kube-state-metrics)", labels: ksmCrashLooping,
			want: Target{Namespace: "shop", Pod: "queue-0", Container: "worker"}},
		{name: "ContainerMemoryNearLimit (cAdvisor)", labels: cadvisorMemoryNearLimit,
			want: Target{Namespace: "shop", Pod: "api-7d9f8b6c5d-x2k4q", Container: "app"}},
		{name: "ContainerCPUThrottling (cAdvisor)", labels: cadvisorCPUThrottling,
			want: Target{Namespace: "monitoring", Pod: "node-agent-9xk2p", Container: "agent"}},
		{name: "deployment label", labels: ksmDeploymentAlert,
			want: Target{Namespace: "shop", Kind: v1beta1.TargetKindDeployment, Name: "api"}},
		{name: "statefulset label", labels: map[string]string{"namespace": "db", "statefulset": "pg", "pod": "pg-1"},
			want: Target{Namespace: "db", Kind: v1beta1.TargetKindStatefulSet, Name: "pg"}},
		{name: "daemonset label", labels: map[string]string{"namespace": "db", "daemonset": "agent"},
			want: Target{Namespace: "db", Kind: v1beta1.TargetKindDaemonSet, Name: "agent"}},
		{name: "legacy cAdvisor through an override", labels: legacyCadvisorThrottling,
			override: &v1beta1.TargetOverride{NameLabel: "pod_name", ContainerLabel: "container_name"},
			want:     Target{Namespace: "monitoring", Pod: "node-agent-9xk2p", Container: "agent"}},
		{name: "override kind and name label", labels: map[string]string{"namespace": "shop", "app": "api", "container": "c"},
			override: &v1beta1.TargetOverride{Kind: v1beta1.TargetKindDeployment, NameLabel: "app"},
			want:     Target{Namespace: "shop", Kind: v1beta1.TargetKindDeployment, Name: "api"}},
		{name: "override kind, name and container labels", labels: map[string]string{"namespace": "shop", "app": "api", "container": "c"},
			override: &v1beta1.TargetOverride{Kind: v1beta1.TargetKindDeployment, NameLabel: "app", ContainerLabel: "container"},
			want:     Target{Namespace: "shop", Kind: v1beta1.TargetKindDeployment, Name: "api", Container: "c"}},
		// kube-state-metrics' workload-level series have no pod or container of their own; the
		// scrape (honorLabels: true) adds kube-state-metrics' own, which must not be read.
		{name: "KubeHpaMaxedOut carrying kube-state-metrics' pod and container", labels: ksmHpaMaxedOutTargetLabels,
			want: Target{Namespace: "shop", Kind: v1beta1.TargetKindHorizontalPodAutoscaler, Name: "api", Source: SourceWorkloadLabel}},
		{name: "KubeDeploymentRolloutStuck carrying kube-state-metrics' pod and container", labels: ksmRolloutStuckTargetLabels,
			want: Target{Namespace: "shop", Kind: v1beta1.TargetKindDeployment, Name: "api", Source: SourceWorkloadLabel}},
		{name: "workload alert, the rule names the container label", labels: ksmRolloutStuckTargetLabels,
			override: &v1beta1.TargetOverride{ContainerLabel: "main_container"},
			want:     Target{Namespace: "shop", Kind: v1beta1.TargetKindDeployment, Name: "api", Container: "web", Source: SourceWorkloadLabel}},
		// honorLabels: false (the kube-state-metrics chart's own ServiceMonitor): the series'
		// namespace, pod and container are exported_*, the plain ones are kube-state-metrics'.
		{name: "honorLabels false: pod alert", labels: ksmCrashLoopingExported,
			want: Target{Namespace: "shop", Pod: "api-7d9f8b6c5d-x2k4q", Container: "app", Source: SourcePodLabel,
				Exported: true, Instance: "10.244.1.17:8080"}},
		{name: "honorLabels false: workload alert", labels: ksmHpaMaxedOutExported,
			want: Target{Namespace: "shop", Kind: v1beta1.TargetKindHorizontalPodAutoscaler, Name: "api", Source: SourceWorkloadLabel, Exported: true}},
		{name: "honorLabels false without exported_namespace", labels: map[string]string{
			"namespace": "monitoring", "pod": "kube-state-metrics-6b7c9d8f5-q2w3e", "exported_pod": "api-1"}, wantErr: ErrNoNamespace},
		{name: "honorLabels false: the plain pod is the exporter's", labels: map[string]string{
			"namespace": "monitoring", "exported_namespace": "shop", "pod": "kube-state-metrics-6b7c9d8f5-q2w3e"}, wantErr: ErrNoTarget},
		{name: "namespaceLabel override", labels: map[string]string{"namespace": "monitoring", "target_namespace": "shop", "deployment": "api"},
			override: &v1beta1.TargetOverride{NamespaceLabel: "target_namespace"},
			want:     Target{Namespace: "shop", Kind: v1beta1.TargetKindDeployment, Name: "api", Source: SourceWorkloadLabel}},
		{name: "namespaceLabel override, label missing", labels: map[string]string{"namespace": "monitoring", "deployment": "api"},
			override: &v1beta1.TargetOverride{NamespaceLabel: "target_namespace"}, wantErr: ErrNoNamespace},
		{name: "container not a name", labels: map[string]string{"namespace": "shop", "pod": "p", "container": "A_B"}, wantErr: ErrNoTarget},
		{name: "override kind picks its label over a more specific one", labels: map[string]string{"namespace": "shop", "horizontalpodautoscaler": "h", "deployment": "api"},
			override: &v1beta1.TargetOverride{Kind: v1beta1.TargetKindDeployment},
			want:     Target{Namespace: "shop", Kind: v1beta1.TargetKindDeployment, Name: "api"}},
		{name: "override kind on a pod alert requires that owner", labels: ksmOOMKilled,
			override: &v1beta1.TargetOverride{Kind: v1beta1.TargetKindStatefulSet},
			want:     Target{Namespace: "shop", Pod: "api-7d9f8b6c5d-x2k4q", Container: "app", WantKind: v1beta1.TargetKindStatefulSet}},
		{name: "override HPA on a pod alert", labels: ksmOOMKilled,
			override: &v1beta1.TargetOverride{Kind: v1beta1.TargetKindHorizontalPodAutoscaler}, wantErr: ErrNoTarget},
		{name: "override name label missing", labels: ksmOOMKilled,
			override: &v1beta1.TargetOverride{NameLabel: "app"}, wantErr: ErrNoTarget},
		{name: "namespace not a name", labels: map[string]string{"namespace": "../kube-system", "pod": "p"}, wantErr: ErrNoNamespace},
		{name: "pod not a name", labels: map[string]string{"namespace": "shop", "pod": "a/b"}, wantErr: ErrNoTarget},
		{name: "workload not a name", labels: map[string]string{"namespace": "shop", "deployment": "API"}, wantErr: ErrNoTarget},
		{name: "no namespace", labels: map[string]string{"pod": "p"}, wantErr: ErrNoNamespace},
		{name: "namespace only", labels: map[string]string{"namespace": "shop"}, wantErr: ErrNoTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ExtractTarget(tt.labels, tt.override)
			if tt.wantErr != nil {
				g.Expect(err).To(MatchError(tt.wantErr))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			if tt.want.Source == "" {
				// Cases written before provenance was recorded compare the target alone.
				got.Source, got.Instance, got.Exported = "", "", false
			}
			g.Expect(got).To(Equal(tt.want))
			g.Expect(got.NeedsOwner()).To(Equal(tt.want.Pod != "" && tt.want.Kind == ""))
		})
	}
}

// TestSeedAlertsRoute routes each seed alert through a policy shaped like the seed's sample.
func TestSeedAlertsRoute(t *testing.T) {
	scale := v1beta1.Rule{Name: "hpa-maxed", Matchers: []string{`alertname="KubeHpaMaxedOut"`}, Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}}
	cpu := v1beta1.Rule{Name: "cpu", Matchers: []string{`alertname="ContainerCPUThrottling"`, `severity=~"info|warning"`}, Action: v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{}}}
	rollback := v1beta1.Rule{Name: "crashloop", Matchers: []string{`alertname="KubePodCrashLooping"`}, Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}}
	mem := rule("memory", `alertname=~"KubePodOOMKilled|ContainerMemoryNearLimit"`, `container!=""`)
	tbl := NewTable(TableOptions{})
	for _, ns := range []string{"shop", "monitoring"} {
		tbl.Set(mustCompile(t, policy(ns, "seed", mem, scale, cpu, rollback)))
	}
	tests := []struct {
		labels     map[string]string
		wantRule   string
		wantAction v1beta1.ActionType
	}{
		{ksmOOMKilled, "memory", v1beta1.ActionIncreaseMemory},
		{cadvisorMemoryNearLimit, "memory", v1beta1.ActionIncreaseMemory},
		{ksmHpaMaxedOut, "hpa-maxed", v1beta1.ActionScaleUp},
		{ksmCrashLooping, "crashloop", v1beta1.ActionRollbackImage},
		{cadvisorCPUThrottling, "cpu", v1beta1.ActionIncreaseCPU},
	}
	for _, tt := range tests {
		t.Run(tt.labels["alertname"], func(t *testing.T) {
			g := NewWithT(t)
			m, reason, err := tbl.Route(tt.labels, noNamespaces)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(reason).To(BeEmpty())
			g.Expect(m.Rule).To(Equal(tt.wantRule))
			g.Expect(m.Action.Type()).To(Equal(tt.wantAction))
			g.Expect(m.Policy.Namespace).To(Equal(tt.labels["namespace"]))
			g.Expect(m.Target.Namespace).To(Equal(tt.labels["namespace"]))
		})
	}
}
