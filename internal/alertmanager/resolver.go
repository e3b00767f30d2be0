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
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/routing"
)

var hpaGVK = schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}

// ClusterResolver answers routing's questions from the cluster. Metadata (namespaces, pods,
// ReplicaSets, workloads, HPAs) is read through Reader, which in the manager is the cache of
// metadata-only informers, except for Pods and ReplicaSets, which the manager's client reads
// from the API server (DisableFor in cmd/main.go: one read per new alert rather than an
// informer of every Pod and ReplicaSet in the cluster); the one full Pod it needs, to compare
// the scrape target's address, is read through Live so no cluster-wide informer of full Pods is
// started.
type ClusterResolver struct {
	// Reader serves metadata reads (PartialObjectMetadata).
	Reader client.Reader
	// Live serves the full Pod read of the scrape-target check; nil means Reader.
	Live client.Reader
}

var _ routing.Resolver = (*ClusterResolver)(nil)

// NamespaceLabels implements routing.Resolver.
func (r *ClusterResolver) NamespaceLabels(ctx context.Context, ns string) (map[string]string, bool, error) {
	m, found, err := getMetadata(ctx, r.Reader, namespaceGVK, types.NamespacedName{Name: ns})
	if err != nil || !found {
		return nil, found, err
	}
	return m.Labels, true, nil
}

// PodOwner implements routing.Resolver.
func (r *ClusterResolver) PodOwner(ctx context.Context, namespace, pod string) (v1beta1.TargetKind, string, error) {
	return resolveOwner(ctx, r.Reader, namespace, pod)
}

// ScrapeTarget implements routing.Resolver. A pod is the scrape target at instance when its IP
// is the instance's host; a pod on the host network shares the node's IP with every other such
// pod and the kubelet, so it must also declare the instance's port. Where the scrape relabelled
// instance to the node's name (kube-prometheus does so for node-exporter), a pod on the host
// network of that node is the scrape target. A pod that is gone is not.
func (r *ClusterResolver) ScrapeTarget(ctx context.Context, namespace, pod, instance string) (bool, error) {
	host, portStr, err := net.SplitHostPort(instance)
	if err != nil {
		host, portStr = instance, ""
	}
	if host == "" {
		return false, nil
	}
	live := r.Live
	if live == nil {
		live = r.Reader
	}
	p := &corev1.Pod{}
	if err := live.Get(ctx, types.NamespacedName{Namespace: namespace, Name: pod}, p); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading Pod %s/%s: %w", namespace, pod, err)
	}
	if net.ParseIP(host) == nil {
		return p.Spec.HostNetwork && p.Spec.NodeName == host, nil
	}
	if !podHasIP(p, host) {
		return false, nil
	}
	if !p.Spec.HostNetwork {
		return true, nil
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return false, nil
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if int(cp.ContainerPort) == port {
				return true, nil
			}
		}
	}
	return false, nil
}

func podHasIP(p *corev1.Pod, ip string) bool {
	if p.Status.PodIP == ip {
		return true
	}
	for _, a := range p.Status.PodIPs {
		if a.IP == ip {
			return true
		}
	}
	return false
}

// Controller implements routing.Resolver for HorizontalPodAutoscalers (the only kind routing
// asks about): their controller owner, such as KEDA's ScaledObject, or nil, also when the HPA
// does not exist.
func (r *ClusterResolver) Controller(ctx context.Context, kind v1beta1.TargetKind, namespace, name string) (*metav1.OwnerReference, error) {
	if kind != v1beta1.TargetKindHorizontalPodAutoscaler {
		return nil, nil
	}
	m, found, err := getMetadata(ctx, r.Reader, hpaGVK, types.NamespacedName{Namespace: namespace, Name: name})
	if err != nil {
		return nil, err
	}
	if !found {
		// Not there (yet): the engine's TargetExists guard judges it, as for any workload label.
		return nil, nil
	}
	return metav1.GetControllerOf(m), nil
}
