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
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
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
	list, detail, policies, activity *template.Template
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
	return &p, nil
}

// Handler serves the dashboard. It answers GET and HEAD only.
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static") // the embedded directory exists at compile time
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", d.serveList)
	mux.HandleFunc("GET /remediations/{namespace}/{name}", d.serveDetail)
	mux.HandleFunc("GET /policies", d.servePolicies)
	mux.HandleFunc("GET /activity", d.serveActivity)
	mux.HandleFunc("GET /live", d.serveLive)
	return readOnly(mux)
}

// readOnly refuses every method but GET and HEAD and sets the headers every page needs.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
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
	Feed       []activityRow
	Page       any
}

// render executes the page, or only its live region when the page's script asks for it, into a
// buffer first so a template error never sends half a page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, t *template.Template, data layoutData) {
	name := "layout"
	if r.Header.Get(FragmentHeader) != "" {
		name = "live"
	}
	data.Feed = buildFeed(d.feed.Recent(12), d.opts.Clock.Now())
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		ctrl.LoggerFrom(r.Context()).Error(err, "Rendering a dashboard page", "path", r.URL.Path)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", FragmentHeader)
	_, _ = w.Write(buf.Bytes())
}

func (d *Dashboard) cacheError(w http.ResponseWriter, r *http.Request, what string, err error) {
	ctrl.LoggerFrom(r.Context()).Error(err, "Reading the cache for the dashboard", "what", what)
	http.Error(w, "reading "+what+" from the cache failed", http.StatusServiceUnavailable)
}

func (d *Dashboard) serveList(w http.ResponseWriter, r *http.Request) {
	f := filterFrom(r.URL.Query())
	var list v1beta1.RemediationList
	if err := d.opts.Reader.List(r.Context(), &list); err != nil {
		d.cacheError(w, r, "remediations", err)
		return
	}
	d.render(w, r, d.pages.list, layoutData{
		Title: "Remediations", Nav: "list",
		Page: buildList(list.Items, f, d.opts.Clock.Now()),
	})
}

func (d *Dashboard) serveDetail(w http.ResponseWriter, r *http.Request) {
	key := types.NamespacedName{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
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
	if err := d.opts.Reader.List(r.Context(), &evs, client.InNamespace(rem.Namespace)); err != nil {
		d.cacheError(w, r, "events", err)
		return
	}
	var mine []eventsv1.Event
	for i := range evs.Items {
		if about(&evs.Items[i], &rem) {
			mine = append(mine, evs.Items[i])
		}
	}
	d.render(w, r, d.pages.detail, layoutData{
		Title: rem.Namespace + "/" + rem.Name, Nav: "list",
		Page: buildDetail(&rem, mine, d.opts.Clock.Now()),
	})
}

func (d *Dashboard) servePolicies(w http.ResponseWriter, r *http.Request) {
	var pols v1beta1.RemediationPolicyList
	if err := d.opts.Reader.List(r.Context(), &pols); err != nil {
		d.cacheError(w, r, "policies", err)
		return
	}
	var rems v1beta1.RemediationList
	if err := d.opts.Reader.List(r.Context(), &rems); err != nil {
		d.cacheError(w, r, "remediations", err)
		return
	}
	d.render(w, r, d.pages.policies, layoutData{
		Title: "Policies", Nav: "policies",
		Page: buildPolicies(pols.Items, rems.Items, d.opts.Clock.Now()),
	})
}

func (d *Dashboard) serveActivity(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, d.pages.activity, layoutData{
		Title: "Recent activity", Nav: "activity",
		Page: buildFeed(d.feed.Recent(0), d.opts.Clock.Now()),
	})
}

// serveLive is a server-sent events stream: one "change" event (its data the change number)
// after each burst of changes to what the pages show, and a comment as a heartbeat.
func (d *Dashboard) serveLive(w http.ResponseWriter, r *http.Request) {
	select {
	case d.streams <- struct{}{}:
		defer func() { <-d.streams }()
	default:
		http.Error(w, "too many live-update streams", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	ctx := r.Context()
	send := func(msg string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprint(w, msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	n, changed := d.changes.wait()
	// The retry field tells the browser how soon to reconnect after the stream drops.
	if !send(fmt.Sprintf("retry: 2000\nevent: hello\ndata: %d\n\n", n)) {
		return
	}
	heartbeat := time.NewTicker(d.opts.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			if !send(": ping\n\n") {
				return
			}
		case <-changed:
			select { // let a burst settle
			case <-ctx.Done():
				return
			case <-time.After(d.opts.Debounce):
			}
			n, changed = d.changes.wait()
			if !send(fmt.Sprintf("event: change\ndata: %d\n\n", n)) {
				return
			}
		}
	}
}
