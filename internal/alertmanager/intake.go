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
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/routing"
)

// Skip reasons the receiver adds to routing's.
const (
	// SkipNoRemediation means a resolved alert has no Remediation to update.
	SkipNoRemediation routing.SkipReason = "no_remediation"
	// SkipInvalid means the API server refused the Remediation as invalid (for example an alert
	// without an alertname) or too large; retrying would not help.
	SkipInvalid routing.SkipReason = "invalid_remediation"
)

// ErrPersist wraps every failure to read or write the API server while handling a payload; the
// handler answers 503 so Alertmanager retries.
var ErrPersist = errors.New("persisting remediations")

// Result tells what a payload did; the handler returns it as the 200 body.
type Result struct {
	// Created counts Remediations this call created.
	Created int `json:"created"`
	// Existing counts firing alerts whose Remediation already existed (repeats).
	Existing int `json:"existing"`
	// Resolved counts Remediations marked resolved.
	Resolved int `json:"resolved"`
	// Skipped counts alerts that created or updated nothing, by reason.
	Skipped map[routing.SkipReason]int `json:"skipped,omitempty"`
}

// intake turns decoded alerts into Remediations. It holds no HTTP concerns.
type intake struct {
	client      client.Client // cached reads, direct writes
	apiReader   client.Reader // uncached reads, after a conflict or a cache miss that matters
	table       *routing.Table
	metrics     *metrics.Recorder
	clock       clock.PassiveClock
	batch       *batcher
	concurrency int
}

// process handles every alert of the payload, a few at a time, and returns after each firing
// alert's Remediation exists (created or found) and each resolved one is recorded. Any API
// failure makes the whole call fail; what did succeed is idempotent on retry.
func (in *intake) process(ctx context.Context, p *Payload) (Result, error) {
	res := Result{Skipped: map[routing.SkipReason]int{}}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, in.concurrency)
	)
	for i := range p.Alerts {
		a := &p.Alerts[i]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out, reason, err := in.alert(ctx, a)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = fmt.Errorf("%w: alerts[%d] (fingerprint %s): %w", ErrPersist, i, a.Fingerprint, err)
				}
			case reason != "":
				res.Skipped[reason]++
				in.metrics.AlertsSkipped.WithLabelValues(string(reason)).Inc()
			default:
				res.Created += out.created
				res.Existing += out.existing
				res.Resolved += out.resolved
			}
		})
	}
	wg.Wait()
	return res, firstErr
}

type outcome struct{ created, existing, resolved int }

func (in *intake) alert(ctx context.Context, a *Alert) (outcome, routing.SkipReason, error) {
	in.metrics.AlertsReceived.WithLabelValues(a.Status).Inc()
	if a.Status == StatusResolved {
		return in.resolved(ctx, a)
	}
	return in.firing(ctx, a)
}

func (in *intake) namespaceLabels(ctx context.Context) routing.NamespaceLabels {
	return func(ns string) (map[string]string, bool, error) {
		m, found, err := getMetadata(ctx, in.client, namespaceGVK, types.NamespacedName{Name: ns})
		if err != nil || !found {
			return nil, found, err
		}
		return m.Labels, true, nil
	}
}

// route decides the alert's policy, rule and target, resolving a pod to its owner.
func (in *intake) route(ctx context.Context, a *Alert) (routing.Match, routing.SkipReason, error) {
	m, reason, err := in.table.Route(a.Labels, in.namespaceLabels(ctx))
	if err != nil || reason != "" {
		return m, reason, err
	}
	if m.Target.NeedsOwner() {
		kind, name, err := resolveOwner(ctx, in.client, m.Target.Namespace, m.Target.Pod)
		switch {
		case errors.Is(err, ErrTargetNotFound):
			ctrl.LoggerFrom(ctx).V(1).Info("Alert's target not found", "alertname", a.Labels[routing.LabelAlertName],
				"fingerprint", a.Fingerprint, "reason", err.Error())
			return m, routing.SkipTargetNotFound, nil
		case err != nil:
			return m, "", err
		}
		if m.Target.WantKind != "" && m.Target.WantKind != kind {
			return m, routing.SkipTargetNotFound, nil
		}
		m.Target.Kind, m.Target.Name = kind, name
	}
	return m, "", nil
}

func (in *intake) firing(ctx context.Context, a *Alert) (outcome, routing.SkipReason, error) {
	m, reason, err := in.route(ctx, a)
	if err != nil || reason != "" {
		return outcome{}, reason, err
	}
	now := in.clock.Now()
	key := types.NamespacedName{Namespace: m.Target.Namespace, Name: RemediationName(m.Policy, m.Rule, a.Fingerprint, a.StartsAt)}
	in.batch.matched(m.Policy, now)

	// Fast path: a repeat of an alert whose Remediation the cache already holds.
	cached := &v1beta1.Remediation{}
	err = in.client.Get(ctx, key, cached)
	switch {
	case err == nil:
		in.batch.bump(key, now, 1)
		return outcome{existing: 1}, "", nil
	case !apierrors.IsNotFound(err):
		return outcome{}, "", fmt.Errorf("reading Remediation %s: %w", key, err)
	}

	rem := newRemediation(key, m, a)
	if err := in.client.Create(ctx, rem); err != nil {
		switch {
		case apierrors.IsAlreadyExists(err):
			in.batch.bump(key, now, 1)
			return outcome{existing: 1}, "", nil
		case apierrors.IsNotFound(err):
			// The namespace is gone (or going): there is nothing left to remediate.
			return outcome{}, routing.SkipTargetNotFound, nil
		case apierrors.IsInvalid(err), apierrors.IsRequestEntityTooLargeError(err):
			ctrl.LoggerFrom(ctx).Error(err, "Remediation refused as invalid", "Remediation", key)
			return outcome{}, SkipInvalid, nil
		}
		return outcome{}, "", fmt.Errorf("creating Remediation %s: %w", key, err)
	}
	in.metrics.RemediationsCreated.WithLabelValues(string(m.Action.Type()), m.Policy.Namespace).Inc()
	ctrl.LoggerFrom(ctx).Info("Created Remediation", "Remediation", key, "rule", m.Rule,
		"Kind", m.Target.Kind, "target", m.Target.Name)

	// The first sighting, written with the optimistic lock of the create: if another replica or
	// the engine wrote status in between, the count goes through the batch's fresh read instead.
	base := rem.DeepCopy()
	rem.Status.AlertCount = 1
	rem.Status.LastSeen = &metav1.Time{Time: now}
	if err := in.client.Status().Patch(ctx, rem, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		in.batch.bump(key, now, 1)
	}
	in.batch.newIncident(key.Namespace, a.Fingerprint, now)
	return outcome{created: 1}, "", nil
}

// newRemediation builds the Remediation for a match, its spec written once from the alert.
func newRemediation(key types.NamespacedName, m routing.Match, a *Alert) *v1beta1.Remediation {
	var startsAt *metav1.Time
	if !a.StartsAt.IsZero() {
		startsAt = &metav1.Time{Time: a.StartsAt}
	}
	return &v1beta1.Remediation{
		ObjectMeta: metav1.ObjectMeta{
			Name:      key.Name,
			Namespace: key.Namespace,
			Labels: map[string]string{
				v1beta1.LabelPolicy:      m.Policy.Name,
				v1beta1.LabelRule:        m.Rule,
				v1beta1.LabelFingerprint: a.Fingerprint,
				v1beta1.LabelAction:      string(m.Action.Type()),
			},
		},
		Spec: v1beta1.RemediationSpec{
			PolicyRef: v1beta1.PolicyReference{Name: m.Policy.Name, Namespace: m.Policy.Namespace},
			Rule:      m.Rule,
			Alert: v1beta1.AlertInfo{
				Name:         a.Labels[routing.LabelAlertName],
				Fingerprint:  a.Fingerprint,
				Labels:       a.Labels,
				Annotations:  a.Annotations,
				StartsAt:     startsAt,
				GeneratorURL: a.GeneratorURL,
			},
			Target: v1beta1.TargetRef{
				APIVersion: m.Target.Kind.APIVersion(),
				Kind:       m.Target.Kind,
				Name:       m.Target.Name,
				Namespace:  m.Target.Namespace,
				Container:  m.Target.Container,
			},
			Action:   m.Action,
			Strategy: m.Strategy,
		},
	}
}

// resolved records status.alertResolvedAt on the Remediation of this alert instance, at once:
// the engine's Verifying phase waits for it. The cache is asked first, by fingerprint label, so
// a policy edited since creation does not lose the resolution; a Remediation too new for the
// cache is read from the API server by its routed name.
func (in *intake) resolved(ctx context.Context, a *Alert) (outcome, routing.SkipReason, error) {
	ns := a.Labels[routing.LabelNamespace]
	if ns == "" {
		return outcome{}, SkipNoRemediation, nil
	}
	list := &v1beta1.RemediationList{}
	if err := in.client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{v1beta1.LabelFingerprint: a.Fingerprint}); err != nil {
		return outcome{}, "", fmt.Errorf("listing Remediations of fingerprint %s: %w", a.Fingerprint, err)
	}
	var targets []*v1beta1.Remediation
	for i := range list.Items {
		r := &list.Items[i]
		policy := types.NamespacedName{Namespace: r.Spec.PolicyRef.Namespace, Name: r.Spec.PolicyRef.Name}
		if r.Name == RemediationName(policy, r.Spec.Rule, a.Fingerprint, a.StartsAt) {
			targets = append(targets, r)
		}
	}
	if len(targets) == 0 {
		m, reason, err := in.table.Route(a.Labels, in.namespaceLabels(ctx))
		if err != nil {
			return outcome{}, "", err
		}
		if reason != "" {
			return outcome{}, SkipNoRemediation, nil
		}
		r := &v1beta1.Remediation{}
		key := types.NamespacedName{Namespace: ns, Name: RemediationName(m.Policy, m.Rule, a.Fingerprint, a.StartsAt)}
		if err := in.apiReader.Get(ctx, key, r); err != nil {
			if apierrors.IsNotFound(err) {
				return outcome{}, SkipNoRemediation, nil
			}
			return outcome{}, "", fmt.Errorf("reading Remediation %s: %w", key, err)
		}
		targets = append(targets, r)
	}
	at := a.EndsAt
	if at.IsZero() || at.After(in.clock.Now()) {
		at = in.clock.Now()
	}
	n := 0
	for _, r := range targets {
		if r.Status.AlertResolvedAt != nil && !r.Status.AlertResolvedAt.Time.Before(at.Truncate(time.Second)) {
			n++ // already recorded, by an earlier send or another replica
			continue
		}
		base := r.DeepCopy()
		r.Status.AlertResolvedAt = &metav1.Time{Time: at}
		if err := in.client.Status().Patch(ctx, r, client.MergeFrom(base)); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return outcome{}, "", fmt.Errorf("recording resolution on Remediation %s: %w", client.ObjectKeyFromObject(r), err)
		}
		n++
	}
	if n == 0 {
		return outcome{}, SkipNoRemediation, nil
	}
	return outcome{resolved: n}, "", nil
}
