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

// Package httpserver runs heal8s's own inbound HTTP endpoints (the GitHub webhook, the
// dashboard) on their own listeners, optionally over TLS from a certificate directory that is
// watched, so a certificate cert-manager renews is served without a restart.
package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Listen listens on addr and, when certDir is set, serves TLS from certDir's tls.crt and tls.key
// (TLS 1.2 at least, HTTP/1.1 only). The files are watched until ctx ends; ctx's logger reports
// a watcher that stops.
func Listen(ctx context.Context, addr, certDir string) (net.Listener, error) {
	log := ctrl.LoggerFrom(ctx)
	var tlsConfig *tls.Config
	if certDir != "" {
		cw, err := certwatcher.New(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
		if err != nil {
			return nil, fmt.Errorf("loading the serving certificate from %s: %w", certDir, err)
		}
		go func() {
			if err := cw.Start(ctx); err != nil {
				log.Error(err, "Certificate watcher stopped", "certDir", certDir)
			}
		}()
		tlsConfig = &tls.Config{
			GetCertificate: cw.GetCertificate,
			MinVersion:     tls.VersionTLS12,
			// HTTP/2 stays off, as on the manager's other servers (rapid-reset CVEs).
			NextProtos: []string{"http/1.1"},
		}
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	return ln, nil
}

// Server serves an http.Server on BindAddress as a manager.Runnable on every replica (no leader
// election), over TLS when CertDir is set, and shuts it down gracefully when the manager stops.
type Server struct {
	// Name names the server in logs, e.g. "github-webhook".
	Name string
	// BindAddress is the listen address.
	BindAddress string
	// CertDir holds tls.crt and tls.key; empty serves plain HTTP.
	CertDir string
	// Server is the http.Server to run; its Addr is ignored. Set its timeouts.
	Server *http.Server
	// ShutdownTimeout bounds the graceful shutdown; zero means 10s.
	ShutdownTimeout time.Duration

	once  sync.Once
	ready chan struct{}
	mu    sync.Mutex
	addr  net.Addr
}

var (
	_ manager.Runnable               = (*Server)(nil)
	_ manager.LeaderElectionRunnable = (*Server)(nil)
)

// NeedLeaderElection is false: every replica behind the Service answers.
func (s *Server) NeedLeaderElection() bool { return false }

func (s *Server) readyCh() chan struct{} {
	s.once.Do(func() { s.ready = make(chan struct{}) })
	return s.ready
}

// Addr waits until the server listens (or ctx ends) and returns the address it bound.
func (s *Server) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case <-s.readyCh():
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.addr, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the %s server to listen: %w", s.Name, ctx.Err())
	}
}

// Start listens and serves until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	if s.Server == nil {
		return fmt.Errorf("the %s server has no http.Server", s.Name)
	}
	log := ctrl.LoggerFrom(ctx).WithName(s.Name)
	ln, err := Listen(ctrl.LoggerInto(ctx, log), s.BindAddress, s.CertDir)
	if err != nil {
		return fmt.Errorf("starting the %s server: %w", s.Name, err)
	}
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	close(s.readyCh())
	if s.Server.BaseContext == nil {
		reqCtx := ctrl.LoggerInto(ctx, log)
		s.Server.BaseContext = func(net.Listener) context.Context { return reqCtx }
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Server.Serve(ln) }()
	log.Info("Serving", "address", ln.Addr().String(), "tls", s.CertDir != "")

	select {
	case err := <-errc:
		return fmt.Errorf("serving the %s server: %w", s.Name, err)
	case <-ctx.Done():
	}
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := s.Server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting the %s server down: %w", s.Name, err)
	}
	return nil
}
