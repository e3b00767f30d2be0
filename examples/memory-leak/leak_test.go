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
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "0", want: 0},
		{in: "1024", want: 1024},
		{in: "5Mi", want: 5 << 20},
		{in: "2Gi", want: 2 << 30},
		{in: "3Ki", want: 3 << 10},
		{in: "10M", want: 10_000_000},
		{in: "7k", want: 7000},
		{in: "-1", err: true},
		{in: "five", err: true},
		{in: "5Ti", err: true},
	}
	for _, tc := range cases {
		got, err := parseSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{"LEAK_RATE": "1Mi", "LEAK_INTERVAL": "2s"}
	cfg, err := parseConfig([]string{"--max", "3Mi"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.rate != 1<<20 || cfg.interval != 2*time.Second || cfg.max != 3<<20 || cfg.addr != ":8080" {
		t.Errorf("parseConfig = %+v", cfg)
	}
	for _, args := range [][]string{{"--rate", "0"}, {"--interval", "0s"}, {"--interval", "soon"}, {"--max", "lots"}} {
		if _, err := parseConfig(args, func(string) string { return "" }); err == nil {
			t.Errorf("parseConfig(%v) accepted", args)
		}
	}
	if _, err := parseConfig([]string{"--rate", "0"}, func(string) string { return "" }); !errors.Is(err, errNotPositive) {
		t.Errorf("a zero rate gives %v, want errNotPositive", err)
	}
}

func TestLeakerGrowsToItsCap(t *testing.T) {
	l := newLeaker(3000, 7000)
	var grew []bool
	for range 4 {
		grew = append(grew, l.step())
	}
	if got := l.held(); got != 7000 {
		t.Errorf("held %d bytes, want the 7000 cap", got)
	}
	if want := []bool{true, true, true, false}; !slices.Equal(grew, want) {
		t.Errorf("step() = %v, want %v", grew, want)
	}
	unbounded := newLeaker(4096, 0)
	for range 3 {
		unbounded.step()
	}
	if got := unbounded.held(); got != 3*4096 {
		t.Errorf("unbounded leaker held %d, want %d", got, 3*4096)
	}
}

func TestEndpoints(t *testing.T) {
	l := newLeaker(1000, 0)
	l.step()
	t0 := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	clock := t0
	srv := httptest.NewServer(newMux(l, func() time.Time { return clock }))
	defer srv.Close()
	clock = t0.Add(90 * time.Second)

	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ok",
		"/metrics": "memory_leak_held_bytes 1000\n",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d %q, want 200 containing %q", path, resp.StatusCode, body, want)
		}
		if path == "/metrics" && !strings.Contains(string(body), "memory_leak_uptime_seconds 90\n") {
			t.Errorf("uptime not from the injected clock: %s", body)
		}
	}
}
