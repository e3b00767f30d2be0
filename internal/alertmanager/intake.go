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

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/internal/routing"
	webhookv1beta1 "github.com/heal8s/heal8s/internal/webhook/v1beta1"
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
	resolver    routing.Resolver
	events      events.EventRecorder
	warnings    *throttle
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
		return in.resolver.NamespaceLabels(ctx, ns)
	}
}

func (in *intake) firing(ctx context.Context, a *Alert) (outcome, routing.SkipReason, error) {
	// The labels alone decide the policy, the rule and so the Remediation's name: a repeat of an
	// alert whose Remediation the cache holds is counted without reading the cluster again.
	m, reason, err := in.table.Route(a.Labels, in.namespaceLabels(ctx))
	if err != nil {
		return outcome{}, "", err
	}
	now := in.clock.Now()
	var key types.NamespacedName
	if reason == "" {
		key = types.NamespacedName{Namespace: m.Target.Namespace, Name: RemediationName(m.Policy, m.Rule, a.Fingerprint, a.StartsAt)}
		cached := &v1beta1.Remediation{}
		err = in.client.Get(ctx, key, cached)
		switch {
		case err == nil:
			in.batch.matched(m.Policy, now)
			in.batch.bump(key, now, 1)
			return outcome{existing: 1}, "", nil
		case !apierrors.IsNotFound(err):
			return outcome{}, "", fmt.Errorf("reading Remediation %s: %w", key, err)
		}
	}

	// A new alert: the whole decision, with what only the cluster can tell.
	d, err := in.table.Decide(ctx, a.Labels, in.resolver)
	if err != nil {
		return outcome{}, "", err
	}
	if d.Reason != "" {
		in.skipped(ctx, a, d, now)
		return outcome{}, d.Reason, nil
	}
	m = d.Match
	in.batch.matched(m.Policy, now)
	// One write: the first sighting rides on the create, as annotations the controller folds
	// into status (status cannot be written on create).
	rem := newRemediation(key, m, a, now)
	// Defaulted and validated here, as the admission webhooks would: their matchConditions
	// leave the manager's own requests out.
	defaults.Remediation(rem)
	if err := webhookv1beta1.ValidateRemediation(rem); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Remediation not created: invalid", "Remediation", key)
		return outcome{}, SkipInvalid, nil
	}
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
		"targetKind", m.Target.Kind, "target", m.Target.Name, "why", d.Detail)
	in.batch.newIncident(key.Namespace, a.Fingerprint, now)
	return outcome{created: 1}, "", nil
}

// skipped logs a skipped alert and, when the skip protected something (a protected namespace,
// the monitoring pipeline, an HPA another controller owns), tells the policy's owner with a
// Warning Event on the policy, at most once per policy, reason and target per eventEvery.
func (in *intake) skipped(ctx context.Context, a *Alert, d routing.Decision, now time.Time) {
	log := ctrl.LoggerFrom(ctx).V(1)
	if d.Reason.Protective() {
		log = ctrl.LoggerFrom(ctx)
	}
	log.Info("Skipped alert", "alertname", a.Labels[routing.LabelAlertName], "fingerprint", a.Fingerprint,
		"reason", string(d.Reason), "why", d.Detail)
	if !d.Reason.Protective() || in.events == nil || d.Policy.Name == "" {
		return
	}
	if !in.warnings.allow(d.Policy.String()+"/"+string(d.Reason)+"/"+d.Target.Namespace+"/"+d.Target.Pod+d.Target.Name, now) {
		return
	}
	policy := &v1beta1.RemediationPolicy{}
	if err := in.client.Get(ctx, d.Policy, policy); err != nil {
		log.Info("Could not read RemediationPolicy for a Warning Event", "RemediationPolicy", d.Policy, "error", err.Error())
		return
	}
	in.events.Eventf(policy, nil, corev1.EventTypeWarning, reasonOf(d.Reason), "Skip", "%s: alert %s: %s",
		d.Rule, a.Labels[routing.LabelAlertName], truncate(d.Detail, 900))
}

// reasonOf turns a skip reason (snake_case, a metric label value) into an Event reason.
func reasonOf(r routing.SkipReason) string {
	switch r {
	case routing.SkipProtectedNamespace:
		return "ProtectedNamespace"
	case routing.SkipScrapeTarget:
		return "ScrapeTarget"
	case routing.SkipControlledHPA:
		return "ControlledHPA"
	default:
	}
	return "Skipped"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// newRemediation builds the Remediation for a match, its spec written once from the alert and
// its first sighting (one, at now) in the sighting annotations.
func newRemediation(key types.NamespacedName, m routing.Match, a *Alert, now time.Time) *v1beta1.Remediation {
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
			Annotations: map[string]string{
				v1beta1.AnnotationAlertCount:    "1",
				v1beta1.AnnotationAlertLastSeen: remediation.FormatTime(now),
			},
		},
		Spec: v1beta1.RemediationSpec{
			PolicyRef: v1beta1.PolicyReference{Name: m.Policy.Name, Namespace: m.Policy.Namespace},
			Rule:      m.Rule,
			Alert: v1beta1.AlertInfo{
				Name:         a.Labels[routing.LabelAlertName],
				Fingerprint:  a.Fingerprint,
				Labels:       a.Labels,
				Annotations:  boundedAnnotations(a.Annotations),
				StartsAt:     startsAt,
				GeneratorURL: boundedText(a.GeneratorURL),
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

// resolved records the resolution (the heal8s.io/alert-resolved-at annotation, which the
// controller folds into status.alertResolvedAt) on the Remediation of this alert instance, at
// once: the engine's Verifying phase waits for it. The cache is asked first, by fingerprint label, so
// a policy edited since creation does not lose the resolution; a Remediation too new for the
// cache is read from the API server by its routed name.
func (in *intake) resolved(ctx context.Context, a *Alert) (outcome, routing.SkipReason, error) {
	// Routed once: the namespace to look in (a rule's namespaceLabel may move it) and, when the
	// cache does not hold the Remediation yet, its name.
	m, reason, routeErr := in.table.Route(a.Labels, in.namespaceLabels(ctx))
	ns := routing.Namespace(a.Labels)
	if routeErr == nil && reason == "" && m.Target.Namespace != "" {
		ns = m.Target.Namespace
	}
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
		if routeErr != nil {
			return outcome{}, "", routeErr
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
		if err := in.recordSighting(ctx, client.ObjectKeyFromObject(r), r, resolvedSighting(at)); err != nil {
			return outcome{}, "", fmt.Errorf("recording resolution: %w", err)
		}
		n++
	}
	if n == 0 {
		return outcome{}, SkipNoRemediation, nil
	}
	return outcome{resolved: n}, "", nil
}

// eventEvery is the least time between two Warning Events for the same skipped target.
const eventEvery = 10 * time.Minute

// throttle remembers when each key last passed, so a storm of repeats makes one Event.
type throttle struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func newThrottle() *throttle { return &throttle{last: map[string]time.Time{}} }

// allow reports whether key may pass at now, and records it if so. Old keys are dropped as the
// map grows, so it stays bounded by the keys of one eventEvery.
func (t *throttle) allow(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at, ok := t.last[key]; ok && now.Sub(at) < eventEvery {
		return false
	}
	if len(t.last) >= 1024 {
		for k, at := range t.last {
			if now.Sub(at) >= eventEvery {
				delete(t.last, k)
			}
		}
	}
	t.last[key] = now
	return true
}
