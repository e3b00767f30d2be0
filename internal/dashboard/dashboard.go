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

package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/httpserver"
)

// Defaults for Options left zero.
const (
	// DefaultBindAddress is where the dashboard listens unless told otherwise.
	DefaultBindAddress = ":8082"
	// DefaultActivitySize is how many transitions the recent-activity feed keeps.
	DefaultActivitySize = 200
	// DefaultMaxStreams bounds concurrent live-update streams, so browsers left open cannot
	// exhaust the manager's file descriptors.
	DefaultMaxStreams = 64
	// DefaultMaxStreamsPerUser bounds one viewer's live-update streams (one per open tab), so
	// one client cannot take every slot.
	DefaultMaxStreamsPerUser = 4
	// DefaultPageSize is how many Remediations the list shows per page; MaxPageSize bounds what
	// ?limit= may ask for.
	DefaultPageSize = 50
	MaxPageSize     = 500
	// DefaultHeartbeat keeps idle live-update streams open through proxies.
	DefaultHeartbeat = 15 * time.Second
)

// ErrNoReader is returned by New without a cache reader: the dashboard never reads the API
// server directly.
var ErrNoReader = errors.New("dashboard needs a cache reader")

// Options configure a Dashboard. The zero value of each optional field picks its default.
type Options struct {
	// BindAddress is the listen address; "0" or "" disables the dashboard (Start returns at once).
	BindAddress string
	// Reader reads Remediations, RemediationPolicies and events.k8s.io/v1 Events. Give it the
	// manager's cache (mgr.GetCache()) so a page view costs the API server nothing.
	Reader client.Reader
	// Informers, usually the same cache, feeds the recent-activity buffer and live updates.
	// Without it the feed stays empty and pages refresh only when reloaded.
	Informers cache.Informers
	// Authenticator identifies the viewer from a bearer token (the Authorization header or the
	// login cookie); Authorizer says in which namespaces the viewer may list Remediations and
	// RemediationPolicies, and so what they see. KubernetesAuth builds both from the manager's
	// rest.Config (TokenReview and SubjectAccessReview, cached). Both are required. Only
	// unconditional answers count: a conditional allow shows nothing.
	Authenticator authenticator.Request
	Authorizer    authorizer.UnconditionalAuthorizer
	// CertDir holds tls.crt and tls.key to serve over HTTPS (watched, so a renewed certificate
	// is served without a restart); empty serves plain HTTP.
	CertDir string
	// ActivitySize is how many phase transitions the recent-activity feed keeps.
	ActivitySize int
	// MaxStreams bounds concurrent live-update (server-sent events) connections.
	MaxStreams int
	// MaxStreamsPerUser bounds one viewer's concurrent live-update connections.
	MaxStreamsPerUser int
	// Heartbeat is how often an idle live-update stream sends a comment.
	Heartbeat time.Duration
	// Debounce is how long a live-update stream waits after a change for more changes, so a
	// burst of transitions costs one refresh. Defaults to 200ms.
	Debounce time.Duration
	// Clock reads the time for ages; tests inject a fake one.
	Clock clock.PassiveClock
}

// Dashboard is the read-only web page. It is a manager.Runnable that runs on every replica, not
// only the leader: each replica's cache holds everything the page shows.
type Dashboard struct {
	opts    Options
	feed    *Feed
	changes *broadcaster
	streams chan struct{}
	pages   *pages

	streamMu sync.Mutex
	perUser  map[string]int

	mu    sync.Mutex
	addr  net.Addr
	ready chan struct{}
}

var (
	_ manager.Runnable               = (*Dashboard)(nil)
	_ manager.LeaderElectionRunnable = (*Dashboard)(nil)
)

// New checks opts and fills defaults. Add the result to the manager with mgr.Add.
func New(opts Options) (*Dashboard, error) {
	if opts.Reader == nil {
		return nil, ErrNoReader
	}
	if opts.Authenticator == nil || opts.Authorizer == nil {
		return nil, ErrNoAuth
	}
	if opts.ActivitySize <= 0 {
		opts.ActivitySize = DefaultActivitySize
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = DefaultMaxStreams
	}
	if opts.MaxStreamsPerUser <= 0 {
		opts.MaxStreamsPerUser = DefaultMaxStreamsPerUser
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 200 * time.Millisecond
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	p, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("parsing dashboard templates: %w", err)
	}
	return &Dashboard{
		opts:    opts,
		feed:    NewFeed(opts.ActivitySize),
		changes: newBroadcaster(),
		streams: make(chan struct{}, opts.MaxStreams),
		perUser: map[string]int{},
		pages:   p,
		ready:   make(chan struct{}),
	}, nil
}

// Disabled reports whether the bind address turns the dashboard off.
func (d *Dashboard) Disabled() bool {
	return d.opts.BindAddress == "" || d.opts.BindAddress == "0"
}

// NeedLeaderElection is false: every replica serves the page from its own cache.
func (d *Dashboard) NeedLeaderElection() bool { return false }

// Feed is the recent-activity buffer, exposed so tests and other views can read it.
func (d *Dashboard) Feed() *Feed { return d.feed }

// Addr blocks until the dashboard listens (or ctx ends) and returns the address it bound, which
// differs from BindAddress when that asked for port 0. A disabled dashboard never listens, so
// Addr then waits for ctx.
func (d *Dashboard) Addr(ctx context.Context) (net.Addr, error) {
	select {
	case <-d.ready:
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.addr, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the dashboard to listen: %w", ctx.Err())
	}
}

// Start registers the informer handlers, listens and serves until ctx ends.
func (d *Dashboard) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("dashboard")
	if d.Disabled() {
		log.Info("Dashboard disabled")
		return nil
	}
	if d.opts.Informers != nil {
		remove, err := d.watch(ctx)
		if err != nil {
			return err
		}
		defer remove()
	}
	ln, err := httpserver.Listen(ctrl.LoggerInto(ctx, log), d.opts.BindAddress, d.opts.CertDir)
	if err != nil {
		return fmt.Errorf("listening for the dashboard: %w", err)
	}
	d.mu.Lock()
	d.addr = ln.Addr()
	d.mu.Unlock()
	close(d.ready)

	reqCtx := ctrl.LoggerInto(ctx, log)
	srv := &http.Server{
		Handler:           d.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second, // live-update streams extend their own deadline
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		// Requests, and so the live streams, end when the manager stops.
		BaseContext: func(net.Listener) context.Context { return reqCtx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("Serving the dashboard", "address", ln.Addr().String(), "tls", d.opts.CertDir != "")

	select {
	case err := <-errc:
		return fmt.Errorf("serving the dashboard: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting the dashboard down: %w", err)
	}
	return nil
}

// watch feeds the activity buffer from Remediation updates and wakes live streams on any change
// of what the pages show. It returns a function removing the handlers.
func (d *Dashboard) watch(ctx context.Context) (func(), error) {
	// Each change names the resource a viewer must be allowed to list, and its namespace, so a
	// live stream wakes only viewers who may see it.
	notifier := func(resource string) toolscache.ResourceEventHandlerFuncs {
		return toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { d.changes.notify(changeOf(resource, obj)) },
			UpdateFunc: func(_, obj any) { d.changes.notify(changeOf(resource, obj)) },
			DeleteFunc: func(obj any) { d.changes.notify(changeOf(resource, obj)) },
		}
	}
	handlers := []struct {
		obj client.Object
		h   toolscache.ResourceEventHandler
	}{
		{&v1beta1.Remediation{}, toolscache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(obj any, _ bool) {
				if r, ok := obj.(*v1beta1.Remediation); ok {
					d.record(nil, r)
				}
				d.changes.notify(changeOf(resourceRemediations, obj))
			},
			UpdateFunc: func(oldObj, newObj any) {
				o, ok1 := oldObj.(*v1beta1.Remediation)
				n, ok2 := newObj.(*v1beta1.Remediation)
				if ok1 && ok2 {
					d.record(o, n)
				}
				d.changes.notify(changeOf(resourceRemediations, newObj))
			},
			DeleteFunc: func(obj any) { d.changes.notify(changeOf(resourceRemediations, obj)) },
		}},
		{&v1beta1.RemediationPolicy{}, notifier(resourcePolicies)},
		{&eventsv1.Event{}, toolscache.FilteringResourceEventHandler{
			// Only Events about Remediations are on a page; the rest of a busy cluster's Events
			// must not refresh every open browser.
			FilterFunc: func(obj any) bool {
				e, ok := obj.(*eventsv1.Event)
				return ok && e.Regarding.Kind == "Remediation"
			},
			// An Event is in its Remediation's namespace: who may see that Remediation sees it.
			Handler: notifier(resourceRemediations),
		}},
	}
	var removers []func()
	removeAll := func() {
		for _, r := range removers {
			r()
		}
	}
	for _, h := range handlers {
		inf, err := d.opts.Informers.GetInformer(ctx, h.obj)
		if err != nil {
			removeAll()
			return nil, fmt.Errorf("getting the informer for %T: %w", h.obj, err)
		}
		reg, err := inf.AddEventHandler(h.h)
		if err != nil {
			removeAll()
			return nil, fmt.Errorf("watching %T: %w", h.obj, err)
		}
		removers = append(removers, func() { _ = inf.RemoveEventHandler(reg) })
	}
	return removeAll, nil
}

// record adds what changed between old and cur to the activity feed.
func (d *Dashboard) record(old, cur *v1beta1.Remediation) {
	for _, a := range transitions(old, cur, d.opts.Clock.Now()) {
		d.feed.Add(a)
	}
}

// change is what moved: a resource a viewer must be allowed to list, in a namespace.
type change struct {
	resource, namespace string
}

// changeOf names the change an informer reported for obj (which may be a tombstone).
func changeOf(resource string, obj any) change {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		ns, _, _ := toolscache.SplitMetaNamespaceKey(t.Key)
		return change{resource: resource, namespace: ns}
	}
	if m, err := meta.Accessor(obj); err == nil {
		return change{resource: resource, namespace: m.GetNamespace()}
	}
	return change{resource: resource}
}

// broadcaster hands every change to every live stream. Each stream collects what changed since
// it last looked and decides, with its viewer's permissions, whether to tell the browser.
type broadcaster struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

func newBroadcaster() *broadcaster { return &broadcaster{subs: map[*subscriber]struct{}{}} }

// subscriber is one live stream's inbox: the distinct changes not yet looked at (bounded by the
// namespaces and resources there are) and a wake-up signal.
type subscriber struct {
	wake    chan struct{}
	mu      sync.Mutex
	pending map[change]struct{}
}

func (b *broadcaster) subscribe() *subscriber {
	s := &subscriber{wake: make(chan struct{}, 1), pending: map[change]struct{}{}}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[s] = struct{}{}
	return s
}

func (b *broadcaster) unsubscribe(s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, s)
}

func (b *broadcaster) notify(c change) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.mu.Lock()
		s.pending[c] = struct{}{}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// take returns and forgets the pending changes.
func (s *subscriber) take() []change {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]change, 0, len(s.pending))
	for c := range s.pending {
		out = append(out, c)
	}
	clear(s.pending)
	return out
}
