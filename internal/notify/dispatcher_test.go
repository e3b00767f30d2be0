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
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func startDispatcher(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Start(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func testDispatcher() *Dispatcher {
	return &Dispatcher{
		Policy:     AddressPolicy{AllowPrivate: true},
		Workers:    2,
		Timeout:    500 * time.Millisecond,
		Backoff:    10 * time.Millisecond,
		MaxBackoff: 40 * time.Millisecond,
		Metrics:    NewMetrics(prometheus.NewRegistry()),
		Log:        logr.Discard(),
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A generic receiver gets a signed message it can verify, with the delivery id in a header.
func TestDispatcherDeliversSignedGeneric(t *testing.T) {
	key := []byte("a-test-hmac-key-of-some-length")
	var mu sync.Mutex
	var got []GenericMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := Verify(key, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("receiver: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m GenericMessage
		if err := json.Unmarshal(body, &m); err != nil || r.Header.Get(HeaderDelivery) != m.ID {
			t.Errorf("receiver: %v, delivery %q id %q", err, r.Header.Get(HeaderDelivery), m.ID)
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer srv.Close()
	d := testDispatcher()
	startDispatcher(t, d)
	n := types.NamespacedName{Namespace: "shop", Name: "oncall"}
	d.Ensure(n, t0, 5, time.Second)
	d.Configure(n, &Target{Type: v1beta1.NotifierGeneric, Address: srv.URL, HMACKey: key})
	evs := EventsOf(gitopsSucceeded("u-1"), Context{}, t0)
	d.Enqueue(n, evs)
	d.Enqueue(n, evs) // the same phase changes again: nothing more is sent
	waitFor(t, "delivery", func() bool { s, _ := d.Stats(n); return s.Delivered >= 1 && s.Pending == 0 })
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, m := range got {
		total += len(m.Events)
	}
	if total != len(evs) {
		t.Errorf("receiver got %d events in %d messages, want %d", total, len(got), len(evs))
	}
}

// An endpoint that answers 500 is tried MaxAttempts times, then the message is dropped and
// counted; the Notifier's stats carry the error.
func TestDispatcherRetriesThenDrops(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	d := testDispatcher()
	startDispatcher(t, d)
	n := types.NamespacedName{Namespace: "shop", Name: "broken"}
	d.Ensure(n, t0, 5, time.Second)
	d.Configure(n, &Target{Type: v1beta1.NotifierSlack, Address: srv.URL})
	d.Enqueue(n, EventsOf(gitopsSucceeded("u-1"), Context{}, t0)[1:])
	waitFor(t, "the message to be dropped", func() bool { s, _ := d.Stats(n); return s.Dropped == 1 })
	if h := hits.Load(); h != MaxAttempts {
		t.Errorf("endpoint hit %d times, want %d", h, MaxAttempts)
	}
	s, _ := d.Stats(n)
	if s.LastError == "" || s.Delivered != 0 {
		t.Errorf("stats %+v", s)
	}
	if v := testutil.ToFloat64(d.Metrics.Dropped.WithLabelValues("delivery_failed")); v != 1 {
		t.Errorf("dropped metric %v", v)
	}
}

// chat.postMessage answers 200 with ok=false on failure; that is a failure, and the bot token
// goes in the Authorization header with the channel in the body.
func TestDispatcherSlackBotOKFalse(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var m struct{ Channel string }
		_ = json.NewDecoder(r.Body).Decode(&m)
		if r.Header.Get("Authorization") != "Bearer xoxb-test" || m.Channel != "#ops" {
			t.Errorf("auth %q channel %q", r.Header.Get("Authorization"), m.Channel)
		}
		_, _ = w.Write([]byte(`{"ok":false,"error":"not_in_channel"}`))
	}))
	defer srv.Close()
	d := testDispatcher()
	startDispatcher(t, d)
	n := types.NamespacedName{Namespace: "shop", Name: "bot"}
	d.Ensure(n, t0, 5, time.Second)
	d.Configure(n, &Target{Type: v1beta1.NotifierSlack, Address: srv.URL, Token: "xoxb-test", Channel: "#ops"})
	d.Enqueue(n, EventsOf(gitopsSucceeded("u-1"), Context{}, t0)[1:])
	waitFor(t, "the message to be dropped", func() bool { s, _ := d.Stats(n); return s.Dropped == 1 })
	s, _ := d.Stats(n)
	if hits.Load() != 1 || s.LastError != `slack answered ok=false, error "not_in_channel"` {
		t.Errorf("hits %d, stats %+v", hits.Load(), s)
	}
}

// A hanging endpoint holds no caller: Enqueue returns while every worker waits on it, and
// another Notifier's messages still go once the attempt times out.
func TestDispatcherHangingEndpointDoesNotBlockEnqueue(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	defer close(release)
	var fastHits atomic.Int32
	fast := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { fastHits.Add(1) }))
	defer fast.Close()
	d := testDispatcher()
	d.Workers = 1
	startDispatcher(t, d)
	a, b := types.NamespacedName{Namespace: "a", Name: "slow"}, types.NamespacedName{Namespace: "b", Name: "fast"}
	d.Ensure(a, t0, 100, time.Millisecond)
	d.Ensure(b, t0, 100, time.Millisecond)
	d.Configure(a, &Target{Type: v1beta1.NotifierMSTeams, Address: slow.URL})
	d.Configure(b, &Target{Type: v1beta1.NotifierMSTeams, Address: fast.URL})
	d.Enqueue(a, []Event{ev(1, t0)})
	// The single worker is now stuck on the slow endpoint; Enqueue must still return at once.
	done := make(chan struct{})
	go func() {
		for i := range 500 {
			d.Enqueue(a, []Event{ev(100+i, t0)})
		}
		d.Enqueue(b, []Event{ev(1000, t0)})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Enqueue blocked behind a hanging endpoint")
	}
	waitFor(t, "the other Notifier's message", func() bool { return fastHits.Load() == 1 })
}
