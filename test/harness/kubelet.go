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

package harness

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kubelet stands in for the kubelets the local control plane lacks: in the namespaces it is
// given, it marks every Pod running and ready (so ReplicaSets and Deployments report real
// availability through kube-controller-manager) and finishes the deletion of terminating Pods.
// It polls; it is meant for a handful of Pods in a demo or a test, not a cluster.
type Kubelet struct {
	Client     client.Client
	Namespaces []string
	Interval   time.Duration
	// SimulateWorkloads also writes Deployment status as if every rollout finished at once, for
	// a control plane without kube-controller-manager.
	SimulateWorkloads bool
}

// Run works until ctx ends.
func (k *Kubelet) Run(ctx context.Context) {
	interval := k.Interval
	if interval == 0 {
		interval = 300 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, ns := range k.Namespaces {
			_ = k.sync(ctx, ns) // best effort: the next tick tries again
			if k.SimulateWorkloads {
				_ = k.rollOut(ctx, ns)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (k *Kubelet) sync(ctx context.Context, ns string) error {
	pods := &corev1.PodList{}
	if err := k.Client.List(ctx, pods, client.InNamespace(ns)); err != nil {
		return fmt.Errorf("listing pods in %s: %w", ns, err)
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil {
			err := k.Client.Delete(ctx, pod, client.GracePeriodSeconds(0))
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting pod %s/%s: %w", ns, pod.Name, err)
			}
			continue
		}
		if podReady(pod) {
			continue
		}
		base := pod.DeepCopy()
		now := metav1.Now()
		pod.Status.Phase = corev1.PodRunning
		pod.Status.StartTime = &now
		pod.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		pod.Status.ContainerStatuses = nil
		for _, c := range pod.Spec.Containers {
			started := true
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true, Started: &started,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			})
		}
		if err := k.Client.Status().Patch(ctx, pod, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("marking pod %s/%s ready: %w", ns, pod.Name, err)
		}
	}
	return nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// rollOut reports every Deployment in ns as fully rolled out at its current generation.
func (k *Kubelet) rollOut(ctx context.Context, ns string) error {
	list := &appsv1.DeploymentList{}
	if err := k.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		return fmt.Errorf("listing deployments in %s: %w", ns, err)
	}
	for i := range list.Items {
		d := &list.Items[i]
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		s := d.Status
		if s.ObservedGeneration == d.Generation && s.Replicas == want && s.UpdatedReplicas == want && s.AvailableReplicas == want {
			continue
		}
		base := d.DeepCopy()
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = want, want, want, want
		d.Status.UnavailableReplicas = 0
		if err := k.Client.Status().Patch(ctx, d, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("rolling out deployment %s/%s: %w", ns, d.Name, err)
		}
	}
	return nil
}
