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
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"time"
)

// Outbox limits.
const (
	// MaxPending bounds the events one Notifier holds; past it new events are only counted and
	// reported as "and N more" in the next message.
	MaxPending = 1000
	// MaxPerMessage bounds the events one message carries; the rest wait for the next one.
	MaxPerMessage = 50
	// MaxAttempts is how often one message is tried before it is given up.
	MaxAttempts = 5
	// BaseBackoff is the wait after the first failed attempt; it doubles up to MaxBackoff.
	BaseBackoff = time.Second
	// MaxBackoff caps the wait between attempts, also when the server asks for longer.
	MaxBackoff = time.Minute
	// LagMargin is how far before the high-water mark events are still accepted, for watch lag.
	LagMargin = 2 * time.Minute
)

// tokenSlack absorbs the rounding of the token bucket's float arithmetic.
const tokenSlack = 1e-9

// Message is what one delivery sends: one event in detail, or several summarised.
type Message struct {
	// ID is stable across retries of the message: the hash of its event keys.
	ID      string
	Events  []Event
	Omitted int
	// Attempts made so far.
	Attempts int
}

// Outbox is one Notifier's queue: it deduplicates events, holds them while its token bucket is
// empty, and hands out one message at a time, so messages to one destination stay in order and
// a storm becomes a few summaries. It is not safe for concurrent use; the dispatcher locks it.
// Every method takes the time, so tests drive it with a fake clock.
type Outbox struct {
	burst    float64
	interval time.Duration
	tokens   float64
	refilled time.Time

	since    time.Time
	seen     map[string]time.Time
	pending  []Event
	omitted  int
	inflight *Message
	retryAt  time.Time
	// maxHandled is the latest event time delivered or given up on.
	maxHandled time.Time
	handledAny bool
	// backoff and maxBackoff are BaseBackoff and MaxBackoff unless SetBackoff changed them.
	backoff, maxBackoff time.Duration
}

// SetBackoff changes the wait after the first failed attempt and its cap (tests shorten them).
func (o *Outbox) SetBackoff(base, limit time.Duration) {
	if base > 0 && limit >= base {
		o.backoff, o.maxBackoff = base, limit
	}
}

// NewOutbox is an outbox that accepts events from since on, allowing burst messages at once and
// one more every interval.
func NewOutbox(since time.Time, burst int, interval time.Duration, now time.Time) *Outbox {
	o := &Outbox{since: since, seen: map[string]time.Time{}, maxHandled: since, backoff: BaseBackoff, maxBackoff: MaxBackoff}
	o.SetRate(burst, interval, now)
	o.tokens = o.burst
	return o
}

// SetRate changes the token bucket, keeping the tokens left.
func (o *Outbox) SetRate(burst int, interval time.Duration, now time.Time) {
	if burst < 1 {
		burst = 1
	}
	if interval <= 0 {
		interval = 10 * time.Second
	}
	o.refill(now)
	o.burst, o.interval = float64(burst), interval
	o.tokens = min(o.tokens, o.burst)
}

func (o *Outbox) refill(now time.Time) {
	if !o.refilled.IsZero() && now.After(o.refilled) && o.interval > 0 {
		o.tokens = min(o.burst, o.tokens+float64(now.Sub(o.refilled))/float64(o.interval))
	}
	o.refilled = now
}

// Since is the earliest event time the outbox still accepts.
func (o *Outbox) Since() time.Time { return o.since }

// Add queues e unless it was queued before or is older than the outbox accepts; it reports
// whether e was queued, and counts it as omitted when the outbox is full.
func (o *Outbox) Add(e Event) (queued, overflow bool) {
	if e.Time.Before(o.since) {
		return false, false
	}
	if _, dup := o.seen[e.Key]; dup {
		return false, false
	}
	o.seen[e.Key] = e.Time
	if len(o.pending) >= MaxPending {
		o.omitted++
		return false, true
	}
	o.pending = append(o.pending, e)
	return true, false
}

// Next is the message to send now, if any: a due retry, or the pending events when a token is
// left. The message stays in flight until Done.
func (o *Outbox) Next(now time.Time) (*Message, bool) {
	if o.inflight != nil {
		if o.inflight.Attempts > 0 && !now.Before(o.retryAt) && !o.retryAt.IsZero() {
			o.retryAt = time.Time{}
			return o.inflight, true
		}
		return nil, false
	}
	if len(o.pending) == 0 && o.omitted == 0 {
		return nil, false
	}
	o.refill(now)
	if o.tokens < 1-tokenSlack {
		return nil, false
	}
	o.tokens = max(0, o.tokens-1)
	n := min(len(o.pending), MaxPerMessage)
	m := &Message{Events: append([]Event(nil), o.pending[:n]...), Omitted: o.omitted}
	o.pending = append(o.pending[:0:0], o.pending[n:]...)
	o.omitted = 0
	m.ID = messageID(m.Events)
	o.inflight = m
	return m, true
}

func messageID(events []Event) string {
	h := sha256.New()
	for i := range events {
		h.Write([]byte(events[i].Key))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Done records the outcome of the message in flight: delivered, or failed with retryable
// telling whether to try again (after retryAfter when the server said so). It reports whether
// the message was given up on.
func (o *Outbox) Done(now time.Time, err error, retryable bool, retryAfter time.Duration) (gaveUp bool) {
	m := o.inflight
	if m == nil {
		return false
	}
	m.Attempts++
	if err != nil && retryable && m.Attempts < MaxAttempts {
		wait := o.backoff << (m.Attempts - 1)
		wait = max(wait, retryAfter)
		o.retryAt = now.Add(min(wait, o.maxBackoff))
		return false
	}
	o.inflight = nil
	o.handledAny = true
	for i := range m.Events {
		if m.Events[i].Time.After(o.maxHandled) {
			o.maxHandled = m.Events[i].Time
		}
	}
	return err != nil
}

// Due is when Next may next return a message; zero when nothing waits.
func (o *Outbox) Due(now time.Time) time.Time {
	if o.inflight != nil {
		return o.retryAt
	}
	if len(o.pending) == 0 && o.omitted == 0 {
		return time.Time{}
	}
	o.refill(now)
	if o.tokens >= 1-tokenSlack {
		return now
	}
	return now.Add(time.Duration(math.Ceil((1 - o.tokens) * float64(o.interval))))
}

// HandledUntil is the high-water mark: every event before it was delivered or given up on. It
// is the oldest event still pending or in flight, else the latest handled.
func (o *Outbox) HandledUntil() time.Time {
	w := o.maxHandled
	var times []time.Time
	for i := range o.pending {
		times = append(times, o.pending[i].Time)
	}
	if o.inflight != nil {
		for i := range o.inflight.Events {
			times = append(times, o.inflight.Events[i].Time)
		}
	}
	if len(times) > 0 {
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		return times[0]
	}
	if o.handledAny {
		// Transition times have whole seconds: everything of that second was handled.
		return w.Truncate(time.Second).Add(time.Second)
	}
	return w
}

// Advance moves since up to the high-water mark less LagMargin and forgets the dedupe keys of
// events older than that, which Add refuses anyway; memory stays bounded by recent events.
func (o *Outbox) Advance() {
	s := o.HandledUntil().Add(-LagMargin)
	if s.After(o.since) {
		o.since = s
	}
	for k, t := range o.seen {
		if t.Before(o.since) {
			delete(o.seen, k)
		}
	}
}

// Clear drops everything waiting and accepts only events from now on (a suspended Notifier:
// what happens while suspended is not sent later); it reports how many events it dropped.
func (o *Outbox) Clear(now time.Time) int {
	n := len(o.pending) + o.omitted
	o.pending, o.omitted = nil, 0
	if now.After(o.since) {
		o.since = now
	}
	return n
}

// Pending is how many events wait, in flight ones not counted.
func (o *Outbox) Pending() int { return len(o.pending) + o.omitted }
