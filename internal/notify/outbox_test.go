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
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func ev(i int, at time.Time) Event {
	return Event{Key: fmt.Sprintf("uid-%d/Succeeded/%d", i, at.Unix()), Type: v1beta1.EventSucceeded, Time: at, Namespace: "shop", Target: fmt.Sprintf("Deployment/w-%d", i)}
}

func TestOutboxDeduplicates(t *testing.T) {
	o := NewOutbox(t0, 5, 10*time.Second, t0)
	e := ev(1, t0.Add(time.Second))
	if q, _ := o.Add(e); !q {
		t.Fatal("first Add refused")
	}
	for range 3 {
		if q, _ := o.Add(e); q {
			t.Fatal("a repeated phase change was queued again")
		}
	}
	if q, _ := o.Add(ev(2, t0.Add(-time.Second))); q {
		t.Fatal("an event before since was queued")
	}
	m, ok := o.Next(t0)
	if !ok || len(m.Events) != 1 {
		t.Fatalf("Next = %v %v", m, ok)
	}
	o.Done(t0, nil, false, 0)
	if q, _ := o.Add(e); q {
		t.Fatal("a delivered phase change was queued again")
	}
}

// A storm of 200 phase changes within a second, with burst 3 and one message every 10s: the
// first three go alone, the rest in summaries, each event in exactly one message, and no more
// messages than the bucket allows at any time.
func TestOutboxStormStaysWithinRate(t *testing.T) {
	const n, burst = 200, 3
	interval := 10 * time.Second
	o := NewOutbox(t0, burst, interval, t0)
	now := t0
	seen := map[string]int{}
	var sent []time.Time
	for i := range n {
		o.Add(ev(i, t0.Add(time.Duration(i)*5*time.Millisecond)))
		now = t0.Add(time.Duration(i) * 5 * time.Millisecond)
		if m, ok := o.Next(now); ok {
			sent = append(sent, now)
			for _, e := range m.Events {
				seen[e.Key]++
			}
			o.Done(now, nil, false, 0)
		}
	}
	for o.Pending() > 0 {
		due := o.Due(now)
		if due.IsZero() {
			t.Fatal("events pending but nothing due")
		}
		now = due
		m, ok := o.Next(now)
		if !ok {
			t.Fatalf("Due said %s but Next gave nothing", due)
		}
		sent = append(sent, now)
		for _, e := range m.Events {
			seen[e.Key]++
		}
		o.Done(now, nil, false, 0)
	}
	if len(seen) != n {
		t.Fatalf("%d distinct events delivered, want %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("event %s delivered %d times", k, c)
		}
	}
	// Within any window w, at most burst + w/interval messages.
	for i := range sent {
		for j := i; j < len(sent); j++ {
			w := sent[j].Sub(sent[i])
			if allowed := burst + int(w/interval); j-i+1 > allowed {
				t.Fatalf("%d messages within %s, allowed %d", j-i+1, w, allowed)
			}
		}
	}
	// 3 at once, then 197 events in messages of at most MaxPerMessage.
	if len(sent) < burst+1 || len(sent) > burst+(n-burst+MaxPerMessage-1)/MaxPerMessage+1 {
		t.Fatalf("%d messages for %d events", len(sent), n)
	}
	t.Logf("%d events in %d messages over %s", n, len(sent), now.Sub(t0))
}

func TestOutboxRetriesWithBackoffThenGivesUp(t *testing.T) {
	o := NewOutbox(t0, 5, time.Second, t0)
	o.Add(ev(1, t0))
	now := t0
	m, _ := o.Next(now)
	id := m.ID
	fail := errors.New("503")
	var waits []time.Duration
	for attempt := 1; ; attempt++ {
		gaveUp := o.Done(now, fail, true, 0)
		if gaveUp {
			if attempt != MaxAttempts {
				t.Fatalf("gave up after %d attempts, want %d", attempt, MaxAttempts)
			}
			break
		}
		due := o.Due(now)
		waits = append(waits, due.Sub(now))
		if _, ok := o.Next(due.Add(-time.Millisecond)); ok {
			t.Fatal("retried before the backoff passed")
		}
		now = due
		m, ok := o.Next(now)
		if !ok || m.ID != id {
			t.Fatalf("retry %d: %v %v", attempt, m, ok)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("backoff %v, want %v", waits, want)
	}
	// A server's Retry-After is honoured up to MaxBackoff; a permanent error is not retried.
	o.Add(ev(2, t0))
	o.Next(now)
	o.Done(now, fail, true, time.Hour)
	if d := o.Due(now).Sub(now); d != MaxBackoff {
		t.Errorf("Retry-After 1h waited %s, want the cap %s", d, MaxBackoff)
	}
	now = o.Due(now)
	o.Next(now)
	if !o.Done(now, fail, false, 0) {
		t.Error("a permanent failure was not given up at once")
	}
}

func TestOutboxHighWaterMark(t *testing.T) {
	o := NewOutbox(t0, 1, time.Minute, t0)
	a, b := ev(1, t0.Add(time.Second)), ev(2, t0.Add(5*time.Second))
	o.Add(a)
	o.Add(b)
	if h := o.HandledUntil(); !h.Equal(a.Time) {
		t.Fatalf("HandledUntil = %s, want the oldest pending %s", h, a.Time)
	}
	m, _ := o.Next(t0.Add(6 * time.Second))
	o.Done(t0.Add(6*time.Second), nil, false, 0)
	if len(m.Events) != 2 || !o.HandledUntil().Equal(b.Time.Add(time.Second)) {
		t.Fatalf("HandledUntil = %s after delivering both", o.HandledUntil())
	}
	o.Advance()
	if !o.Since().Equal(b.Time.Add(time.Second-LagMargin)) && !o.Since().Equal(t0) {
		t.Errorf("Since = %s", o.Since())
	}
	// Much later: the keys of old events are forgotten, and old events refused.
	later := ev(3, t0.Add(time.Hour))
	o.Add(later)
	o.Next(t0.Add(2 * time.Hour))
	o.Done(t0.Add(2*time.Hour), nil, false, 0)
	o.Advance()
	if len(o.seen) != 1 {
		t.Errorf("%d dedupe keys kept, want 1", len(o.seen))
	}
	if q, _ := o.Add(a); q {
		t.Error("an event older than the high-water mark was queued again")
	}
}

func TestOutboxOverflowIsCounted(t *testing.T) {
	o := NewOutbox(t0, 1, time.Hour, t0)
	o.Add(ev(-1, t0))
	o.Next(t0) // the only token
	o.Done(t0, nil, false, 0)
	overflows := 0
	for i := range MaxPending + 7 {
		if _, of := o.Add(ev(i, t0)); of {
			overflows++
		}
	}
	if overflows != 7 || o.Pending() != MaxPending+7 {
		t.Fatalf("overflows %d, pending %d", overflows, o.Pending())
	}
	m, _ := o.Next(t0.Add(time.Hour))
	if len(m.Events) != MaxPerMessage || m.Omitted != 7 {
		t.Fatalf("message of %d events, %d omitted", len(m.Events), m.Omitted)
	}
}

func TestOutboxClearForgetsWhatHappenedWhileSuspended(t *testing.T) {
	o := NewOutbox(t0, 5, time.Second, t0)
	o.Add(ev(1, t0.Add(time.Second)))
	if n := o.Clear(t0.Add(time.Minute)); n != 1 || o.Pending() != 0 {
		t.Fatalf("Clear dropped %d, %d pending", n, o.Pending())
	}
	if q, _ := o.Add(ev(2, t0.Add(30*time.Second))); q {
		t.Error("an event from while suspended was queued after Clear")
	}
	if q, _ := o.Add(ev(3, t0.Add(2*time.Minute))); !q {
		t.Error("an event after Clear was refused")
	}
}
