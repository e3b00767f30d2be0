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

package gitlab

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider"
)

// Clock is the provider's view of time, injected so tests of rate limits and backoff run in
// milliseconds. gitprovider/fake's manual Clock satisfies it.
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

type retryPolicy struct {
	maxWait     time.Duration
	baseBackoff time.Duration
	maxBackoff  time.Duration
	jitter      func(time.Duration) time.Duration
}

const maxAttempts = 20

type budgetKey struct{}

// withBudget marks the start of one operation so that every HTTP call inside it shares one time
// budget.
func withBudget(ctx context.Context, start time.Time) context.Context {
	if _, ok := ctx.Value(budgetKey{}).(time.Time); ok {
		return ctx
	}
	return context.WithValue(ctx, budgetKey{}, start)
}

// retryTransport is the one place that knows GitLab's rate limits: a 429 waits for Retry-After
// or, without it, for RateLimit-Reset (a Unix time); an exhausted RateLimit-Remaining on any
// answer holds back the next call until the reset; a 5xx backs off with jitter. Past the
// operation's budget it fails with gitprovider.ErrGaveUp, which callers treat as "retry later".
type retryTransport struct {
	base   http.RoundTripper
	clock  Clock
	policy retryPolicy
	calls  atomic.Int64

	mu           sync.Mutex
	blockedUntil time.Time
	blockReason  string
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	start, ok := ctx.Value(budgetKey{}).(time.Time)
	if !ok {
		start = t.clock.Now()
	}
	deadline := start.Add(t.policy.maxWait)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil

	for attempt := 1; ; attempt++ {
		if wait, reason := t.blocked(); wait > 0 {
			if t.clock.Now().Add(wait).After(deadline) {
				return nil, fmt.Errorf("%w: %s, %s %s not sent", gitprovider.ErrGaveUp, reason, req.Method, req.URL.Path)
			}
			if err := t.clock.Sleep(ctx, wait); err != nil {
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
		resp, err := t.base.RoundTrip(r)

		var delay time.Duration
		var reason string
		switch {
		case err != nil:
			if ctx.Err() != nil || req.Method != http.MethodGet {
				return nil, err
			}
			delay, reason = t.backoff(attempt), err.Error()
		default:
			t.observe(resp)
			var retry bool
			retry, delay, reason = t.classify(resp, attempt)
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
		if w, _ := t.blocked(); w > wait {
			wait = w
		}
		if t.clock.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("%w: %s (%s %s, %d attempts)", gitprovider.ErrGaveUp, reason, req.Method, req.URL.Path, attempt)
		}
		if err := t.clock.Sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

func (t *retryTransport) blocked() (time.Duration, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.blockedUntil.Sub(t.clock.Now()), t.blockReason
}

func (t *retryTransport) blockUntil(until time.Time, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if until.After(t.blockedUntil) {
		t.blockedUntil, t.blockReason = until, reason
	}
}

// observe records an exhausted limit (RateLimit-Remaining: 0) from any answer.
func (t *retryTransport) observe(resp *http.Response) {
	if resp.Header.Get("RateLimit-Remaining") != "0" {
		return
	}
	reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64)
	if err != nil {
		return
	}
	until := time.Unix(reset, 0)
	t.blockUntil(until, fmt.Sprintf("GitLab rate limit exhausted until %s", until.UTC().Format(time.RFC3339)))
}

// classify decides whether an answer is worth another attempt and how long to wait first.
func (t *retryTransport) classify(resp *http.Response, attempt int) (bool, time.Duration, string) {
	code := resp.StatusCode
	switch {
	case code == http.StatusTooManyRequests:
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			reason := fmt.Sprintf("HTTP 429 with Retry-After %ds", secs)
			t.blockUntil(t.clock.Now().Add(time.Duration(secs)*time.Second), reason)
			return true, 0, reason
		}
		if reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err == nil && time.Unix(reset, 0).After(t.clock.Now()) {
			until := time.Unix(reset, 0)
			reason := fmt.Sprintf("HTTP 429 until RateLimit-Reset %s", until.UTC().Format(time.RFC3339))
			t.blockUntil(until, reason)
			return true, 0, reason
		}
		return true, t.backoff(attempt), "HTTP 429 without Retry-After or a future RateLimit-Reset"
	case code >= 500 && code != http.StatusNotImplemented:
		return true, t.backoff(attempt), fmt.Sprintf("HTTP %d from GitLab", code)
	default:
		return false, 0, ""
	}
}

func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.policy.baseBackoff << min(attempt-1, 16)
	if d <= 0 || d > t.policy.maxBackoff {
		d = t.policy.maxBackoff
	}
	return t.policy.jitter(d)
}

func equalJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: retry jitter, not a secret.
}
