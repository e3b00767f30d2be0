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
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// CacheTransform is the manager cache's DefaultTransform: it drops from every cached object what
// heal8s never reads, managedFields and kubectl's last-applied-configuration annotation (a copy
// of the whole object as it was applied, often as large as the object), and from Deployments,
// StatefulSets and DaemonSets all of the spec but replicas, selector and the containers' names,
// images and resources (slimWorkload, cache_workloads.go). heal8s writes its own objects only
// with patches computed against the cached copy (client.MergeFrom), which never touch what the
// transform drops, and workloads only with the Direct strategy's JSON patch, which names exactly
// the fields it changes (GuardWorkloadWrites refuses any other write of a workload), never with an
// Update, so what the cache drops is never written back as removed.
func CacheTransform() toolscache.TransformFunc {
	strip := cache.TransformStripManagedFields()
	return func(in any) (any, error) {
		out, err := strip(in)
		if err != nil {
			return out, err
		}
		slimWorkload(out)
		m, err := meta.Accessor(out)
		if err != nil {
			// Not an object (a tombstone): nothing to drop.
			return out, nil //nolint:nilerr // the transform passes what it does not understand through
		}
		if a := m.GetAnnotations(); a != nil {
			if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
				a = maps.Clone(a)
				delete(a, corev1.LastAppliedConfigAnnotation)
				m.SetAnnotations(a)
			}
		}
		return out, nil
	}
}
