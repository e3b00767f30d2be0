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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/routing"
)

// ErrTargetNotFound is routing's: the pod and its owner are gone, or the owner is not a kind
// heal8s changes.
var ErrTargetNotFound = routing.ErrTargetNotFound

// RemediationName is the deterministic name of the Remediation for one alert instance: the same
// alert repeated (same fingerprint and startsAt) always maps to the same name, so AlreadyExists
// is the dedup across replicas and restarts, while the same labels firing again later, as a new
// incident with a new startsAt, get a new Remediation. The rule name (a DNS label) keeps it
// readable; the result is a valid DNS-1123 label of at most 63 characters.
func RemediationName(policy types.NamespacedName, rule, fingerprint string, startsAt time.Time) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		policy.Namespace, policy.Name, rule, fingerprint, startsAt.UTC().Format(time.RFC3339Nano),
	}, "/")))
	const hashLen = 10
	prefix := rule
	if len(prefix) > 63-hashLen-1 {
		prefix = strings.TrimRight(prefix[:63-hashLen-1], "-")
	}
	return prefix + "-" + hex.EncodeToString(sum[:])[:hashLen]
}

var (
	podGVK         = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	namespaceGVK   = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	replicaSetGVK  = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	statefulSetGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}
	daemonSetGVK   = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}
)

// getMetadata reads only an object's metadata: from the API server for Pods and ReplicaSets,
// which the manager never caches (cmd/main.go), and from a metadata informer for the other
// kinds, never the full objects of the whole cluster. found is false on NotFound; any other
// error is returned.
func getMetadata(ctx context.Context, r client.Reader, gvk schema.GroupVersionKind, key types.NamespacedName) (*metav1.PartialObjectMetadata, bool, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	if err := r.Get(ctx, key, m); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("reading %s %s: %w", gvk.Kind, key, err)
	}
	return m, true, nil
}

// resolveOwner finds the workload that owns a pod: its Deployment (through the ReplicaSet), its
// StatefulSet or its DaemonSet. When the pod is gone (OOM-killed pods often are, by the time the
// alert arrives), the owner is derived from the pod's name: "<rs>-<5 chars>" names a ReplicaSet
// (or a DaemonSet), "<sts>-<ordinal>" a StatefulSet.
func resolveOwner(ctx context.Context, r client.Reader, namespace, pod string) (v1beta1.TargetKind, string, error) {
	pm, found, err := getMetadata(ctx, r, podGVK, types.NamespacedName{Namespace: namespace, Name: pod})
	if err != nil {
		return "", "", err
	}
	if found {
		ref := metav1.GetControllerOf(pm)
		if ref == nil {
			return "", "", fmt.Errorf("%w: pod %s/%s has no controller", ErrTargetNotFound, namespace, pod)
		}
		switch ref.Kind {
		case "ReplicaSet":
			return deploymentOf(ctx, r, namespace, ref.Name)
		case "StatefulSet":
			return v1beta1.TargetKindStatefulSet, ref.Name, nil
		case "DaemonSet":
			return v1beta1.TargetKindDaemonSet, ref.Name, nil
		}
		return "", "", fmt.Errorf("%w: pod %s/%s is controlled by a %s", ErrTargetNotFound, namespace, pod, ref.Kind)
	}
	i := strings.LastIndexByte(pod, '-')
	if i <= 0 {
		return "", "", fmt.Errorf("%w: pod %s/%s is gone", ErrTargetNotFound, namespace, pod)
	}
	prefix, suffix := pod[:i], pod[i+1:]
	if isDigits(suffix) {
		if _, ok, err := getMetadata(ctx, r, statefulSetGVK, types.NamespacedName{Namespace: namespace, Name: prefix}); err != nil || ok {
			return v1beta1.TargetKindStatefulSet, prefix, err
		}
	}
	kind, name, err := deploymentOf(ctx, r, namespace, prefix)
	if !errors.Is(err, ErrTargetNotFound) {
		return kind, name, err
	}
	if _, ok, err := getMetadata(ctx, r, daemonSetGVK, types.NamespacedName{Namespace: namespace, Name: prefix}); err != nil || ok {
		return v1beta1.TargetKindDaemonSet, prefix, err
	}
	return "", "", fmt.Errorf("%w: pod %s/%s is gone and no ReplicaSet, StatefulSet or DaemonSet matches its name", ErrTargetNotFound, namespace, pod)
}

func deploymentOf(ctx context.Context, r client.Reader, namespace, replicaSet string) (v1beta1.TargetKind, string, error) {
	rs, found, err := getMetadata(ctx, r, replicaSetGVK, types.NamespacedName{Namespace: namespace, Name: replicaSet})
	if err != nil {
		return "", "", err
	}
	if !found {
		return "", "", fmt.Errorf("%w: ReplicaSet %s/%s", ErrTargetNotFound, namespace, replicaSet)
	}
	ref := metav1.GetControllerOf(rs)
	if ref == nil || ref.Kind != "Deployment" {
		return "", "", fmt.Errorf("%w: ReplicaSet %s/%s belongs to no Deployment", ErrTargetNotFound, namespace, replicaSet)
	}
	return v1beta1.TargetKindDeployment, ref.Name, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
