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

package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

// retentionTargets is how many distinct absent Deployments the retention and steady rows' alerts
// name, so historyLimit (per target) is not what bounds the count.
const retentionTargets = 100

// countRemediations counts the Remediations in ns with a one-item list: the API server reports
// how many it left out, so the count costs one small response however many there are.
func (b *bench) countRemediations(ctx context.Context, ns string) (int, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(v1beta1.GroupVersion.WithKind("RemediationList"))
	if err := b.c.List(ctx, list, client.InNamespace(ns), client.Limit(1)); err != nil {
		return 0, fmt.Errorf("counting Remediations in %s: %w", ns, err)
	}
	n := len(list.Items)
	if list.RemainingItemCount != nil {
		n += int(*list.RemainingItemCount)
	}
	return n, nil
}

// clearRemediations deletes every Remediation in ns and waits, bounded, until they are gone: a
// row's clean-up, not measured.
func (b *bench) clearRemediations(ctx context.Context, ns string) error {
	// The API server deletes a collection one object at a time, within one request's timeout:
	// tens of thousands take several requests, so a failed one is sent again while any is left.
	var last error
	err := poll(ctx, 10*time.Minute, 2*time.Second, func() (bool, error) {
		n, err := b.countRemediations(ctx, ns)
		if err != nil || n == 0 {
			return n == 0, err
		}
		if err := b.c.DeleteAllOf(ctx, &v1beta1.Remediation{}, client.InNamespace(ns)); err != nil {
			last = err
			progress("deleting the Remediations in %s: %d left, %v; sending the request again", ns, n, err)
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("deleting the Remediations in %s (last error: %v): %w", ns, last, err)
	}
	return nil
}

// createRetentionPolicy is the benchmark policy with retention on.
func (b *bench) createRetentionPolicy(ctx context.Context, ns string, ttl time.Duration, historyLimit int32) error {
	return b.createPolicyWith(ctx, ns, func(p *v1beta1.RemediationPolicy) {
		p.Spec.Retention = v1beta1.RetentionSpec{
			TTLSecondsAfterFinished: ptr(int32(ttl / time.Second)),
			HistoryLimit:            ptr(historyLimit),
		}
		// No safety bound may keep a finished Remediation past its TTL (docs/policies.md,
		// spec.retention): the windows are as short as validation allows.
		p.Spec.Safety.Cooldown = &metav1.Duration{Duration: 0}
		p.Spec.Safety.BudgetWindow = &metav1.Duration{Duration: time.Second}
		p.Spec.Safety.VetoPeriod = &metav1.Duration{Duration: 0}
	})
}

// finish writes the status the engine writes when it ends a Remediation Skipped because its
// target does not exist (internal/controller/remediation_status.go, nextStatus).
func (b *bench) finish(ctx context.Context, r *v1beta1.Remediation) error {
	base := r.DeepCopy()
	now := metav1.Now()
	msg := fmt.Sprintf("Deployment %s/%s does not exist (ended by hack/bench)", r.Namespace, r.Spec.Target.Name)
	r.Status.Phase = v1beta1.PhaseSkipped
	r.Status.Reason, r.Status.Message = remediation.TargetNotFoundReason, msg
	r.Status.ObservedGeneration = r.Generation
	r.Status.CompletedAt = &now
	r.Status.History = []v1beta1.PhaseTransition{{Phase: v1beta1.PhaseSkipped, Reason: remediation.TargetNotFoundReason, Time: now}}
	for _, t := range []string{v1beta1.ConditionProgressing, v1beta1.ConditionSucceeded} {
		meta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{Type: t, Status: metav1.ConditionFalse,
			Reason: remediation.TargetNotFoundReason, Message: msg, ObservedGeneration: r.Generation, LastTransitionTime: now})
	}
	if err := b.c.Status().Patch(ctx, r, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("ending Remediation %s Skipped: %w", r.Name, err)
	}
	return nil
}

// sampler reads the manager's RSS and a namespace's Remediation count every interval until
// stopped, keeping the largest of each.
type sampler struct {
	mu                sync.Mutex
	maxRSS            int64
	maxCount, last    int
	lastChange        time.Time
	stop              context.CancelFunc
	wg                sync.WaitGroup
	countErr, readErr error
}

func (b *bench) startSampler(ctx context.Context, ns string, interval time.Duration) *sampler {
	s := &sampler{lastChange: time.Now()}
	ctx, s.stop = context.WithCancel(ctx)
	s.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			m, merr := b.managerMemory()
			n, cerr := b.countRemediations(ctx, ns)
			s.mu.Lock()
			if merr == nil {
				s.maxRSS = max(s.maxRSS, m.rss)
			} else {
				s.readErr = merr
			}
			if cerr == nil {
				if n != s.last {
					s.lastChange = time.Now()
				}
				s.last, s.maxCount = n, max(s.maxCount, n)
			} else if ctx.Err() == nil {
				s.countErr = cerr
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return s
}

func (s *sampler) halt() { s.stop(); s.wg.Wait() }

func (s *sampler) snapshot() (last, maxCount int, since time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.maxCount, time.Since(s.lastChange)
}

// retention creates many Remediations under a policy with a short TTL, each ending Skipped at
// once (its target does not exist), and reports the manager's peak RSS meanwhile and how many
// Remediations are left when retention has had a bounded time to delete them.
func (b *bench) retention(ctx context.Context) error {
	n := b.o.retentionN
	if n == 0 {
		return nil
	}
	progress("row 7: removing row 5's Remediations, so the row's peak is its own")
	if err := b.clearRemediations(ctx, nsMem); err != nil {
		return err
	}
	if err := b.createRetentionPolicy(ctx, nsRetention, b.o.retentionTTL, int32(b.o.retentionHistory)); err != nil {
		return err
	}
	by := "the bench writes each one's Skipped status right after its create, as the engine would"
	if b.o.retentionByEngine {
		by = "the engine ends each Skipped"
	}
	progress("row 7: %d Remediations with retention (TTL %s, historyLimit %d); %s", n, b.o.retentionTTL, b.o.retentionHistory, by)
	if err := b.resetPeak(); err != nil {
		return err
	}
	m0, err := b.managerMemory()
	if err != nil {
		return err
	}
	s := b.startSampler(ctx, nsRetention, 2*time.Second)
	defer s.halt()
	t0 := time.Now()
	err = parallel(ctx, n, 8, func(ctx context.Context, i int) error {
		r := newRemediation(nsRetention, fmt.Sprintf("ret-%d", i), "bench", fmt.Sprintf("absent-%d", i%retentionTargets))
		if err := b.c.Create(ctx, r); err != nil {
			return fmt.Errorf("creating Remediation %s: %w", r.Name, err)
		}
		if b.o.retentionByEngine {
			return nil
		}
		return b.finish(ctx, r)
	})
	if err != nil {
		return err
	}
	created := time.Since(t0)
	progress("row 7: created in %s; waiting up to %s for retention", created.Round(time.Second), b.o.retentionWait)
	t1 := time.Now()
	// Done when none is left, or the count has not moved for 20 s (retention keeps what it
	// keeps), or the bound has passed.
	_ = poll(ctx, b.o.retentionWait, 2*time.Second, func() (bool, error) {
		last, _, since := s.snapshot()
		return last == 0 || since > 20*time.Second && time.Since(t1) > 20*time.Second, nil
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	waited := time.Since(t1)
	s.halt()
	if s.countErr != nil {
		return s.countErr
	}
	m1, err := b.managerMemory()
	if err != nil {
		return err
	}
	counts, err := b.phases(ctx, nsRetention)
	if err != nil {
		return err
	}
	left, peakCount := 0, 0
	for _, c := range counts {
		left += c
	}
	_, peakCount, _ = s.snapshot()
	b.add(row{key: "retention_peak_rss", name: "7 retention, manager peak RSS (VmHWM)", figure: mib(m1.hwm), unit: "MiB",
		reference: fmt.Sprintf("%d Remediations created in %s (%.0f/s), at most %d at once; RSS %.0f MiB at the start, %.0f MiB at the end",
			n, created.Round(time.Second), float64(n)/created.Seconds(), peakCount, mib(m0.rss), mib(m1.rss))})
	b.add(row{key: "retention_peak_count", name: "7 retention, most Remediations at once", figure: float64(peakCount), unit: "Remediations",
		ratio: some(float64(peakCount) / float64(n)), reference: "largest count sampled every 2s / created"})
	b.add(row{key: "retention_remaining", name: "7 retention, Remediations left", figure: float64(left), unit: "Remediations",
		display: fmt.Sprintf("%d of %d", left, n), ratio: some(float64(left) / float64(n)),
		reference: fmt.Sprintf("left / created, %s after the last create; TTL %s, historyLimit %d per target (%d targets); %s; phases left %v",
			waited.Round(time.Second), b.o.retentionTTL, b.o.retentionHistory, retentionTargets, by, counts)})
	progress("row 7: removing what is left")
	return b.clearRemediations(ctx, nsRetention)
}

// steady sends alerts at a fixed rate for one simulated hour, compressed into
// --steady-duration: a simulated minute lasts duration/60, and the retention TTL is compressed
// by the same factor. It samples the manager's RSS and API writes twelve times (every five
// simulated minutes) and reports whether they stay flat: the last third of the hour against the
// first.
func (b *bench) steady(ctx context.Context) error {
	d := b.o.steadyDuration
	if d <= 0 || b.o.steadyRate <= 0 {
		return nil
	}
	minute := d / 60
	scale := float64(d) / float64(time.Hour)
	ttl := time.Duration(float64(b.o.steadyTTL) * scale).Round(time.Second)
	progress("row 8: %d alerts per simulated minute for a simulated hour in %s (a minute every %s; TTL %s simulated, %s real)",
		b.o.steadyRate, d, minute, b.o.steadyTTL, ttl)
	if err := b.createRetentionPolicy(ctx, nsSteady, ttl, 10); err != nil {
		return err
	}
	targets := func(i int) string { return fmt.Sprintf("absent-%d", i%retentionTargets) }
	type sample struct {
		rss    int64
		writes float64
		count  int
	}
	read := func() (sample, error) {
		m, err := b.managerMemory()
		if err != nil {
			return sample{}, err
		}
		w, err := b.writes(ctx)
		if err != nil {
			return sample{}, err
		}
		c, err := b.countRemediations(ctx, nsSteady)
		return sample{m.rss, w, c}, err
	}
	first, err := read()
	if err != nil {
		return err
	}
	samples := []sample{first}
	// batches holds each simulated minute's alerts until their resolution is sent, as
	// Alertmanager sends it once the rule stops firing: an alert fires for --steady-fire
	// simulated minutes. Without it retention keeps every Remediation a day past its last
	// sighting (FiringGrace in internal/remediation/retention.go) and the count cannot level off.
	fire := max(1, b.o.steadyFire)
	batches := make([][]alert, 60)
	t0 := time.Now()
	sent, resolved, late := 0, 0, 0
	for m := range 60 {
		at := t0.Add(time.Duration(m) * minute)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		} else if m > 0 && -wait > minute/2 {
			late++
		}
		if m > 0 && m%5 == 0 {
			s, err := read()
			if err != nil {
				return err
			}
			samples = append(samples, s)
		}
		batches[m] = b.alerts(nsSteady, b.o.steadyRate, targets)
		body, err := payload(batches[m])
		if err != nil {
			return err
		}
		if _, err := b.post(ctx, body); err != nil {
			return err
		}
		sent += b.o.steadyRate
		if r := m - fire; r >= 0 {
			n, err := b.resolve(ctx, batches[r])
			if err != nil {
				return err
			}
			resolved += n
			batches[r] = nil
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t0.Add(d))):
	}
	last, err := read()
	if err != nil {
		return err
	}
	samples = append(samples, last)
	counts, err := b.phases(ctx, nsSteady)
	if err != nil {
		return err
	}

	rss := make([]float64, 0, len(samples)-1)
	writes := make([]float64, 0, len(samples)-1)
	for i := 1; i < len(samples); i++ {
		rss = append(rss, mib(samples[i].rss))
		writes = append(writes, (samples[i].writes-samples[i-1].writes)/5) // per simulated minute
	}
	rf, rl := thirds(rss)
	wf, wl := thirds(writes)
	b.add(row{key: "steady_rss", name: "8 steady hour, manager RSS", figure: rl, unit: "MiB", ratio: some(rl / rf),
		reference: fmt.Sprintf("mean of the last third / of the first third (%.0f MiB); slope %+.1f MiB per simulated hour; samples %s",
			rf, slope(rss)*float64(len(rss)), series(rss, "%.0f"))})
	b.add(row{key: "steady_writes_per_minute", name: "8 steady hour, manager API writes per sim. minute", figure: wl, unit: "writes/min", ratio: some(wl / wf),
		reference: fmt.Sprintf("mean of the last third / of the first third (%.0f); %d alerts per simulated minute; samples %s",
			wf, b.o.steadyRate, series(writes, "%.0f"))})
	b.add(row{key: "steady_remediations_end", name: "8 steady hour, Remediations at the end", figure: float64(last.count), unit: "Remediations",
		display: fmt.Sprintf("%d of %d", last.count, sent), ratio: some(float64(last.count) / float64(sent)),
		reference: fmt.Sprintf("left / alerts sent (one Remediation each; %d resolved, each %d simulated minutes after it fired; simulated minutes posted late: %d); "+
			"TTL %s real = %s simulated; phases %v; counts %s",
			resolved, fire, late, ttl, b.o.steadyTTL, counts, seriesInt(samples, func(s sample) int { return s.count }))})
	return nil
}

// resolve posts the resolution of alerts: the same labels, fingerprint and startsAt, status
// resolved and endsAt now, which is how Alertmanager reports an alert that stopped firing.
func (b *bench) resolve(ctx context.Context, alerts []alert) (int, error) {
	if len(alerts) == 0 {
		return 0, nil
	}
	now := time.Now().UTC()
	out := make([]alert, len(alerts))
	for i, a := range alerts {
		a.Status, a.EndsAt = "resolved", now
		out[i] = a
	}
	body, err := payload(out)
	if err != nil {
		return 0, err
	}
	if _, err := b.post(ctx, body); err != nil {
		return 0, fmt.Errorf("resolving %d alerts: %w", len(out), err)
	}
	return len(out), nil
}

// thirds is the mean of the first third of xs and of the last third.
func thirds(xs []float64) (first, last float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	k := max(1, len(xs)/3)
	return mean(xs[:k]), mean(xs[len(xs)-k:])
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// slope is the least-squares slope of xs against their index.
func slope(xs []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxy, sxx float64
	for i, y := range xs {
		x := float64(i)
		sx, sy, sxy, sxx = sx+x, sy+y, sxy+x*y, sxx+x*x
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

func series(xs []float64, format string) string {
	var out strings.Builder
	for i, x := range xs {
		if i > 0 {
			out.WriteString(" ")
		}
		fmt.Fprintf(&out, format, x)
	}
	return out.String()
}

func seriesInt[T any](xs []T, f func(T) int) string {
	var out strings.Builder
	for i, x := range xs {
		if i > 0 {
			out.WriteString(" ")
		}
		fmt.Fprint(&out, f(x))
	}
	return out.String()
}
