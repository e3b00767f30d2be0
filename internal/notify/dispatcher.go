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

package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// DefaultSlackAPI is where chat.postMessage goes when a Slack Secret holds a token but no address.
const DefaultSlackAPI = "https://slack.com/api/chat.postMessage"

// Target is where one Notifier's messages go, read from its spec and Secret.
type Target struct {
	Type    v1beta1.NotifierType
	Address string
	Token   string
	Channel string
	HMACKey []byte
}

// Stats is what the dispatcher tells the notifier controller about one Notifier.
type Stats struct {
	Delivered, Dropped int64
	LastDelivery       time.Time
	LastError          string
	HandledUntil       time.Time
	Pending            int
}

// Metrics are the dispatcher's collectors (docs/operations.md).
type Metrics struct {
	Sent    *prometheus.CounterVec
	Dropped *prometheus.CounterVec
	Events  *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them on reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "heal8s_notifications_sent_total",
			Help: "Notification messages delivered, by provider type."}, []string{"type"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "heal8s_notifications_dropped_total",
			Help: "Notification events or messages given up on, by reason (queue_full, delivery_failed, suspended)."}, []string{"reason"}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "heal8s_notification_events_total",
			Help: "Remediation events queued for notification, by event type."}, []string{"event"}),
	}
	if reg != nil {
		reg.MustRegister(m.Sent, m.Dropped, m.Events)
	}
	return m
}

type box struct {
	out    *Outbox
	target *Target
	stats  Stats
}

// Dispatcher delivers the messages of every Notifier off the engine's path: Enqueue only takes
// a lock and appends; a scheduler hands due messages to a fixed number of workers, which post
// them with retries and backoff. It runs as a manager Runnable, on the leader only.
type Dispatcher struct {
	Policy  AddressPolicy
	Workers int
	Timeout time.Duration
	Clock   clock.WithTicker
	// Backoff and MaxBackoff override BaseBackoff and MaxBackoff (tests shorten them).
	Backoff, MaxBackoff time.Duration
	Metrics             *Metrics
	Log                 logr.Logger
	// OnChange, when set, is called (without locks held) after a delivery changes a Notifier's
	// error state, so its controller can update the status soon.
	OnChange func(types.NamespacedName)

	mu     sync.Mutex
	boxes  map[types.NamespacedName]*box
	wake   chan struct{}
	client *http.Client
	once   sync.Once
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		if d.Workers <= 0 {
			d.Workers = 4
		}
		if d.Timeout <= 0 {
			d.Timeout = 10 * time.Second
		}
		if d.Clock == nil {
			d.Clock = clock.RealClock{}
		}
		if d.Metrics == nil {
			d.Metrics = NewMetrics(nil)
		}
		d.boxes = map[types.NamespacedName]*box{}
		d.wake = make(chan struct{}, 1)
		d.client = d.Policy.Client(d.Timeout)
	})
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Ensure creates the outbox of a Notifier if it has none yet, accepting events from since on
// (the Notifier's handledUntil, or its creation), and sets its rate. It returns the time from
// which the outbox accepts events.
func (d *Dispatcher) Ensure(n types.NamespacedName, since time.Time, burst int, interval time.Duration) time.Time {
	d.init()
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.Clock.Now()
	b, ok := d.boxes[n]
	if !ok {
		b = &box{out: NewOutbox(since, burst, interval, now)}
		b.out.SetBackoff(d.Backoff, d.MaxBackoff)
		d.boxes[n] = b
	} else {
		b.out.SetRate(burst, interval, now)
	}
	return b.out.Since()
}

// Configure sets where a Notifier's messages go; nil holds them (a Secret not readable yet).
func (d *Dispatcher) Configure(n types.NamespacedName, t *Target) {
	d.init()
	d.mu.Lock()
	if b, ok := d.boxes[n]; ok {
		b.target = t
	}
	d.mu.Unlock()
	d.poke()
}

// Suspend drops what a Notifier has waiting.
func (d *Dispatcher) Suspend(n types.NamespacedName) {
	d.init()
	d.mu.Lock()
	defer d.mu.Unlock()
	if b, ok := d.boxes[n]; ok {
		if k := b.out.Clear(d.Clock.Now()); k > 0 {
			d.Metrics.Dropped.WithLabelValues("suspended").Add(float64(k))
		}
	}
}

// Remove forgets a deleted Notifier.
func (d *Dispatcher) Remove(n types.NamespacedName) {
	d.init()
	d.mu.Lock()
	delete(d.boxes, n)
	d.mu.Unlock()
}

// Enqueue queues events for a Notifier that Ensure created; duplicates are dropped. It never
// blocks on delivery.
func (d *Dispatcher) Enqueue(n types.NamespacedName, events []Event) int {
	d.init()
	d.mu.Lock()
	b, ok := d.boxes[n]
	queued := 0
	if ok {
		for _, e := range events {
			q, overflow := b.out.Add(e)
			if q {
				queued++
				d.Metrics.Events.WithLabelValues(string(e.Type)).Inc()
			}
			if overflow {
				d.Metrics.Dropped.WithLabelValues("queue_full").Inc()
			}
		}
	}
	d.mu.Unlock()
	if queued > 0 {
		d.poke()
	}
	return queued
}

// Stats of a Notifier, and whether it has an outbox.
func (d *Dispatcher) Stats(n types.NamespacedName) (Stats, bool) {
	d.init()
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.boxes[n]
	if !ok {
		return Stats{}, false
	}
	s := b.stats
	s.HandledUntil = b.out.HandledUntil()
	s.Pending = b.out.Pending()
	b.out.Advance()
	return s, true
}

type job struct {
	name   types.NamespacedName
	msg    *Message
	target Target
}

// NeedLeaderElection: only the leader sends, as only it runs the controllers that enqueue.
func (d *Dispatcher) NeedLeaderElection() bool { return true }

// Start runs the scheduler and the workers until ctx ends.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.init()
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range d.Workers {
		wg.Go(func() {
			for j := range jobs {
				d.deliver(ctx, j)
			}
		})
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	for {
		ready, next := d.due()
		for _, j := range ready {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return nil
			}
		}
		if len(ready) > 0 {
			continue
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(d.Clock.Now()), 10*time.Millisecond)
		}
		t := d.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.wake:
		case <-t.C():
		}
		t.Stop()
	}
}

// due takes the messages to send now and the earliest time another may be.
func (d *Dispatcher) due() ([]job, time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.Clock.Now()
	var ready []job
	var next time.Time
	for n, b := range d.boxes {
		if b.target == nil {
			continue
		}
		if m, ok := b.out.Next(now); ok {
			ready = append(ready, job{name: n, msg: m, target: *b.target})
			continue
		}
		if t := b.out.Due(now); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return ready, next
}

func (d *Dispatcher) deliver(ctx context.Context, j job) {
	retryAfter, retryable, err := d.post(ctx, j)
	now := d.Clock.Now()
	d.mu.Lock()
	b, ok := d.boxes[j.name]
	changed := false
	if ok {
		gaveUp := b.out.Done(now, err, retryable, retryAfter)
		prev := b.stats.LastError
		switch err {
		case nil:
			b.stats.Delivered++
			b.stats.LastDelivery = now
			b.stats.LastError = ""
			d.Metrics.Sent.WithLabelValues(string(j.target.Type)).Inc()
		default:
			b.stats.LastError = clip(err.Error(), 1000)
			if gaveUp {
				b.stats.Dropped++
				d.Metrics.Dropped.WithLabelValues("delivery_failed").Inc()
			}
		}
		changed = prev != b.stats.LastError
	}
	d.mu.Unlock()
	if err != nil {
		d.Log.V(1).Info("Could not deliver notification", "notifier", j.name.String(), "attempt", j.msg.Attempts, "error", err.Error())
	}
	if changed && d.OnChange != nil {
		d.OnChange(j.name)
	}
	d.poke()
}

// Body is the request body of a message for a target.
func Body(t *Target, notifier string, m *Message) ([]byte, error) {
	switch t.Type {
	case v1beta1.NotifierSlack:
		channel := ""
		if t.Token != "" {
			channel = t.Channel
		}
		return SlackPayload(m.Events, m.Omitted, channel)
	case v1beta1.NotifierMSTeams:
		return TeamsPayload(m.Events, m.Omitted)
	case v1beta1.NotifierGeneric:
		return GenericPayload(m.ID, notifier, m.Events, m.Omitted)
	}
	return nil, fmt.Errorf("unknown notifier type %q", t.Type)
}

var errPermanent = errors.New("permanent")

// post sends one attempt; it reports whether a failure is worth retrying and how long the
// server asked to wait.
func (d *Dispatcher) post(ctx context.Context, j job) (time.Duration, bool, error) {
	body, err := Body(&j.target, j.name.String(), j.msg)
	if err != nil {
		return 0, false, err
	}
	u, err := d.Policy.CheckURL(j.target.Address)
	if err != nil {
		return 0, false, fmt.Errorf("checking the address: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, false, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "heal8s-notifier")
	switch j.target.Type {
	case v1beta1.NotifierSlack:
		if j.target.Token != "" {
			req.Header.Set("Authorization", "Bearer "+j.target.Token)
		}
	case v1beta1.NotifierGeneric:
		req.Header.Set(HeaderDelivery, j.msg.ID)
		if len(j.target.HMACKey) > 0 {
			ts := d.Clock.Now()
			req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
			req.Header.Set(HeaderSignature, Sign(j.target.HMACKey, ts, body))
		}
	case v1beta1.NotifierMSTeams:
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, true, fmt.Errorf("posting to %s: %w", u.Host, err)
	}
	defer func() { _ = resp.Body.Close() }()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		wait := time.Duration(0)
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return wait, true, fmt.Errorf("%s answered %d", u.Host, resp.StatusCode)
	case resp.StatusCode >= 300:
		return 0, false, fmt.Errorf("%s answered %d: %w", u.Host, resp.StatusCode, errPermanent)
	}
	// chat.postMessage answers 200 with {"ok": false, "error": "..."} on failure.
	if j.target.Type == v1beta1.NotifierSlack && j.target.Token != "" {
		var r struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(reply, &r); err != nil || !r.OK {
			return 0, r.Error == "ratelimited", fmt.Errorf("slack answered ok=false, error %q", clip(r.Error, 100))
		}
	}
	return 0, false, nil
}
