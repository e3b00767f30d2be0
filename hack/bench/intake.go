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
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// parallel runs f(i) for i in [0, n) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// raw measures the reference: ConfigMaps a plain controller-runtime client creates per second.
func (b *bench) raw(ctx context.Context) error {
	progress("row 1: %d ConfigMaps sequentially, then %d 8-way parallel", b.o.raw, b.o.raw)
	create := func(prefix string) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i), Namespace: nsRaw},
				Data:       map[string]string{"key": "value"},
			}
			if err := b.c.Create(ctx, cm); err != nil {
				return fmt.Errorf("creating ConfigMap %s: %w", cm.Name, err)
			}
			return nil
		}
	}
	t0 := time.Now()
	if err := parallel(ctx, b.o.raw, 1, create("seq")); err != nil {
		return err
	}
	b.rawSeq = float64(b.o.raw) / time.Since(t0).Seconds()
	t0 = time.Now()
	if err := parallel(ctx, b.o.raw, 8, create("par")); err != nil {
		return err
	}
	b.rawPar = float64(b.o.raw) / time.Since(t0).Seconds()
	b.add(row{key: "raw_create_sequential", name: "1 raw create, sequential", figure: b.rawSeq, unit: "objects/s", ratio: some(1), reference: "itself"})
	b.add(row{key: "raw_create_parallel", name: "1 raw create, 8-way parallel", figure: b.rawPar, unit: "objects/s", ratio: some(b.rawPar / b.rawSeq), reference: "raw sequential"})
	return nil
}

// rawRemediations creates Remediations with the plain client, which passes the manager's
// mutating and validating webhooks like the receiver's creates do: the reference the receiver's
// own cost is told apart from. Their namespace has no policy, so the engine ends them at once.
func (b *bench) rawRemediations(ctx context.Context) error {
	n := b.o.raw / 2
	progress("row 1: %d Remediations sequentially, then %d 8-way parallel", n, n)
	create := func(prefix string) func(ctx context.Context, i int) error {
		return b.createRemediation(nsRaw, prefix)
	}
	t0 := time.Now()
	if err := parallel(ctx, n, 1, create("seq")); err != nil {
		return err
	}
	b.rawRemSeq = float64(n) / time.Since(t0).Seconds()
	seq := b.rawRemSeq
	t0 = time.Now()
	if err := parallel(ctx, n, 8, create("par")); err != nil {
		return err
	}
	b.rawRemPar = float64(n) / time.Since(t0).Seconds()
	b.add(row{key: "raw_create_remediations_sequential", name: "1 raw create Remediations, sequential", figure: seq, unit: "objects/s",
		ratio: some(seq / b.rawSeq), reference: "raw ConfigMaps sequential (through the admission webhooks)"})
	b.add(row{key: "raw_create_remediations_parallel", name: "1 raw create Remediations, 8-way parallel", figure: b.rawRemPar, unit: "objects/s",
		ratio: some(b.rawRemPar / b.rawPar), reference: "raw ConfigMaps parallel (through the admission webhooks)"})

	// The same creates as the manager's user: the webhooks' matchConditions leave them out, as
	// they do the receiver's.
	asManager := func(prefix string) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			r := newRemediation(nsRaw, fmt.Sprintf("%s-%d", prefix, i), "none", "absent")
			if err := b.mc.Create(ctx, r); err != nil {
				return fmt.Errorf("creating Remediation %s as the manager: %w", r.Name, err)
			}
			return nil
		}
	}
	t0 = time.Now()
	if err := parallel(ctx, n, 1, asManager("mseq")); err != nil {
		return err
	}
	b.rawMgrSeq = float64(n) / time.Since(t0).Seconds()
	t0 = time.Now()
	if err := parallel(ctx, n, 8, asManager("mpar")); err != nil {
		return err
	}
	b.rawMgrPar = float64(n) / time.Since(t0).Seconds()
	b.add(row{key: "raw_create_remediations_manager_sequential", name: "1 raw create Remediations as the manager, sequential", figure: b.rawMgrSeq,
		unit: "objects/s", ratio: some(b.rawMgrSeq / b.rawSeq), reference: "raw ConfigMaps sequential (no webhooks: matchConditions)"})
	b.add(row{key: "raw_create_remediations_manager_parallel", name: "1 raw create Remediations as the manager, 8-way", figure: b.rawMgrPar,
		unit: "objects/s", ratio: some(b.rawMgrPar / b.rawPar), reference: "raw ConfigMaps parallel (no webhooks: matchConditions)"})
	return nil
}

// createRemediation returns a function creating Remediation <prefix>-<i> in ns with the plain
// client, for a policy that does not exist and a target that does not either.
func (b *bench) createRemediation(ns, prefix string) func(ctx context.Context, i int) error {
	return func(ctx context.Context, i int) error {
		r := newRemediation(ns, fmt.Sprintf("%s-%d", prefix, i), "none", "absent")
		if err := b.c.Create(ctx, r); err != nil {
			return fmt.Errorf("creating Remediation %s: %w", r.Name, err)
		}
		return nil
	}
}

// newRemediation is a Remediation as the receiver writes it, for rule "scale" of policy ns/policy
// and Deployment ns/target.
func newRemediation(ns, name, policy, target string) *v1beta1.Remediation {
	a := alert{
		Labels:      map[string]string{"alertname": "BenchRaw", "namespace": ns, "deployment": target, "container": "app"},
		Annotations: map[string]string{"summary": "benchmark alert"},
		Fingerprint: name,
	}
	return &v1beta1.Remediation{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1beta1.RemediationSpec{
			PolicyRef: v1beta1.PolicyReference{Name: policy, Namespace: ns},
			Rule:      "scale",
			Alert:     v1beta1.AlertInfo{Name: a.Labels["alertname"], Fingerprint: a.Fingerprint, Labels: a.Labels, Annotations: a.Annotations},
			Target:    v1beta1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: target, Namespace: ns, Container: "app"},
			Action:    v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{MaxReplicas: ptr[int32](100)}},
			Strategy:  v1beta1.StrategyDirect,
		},
	}
}

// alert is one alert of a webhook payload, as Alertmanager sends it.
type alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// alerts builds n firing alerts with fresh fingerprints, each on Deployment target(i).
func (b *bench) alerts(ns string, n int, target func(i int) string) []alert {
	out := make([]alert, n)
	start := time.Now().UTC().Truncate(time.Second)
	for i := range out {
		b.nextFP++
		out[i] = alert{
			Status: "firing",
			Labels: map[string]string{"alertname": alertName(ns), "namespace": ns, "deployment": target(i),
				"container": "app", "severity": "warning", "job": "kube-state-metrics"},
			Annotations:  map[string]string{"summary": "benchmark alert"},
			StartsAt:     start,
			GeneratorURL: "http://prometheus.example/graph",
			Fingerprint:  fmt.Sprintf("%016x", b.nextFP),
		}
	}
	return out
}

func payload(alerts []alert) ([]byte, error) {
	// Alertmanager's group status is firing while any alert in it fires.
	status := "resolved"
	for _, a := range alerts {
		if a.Status == "firing" {
			status = "firing"
		}
	}
	body, err := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{alertname=\"bench\"}", "truncatedAlerts": 0, "status": status,
		"receiver": "heal8s", "groupLabels": map[string]string{}, "commonLabels": map[string]string{},
		"commonAnnotations": map[string]string{}, "externalURL": "http://alertmanager.example", "alerts": alerts,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding a payload: %w", err)
	}
	return body, nil
}

// post sends one payload to the receiver and returns how long it took to be answered 200, which
// the receiver does only once every Remediation is persisted.
func (b *bench) post(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.mgr.ReceiverURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building a request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.token)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("posting to the receiver: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	d := time.Since(t0)
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("the receiver answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return d, nil
}

// intake posts payloads of 1, 100 and 1,000 unique alerts, one after the other as one
// Alertmanager group would, and reports alerts/s from POST to persisted Remediations.
func (b *bench) intake(ctx context.Context) error {
	absent := func(i int) string { return fmt.Sprintf("absent-%d", i%50) }
	for _, size := range []struct{ alerts, posts int }{{1, b.o.single}, {100, b.o.hundred}, {1000, b.o.thousand}} {
		if size.posts == 0 {
			continue
		}
		progress("row 2: %d payloads of %d unique alerts", size.posts, size.alerts)
		bodies := make([][]byte, size.posts)
		for i := range bodies {
			var err error
			if bodies[i], err = payload(b.alerts(nsIntake, size.alerts, absent)); err != nil {
				return err
			}
		}
		lat := make([]time.Duration, 0, size.posts)
		t0 := time.Now()
		for _, body := range bodies {
			d, err := b.post(ctx, body)
			if err != nil {
				return err
			}
			lat = append(lat, d)
		}
		perSec := float64(size.alerts*size.posts) / time.Since(t0).Seconds()
		// One alert per POST is handled alone, like a sequential create; larger payloads are
		// handled 8 alerts at a time, like the parallel one.
		// The reference is the manager's own raw creates: a new alert is one create, and the
		// receiver's creates skip the webhooks as those do.
		ref, refName, cmRef := b.rawMgrPar, "the manager's raw parallel", b.rawPar
		if size.alerts == 1 {
			ref, refName, cmRef = b.rawMgrSeq, "the manager's raw sequential", b.rawSeq
		}
		b.add(row{key: fmt.Sprintf("intake_payloads_of_%d", size.alerts), name: fmt.Sprintf("2 intake, payloads of %d", size.alerts),
			figure: perSec, unit: "alerts/s", ratio: some(perSec / ref),
			reference: fmt.Sprintf("%s Remediation creates/s (%.2f of raw ConfigMaps)", refName, perSec/cmRef)})
		if size.alerts == 100 {
			slices.Sort(lat)
			ref := time.Duration(float64(100) / b.rawMgrPar * float64(time.Second))
			for _, p := range []struct {
				key, name string
				q         float64
			}{{"intake_payload_of_100_p50", "2 intake, 100-alert payload p50", 0.50}, {"intake_payload_of_100_p99", "2 intake, 100-alert payload p99", 0.99}} {
				d := percentile(lat, p.q)
				b.add(row{key: p.key, name: p.name, figure: millis(d), unit: "ms", display: ms(d), ratio: some(ref.Seconds() / d.Seconds()),
					reference: fmt.Sprintf("100 raw parallel Remediation creates as the manager take %s", ms(ref))})
			}
		}
	}
	// The engine ends each of these at once (their targets do not exist): how fast it gets
	// through a backlog, and a clean start for the rows that count writes.
	counts, err := b.phases(ctx, nsIntake)
	if err != nil {
		return err
	}
	left, total := 0, 0
	for p, c := range counts {
		total += c
		if !p.IsTerminal() {
			left += c
		}
	}
	t0 := time.Now()
	if err := b.settle(ctx, nsIntake, total, 5*time.Minute); err != nil {
		return fmt.Errorf("waiting for the engine to end the intake's Remediations: %w", err)
	}
	if err := b.settle(ctx, nsRaw, b.o.raw/2*4, 2*time.Minute); err != nil {
		return fmt.Errorf("waiting for the engine to end the raw Remediations: %w", err)
	}
	drain := float64(left) / time.Since(t0).Seconds()
	b.add(row{key: "engine_backlog", name: "2 engine backlog after intake", figure: drain, unit: "remediations/s", ratio: some(drain / b.rawRemPar),
		reference: fmt.Sprintf("%d waiting Remediations ended Skipped (target absent); raw parallel Remediation creates/s", left)})
	return nil
}

func ms(d time.Duration) string      { return fmt.Sprintf("%.1f ms", millis(d)) }
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// storm posts the same payload of distinct alerts again and again, as Alertmanager does with
// repeat_interval and group_interval, and counts the manager's API writes: the first post
// creates the Remediations, the repeats should cost one status write per Remediation per flush.
func (b *bench) storm(ctx context.Context) error {
	if b.o.stormAlerts == 0 || b.o.stormRepeats == 0 {
		return nil
	}
	progress("row 3: %d alerts repeated %d times", b.o.stormAlerts, b.o.stormRepeats)
	body, err := payload(b.alerts(nsStorm, b.o.stormAlerts, func(i int) string { return fmt.Sprintf("absent-%d", i) }))
	if err != nil {
		return err
	}
	w0, err := b.writes(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	for range b.o.stormRepeats {
		if _, err := b.post(ctx, body); err != nil {
			return err
		}
	}
	elapsed := time.Since(t0)
	notifications := b.o.stormAlerts * b.o.stormRepeats
	perSec := float64(notifications) / elapsed.Seconds()
	// Let the batched counts flush, and the engine finish with the new Remediations.
	if err := b.settle(ctx, nsStorm, b.o.stormAlerts, time.Minute); err != nil {
		return err
	}
	time.Sleep(b.o.flush + 2*time.Second)
	w1, err := b.writes(ctx)
	if err != nil {
		return err
	}
	list := &v1beta1.RemediationList{}
	if err := b.c.List(ctx, list, client.InNamespace(nsStorm)); err != nil {
		return fmt.Errorf("listing Remediations: %w", err)
	}
	var counted int64
	for _, r := range list.Items {
		counted += int64(r.Status.AlertCount)
	}
	writes := w1 - w0
	b.add(row{key: "storm_notifications", name: fmt.Sprintf("3 storm, %d notifications", notifications), figure: perSec, unit: "alerts/s",
		ratio: some(perSec / b.rawRemPar), reference: "raw parallel Remediation creates/s"})
	b.add(row{key: "storm_manager_writes", name: "3 storm, manager API writes", figure: writes, unit: "writes",
		display: fmt.Sprintf("%.0f for %d Remediations", writes, len(list.Items)), ratio: some(writes / float64(len(list.Items))),
		reference: fmt.Sprintf("writes per Remediation; %d notifications, %d counted in status.alertCount", notifications, counted)})
	return nil
}

// settle waits until want Remediations exist in ns and each reached a terminal phase.
// settle waits until the engine has ended the namespace's Remediations: want of them finished,
// or (retention deletes finished ones: historyLimit keeps 10 per target by default) every one
// still there finished and at most want created.
func (b *bench) settle(ctx context.Context, ns string, want int, timeout time.Duration) error {
	return poll(ctx, timeout, time.Second, func() (bool, error) {
		counts, err := b.phases(ctx, ns)
		if err != nil {
			return false, err
		}
		done := terminal(counts)
		total := 0
		for _, c := range counts {
			total += c
		}
		return done >= want || (total > 0 && done == total), nil
	})
}

func (b *bench) phases(ctx context.Context, ns string) (map[v1beta1.Phase]int, error) {
	list := &v1beta1.RemediationList{}
	if err := b.c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing Remediations in %s: %w", ns, err)
	}
	counts := map[v1beta1.Phase]int{}
	for _, r := range list.Items {
		counts[r.Status.Phase]++
	}
	return counts, nil
}

func terminal(counts map[v1beta1.Phase]int) int {
	n := 0
	for p, c := range counts {
		if p.IsTerminal() {
			n += c
		}
	}
	return n
}

// writes is how many create, update, patch and delete requests the manager has sent the API
// server, from controller-runtime's rest_client_requests_total on its metrics endpoint.
func (b *bench) writes(ctx context.Context) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.mgr.MetricsURL, nil)
	if err != nil {
		return 0, fmt.Errorf("building a request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scraping the manager's metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "rest_client_requests_total{") {
			continue
		}
		for _, m := range []string{`method="POST"`, `method="PUT"`, `method="PATCH"`, `method="DELETE"`} {
			if strings.Contains(l, m) {
				v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
				if err != nil {
					return 0, fmt.Errorf("parsing %q: %w", l, err)
				}
				total += v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading the manager's metrics: %w", err)
	}
	return total, nil
}
