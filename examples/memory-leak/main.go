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

// Command memory-leak is a demo workload for heal8s: it holds on to more memory at a steady,
// configurable rate until its container's memory limit kills it (an OOMKill), so the
// KubePodOOMKilled alert fires and heal8s proposes a larger limit. It has no dependencies, so it
// builds anywhere.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		logger.Error("Invalid configuration", "error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("Stopped", "error", err)
		os.Exit(1)
	}
}

// config is what the leak does and where it serves.
type config struct {
	// rate is how many bytes are retained per interval.
	rate int64
	// interval is how often rate more bytes are retained.
	interval time.Duration
	// max caps the retained bytes; 0 means no cap (grow until the OOM killer stops it).
	max int64
	// addr serves /healthz, /readyz and /metrics.
	addr string
}

// parseConfig reads flags, each defaulting to an environment variable so the manifest can set
// them either way.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("memory-leak", flag.ContinueOnError)
	rate := fs.String("rate", envOr(getenv, "LEAK_RATE", "5Mi"), "Bytes retained per interval (k, Ki, M, Mi, G, Gi suffixes). Env LEAK_RATE.")
	interval := fs.String("interval", envOr(getenv, "LEAK_INTERVAL", "10s"), "How often rate more bytes are retained. Env LEAK_INTERVAL.")
	maxBytes := fs.String("max", envOr(getenv, "LEAK_MAX", "0"), "Stop growing at this many bytes; 0 grows without bound. Env LEAK_MAX.")
	addr := fs.String("listen", envOr(getenv, "LISTEN_ADDR", ":8080"), "HTTP address for /healthz, /readyz and /metrics. Env LISTEN_ADDR.")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	var cfg config
	var err error
	if cfg.rate, err = parseSize(*rate); err != nil {
		return config{}, fmt.Errorf("rate: %w", err)
	}
	if cfg.rate <= 0 {
		return config{}, fmt.Errorf("rate: %w", errNotPositive)
	}
	if cfg.interval, err = time.ParseDuration(*interval); err != nil {
		return config{}, fmt.Errorf("interval: %w", err)
	}
	if cfg.interval <= 0 {
		return config{}, fmt.Errorf("interval: %w", errNotPositive)
	}
	if cfg.max, err = parseSize(*maxBytes); err != nil {
		return config{}, fmt.Errorf("max: %w", err)
	}
	cfg.addr = *addr
	return cfg, nil
}

// errNotPositive rejects a zero or negative rate or interval, which would never leak.
var errNotPositive = errors.New("must be positive")

// envOr returns the variable key from getenv, or def when it is empty.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// run leaks on a ticker and serves HTTP until ctx ends.
func run(ctx context.Context, cfg config, logger *slog.Logger) error {
	leak := newLeaker(cfg.rate, cfg.max)
	srv := &http.Server{
		Addr:              cfg.addr,
		Handler:           newMux(leak, time.Now),
		ReadHeaderTimeout: 5 * time.Second,
	}
	errs := make(chan error, 1)
	go func() { errs <- srv.ListenAndServe() }()
	logger.Info("Leaking", "rate", cfg.rate, "interval", cfg.interval.String(), "max", cfg.max, "listen", cfg.addr)

	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(shutdown)
		case err := <-errs:
			return fmt.Errorf("serving HTTP: %w", err)
		case <-tick.C:
			if leak.step() {
				logger.Info("Retained more memory", "heldBytes", leak.held())
			}
		}
	}
}
