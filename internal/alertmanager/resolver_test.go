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

package alertmanager

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// TestScrapeTarget compares the pod an alert names with the scrape target (instance), as the
// exporters of kube-prometheus-stack and kube-prometheus are scraped (test/fixtures/alerts).
func TestScrapeTarget(t *testing.T) {
	pod := func(name string, hostNetwork bool, ip, node string, ports ...int32) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: name},
			Spec:       corev1.PodSpec{HostNetwork: hostNetwork, NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "i"}}},
			Status:     corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
		}
		for _, port := range ports {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: port})
		}
		return p
	}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(
		pod("kube-state-metrics-6b7c9d8f5-q2w3e", false, "10.244.1.17", "worker-1", 8080),
		pod("node-exporter-x7k2p", true, "192.168.10.11", "worker-1", 9100),
		pod("calico-node-abcde", true, "192.168.10.11", "worker-1"),
		pod("app-5f7b8c9d4-abcde", false, "10.244.1.30", "worker-1", 8080),
	).Build()
	r := &ClusterResolver{Reader: c}
	tests := []struct {
		name, pod, instance string
		want                bool
	}{
		{"kube-state-metrics scraped at its pod IP", "kube-state-metrics-6b7c9d8f5-q2w3e", "10.244.1.17:8080", true},
		{"an app pod kube-state-metrics reports on", "app-5f7b8c9d4-abcde", "10.244.1.17:8080", false},
		{"node-exporter on the host network, its port", "node-exporter-x7k2p", "192.168.10.11:9100", true},
		{"a host-network pod cAdvisor reports on (kubelet's port)", "calico-node-abcde", "192.168.10.11:10250", false},
		{"node-exporter, instance relabelled to the node name", "node-exporter-x7k2p", "worker-1", true},
		{"a pod on the pod network, instance a node name", "app-5f7b8c9d4-abcde", "worker-1", false},
		{"host-network pod on another node", "node-exporter-x7k2p", "worker-2", false},
		{"pod gone", "gone-0", "10.244.1.17:8080", false},
		{"IPv6 instance", "kube-state-metrics-6b7c9d8f5-q2w3e", "[fd00::1]:8080", false},
		{"empty instance", "node-exporter-x7k2p", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := r.ScrapeTarget(context.Background(), "monitoring", tt.pod, tt.instance)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}
