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

package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/alertmanager"
	"github.com/heal8s/heal8s/internal/routing"
)

// OfflineResolver is the routing.Resolver of route test without a cluster: every question only
// the cluster can answer gets routing.ErrUnresolved, so Table.Decide stops with what the labels
// tell and marks the Decision Unresolved, its Detail saying what was not checked.
type OfflineResolver struct{}

var _ routing.Resolver = OfflineResolver{}

// NamespaceLabels implements routing.Resolver.
func (OfflineResolver) NamespaceLabels(context.Context, string) (map[string]string, bool, error) {
	return nil, false, routing.ErrUnresolved
}

// PodOwner implements routing.Resolver.
func (OfflineResolver) PodOwner(context.Context, string, string) (v1beta1.TargetKind, string, error) {
	return "", "", routing.ErrUnresolved
}

// ScrapeTarget implements routing.Resolver.
func (OfflineResolver) ScrapeTarget(context.Context, string, string, string) (bool, error) {
	return false, routing.ErrUnresolved
}

// Controller implements routing.Resolver.
func (OfflineResolver) Controller(context.Context, v1beta1.TargetKind, string, string) (*metav1.OwnerReference, error) {
	return nil, routing.ErrUnresolved
}

// RouteResult is what the receiver would do with one alert.
type RouteResult struct {
	// Source says where the alert came from (AlertInput.Source).
	Source string
	// AlertName is the alertname label.
	AlertName string
	// Status is firing or resolved.
	Status string
	// Fingerprint is the alert's fingerprint.
	Fingerprint string
	// StartsAt is when the alert started; zero for an alert made of labels.
	StartsAt time.Time
	// Labels are the alert's labels.
	Labels map[string]string
	// Decision is Table.Decide's verdict for a firing alert; zero for a resolved one.
	Decision routing.Decision
	// Remediation is the Remediation the receiver would create (a match) or look for (a
	// resolved alert whose rule still matches); its name is set only when the alert has a
	// fingerprint and a start, as a payload's alerts do.
	Remediation types.NamespacedName
	// Resolution says, for a resolved alert, what the receiver does with it instead of routing.
	Resolution string
	// Err is the failed read of the cluster that stopped the decision, if any.
	Err error
}

// Resolved reports whether the result is of a resolved alert.
func (r RouteResult) Resolved() bool { return r.Status == alertmanager.StatusResolved }

// Matched reports whether the alert deserves a Remediation.
func (r RouteResult) Matched() bool {
	return !r.Resolved() && r.Err == nil && r.Decision.Reason == "" && r.Decision.Rule != ""
}

// RouteTest routes each alert the way the receiver does: a firing alert through
// table.Decide(ctx, labels, resolver), a resolved one to the namespace where the receiver looks
// for its Remediation, without routing. A nil resolver is an OfflineResolver. Every alert gets a
// result in order; an alert whose decision failed to read the cluster has Err set, and the
// returned error joins those failures.
func RouteTest(ctx context.Context, table *routing.Table, alerts []AlertInput, resolver routing.Resolver) ([]RouteResult, error) {
	if table == nil {
		return nil, errors.New("routing alerts: no routing table")
	}
	if resolver == nil {
		resolver = OfflineResolver{}
	}
	results := make([]RouteResult, 0, len(alerts))
	var errs []error
	for _, a := range alerts {
		res := RouteResult{
			Source:      a.Source,
			AlertName:   a.Labels[routing.LabelAlertName],
			Status:      a.Status,
			Fingerprint: a.Fingerprint,
			StartsAt:    a.StartsAt,
			Labels:      a.Labels,
		}
		if res.Status == "" {
			res.Status = alertmanager.StatusFiring
		}
		if res.Resolved() {
			resolution(ctx, table, resolver, &res)
			results = append(results, res)
			continue
		}
		d, err := table.Decide(ctx, a.Labels, resolver)
		res.Decision = d
		if err != nil {
			res.Err = fmt.Errorf("routing alert %s (%s): %w", res.AlertName, res.Source, err)
			errs = append(errs, res.Err)
		}
		if res.Matched() {
			res.Remediation = remediationKey(d.Match, a.Alert)
		}
		results = append(results, res)
	}
	return results, errors.Join(errs...)
}

// remediationKey is the Remediation the receiver creates for a match; the name only when the
// alert has what the name is made of.
func remediationKey(m routing.Match, a alertmanager.Alert) types.NamespacedName {
	key := types.NamespacedName{Namespace: m.Target.Namespace}
	if a.Fingerprint != "" && !a.StartsAt.IsZero() {
		key.Name = alertmanager.RemediationName(m.Policy, m.Rule, a.Fingerprint, a.StartsAt)
	}
	return key
}

// resolution fills in what the receiver does with a resolved alert: it records the resolution
// (the heal8s.io/alert-resolved-at annotation, folded into status.alertResolvedAt by the
// controller) on the Remediation of this alert instance, found by fingerprint in
// the alert's namespace, or in the one the rule's namespaceLabel names.
func resolution(ctx context.Context, table *routing.Table, resolver routing.Resolver, res *RouteResult) {
	ns := routing.Namespace(res.Labels)
	m, reason, err := table.Route(res.Labels, func(n string) (map[string]string, bool, error) {
		return resolver.NamespaceLabels(ctx, n)
	})
	if err == nil && reason == "" && m.Target.Namespace != "" {
		ns = m.Target.Namespace
		res.Remediation = remediationKey(m, alertmanager.Alert{Fingerprint: res.Fingerprint, StartsAt: res.StartsAt})
	}
	if ns == "" {
		res.Resolution = "the receiver records nothing: the alert has no namespace, so it has no Remediation (skip no_remediation)"
		return
	}
	res.Resolution = fmt.Sprintf("the receiver records the resolution (annotation heal8s.io/alert-resolved-at, folded into status.alertResolvedAt) on the Remediation of "+
		"fingerprint %s in namespace %s, if there is one; resolved alerts are not routed", res.Fingerprint, ns)
}
