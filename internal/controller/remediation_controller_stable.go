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
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/actions"
)

// DefaultStableAfter is how long a Deployment must have been fully available on a revision before
// its ReplicaSet is marked heal8s.io/stable=true, the rollback target RollbackImage prefers.
const DefaultStableAfter = 10 * time.Minute

// markerTrue is the value that sets a heal8s marker label or annotation (heal8s.io/stable,
// heal8s.io/notifier-secret).
const markerTrue = "true"

// StableRevisionReconciler labels a Deployment's current ReplicaSet heal8s.io/stable=true once the
// Deployment has run fully available on it for StableAfter, so that RollbackImage goes back to a
// revision known to have worked rather than merely to an older one. It acts only in namespaces
// where a RemediationPolicy with a rollbackImage rule acts (its own, or those a cluster-wide
// policy's namespaceSelector selects), so heal8s labels nothing it may never roll back.
type StableRevisionReconciler struct {
	// Client reads Deployments, policies and Namespaces through the manager's cache and patches
	// ReplicaSets.
	client.Client
	// APIReader lists ReplicaSets from the API server: they are not cached (cmd/main.go), a
	// cluster holds several per Deployment.
	APIReader client.Reader
	// Clock is the time source; a fake clock in tests.
	Clock clock.PassiveClock
	// StableAfter is how long a revision must have been fully available; zero means
	// DefaultStableAfter.
	StableAfter time.Duration
	// OperatorNamespace holds cluster-wide policies.
	OperatorNamespace string
}

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=heal8s.io,resources=remediationpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconcile marks the Deployment's current ReplicaSet stable when actions.ShouldMarkStable allows.
func (r *StableRevisionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	d := &appsv1.Deployment{}
	if err := r.Get(ctx, req.NamespacedName, d); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("Deployment", klog.KObj(d))
	covered, err := r.rollbackCovers(ctx, d.Namespace)
	if err != nil || !covered {
		return ctrl.Result{}, err
	}
	sel, err := ownedBySelector(d.Spec.Selector, client.InNamespace(d.Namespace))
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("reading the selector of Deployment %s: %w", client.ObjectKeyFromObject(d), err)
	}
	var rss appsv1.ReplicaSetList
	if err := r.APIReader.List(ctx, &rss, sel...); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing ReplicaSets in %s: %w", d.Namespace, err)
	}
	rev := d.Annotations[actions.RevisionAnnotation]
	for i := range rss.Items {
		rs := &rss.Items[i]
		if !metav1.IsControlledBy(rs, d) || rev == "" || rs.Annotations[actions.RevisionAnnotation] != rev {
			continue
		}
		if rs.Labels[v1beta1.LabelStable] == markerTrue {
			return ctrl.Result{}, nil
		}
		after := r.StableAfter
		if after <= 0 {
			after = DefaultStableAfter
		}
		ok, why := actions.ShouldMarkStable(rs, d, r.Clock.Now(), after)
		if !ok {
			log.V(1).Info("Revision not stable yet", "ReplicaSet", klog.KObj(rs), "why", why)
			// Status changes of the Deployment wake this up; time passing does not.
			return ctrl.Result{RequeueAfter: after}, nil
		}
		patch := client.MergeFrom(rs.DeepCopy())
		if rs.Labels == nil {
			rs.Labels = map[string]string{}
		}
		rs.Labels[v1beta1.LabelStable] = markerTrue
		if err := r.Patch(ctx, rs, patch); err != nil {
			if apierrors.IsNotFound(err) {
				return ctrl.Result{}, nil
			}
			return ctrl.Result{}, fmt.Errorf("labelling ReplicaSet %s stable: %w", client.ObjectKeyFromObject(rs), err)
		}
		log.Info("Marked revision stable", "ReplicaSet", klog.KObj(rs), "why", why)
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, nil
}

// rollbackCovers reports whether a policy with a rollbackImage rule covers the namespace: one in
// the namespace itself, or a cluster-wide one (with a namespaceSelector) in the operator's.
func (r *StableRevisionReconciler) rollbackCovers(ctx context.Context, namespace string) (bool, error) {
	var list v1beta1.RemediationPolicyList
	if err := r.List(ctx, &list); err != nil {
		return false, fmt.Errorf("listing RemediationPolicies: %w", err)
	}
	var ns *corev1.Namespace
	for i := range list.Items {
		p := &list.Items[i]
		inScope := p.Namespace == namespace
		if !inScope && p.Namespace == r.OperatorNamespace && p.Spec.NamespaceSelector != nil {
			if ns == nil {
				ns = &corev1.Namespace{}
				if err := r.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
					return false, client.IgnoreNotFound(err)
				}
			}
			sel, err := metav1.LabelSelectorAsSelector(p.Spec.NamespaceSelector)
			if err != nil {
				continue // The policy controller reports the invalid selector.
			}
			inScope = sel.Matches(labels.Set(ns.Labels))
		}
		if !inScope {
			continue
		}
		for _, rule := range p.Spec.Rules {
			if rule.Action.RollbackImage != nil {
				return true, nil
			}
		}
	}
	return false, nil
}

// SetupWithManager watches Deployments, whose status changes as rollouts complete.
func (r *StableRevisionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	// The Deployment's status and revision annotation decide, so the watch needs the whole
	// object (metadata alone would not do); the Remediation controller reads the same cached
	// Deployments as targets.
	return ctrl.NewControllerManagedBy(mgr).
		For(&appsv1.Deployment{}).
		Named("stablerevision").
		Complete(r)
}

// ownedBySelector narrows a list of a workload's ReplicaSets or ControllerRevisions to those its
// selector matches: the workload controllers label what they create with the pod template's
// labels, which the (immutable) selector matches, so nothing the workload owns is left out. A
// workload without a selector gets the whole namespace.
func ownedBySelector(selector *metav1.LabelSelector, opts ...client.ListOption) ([]client.ListOption, error) {
	if selector == nil {
		return opts, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return nil, fmt.Errorf("parsing label selector: %w", err)
	}
	return append(opts, client.MatchingLabelsSelector{Selector: sel}), nil
}
