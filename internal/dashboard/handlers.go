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
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	engine "github.com/heal8s/heal8s/internal/remediation"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// FragmentHeader asks a page for its live region only; the page's script sends it when a change
// arrives, and swaps the region in place.
const FragmentHeader = "X-Dashboard-Fragment"

// contentSecurityPolicy allows the embedded files and nothing else: no inline script or style, no
// other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pages holds one template set per page, each the layout plus the page's blocks.
type pages struct {
	list, detail, policies, activity, login *template.Template
}

func parsePages() (*pages, error) {
	parse := func(page string) (*template.Template, error) {
		return template.New(page).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+page)
	}
	var p pages
	var err error
	for name, dst := range map[string]**template.Template{
		"list.html": &p.list, "detail.html": &p.detail, "policies.html": &p.policies, "activity.html": &p.activity,
	} {
		if *dst, err = parse(name); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", name, err)
		}
	}
	if p.login, err = template.New("login.html").ParseFS(templateFS, "templates/login.html"); err != nil {
		return nil, fmt.Errorf("parsing login.html: %w", err)
	}
	return &p, nil
}

// Handler serves the dashboard. Pages answer GET and HEAD only, and only to an authenticated
// viewer, showing what that viewer may list; the login page, the form it posts and the embedded
// stylesheet and script are the only things served to anyone.
func (d *Dashboard) Handler() http.Handler {
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", d.serveList)
	pages.HandleFunc("GET /remediations/{namespace}/{name}", d.serveDetail)
	pages.HandleFunc("GET /policies", d.servePolicies)
	pages.HandleFunc("GET /activity", d.serveActivity)
	pages.HandleFunc("GET /live", d.serveLive)

	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static") // the embedded directory exists at compile time
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	mux.HandleFunc("GET /login", d.serveLoginPage)
	mux.HandleFunc("POST /login", d.serveLogin)
	mux.HandleFunc("POST /logout", d.serveLogout)
	mux.Handle("/", d.requireViewer(pages))
	return readOnly(mux)
}

// readOnly refuses every method but GET and HEAD (and the login form's POSTs) and sets the
// headers every page needs.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: no other site learns a dashboard URL, and the login form's
		// POST carries its real Origin (no-referrer makes it "null") for the CSRF check.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		loginForm := r.Method == http.MethodPost && (r.URL.Path == "/login" || r.URL.Path == "/logout")
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !loginForm {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "the dashboard is read-only", http.StatusMethodNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		next.ServeHTTP(w, r)
	})
}

// layoutData is what every page's layout reads.
type layoutData struct {
	Title, Nav string
	// User is the signed-in viewer; AllNamespaces says they see every namespace.
	User          string
	AllNamespaces bool
	Feed          []activityRow
	Page          any
}

// render executes the page, or only its live region when the page's script asks for it, into a
// buffer first so a template error never sends half a page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, t *template.Template, data layoutData) {
	name := "layout"
	if r.Header.Get(FragmentHeader) != "" {
		name = "live"
	}
	if v := viewerFrom(r.Context()); v != nil {
		data.User = v.user.GetName()
		data.AllNamespaces, _ = d.scope(r.Context(), v.user, resourceRemediations).clusterWide()
		if data.Feed == nil {
			data.Feed = buildFeed(d.visibleActivity(r, 12), d.opts.Clock.Now())
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		ctrl.LoggerFrom(r.Context()).Error(err, "Rendering a dashboard page", "path", r.URL.Path)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", FragmentHeader+", Cookie, Authorization")
	_, _ = w.Write(buf.Bytes())
}

func (d *Dashboard) cacheError(w http.ResponseWriter, r *http.Request, what string, err error) {
	ctrl.LoggerFrom(r.Context()).Error(err, "Reading the cache for the dashboard", "what", what)
	http.Error(w, "reading "+what+" from the cache failed", http.StatusServiceUnavailable)
}

func (d *Dashboard) authzError(w http.ResponseWriter, r *http.Request, err error) {
	ctrl.LoggerFrom(r.Context()).Error(err, "Could not authorize a dashboard viewer")
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "authorization is unavailable; try again shortly", http.StatusServiceUnavailable)
}

// visibleRemediations lists the Remediations the viewer may see. The cache hands out its own
// objects (no deep copy of each Remediation per page view): they are read, never changed.
func (d *Dashboard) visibleRemediations(r *http.Request, rs *scope) ([]*v1beta1.Remediation, error) {
	var list v1beta1.RemediationList
	if err := d.opts.Reader.List(r.Context(), &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing remediations: %w", err)
	}
	out := make([]*v1beta1.Remediation, 0, len(list.Items))
	for i := range list.Items {
		ok, err := rs.allows(list.Items[i].Namespace)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

// visibleActivity is the newest n transitions (all for n <= 0) in namespaces the viewer may list
// Remediations in.
func (d *Dashboard) visibleActivity(r *http.Request, n int) []Activity {
	v := viewerFrom(r.Context())
	if v == nil {
		return nil
	}
	rs := d.scope(r.Context(), v.user, resourceRemediations)
	var out []Activity
	for _, a := range d.feed.Recent(0) {
		if n > 0 && len(out) == n {
			break
		}
		if ok, err := rs.allows(a.Namespace); err == nil && ok {
			out = append(out, a)
		}
	}
	return out
}

// pageFrom reads ?page= (from 1) and ?limit= (1 to MaxPageSize, DefaultPageSize if absent).
func pageFrom(q map[string][]string) pagination {
	atoi := func(key string) int {
		if v := q[key]; len(v) > 0 {
			if n, err := strconv.Atoi(v[0]); err == nil {
				return n
			}
		}
		return 0
	}
	p := pagination{Number: max(atoi("page"), 1), Size: atoi("limit")}
	if p.Size <= 0 {
		p.Size = DefaultPageSize
	}
	p.Size = min(p.Size, MaxPageSize)
	return p
}

func (d *Dashboard) serveList(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r.Context())
	f := filterFrom(r.URL.Query())
	rs := d.scope(r.Context(), v.user, resourceRemediations)
	items, err := d.visibleRemediations(r, rs)
	if err != nil {
		d.failed(w, r, "remediations", err)
		return
	}
	d.render(w, r, d.pages.list, layoutData{
		Title: "Remediations", Nav: "list",
		Page: buildList(items, f, pageFrom(r.URL.Query()), d.opts.Clock.Now()),
	})
}

// failed answers a page that could not be built: 503 either way, logged with the cause.
func (d *Dashboard) failed(w http.ResponseWriter, r *http.Request, what string, err error) {
	if errors.Is(err, errAuthorization) {
		d.authzError(w, r, err)
		return
	}
	d.cacheError(w, r, what, err)
}

func (d *Dashboard) serveDetail(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r.Context())
	key := types.NamespacedName{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	ok, err := d.scope(r.Context(), v.user, resourceRemediations).allows(key.Namespace)
	if err != nil {
		d.authzError(w, r, err)
		return
	}
	if !ok {
		// The same answer as for a Remediation that does not exist: nothing about another
		// namespace leaks, not even whether it has this Remediation.
		http.Error(w, "no such remediation", http.StatusNotFound)
		return
	}
	var rem v1beta1.Remediation
	if err := d.opts.Reader.Get(r.Context(), key, &rem); err != nil {
		if apierrors.IsNotFound(err) {
			http.Error(w, "no such remediation", http.StatusNotFound)
			return
		}
		d.cacheError(w, r, "the remediation", err)
		return
	}
	var evs eventsv1.EventList
	if err := d.opts.Reader.List(r.Context(), &evs, client.InNamespace(rem.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		d.cacheError(w, r, "events", err)
		return
	}
	var mine []eventsv1.Event
	for i := range evs.Items {
		if engine.EventIsAbout(&evs.Items[i], &rem) {
			mine = append(mine, evs.Items[i])
		}
	}
	d.render(w, r, d.pages.detail, layoutData{
		Title: rem.Namespace + "/" + rem.Name, Nav: "list",
		Page: buildDetail(&rem, mine, d.opts.Clock.Now()),
	})
}

func (d *Dashboard) servePolicies(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r.Context())
	var pols v1beta1.RemediationPolicyList
	if err := d.opts.Reader.List(r.Context(), &pols, client.UnsafeDisableDeepCopy); err != nil {
		d.cacheError(w, r, "policies", err)
		return
	}
	ps := d.scope(r.Context(), v.user, resourcePolicies)
	visible := make([]*v1beta1.RemediationPolicy, 0, len(pols.Items))
	for i := range pols.Items {
		ok, err := ps.allows(pols.Items[i].Namespace)
		if err != nil {
			d.authzError(w, r, err)
			return
		}
		if ok {
			visible = append(visible, &pols.Items[i])
		}
	}
	// A policy's counts are of the Remediations this viewer may see, and so are the expired
	// Remediations it names.
	rs := d.scope(r.Context(), v.user, resourceRemediations)
	rems, err := d.visibleRemediations(r, rs)
	if err != nil {
		d.failed(w, r, "remediations", err)
		return
	}
	mayList := func(namespace string) bool {
		ok, err := rs.allows(namespace)
		return err == nil && ok
	}
	d.render(w, r, d.pages.policies, layoutData{
		Title: "Policies", Nav: "policies",
		Page: buildPolicies(visible, rems, mayList, d.opts.Clock.Now()),
	})
}

func (d *Dashboard) serveActivity(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, d.pages.activity, layoutData{
		Title: "Recent activity", Nav: "activity",
		Page: buildFeed(d.visibleActivity(r, 0), d.opts.Clock.Now()),
	})
}

// acquireStream takes a live-update slot for user: at most MaxStreamsPerUser each (429 past
// it) and MaxStreams in all (503 past it). It returns the release function, or the status to
// refuse with.
func (d *Dashboard) acquireStream(user string) (func(), int) {
	d.streamMu.Lock()
	defer d.streamMu.Unlock()
	if d.perUser[user] >= d.opts.MaxStreamsPerUser {
		return nil, http.StatusTooManyRequests
	}
	select {
	case d.streams <- struct{}{}:
	default:
		return nil, http.StatusServiceUnavailable
	}
	d.perUser[user]++
	return func() {
		d.streamMu.Lock()
		defer d.streamMu.Unlock()
		if d.perUser[user]--; d.perUser[user] <= 0 {
			delete(d.perUser, user)
		}
		<-d.streams
	}, 0
}

// visibleChange reports whether any of the changes is in a namespace the viewer may list its
// resource in. An authorization error counts as not visible.
func (d *Dashboard) visibleChange(ctx context.Context, v *viewer, changes []change) bool {
	scopes := map[string]*scope{}
	for _, c := range changes {
		s := scopes[c.resource]
		if s == nil {
			s = d.scope(ctx, v.user, c.resource)
			scopes[c.resource] = s
		}
		if ok, err := s.allows(c.namespace); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Could not authorize a live update")
		} else if ok {
			return true
		}
	}
	return false
}

// serveLive is a server-sent events stream: one "change" event (its data a count of this
// stream's changes) after each burst of changes the viewer may see, and a comment as a
// heartbeat. Each heartbeat checks the viewer's token again (a cached TokenReview), so a stream
// ends soon after its token expires or is revoked.
func (d *Dashboard) serveLive(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r.Context())
	release, refused := d.acquireStream(v.user.GetName())
	if refused != 0 {
		ctrl.LoggerFrom(r.Context()).V(1).Info("Refused a live-update stream", "user", v.user.GetName(), "status", refused)
		msg := "too many live-update streams"
		if refused == http.StatusTooManyRequests {
			msg = "too many live-update streams for this user; close other dashboard tabs"
			w.Header().Set("Retry-After", "30")
		}
		http.Error(w, msg, refused)
		return
	}
	defer release()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		return
	}
	sub := d.changes.subscribe()
	defer d.changes.unsubscribe(sub)
	rc := http.NewResponseController(w)
	ctx := r.Context()
	send := func(msg string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprint(w, msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	var n uint64
	// The retry field tells the browser how soon to reconnect after the stream drops.
	if !send("retry: 2000\nevent: hello\ndata: 0\n\n") {
		return
	}
	heartbeat := time.NewTicker(d.opts.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			if _, ok, _ := d.authenticate(ctx, v.token); !ok {
				ctrl.LoggerFrom(ctx).V(1).Info("Ended a live-update stream: token no longer accepted", "user", v.user.GetName())
				return
			}
			if !send(": ping\n\n") {
				return
			}
		case <-sub.wake:
			select { // let a burst settle
			case <-ctx.Done():
				return
			case <-time.After(d.opts.Debounce):
			}
			if !d.visibleChange(ctx, v, sub.take()) {
				continue
			}
			n++
			if !send(fmt.Sprintf("event: change\ndata: %d\n\n", n)) {
				return
			}
		}
	}
}
