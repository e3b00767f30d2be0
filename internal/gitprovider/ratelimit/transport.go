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

// Package ratelimit is the HTTP transport every Git provider sits on: one time budget per
// operation, never a call before a known rate-limit reset, backoff with jitter on transient
// answers, and gitprovider.ErrGaveUp once the budget would be exceeded. What differs between
// hosts (which headers announce a limit, which answers are worth another attempt) is a Host.
package ratelimit

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider"
)

// Clock is a provider's view of time. It is injected so that tests of rate limits and backoff
// run in milliseconds and can assert that no call was made before a reset; gitprovider/fake's
// manual Clock satisfies it.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns the current time.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits for d unless ctx ends first.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Policy bounds how long one operation may spend waiting for the host.
type Policy struct {
	MaxWait     time.Duration
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	Jitter      func(time.Duration) time.Duration
}

// maxAttempts is a safety net under the time budget, for a server whose answers cost no time.
const maxAttempts = 20

type budgetKey struct{}

// WithBudget marks the start of one operation (a Propose, a Status, a poll) so that every HTTP
// call inside it shares one time budget.
func WithBudget(ctx context.Context, start time.Time) context.Context {
	if _, ok := ctx.Value(budgetKey{}).(time.Time); ok {
		return ctx
	}
	return context.WithValue(ctx, budgetKey{}, start)
}

// Host is what one Git host's rate limits look like.
type Host interface {
	// Exhausted reports, from any answer (successful or not), until when the host's limit is used
	// up, so the next call waits for the reset instead of being refused.
	Exhausted(resp *http.Response) (until time.Time, reason string, ok bool)
	// Classify decides whether an answer is worth another attempt and how long to wait first; it
	// may hold back every call with Transport.BlockUntil, and use Transport.Backoff.
	Classify(t *Transport, resp *http.Response, attempt int) (retry bool, delay time.Duration, reason string)
	// RetryOnError reports whether a request of this method that failed without an answer may be
	// sent again (it may have reached the host).
	RetryOnError(method string) bool
}

// Transport is the single place that knows about rate limits: it honours what Host reads from
// the answers, never sends a call before a known reset, backs off with jitter and gives up with
// gitprovider.ErrGaveUp once the operation's budget would be exceeded. It sits under the API
// client (and under token fetches, which get the same treatment).
type Transport struct {
	Base   http.RoundTripper
	Clock  Clock
	Policy Policy
	Host   Host

	calls atomic.Int64

	mu           sync.Mutex
	blockedUntil time.Time
	blockReason  string
}

// Calls is how many HTTP calls the transport has sent.
func (t *Transport) Calls() int64 { return t.calls.Load() }

// RoundTrip sends req, waiting out known limits and retrying transient answers within the budget.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	start, ok := ctx.Value(budgetKey{}).(time.Time)
	if !ok {
		start = t.Clock.Now()
	}
	deadline := start.Add(t.Policy.MaxWait)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil

	for attempt := 1; ; attempt++ {
		if wait, reason := t.Blocked(); wait > 0 {
			if t.Clock.Now().Add(wait).After(deadline) {
				return nil, fmt.Errorf("%w: %s, %s %s not sent", gitprovider.ErrGaveUp, reason, req.Method, req.URL.Path)
			}
			if err := t.Clock.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		r := req.Clone(ctx)
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("rewinding request body: %w", err)
			}
			r.Body = body
		}
		t.calls.Add(1)
		resp, err := t.Base.RoundTrip(r)

		var delay time.Duration
		var reason string
		switch {
		case err != nil:
			if ctx.Err() != nil || !t.Host.RetryOnError(req.Method) {
				return nil, err
			}
			delay, reason = t.Backoff(attempt), err.Error()
		default:
			if until, why, ok := t.Host.Exhausted(resp); ok {
				t.BlockUntil(until, why)
			}
			var retry bool
			retry, delay, reason = t.Host.Classify(t, resp, attempt)
			if !retry || !replayable {
				return resp, nil
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
		}

		if attempt >= maxAttempts {
			return nil, fmt.Errorf("%w: %s (%s %s, %d attempts)", gitprovider.ErrGaveUp, reason, req.Method, req.URL.Path, attempt)
		}
		wait := delay
		if w, _ := t.Blocked(); w > wait {
			wait = w
		}
		if t.Clock.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("%w: %s (%s %s, %d attempts)", gitprovider.ErrGaveUp, reason, req.Method, req.URL.Path, attempt)
		}
		if err := t.Clock.Sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// Blocked reports how long until a call may be sent, after a rate limit told us to wait.
func (t *Transport) Blocked() (time.Duration, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.blockedUntil.Sub(t.Clock.Now()), t.blockReason
}

// BlockUntil holds back every call until until (a later block wins), saying why.
func (t *Transport) BlockUntil(until time.Time, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if until.After(t.blockedUntil) {
		t.blockedUntil, t.blockReason = until, reason
	}
}

// Backoff doubles per attempt up to MaxBackoff, with jitter so that many operators do not retry
// in lockstep.
func (t *Transport) Backoff(attempt int) time.Duration {
	d := t.Policy.BaseBackoff << min(attempt-1, 16)
	if d <= 0 || d > t.Policy.MaxBackoff {
		d = t.Policy.MaxBackoff
	}
	return t.Policy.Jitter(d)
}

// EqualJitter waits between half and all of d.
func EqualJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: retry jitter, not a secret.
}
