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

package github

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider/ratelimit"
)

// Clock is the provider's view of time (ratelimit.Clock), injected so that tests of rate limits
// and backoff run in milliseconds and can assert that no call was made before a reset.
type Clock = ratelimit.Clock

// RealClock is the wall clock.
type RealClock = ratelimit.RealClock

// limits is how GitHub announces its rate limits: X-RateLimit-Remaining and X-RateLimit-Reset
// on every answer, 403 or 429 when a primary or secondary limit is hit, Retry-After on secondary
// limits and some 5xx. The transport (ratelimit.Transport) sits under go-github and under
// ghinstallation, so token fetches get the same treatment.
type limits struct{}

// Exhausted records an exhausted primary rate limit from any response, successful or not.
func (limits) Exhausted(resp *http.Response) (time.Time, string, bool) {
	if resp.Header.Get("X-RateLimit-Remaining") != "0" {
		return time.Time{}, "", false
	}
	reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return time.Time{}, "", false
	}
	until := time.Unix(reset, 0)
	return until, fmt.Sprintf("primary rate limit exhausted until %s", until.UTC().Format(time.RFC3339)), true
}

// Classify decides whether a response is worth another attempt and how long to wait first.
func (limits) Classify(t *ratelimit.Transport, resp *http.Response, attempt int) (bool, time.Duration, string) {
	code := resp.StatusCode
	if ra := resp.Header.Get("Retry-After"); ra != "" && (code == http.StatusForbidden || code == http.StatusTooManyRequests || code >= 500) {
		if secs, err := strconv.Atoi(ra); err == nil && secs > 0 {
			d := time.Duration(secs) * time.Second
			reason := fmt.Sprintf("HTTP %d with Retry-After %ds", code, secs)
			t.BlockUntil(t.Clock.Now().Add(d), reason)
			return true, 0, reason
		}
	}
	switch {
	case (code == http.StatusForbidden || code == http.StatusTooManyRequests) && resp.Header.Get("X-RateLimit-Remaining") == "0":
		if wait, reason := t.Blocked(); wait > 0 {
			return true, 0, reason
		}
		// A reset in the past or missing: the clocks disagree; back off rather than spin.
		return true, t.Backoff(attempt), fmt.Sprintf("HTTP %d, rate limit exhausted without a future reset", code)
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		if resp.Header.Get("Retry-After") != "" {
			return true, t.Backoff(attempt), fmt.Sprintf("HTTP %d with Retry-After %s", code, resp.Header.Get("Retry-After"))
		}
		if code == http.StatusForbidden {
			return false, 0, ""
		}
		return true, t.Backoff(attempt), "HTTP 429 without Retry-After"
	case code >= 500 && code != http.StatusNotImplemented:
		return true, t.Backoff(attempt), fmt.Sprintf("HTTP %d from GitHub", code)
	default:
		return false, 0, ""
	}
}

// RetryOnError retries only idempotent methods after a failure without an answer.
func (limits) RetryOnError(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	default:
		return false
	}
}
