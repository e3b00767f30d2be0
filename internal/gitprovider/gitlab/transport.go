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
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider/ratelimit"
)

// Clock is the provider's view of time (ratelimit.Clock), injected so tests of rate limits and
// backoff run in milliseconds. gitprovider/fake's manual Clock satisfies it.
type Clock = ratelimit.Clock

// RealClock is the wall clock.
type RealClock = ratelimit.RealClock

// limits is how GitLab announces its rate limits: a 429 waits for Retry-After or, without it,
// for RateLimit-Reset (a Unix time); an exhausted RateLimit-Remaining on any answer holds back
// the next call until the reset; a 5xx backs off with jitter (ratelimit.Transport does the
// waiting and gives up with gitprovider.ErrGaveUp past the operation's budget).
type limits struct{}

// Exhausted records an exhausted limit (RateLimit-Remaining: 0) from any answer.
func (limits) Exhausted(resp *http.Response) (time.Time, string, bool) {
	if resp.Header.Get("RateLimit-Remaining") != "0" {
		return time.Time{}, "", false
	}
	reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64)
	if err != nil {
		return time.Time{}, "", false
	}
	until := time.Unix(reset, 0)
	return until, fmt.Sprintf("GitLab rate limit exhausted until %s", until.UTC().Format(time.RFC3339)), true
}

// Classify decides whether an answer is worth another attempt and how long to wait first.
func (limits) Classify(t *ratelimit.Transport, resp *http.Response, attempt int) (bool, time.Duration, string) {
	code := resp.StatusCode
	switch {
	case code == http.StatusTooManyRequests:
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			reason := fmt.Sprintf("HTTP 429 with Retry-After %ds", secs)
			t.BlockUntil(t.Clock.Now().Add(time.Duration(secs)*time.Second), reason)
			return true, 0, reason
		}
		if reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err == nil && time.Unix(reset, 0).After(t.Clock.Now()) {
			until := time.Unix(reset, 0)
			reason := fmt.Sprintf("HTTP 429 until RateLimit-Reset %s", until.UTC().Format(time.RFC3339))
			t.BlockUntil(until, reason)
			return true, 0, reason
		}
		return true, t.Backoff(attempt), "HTTP 429 without Retry-After or a future RateLimit-Reset"
	case code >= 500 && code != http.StatusNotImplemented:
		return true, t.Backoff(attempt), fmt.Sprintf("HTTP %d from GitLab", code)
	default:
		return false, 0, ""
	}
}

// RetryOnError retries only GETs after a failure without an answer: a POST or PUT may have
// reached GitLab.
func (limits) RetryOnError(method string) bool { return method == http.MethodGet }
