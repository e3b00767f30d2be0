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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

var (
	// ErrTargetNotFound means the alert's pod and its owner are gone, or the owner is not a kind
	// heal8s changes (a bare ReplicaSet, a Job); the alert is skipped, not retried.
	ErrTargetNotFound = errors.New("target not found")
	// ErrUnresolved is what a Resolver without a cluster (kubectl heal8s route test, offline)
	// answers: Decide stops with the labels' verdict and says what it could not check.
	ErrUnresolved = errors.New("not resolved without a cluster")
)

// Decision is the whole routing verdict for one firing alert.
type Decision struct {
	// Match is the policy, rule and target. It is set on a match and, as far as it got, on the
	// skips that come after a rule matched (protected namespace, scrape target, controlled HPA).
	Match
	// Reason is empty on a match.
	Reason SkipReason
	// Detail says why, in words: for logs, Events and `kubectl heal8s route test`.
	Detail string
	// Unresolved is set when the Resolver could not answer (offline): Detail says what is left
	// for the receiver to check, and the target may still be only a pod.
	Unresolved bool
}

// Resolver answers what an alert's labels cannot: the receiver reads the cluster, the kubectl
// plugin reads it through a kubeconfig or answers ErrUnresolved offline.
type Resolver interface {
	// NamespaceLabels returns a namespace's labels; found is false when it does not exist.
	NamespaceLabels(ctx context.Context, namespace string) (nsLabels map[string]string, found bool, err error)
	// PodOwner returns the workload that controls a pod (a Deployment through its ReplicaSet, a
	// StatefulSet, a DaemonSet); an error wrapping ErrTargetNotFound skips the alert.
	PodOwner(ctx context.Context, namespace, pod string) (v1beta1.TargetKind, string, error)
	// ScrapeTarget reports whether the pod is the scrape target at instance (host:port): the
	// exporter that produced the alert's series rather than the workload it describes.
	ScrapeTarget(ctx context.Context, namespace, pod, instance string) (bool, error)
	// Controller returns the controller owner reference of a target, or nil.
	Controller(ctx context.Context, kind v1beta1.TargetKind, namespace, name string) (*metav1.OwnerReference, error)
}

// Decide routes a firing alert and checks, through r, what its labels cannot tell: which
// workload owns the pod, that the pod is not the exporter that was scraped, and that no other
// controller owns an HPA. The receiver and `kubectl heal8s route test` both call it, so they
// agree. The error is a failed read of the cluster, worth a retry; everything else is a
// Decision.
func (t *Table) Decide(ctx context.Context, alertLabels map[string]string, r Resolver) (Decision, error) {
	d, err := t.route(alertLabels, func(ns string) (map[string]string, bool, error) {
		return r.NamespaceLabels(ctx, ns)
	})
	if err != nil {
		return d, err
	}
	if d.Reason != "" {
		return d, nil
	}
	tgt := &d.Target
	if tgt.NeedsOwner() {
		// The scrape target check comes first: the exporter's pod must not be acted on even
		// where its owner is a kind heal8s changes.
		if tgt.Instance != "" && tgt.Source == SourcePodLabel {
			is, err := r.ScrapeTarget(ctx, tgt.Namespace, tgt.Pod, tgt.Instance)
			switch {
			case errors.Is(err, ErrUnresolved):
				d.Unresolved = true
				d.Detail += fmt.Sprintf("; pod %s/%s not checked against the scrape target %s (%v)", tgt.Namespace, tgt.Pod, tgt.Instance, err)
			case err != nil:
				return d, err
			case is:
				d.Reason = SkipScrapeTarget
				d.Detail = fmt.Sprintf("pod %s/%s is the scrape target %s that produced the alert's series (an exporter), "+
					"not the workload it describes: heal8s never acts on the monitoring pipeline; aggregate the alert by the "+
					"labels of the workload it is about", tgt.Namespace, tgt.Pod, tgt.Instance)
				return d, nil
			}
		}
		kind, name, err := r.PodOwner(ctx, tgt.Namespace, tgt.Pod)
		switch {
		case errors.Is(err, ErrUnresolved):
			d.Unresolved = true
			d.Detail += fmt.Sprintf("; owner of pod %s/%s not resolved (%v)", tgt.Namespace, tgt.Pod, err)
			return d, nil
		case errors.Is(err, ErrTargetNotFound):
			d.Reason, d.Detail = SkipTargetNotFound, err.Error()
			return d, nil
		case err != nil:
			return d, err
		}
		if tgt.WantKind != "" && tgt.WantKind != kind {
			d.Reason = SkipTargetNotFound
			d.Detail = fmt.Sprintf("pod %s/%s belongs to %s %s, and the rule wants a %s", tgt.Namespace, tgt.Pod, kind, name, tgt.WantKind)
			return d, nil
		}
		tgt.Kind, tgt.Name = kind, name
		d.Detail += fmt.Sprintf("; pod %s is owned by %s %s", tgt.Pod, kind, name)
	}
	if tgt.Kind == v1beta1.TargetKindHorizontalPodAutoscaler {
		ref, err := r.Controller(ctx, tgt.Kind, tgt.Namespace, tgt.Name)
		switch {
		case errors.Is(err, ErrUnresolved):
			d.Unresolved = true
			d.Detail += fmt.Sprintf("; HorizontalPodAutoscaler %s/%s not checked for a controller (%v)", tgt.Namespace, tgt.Name, err)
		case errors.Is(err, ErrTargetNotFound):
			d.Reason, d.Detail = SkipTargetNotFound, err.Error()
			return d, nil
		case err != nil:
			return d, err
		case ref != nil:
			d.Reason = SkipControlledHPA
			d.Detail = fmt.Sprintf("HorizontalPodAutoscaler %s/%s is controlled by %s %s (%s), which would revert a change to "+
				"maxReplicas: raise the limit there (for KEDA, the ScaledObject's maxReplicaCount)",
				tgt.Namespace, tgt.Name, ref.Kind, ref.Name, ref.APIVersion)
			return d, nil
		}
	}
	return d, nil
}
