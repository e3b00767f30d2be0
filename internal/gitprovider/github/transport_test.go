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

package github_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/fake"
	"github.com/heal8s/heal8s/internal/gitprovider/github"
)

type scripted struct {
	status int
	header map[string]string
}

// TestRetryClassification drives the transport with scripted answers to one GET (Status) and
// checks how many calls it makes, how long it waits and whether it succeeds.
func TestRetryClassification(t *testing.T) {
	ok := scripted{status: http.StatusOK}
	tests := []struct {
		name      string
		script    []scripted
		wantCalls int
		wantSleep time.Duration
		wantErr   error // nil = success; ErrGaveUp; or errAny for a plain API error
	}{
		{name: "403 without rate-limit headers is a permission error, not retried", script: []scripted{{status: 403}}, wantCalls: 1, wantErr: errAny},
		{name: "404 is not retried", script: []scripted{{status: 404}}, wantCalls: 1, wantErr: gitprovider.ErrNotFound},
		{name: "501 is not retried", script: []scripted{{status: 501}}, wantCalls: 1, wantErr: errAny},
		{name: "429 without headers backs off", script: []scripted{{status: 429}, ok}, wantCalls: 2, wantSleep: time.Second},
		{name: "Retry-After 0 backs off instead of spinning", script: []scripted{{status: 403, header: map[string]string{"Retry-After": "0"}}, ok}, wantCalls: 2, wantSleep: time.Second},
		{name: "Retry-After on 503 is honoured", script: []scripted{{status: 503, header: map[string]string{"Retry-After": "7"}}, ok}, wantCalls: 2, wantSleep: 7 * time.Second},
		{name: "exhausted limit with a reset in the past backs off", script: []scripted{{status: 403, header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}}, ok}, wantCalls: 2, wantSleep: time.Second},
		{name: "an answer that never changes ends at the attempt cap", script: repeat(scripted{status: 429, header: map[string]string{"Retry-After": "0"}}, 50), wantCalls: 20, wantErr: gitprovider.ErrGaveUp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			var mu sync.Mutex
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				s := tc.script[min(calls, len(tc.script)-1)]
				calls++
				mu.Unlock()
				for k, v := range s.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(s.status)
				if s.status == http.StatusOK {
					_, _ = w.Write([]byte(`{"number":1,"state":"open","head":{"ref":"heal8s/a"}}`))
				} else {
					_, _ = w.Write([]byte(`{"message":"scripted ` + strconv.Itoa(s.status) + `"}`))
				}
			}))
			defer srv.Close()
			clock := fake.NewClock(t0)
			p, err := github.New(github.Options{
				BaseURL: srv.URL, Token: "t", Clock: clock, MaxWait: time.Hour,
				Jitter: func(d time.Duration) time.Duration { return d },
			})
			g.Expect(err).NotTo(HaveOccurred())
			pr, err := p.Status(context.Background(), gitprovider.PullRequest{Repository: "o/r", Number: 1})
			switch tc.wantErr {
			case nil:
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(pr.State).To(Equal(gitprovider.StateOpen))
			case errAny:
				g.Expect(err).To(HaveOccurred())
				g.Expect(err).NotTo(MatchError(gitprovider.ErrGaveUp))
			default:
				g.Expect(err).To(MatchError(tc.wantErr))
			}
			g.Expect(calls).To(Equal(tc.wantCalls))
			g.Expect(p.Calls()).To(BeEquivalentTo(tc.wantCalls))
			if tc.wantErr == nil {
				g.Expect(clock.Now().Sub(t0)).To(Equal(tc.wantSleep))
			}
		})
	}
}

var errAny = &sentinel{}

type sentinel struct{}

func (*sentinel) Error() string { return "any error" }

func repeat(s scripted, n int) []scripted {
	out := make([]scripted, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestSlowServerTimesOutPerAttempt: a latency above the per-attempt timeout fails each attempt,
// the GET is retried, and the budget ends it with ErrGaveUp carrying the timeout as the reason.
func TestSlowServerTimesOutPerAttempt(t *testing.T) {
	g := NewWithT(t)
	clock := fake.NewClock(t0)
	srv, err := fake.New(fake.Options{Clock: clock})
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	g.Expect(srv.NewRepo("o/r", map[string]string{"a": "b"})).To(Succeed())
	srv.SetLatency(300 * time.Millisecond)
	p, err := srv.Provider(func(o *github.Options) {
		o.Timeout = 30 * time.Millisecond
		o.MaxWait = 3 * time.Second
		o.Jitter = func(d time.Duration) time.Duration { return d }
	})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = p.Status(context.Background(), gitprovider.PullRequest{Repository: "o/r", Number: 1})
	g.Expect(err).To(MatchError(gitprovider.ErrGaveUp))
	g.Expect(err.Error()).To(ContainSubstring("timeout awaiting response headers"))
	g.Expect(p.Calls()).To(BeEquivalentTo(3), "attempts at 0s, 1s and 3s; a 4s wait would pass the 3s budget")
}
