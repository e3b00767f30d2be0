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

package alertmanager

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/routing"
)

// Path is where Alertmanager posts its webhook.
const Path = "/webhook/alertmanager"

// Defaults of Options.
const (
	DefaultBindAddress   = ":9095"
	DefaultFlushInterval = 5 * time.Second
	DefaultMaxBodyBytes  = 4 << 20
	DefaultConcurrency   = 8
)

// Options configures the receiver; main fills it from the --receiver-* flags.
type Options struct {
	// BindAddress is the receiver's listen address (--receiver-bind-address).
	BindAddress string
	// TokenFile holds the bearer token Alertmanager must send (--receiver-token-file), usually a
	// mounted Secret; it is reread when it changes.
	TokenFile string
	// Insecure lets the receiver run without a token (--receiver-insecure); it logs a warning.
	Insecure bool
	// CertDir holds tls.crt and tls.key (--receiver-cert-dir); empty serves plain HTTP. The
	// files are watched, so a renewed certificate is served without a restart.
	CertDir string
	// FlushInterval is how often batched repeat counts and match times are written.
	FlushInterval time.Duration
	// MaxBodyBytes caps a payload; larger ones get 413.
	MaxBodyBytes int64
	// Concurrency is how many alerts of one payload are handled at once.
	Concurrency int
	// Clock is the time source; nil means the real clock.
	Clock clock.PassiveClock
	// Logger is the receiver's logger; zero means ctrl.Log named "alertmanager-receiver".
	Logger logr.Logger
	// Events records a Warning Event on a policy whose rule matched an alert that heal8s skipped
	// to protect something (a protected namespace, the exporter that was scraped, an HPA another
	// controller owns); nil records none.
	Events events.EventRecorder
}

func (o *Options) setDefaults() {
	if o.BindAddress == "" {
		o.BindAddress = DefaultBindAddress
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger.GetSink() == nil {
		o.Logger = ctrl.Log.WithName("alertmanager-receiver")
	}
}

// Receiver is the Alertmanager webhook server. It is a manager.Runnable that runs on every
// replica (it needs no leader: creation is idempotent and counts merge), with its own
// http.Server so its port, timeouts and TLS are independent of the manager's.
type Receiver struct {
	opts    Options
	mux     *http.ServeMux
	intake  *intake
	handler *handler
	ready   chan struct{}
	addr    net.Addr
}

var (
	_ manager.Runnable               = (*Receiver)(nil)
	_ manager.LeaderElectionRunnable = (*Receiver)(nil)
)

// The receiver's permissions: it creates Remediations and writes their alert counters, reads
// policies and records their last match, reads pods, ReplicaSets, StatefulSets, DaemonSets,
// HPAs and namespaces as metadata only (and one pod in full, to compare it with the scrape
// target), and records Warning Events on policies.
// +kubebuilder:rbac:groups=heal8s.io,resources=remediations,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=heal8s.io,resources=remediations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=heal8s.io,resources=remediationpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=heal8s.io,resources=remediationpolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=replicasets;statefulsets;daemonsets,verbs=get;list;watch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// New builds a receiver. c is the manager's client (cached reads, direct writes) and apiReader
// its uncached reader, used after a write conflict. Without a readable, non-empty token file
// New fails with ErrNoToken when neither opts.TokenFile nor opts.Insecure is set. A TokenFile
// that is missing or empty is waited for: the receiver refuses every alert (503) until it holds a
// token.
func New(opts Options, c client.Client, apiReader client.Reader, table *routing.Table, rec *metrics.Recorder) (*Receiver, error) {
	opts.setDefaults()
	in := &intake{
		client:      c,
		apiReader:   apiReader,
		table:       table,
		metrics:     rec,
		clock:       opts.Clock,
		batch:       newBatcher(),
		concurrency: opts.Concurrency,
		resolver:    &ClusterResolver{Reader: c, Live: apiReader},
		events:      opts.Events,
		warnings:    newThrottle(),
	}
	h := &handler{intake: in, maxBody: opts.MaxBodyBytes, log: opts.Logger}
	switch {
	case opts.TokenFile != "":
		// A token file that does not exist yet is waited for, never run open: every request is
		// refused until it holds a token (TokenError, and a log line every minute in Start).
		h.token = newTokenFile(opts.TokenFile)
	case !opts.Insecure:
		return nil, fmt.Errorf("%w: set --receiver-token-file, or --receiver-insecure to accept unauthenticated alerts", ErrNoToken)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	return &Receiver{opts: opts, mux: mux, intake: in, handler: h, ready: make(chan struct{})}, nil
}

// Handle mounts another handler on the receiver's server: GitHub's webhook at /webhook/github
// when --github-webhook-bind-address is the receiver's own address (by default it has its own
// listener, so Alertmanager's port and GitHub's are exposed apart). Call it before Start.
func (r *Receiver) Handle(pattern string, h http.Handler) { r.mux.Handle(pattern, h) }

// Handler is the receiver's mux, for tests and for serving it on another server.
func (r *Receiver) Handler() http.Handler { return r.mux }

// Flush writes the batched repeat counts and match times now; Start calls it every
// FlushInterval and once more on shutdown.
func (r *Receiver) Flush(ctx context.Context) error { return r.intake.flush(ctx) }

// NeedLeaderElection is false: every replica behind the Service receives alerts.
func (r *Receiver) NeedLeaderElection() bool { return false }

// TokenError is nil when the receiver runs insecure or has read its token, else the ErrNoToken
// saying which file is missing or empty.
func (r *Receiver) TokenError() error {
	if r.handler.token == nil {
		return nil
	}
	return r.handler.token.ready()
}

// Addr is the address the receiver listens on, once Start has bound it; it waits until then or
// until ctx ends.
func (r *Receiver) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case <-r.ready:
		return r.addr, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// watchToken logs, every interval until it is there, that the token file is missing, and once
// when it appears: a manager installed before its receiver token Secret says why it refuses
// alerts instead of waiting silently.
func (r *Receiver) watchToken(ctx context.Context, interval time.Duration) {
	if r.TokenError() == nil {
		return
	}
	log := r.opts.Logger
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		err := r.TokenError()
		if err == nil {
			log.Info("Receiver token loaded; accepting alerts", "file", r.opts.TokenFile)
			return
		}
		log.Error(err, "No receiver token: every alert is refused with 503 until the Secret mounted at --receiver-token-file "+
			"exists and holds a token (docs/quick-start.md)", "file", r.opts.TokenFile)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitForTable marks the handler loaded once the routing table holds every RemediationPolicy of
// the cache, at its current generation or later (the RemediationPolicyReconciler fills it on
// every replica). Until then the handler answers 503 and Alertmanager retries, so no alert is
// skipped because the replica has just started.
func (r *Receiver) waitForTable(ctx context.Context) {
	log := r.opts.Logger
	t := time.NewTicker(tablePollInterval)
	defer t.Stop()
	for {
		missing, err := r.tableMissing(ctx)
		switch {
		case err != nil:
			log.Error(err, "Checking the routing table against the cache")
		case missing == 0:
			r.handler.loaded.Store(true)
			log.Info("Routing table loaded; accepting alerts", "policies", r.intake.table.Len())
			return
		default:
			log.V(1).Info("Waiting for the routing table", "missing", missing)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tablePollInterval is how often waitForTable compares the table with the cache.
const tablePollInterval = 200 * time.Millisecond

func (r *Receiver) tableMissing(ctx context.Context) (int, error) {
	list := &v1beta1.RemediationPolicyList{}
	if err := r.intake.client.List(ctx, list); err != nil {
		return 0, fmt.Errorf("listing RemediationPolicies: %w", err)
	}
	missing := 0
	for i := range list.Items {
		p, ok := r.intake.table.Get(client.ObjectKeyFromObject(&list.Items[i]))
		if !ok || p.Generation < list.Items[i].Generation {
			missing++
		}
	}
	return missing, nil
}

// Start serves until ctx ends, flushing batched updates every FlushInterval, then shuts the
// server down gracefully and flushes what is left.
func (r *Receiver) Start(ctx context.Context) error {
	log := r.opts.Logger
	if r.handler.token == nil {
		log.Info("WARNING: the Alertmanager receiver accepts unauthenticated requests (--receiver-insecure)")
	}
	srv := &http.Server{
		Handler:           r.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctrl.LoggerInto(ctx, log) },
	}
	ln, err := net.Listen("tcp", r.opts.BindAddress)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", r.opts.BindAddress, err)
	}
	if r.opts.CertDir != "" {
		cw, err := certwatcher.New(filepath.Join(r.opts.CertDir, "tls.crt"), filepath.Join(r.opts.CertDir, "tls.key"))
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("loading the receiver's certificate from %s: %w", r.opts.CertDir, err)
		}
		go func() {
			if err := cw.Start(ctx); err != nil {
				log.Error(err, "Certificate watcher stopped")
			}
		}()
		ln = tls.NewListener(ln, &tls.Config{GetCertificate: cw.GetCertificate, MinVersion: tls.VersionTLS12})
	}
	r.addr = ln.Addr()
	close(r.ready)
	go r.waitForTable(ctx)
	go r.watchToken(ctx, time.Minute)
	log.Info("Alertmanager receiver listening", "address", r.addr.String(), "path", Path, "tls", r.opts.CertDir != "")

	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		t := time.NewTicker(r.opts.FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.Flush(ctx); err != nil {
					log.Error(err, "Flushing batched alert counts failed; retrying next interval")
				}
			}
		}
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serving the Alertmanager receiver: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error(err, "Shutting the receiver down")
	}
	<-flushed
	if err := r.Flush(shutdownCtx); err != nil {
		log.Error(err, "Final flush of batched alert counts failed")
	}
	return nil
}
