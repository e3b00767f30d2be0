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
	"maps"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

// maxConflictRetries bounds the fresh-read-and-retry loop of one sighting write.
const maxConflictRetries = 5

// batcher collects repeat sightings so that a storm costs at most one sighting write per
// Remediation (and per RemediationPolicy) per flush interval.
//
// Concurrency across replicas: each replica keeps only its own deltas. A flush reads the
// Remediation (from the cache first), adds its delta to the heal8s.io/alert-count annotation
// with a JSON patch that tests the value it read (recordSighting). When the test fails it
// rereads from the API server and adds the delta again, so no replica's sightings are lost or
// counted twice; a flush that fails for another reason keeps its delta for the next one.
type batcher struct {
	mu       sync.Mutex
	rem      map[types.NamespacedName]*sighting
	policies map[types.NamespacedName]time.Time
	// incidents maps namespace, then fingerprint, to when a new instance of that alert started.
	incidents map[string]map[string]time.Time
}

type sighting struct {
	count    int32
	lastSeen time.Time
}

func newBatcher() *batcher {
	return &batcher{
		rem:       map[types.NamespacedName]*sighting{},
		policies:  map[types.NamespacedName]time.Time{},
		incidents: map[string]map[string]time.Time{},
	}
}

// newIncident records that a new instance of an alert (a new Remediation) appeared at t, so the
// flush can tell the open, resolved Remediations of its earlier instances that it came back.
func (b *batcher) newIncident(namespace, fingerprint string, t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fps := b.incidents[namespace]
	if fps == nil {
		fps = map[string]time.Time{}
		b.incidents[namespace] = fps
	}
	if t.After(fps[fingerprint]) {
		fps[fingerprint] = t
	}
}

// bump records n more sightings (0 only moves lastSeen) of a Remediation's alert at t.
func (b *batcher) bump(key types.NamespacedName, t time.Time, n int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.rem[key]
	if s == nil {
		s = &sighting{}
		b.rem[key] = s
	}
	s.count += n
	if t.After(s.lastSeen) {
		s.lastSeen = t
	}
}

// matched records that a policy's rule matched an alert at t.
func (b *batcher) matched(policy types.NamespacedName, t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.After(b.policies[policy]) {
		b.policies[policy] = t
	}
}

// pending reports how many Remediations and policies wait for a flush.
func (b *batcher) pending() (remediations, policies int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.rem), len(b.policies)
}

func (b *batcher) take() (map[types.NamespacedName]*sighting, map[types.NamespacedName]time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rem, pol := b.rem, b.policies
	b.rem, b.policies = map[types.NamespacedName]*sighting{}, map[types.NamespacedName]time.Time{}
	return rem, pol
}

func (b *batcher) takeIncidents() map[string]map[string]time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	inc := b.incidents
	b.incidents = map[string]map[string]time.Time{}
	return inc
}

// flush writes every pending sighting and match time. It returns the joined errors; what failed
// stays pending.
func (in *intake) flush(ctx context.Context) error {
	var errs []error
	if err := in.flushIncidents(ctx); err != nil {
		errs = append(errs, err)
	}
	rem, pol := in.batch.take()
	for key, s := range rem {
		if err := in.flushRemediation(ctx, key, s); err != nil {
			errs = append(errs, err)
			in.batch.bump(key, s.lastSeen, s.count)
		}
	}
	for key, t := range pol {
		if err := in.flushPolicy(ctx, key, t); err != nil {
			errs = append(errs, err)
			in.batch.matched(key, t)
		}
	}
	return errors.Join(errs...)
}

func (in *intake) flushRemediation(ctx context.Context, key types.NamespacedName, s *sighting) error {
	return in.recordSighting(ctx, key, nil, addSightings(s.count, s.lastSeen))
}

func (in *intake) flushPolicy(ctx context.Context, key types.NamespacedName, t time.Time) error {
	p := &v1beta1.RemediationPolicy{}
	if err := in.client.Get(ctx, key, p); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading RemediationPolicy %s: %w", key, err)
	}
	if p.Status.LastMatchTime != nil && !p.Status.LastMatchTime.Time.Before(t.Truncate(time.Second)) {
		return nil
	}
	base := p.DeepCopy()
	p.Status.LastMatchTime = &metav1.Time{Time: t}
	if err := in.client.Status().Patch(ctx, p, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patching lastMatchTime of RemediationPolicy %s: %w", key, err)
	}
	return nil
}

// flushIncidents turns each new alert instance into a lastSeen bump of the open Remediations of
// its earlier, resolved instances (same namespace and fingerprint): the alert came back, which
// the engine's Verifying phase must see. One cached List per namespace per flush keeps a storm of
// new alerts off the request path.
func (in *intake) flushIncidents(ctx context.Context) error {
	var errs []error
	for ns, fps := range in.batch.takeIncidents() {
		list := &v1beta1.RemediationList{}
		// Only the Remediations of these fingerprints, read without a deep copy (they are only
		// read here; recordSighting patches a fresh read).
		var sel client.ListOption = client.HasLabels{v1beta1.LabelFingerprint}
		if req, err := labels.NewRequirement(v1beta1.LabelFingerprint, selection.In, slices.Collect(maps.Keys(fps))); err == nil {
			sel = client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*req)}
		}
		if err := in.client.List(ctx, list, client.InNamespace(ns), sel, client.UnsafeDisableDeepCopy); err != nil {
			errs = append(errs, fmt.Errorf("listing Remediations in %s: %w", ns, err))
			for fp, t := range fps {
				in.batch.newIncident(ns, fp, t)
			}
			continue
		}
		for i := range list.Items {
			r := &list.Items[i]
			t, ok := fps[r.Labels[v1beta1.LabelFingerprint]]
			if !ok || r.Status.Phase.IsTerminal() {
				continue
			}
			if res := resolvedAtOf(remediation.ReadSightings(r.Annotations), r); !res.IsZero() && res.Before(t) {
				in.batch.bump(client.ObjectKeyFromObject(r), t, 0)
			}
		}
	}
	return errors.Join(errs...)
}
