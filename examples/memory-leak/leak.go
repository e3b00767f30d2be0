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
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// leaker retains memory in chunks it never frees.
type leaker struct {
	mu     sync.Mutex
	rate   int64
	max    int64
	chunks [][]byte
	total  int64
	steps  int64
}

// newLeaker retains rate bytes per step, up to max when max is positive.
func newLeaker(rate, max int64) *leaker {
	return &leaker{rate: rate, max: max}
}

// step retains rate more bytes (up to max, when set) and reports whether it grew. Every page is
// written so the memory is resident, not just reserved.
func (l *leaker) step() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.rate
	if l.max > 0 && l.total+n > l.max {
		n = l.max - l.total
	}
	if n <= 0 {
		return false
	}
	chunk := make([]byte, n)
	for i := 0; i < len(chunk); i += 4096 {
		chunk[i] = 1
	}
	l.chunks = append(l.chunks, chunk)
	l.total += n
	l.steps++
	return true
}

// held is the number of bytes retained so far.
func (l *leaker) held() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// newMux serves the health endpoints and Prometheus metrics in the text exposition format.
func newMux(l *leaker, now func() time.Time) *http.ServeMux {
	start := now()
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	}
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		l.mu.Lock()
		held, steps := l.total, l.steps
		l.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = fmt.Fprintf(w, "# HELP memory_leak_held_bytes Bytes the demo retains on purpose.\n"+
			"# TYPE memory_leak_held_bytes gauge\nmemory_leak_held_bytes %d\n"+
			"# HELP memory_leak_steps_total Times the demo retained more memory.\n"+
			"# TYPE memory_leak_steps_total counter\nmemory_leak_steps_total %d\n"+
			"# HELP memory_leak_uptime_seconds Seconds since the demo started.\n"+
			"# TYPE memory_leak_uptime_seconds gauge\nmemory_leak_uptime_seconds %g\n",
			held, steps, now().Sub(start).Seconds())
	})
	return mux
}

// parseSize parses a byte count with an optional decimal (k, M, G) or binary (Ki, Mi, Gi)
// suffix, like Kubernetes quantities.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		factor int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}}
	factor := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if v, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = v, u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing size %q: %w", s, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("parsing size %q: negative", s)
	}
	return n * factor, nil
}
