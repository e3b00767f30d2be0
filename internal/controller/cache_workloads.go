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
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What the cache keeps of a Deployment, StatefulSet or DaemonSet (slimWorkload), and why each
// part: every reader of a cached workload reads only these.
//
//   - metadata, whole but for managedFields and last-applied-configuration (CacheTransform):
//     names, UID (the rollback planner's and the stable-revision controller's ownership checks),
//     generation (RolloutHealthy), labels and annotations (the revision annotation, Flux and
//     Argo CD discovery in internal/gitops/discover, heal8s.io/source-path, the GitOps
//     proposal's manifest.Object);
//   - spec.replicas (ScaleUp, RolloutHealthy, ShouldMarkStable) and spec.selector (the rollback
//     planner's and the stable-revision controller's ReplicaSet and ControllerRevision lists);
//   - spec.template.spec.containers, in order, with only name, image and resources: the resource
//     planners (internal/actions/resources.go), the rollback planners (image and name) and the
//     JSON patches they build, whose paths index containers by position and whose test
//     operations read only these fields;
//   - status, whole (RolloutHealthy, ShouldMarkStable).
//
// Everything else (the pod template's metadata, init containers, env, volumes, probes, ports,
// security contexts, strategy, volumeClaimTemplates...) is dropped. A planner given the slim
// object builds byte for byte the patch it builds from the full one, so a plan made from the
// cache holds against the API server's copy (planHolds). No write may ever be computed from a
// slim copy: a JSON merge patch replaces whole lists, so a merge patch of a slim Deployment's
// containers would delete their env, probes and volume mounts. GuardWorkloadWrites makes the
// manager's client refuse every write of these kinds but a JSON patch (RFC 6902, paths and test
// operations, which names only what it changes), and the pod template's labels are dropped so a
// whole-object Update of a slim copy would fail the API server's selector validation anyway.

// slimWorkload strips a cached Deployment, StatefulSet or DaemonSet down to what heal8s reads
// (above), in place; other objects are left alone.
func slimWorkload(obj any) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec = appsv1.DeploymentSpec{Replicas: o.Spec.Replicas, Selector: o.Spec.Selector, Template: slimTemplate(&o.Spec.Template)}
	case *appsv1.StatefulSet:
		o.Spec = appsv1.StatefulSetSpec{Replicas: o.Spec.Replicas, Selector: o.Spec.Selector, Template: slimTemplate(&o.Spec.Template)}
	case *appsv1.DaemonSet:
		o.Spec = appsv1.DaemonSetSpec{Selector: o.Spec.Selector, Template: slimTemplate(&o.Spec.Template)}
	}
}

// slimTemplate keeps a pod template's containers' names, images and resources, in order.
func slimTemplate(t *corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	if len(t.Spec.Containers) == 0 {
		return corev1.PodTemplateSpec{}
	}
	cs := make([]corev1.Container, len(t.Spec.Containers))
	for i := range t.Spec.Containers {
		c := &t.Spec.Containers[i]
		cs[i] = corev1.Container{Name: c.Name, Image: c.Image, Resources: c.Resources}
	}
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: cs}}
}

// ErrSlimWorkloadWrite is returned by GuardWorkloadWrites for a write of a Deployment,
// StatefulSet or DaemonSet that could carry fields of a slim cached copy.
var ErrSlimWorkloadWrite = errors.New("the manager caches Deployments, StatefulSets and DaemonSets without most of their pod template; " +
	"they may only be changed with a JSON patch (RFC 6902) built for the fields it changes")

// GuardWorkloadWrites wraps the manager's client so that a Deployment, StatefulSet or DaemonSet
// can only be written with a JSON patch: an Update, a merge or strategic-merge patch or an apply
// of one of them is refused with ErrSlimWorkloadWrite before it is sent, whether the object came
// from the cache or not (cmd/main.go; see slimWorkload for why).
func GuardWorkloadWrites(c client.Client) client.Client {
	return &workloadWriteGuard{Client: c}
}

type workloadWriteGuard struct {
	client.Client
}

// slimKinds are the kinds slimWorkload strips.
var slimKinds = map[schema.GroupKind]bool{
	{Group: appsv1.GroupName, Kind: "Deployment"}:  true,
	{Group: appsv1.GroupName, Kind: "StatefulSet"}: true,
	{Group: appsv1.GroupName, Kind: "DaemonSet"}:   true,
}

func (g *workloadWriteGuard) refuse(obj runtime.Object, what string) error {
	gvk, err := g.GroupVersionKindFor(obj)
	if err != nil || !slimKinds[gvk.GroupKind()] {
		// A kind the scheme does not know is not one the cache strips; the write goes on
		// and the client reports what it reports.
		return nil //nolint:nilerr // not a slim kind
	}
	return fmt.Errorf("%s of %s: %w", what, gvk.Kind, ErrSlimWorkloadWrite)
}

// Update implements client.Writer.
func (g *workloadWriteGuard) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if err := g.refuse(obj, "update"); err != nil {
		return err
	}
	return g.Client.Update(ctx, obj, opts...)
}

// Patch implements client.Writer.
func (g *workloadWriteGuard) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if patch.Type() != types.JSONPatchType {
		if err := g.refuse(obj, string(patch.Type())+" patch"); err != nil {
			return err
		}
	}
	return g.Client.Patch(ctx, obj, patch, opts...)
}

// Apply implements client.Writer.
func (g *workloadWriteGuard) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	var gvk schema.GroupVersionKind
	switch o := obj.(type) {
	case runtime.Object:
		gvk, _ = g.GroupVersionKindFor(o)
	case interface {
		GetKind() *string
		GetAPIVersion() *string
	}:
		if k, v := o.GetKind(), o.GetAPIVersion(); k != nil && v != nil {
			gvk = schema.FromAPIVersionAndKind(*v, *k)
		}
	}
	if slimKinds[gvk.GroupKind()] {
		return fmt.Errorf("apply of %s: %w", gvk.Kind, ErrSlimWorkloadWrite)
	}
	return g.Client.Apply(ctx, obj, opts...)
}
