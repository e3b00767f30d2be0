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
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// The handler tests' viewers: a cluster-wide one, one who may list in prod only, one who may
// list nothing.
const (
	adminToken  = "admin-token"
	prodToken   = "prod-token"
	nobodyToken = "nobody-token"
)

// fakeUsers is an authenticator: a bearer token names a user. Tokens can be revoked.
type fakeUsers struct {
	mu     sync.Mutex
	tokens map[string]string
	calls  int
}

func (f *fakeUsers) AuthenticateRequest(r *http.Request) (*authenticator.Response, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	name, known := f.tokens[tok]
	if !ok || !known {
		return nil, false, nil
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: name, Groups: []string{"system:authenticated"}}}, true, nil
}

func (f *fakeUsers) revoke(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tokens, tok)
}

// fakeGrants is an authorizer: user -> "resource/namespace" they may list ("" namespace is
// cluster-wide).
type fakeGrants struct {
	mu    sync.Mutex
	allow map[string][]string
	fail  bool
	asked []string
}

func (f *fakeGrants) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := a.GetResource() + "/" + a.GetNamespace()
	f.asked = append(f.asked, a.GetUser().GetName()+":"+a.GetVerb()+":"+a.GetAPIGroup()+":"+key)
	if f.fail {
		return authorizer.DecisionNoOpinion, "", errors.New("the API server is unreachable")
	}
	for _, g := range f.allow[a.GetUser().GetName()] {
		if a.GetVerb() == "list" && a.GetAPIGroup() == "heal8s.io" && (g == key || g == a.GetResource()+"/") {
			return authorizer.DecisionAllow, "", nil
		}
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func newUsers() *fakeUsers {
	return &fakeUsers{tokens: map[string]string{adminToken: "admin", prodToken: "alice", nobodyToken: "nobody"}}
}

func newGrants() *fakeGrants {
	return &fakeGrants{allow: map[string][]string{
		"admin": {"remediations/", "remediationpolicies/"},
		"alice": {"remediations/prod", "remediationpolicies/prod"},
	}}
}

// testUsers and testGrants serve the tests that do not change them.
var (
	testUsers  = newUsers()
	testGrants = newGrants()
)

// authGet GETs target with a bearer token.
func authGet(ctx context.Context, target, token string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return http.DefaultClient.Do(req)
}

// as requests path with token (none when empty) and extra headers.
func as(t *testing.T, h http.Handler, token, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	maps.Copy(req.Header, header)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.String()
}

var browser = http.Header{"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}}

// pagePaths are every path that shows something of the cluster.
var pagePaths = []string{"/", "/?namespace=prod", "/remediations/prod/oom-api", "/policies", "/activity", "/live"}

// TestUnauthenticatedRequestsGet401 — an attacker who reaches the port sees nothing without a
// token the API server accepts.
func TestUnauthenticatedRequestsGet401(t *testing.T) {
	h := newTestDashboard(t, nil).Handler()
	for _, path := range pagePaths {
		for name, tc := range map[string]struct {
			token  string
			header http.Header
		}{
			"no token":                {},
			"unknown token":           {token: "forged"},
			"not a bearer":            {header: http.Header{"Authorization": {"Basic YWRtaW46YWRtaW4="}}},
			"unknown cookie":          {header: http.Header{"Cookie": {TokenCookie + "=forged"}}},
			"browser without a token": {header: browser},
		} {
			t.Run(path+" "+name, func(t *testing.T) {
				g := NewWithT(t)
				resp, body := as(t, h, tc.token, path, tc.header)
				g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
				g.Expect(resp.Header.Get("WWW-Authenticate")).To(HavePrefix("Bearer"))
				g.Expect(resp.Header.Get("Cache-Control")).To(Equal("no-store"))
				// (The login page echoes the path it was asked for; nothing else of the cluster.)
				for _, secret := range []string{"cpu-worker", "staging", "KubePodOOMKilled", "acme/deploy", "Cooldown"} {
					g.Expect(body).NotTo(ContainSubstring(secret))
				}
			})
		}
	}
	t.Run("a browser gets the login page, which returns to where it was", func(t *testing.T) {
		g := NewWithT(t)
		resp, body := as(t, h, "", "/policies", browser)
		g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
		g.Expect(resp.Header.Get("Content-Type")).To(HavePrefix("text/html"))
		g.Expect(body).To(ContainSubstring(`<form method="post" action="/login"`))
		g.Expect(body).To(ContainSubstring(`name="next" value="/policies"`))
		g.Expect(body).To(ContainSubstring("kubectl create token"))
		g.Expect(body).NotTo(ContainSubstring(`http-equiv="refresh"`))
	})
	t.Run("a link from another site reloads once, to send the SameSite=Strict cookie", func(t *testing.T) {
		g := NewWithT(t)
		hdr := browser.Clone()
		hdr.Set("Sec-Fetch-Site", "cross-site")
		hdr.Set("Sec-Fetch-Mode", "navigate")
		_, body := as(t, h, "", "/remediations/prod/oom-api", hdr)
		g.Expect(body).To(ContainSubstring(`http-equiv="refresh"`))
	})
	t.Run("the login page and the embedded files need no token", func(t *testing.T) {
		for _, path := range []string{"/login", "/static/dashboard.css", "/static/dashboard.js"} {
			resp, _ := as(t, h, "", path, nil)
			NewWithT(t).Expect(resp.StatusCode).To(Equal(http.StatusOK), path)
		}
	})
}

func postLogin(t *testing.T, h http.Handler, form url.Values, header http.Header, tlsConn bool) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	maps.Copy(req.Header, header)
	if tlsConn {
		req.TLS = &tls.ConnectionState{}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func tokenCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == TokenCookie {
			return c
		}
	}
	return nil
}

// TestLoginStoresTheTokenInAStrictCookie — the pasted token is checked first, then kept where
// no script and no other site can use it.
func TestLoginStoresTheTokenInAStrictCookie(t *testing.T) {
	h := newTestDashboard(t, nil).Handler()
	t.Run("a valid token", func(t *testing.T) {
		g := NewWithT(t)
		resp := postLogin(t, h, url.Values{"token": {" Bearer " + prodToken + "\n"}, "next": {"/policies"}}, nil, false)
		g.Expect(resp.StatusCode).To(Equal(http.StatusSeeOther))
		g.Expect(resp.Header.Get("Location")).To(Equal("/policies"))
		c := tokenCookie(resp)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Value).To(Equal(prodToken))
		g.Expect(c.HttpOnly).To(BeTrue())
		g.Expect(c.SameSite).To(Equal(http.SameSiteStrictMode))
		g.Expect(c.Path).To(Equal("/"))
		g.Expect(c.Secure).To(BeFalse(), "plain HTTP")

		// The cookie is a login.
		page, body := as(t, h, "", "/policies", http.Header{"Cookie": {c.String()}})
		g.Expect(page.StatusCode).To(Equal(http.StatusOK))
		g.Expect(body).To(ContainSubstring(`id="user">alice<`))
	})
	t.Run("Secure over TLS", func(t *testing.T) {
		g := NewWithT(t)
		c := tokenCookie(postLogin(t, h, url.Values{"token": {prodToken}}, nil, true))
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Secure).To(BeTrue())
		c = tokenCookie(postLogin(t, h, url.Values{"token": {prodToken}}, http.Header{"X-Forwarded-Proto": {"https"}}, false))
		g.Expect(c.Secure).To(BeTrue(), "behind a TLS-terminating proxy")
	})
	t.Run("an invalid token sets nothing", func(t *testing.T) {
		g := NewWithT(t)
		for _, tok := range []string{"forged", "", strings.Repeat("x", 5000)} {
			resp := postLogin(t, h, url.Values{"token": {tok}}, nil, false)
			g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))
			g.Expect(tokenCookie(resp)).To(BeNil())
		}
	})
	t.Run("a form posted from another site is refused", func(t *testing.T) {
		g := NewWithT(t)
		for _, hdr := range []http.Header{
			{"Origin": {"https://evil.example"}},
			{"Sec-Fetch-Site": {"cross-site"}},
			{"Origin": {"null"}},
		} {
			resp := postLogin(t, h, url.Values{"token": {prodToken}}, hdr, false)
			g.Expect(resp.StatusCode).To(Equal(http.StatusForbidden), "%v", hdr)
			g.Expect(tokenCookie(resp)).To(BeNil())
		}
		resp := postLogin(t, h, url.Values{"token": {prodToken}}, http.Header{"Origin": {"http://example.com"}, "Sec-Fetch-Site": {"same-origin"}}, false)
		g.Expect(resp.StatusCode).To(Equal(http.StatusSeeOther), "httptest's Host is example.com")
	})
	t.Run("the redirect stays on the dashboard", func(t *testing.T) {
		g := NewWithT(t)
		for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/logout"} {
			resp := postLogin(t, h, url.Values{"token": {prodToken}, "next": {next}}, nil, false)
			g.Expect(resp.Header.Get("Location")).To(Equal("/"), next)
		}
	})
	t.Run("logout forgets the cookie", func(t *testing.T) {
		g := NewWithT(t)
		req := httptest.NewRequest(http.MethodPost, "/logout", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		g.Expect(rec.Code).To(Equal(http.StatusSeeOther))
		c := tokenCookie(rec.Result())
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.MaxAge).To(BeNumerically("<", 0))
	})
}

// TestViewerSeesOnlyTheNamespacesTheyMayList — alice may list Remediations and policies in prod
// only: nothing of staging reaches her, on any page.
func TestViewerSeesOnlyTheNamespacesTheyMayList(t *testing.T) {
	h := newTestDashboard(t, nil).Handler()
	stagingRows := []string{`data-name="staging/oom-cache"`, `data-name="staging/scale-web"`, `data-name="staging/broken"`,
		"staging/oom-cache", "staging/scale-web", "pull request #7"}
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{`data-name="prod/oom-api"`, `data-name="prod/cpu-worker"`, "3 shown", "Recent activity", "prod/cpu-worker"}},
		{"/?namespace=staging", 200, []string{"Nothing matches.", "0 shown"}},
		{"/?phase=Failed", 200, []string{"Nothing matches."}},
		{"/remediations/staging/scale-web", 404, nil},
		{"/remediations/prod/oom-api", 200, []string{"PullRequestOpened"}},
		{"/activity", 200, []string{"prod/cpu-worker"}},
		{"/policies", 200, []string{`data-name="prod/default"`, "2 active, 3 total"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			g := NewWithT(t)
			resp, body := as(t, h, prodToken, tc.path, nil)
			g.Expect(resp.StatusCode).To(Equal(tc.status), body)
			for _, w := range tc.want {
				g.Expect(body).To(ContainSubstring(w))
			}
			for _, w := range stagingRows {
				g.Expect(body).NotTo(ContainSubstring(w))
			}
			g.Expect(body).NotTo(ContainSubstring(`<option value="staging">`), "the namespace filter offers only prod")
		})
	}
	t.Run("a viewer who may list nothing sees nothing", func(t *testing.T) {
		for _, path := range []string{"/", "/activity", "/policies", "/remediations/prod/oom-api"} {
			g := NewWithT(t)
			_, body := as(t, h, nobodyToken, path, nil)
			for _, w := range append(stagingRows, "prod/oom-api", "prod/cpu-worker", `data-name="prod/default"`) {
				g.Expect(body).NotTo(ContainSubstring(w), path)
			}
		}
	})
	t.Run("the cluster-wide viewer sees both namespaces", func(t *testing.T) {
		g := NewWithT(t)
		_, body := as(t, h, adminToken, "/", nil)
		g.Expect(body).To(And(ContainSubstring(`data-name="staging/scale-web"`), ContainSubstring(`data-name="prod/oom-api"`), ContainSubstring("5 shown")))
		_, body = as(t, h, adminToken, "/policies", nil)
		g.Expect(body).To(And(ContainSubstring(`data-name="staging/broken"`), ContainSubstring(`data-name="prod/default"`)))
	})
}

// TestPermissionsAreAskedOfTheAuthorizer checks the questions: list remediations.heal8s.io
// cluster-wide first, then per namespace; and that an authorizer failure is a 503, not a page
// with less on it.
func TestPermissionsAreAskedOfTheAuthorizer(t *testing.T) {
	g := NewWithT(t)
	grants := newGrants()
	h := newTestDashboard(t, func(o *Options) { o.Authorizer = grants }).Handler()
	resp, _ := as(t, h, prodToken, "/", nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(grants.asked).To(ContainElements(
		"alice:list:heal8s.io:remediations/", "alice:list:heal8s.io:remediations/prod", "alice:list:heal8s.io:remediations/staging"))
	grants.fail = true
	for _, path := range []string{"/", "/policies", "/remediations/prod/oom-api"} {
		resp, body := as(t, h, prodToken, path, nil)
		g.Expect(resp.StatusCode).To(Equal(http.StatusServiceUnavailable), path)
		g.Expect(body).NotTo(ContainSubstring("oom-api"))
	}
}

// nextEvent reads the next server-sent event in the background, so a test can also assert that
// none arrives.
func nextEvent(r *bufio.Reader) <-chan string {
	ch := make(chan string, 1)
	go func() {
		ev, err := readEvent(r)
		if err != nil {
			ev = "error: " + err.Error()
		}
		ch <- ev
	}()
	return ch
}

func openStream(t *testing.T, ctx context.Context, base, token string) (*http.Response, *bufio.Reader) {
	t.Helper()
	resp, err := authGet(ctx, base+"/live", token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	r := bufio.NewReader(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if ev, err := readEvent(r); err != nil || !strings.Contains(ev, "event: hello") {
			t.Fatalf("no hello: %q %v", ev, err)
		}
	}
	return resp, r
}

// TestLiveStreamIsFilteredByNamespace — a change in staging does not wake alice's stream (not
// even its timing leaks); a change in prod does.
func TestLiveStreamIsFilteredByNamespace(t *testing.T) {
	g := NewWithT(t)
	d := newTestDashboard(t, nil)
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, alice := openStream(t, ctx, srv.URL, prodToken)
	_, admin := openStream(t, ctx, srv.URL, adminToken)
	aliceEv, adminEv := nextEvent(alice), nextEvent(admin)

	d.changes.notify(change{resource: resourceRemediations, namespace: "staging"})
	d.changes.notify(change{resource: resourcePolicies, namespace: "staging"})
	g.Eventually(adminEv).Should(Receive(Equal("event: change\ndata: 1")))
	g.Consistently(aliceEv, 300*time.Millisecond).ShouldNot(Receive(), "staging is not alice's")

	d.changes.notify(change{resource: resourceRemediations, namespace: "prod"})
	g.Eventually(aliceEv).Should(Receive(Equal("event: change\ndata: 1")))
}

// TestLiveStreamLimits — one client cannot take every live-update slot: each user has a few,
// the dashboard a total; a closed stream frees its slot.
func TestLiveStreamLimits(t *testing.T) {
	g := NewWithT(t)
	d := newTestDashboard(t, func(o *Options) { o.MaxStreams = 3; o.MaxStreamsPerUser = 2 })
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	first, _ := openStream(t, ctx, srv.URL, prodToken)
	second, _ := openStream(t, ctx, srv.URL, prodToken)
	g.Expect([]int{first.StatusCode, second.StatusCode}).To(Equal([]int{200, 200}))
	third, _ := openStream(t, ctx, srv.URL, prodToken)
	g.Expect(third.StatusCode).To(Equal(http.StatusTooManyRequests), "alice has used her two")
	g.Expect(third.Header.Get("Retry-After")).NotTo(BeEmpty())

	other, _ := openStream(t, ctx, srv.URL, adminToken)
	g.Expect(other.StatusCode).To(Equal(http.StatusOK), "another user still gets a stream")
	full, _ := openStream(t, ctx, srv.URL, nobodyToken)
	g.Expect(full.StatusCode).To(Equal(http.StatusServiceUnavailable), "the dashboard's three are taken")

	_ = first.Body.Close()
	g.Eventually(func() int {
		resp, err := authGet(ctx, srv.URL+"/live", nobodyToken)
		if err != nil {
			return 0
		}
		defer func() { _ = resp.Body.Close() }()
		return resp.StatusCode
	}, 5*time.Second, 50*time.Millisecond).Should(Equal(http.StatusOK), "a closed stream frees its slot")
}

// TestLiveStreamEndsWhenTheTokenIsRevoked — a stream checks its token at every heartbeat.
func TestLiveStreamEndsWhenTheTokenIsRevoked(t *testing.T) {
	g := NewWithT(t)
	users := newUsers()
	d := newTestDashboard(t, func(o *Options) { o.Authenticator = users; o.Heartbeat = 20 * time.Millisecond })
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, r := openStream(t, ctx, srv.URL, prodToken)
	users.revoke(prodToken)
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, r); done <- err }()
	g.Eventually(done, 5*time.Second).Should(Receive(BeNil()), "the server ended the stream")
}

// TestListIsPaginated — a page renders at most limit rows (bounded by MaxPageSize) and links
// to its neighbours, keeping the filter.
func TestListIsPaginated(t *testing.T) {
	rems, pols := scene(t0)
	objs := []client.Object{pols[0]}
	for _, r := range rems {
		objs = append(objs, r)
	}
	for i := range 7 {
		objs = append(objs, withPhase(remediation("prod", fmt.Sprintf("extra-%d", i), v1beta1.ActionScaleUp,
			t0.Add(-time.Duration(i+1)*time.Second)), t0, "Planned", "", v1beta1.PhasePending, v1beta1.PhaseProposed))
	}
	d, err := New(Options{
		Reader:        fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(objs...).Build(),
		Authenticator: testUsers, Authorizer: testGrants, Clock: clocktesting.NewFakePassiveClock(t0),
	})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	h := d.Handler()
	rows := func(body string) int { return strings.Count(body, "<tr data-name=") }
	for _, tc := range []struct {
		path     string
		rows     int
		want     []string
		wantNot  []string
		firstRow string
	}{
		{path: "/?limit=3", rows: 3, want: []string{"1–3 of 12", "page 1 of 4", `href="/?limit=3&amp;page=2"`}, wantNot: []string{`id="prev"`},
			firstRow: `data-name="prod/extra-0"`},
		{path: "/?limit=3&page=2", rows: 3, want: []string{"4–6 of 12", `href="/?limit=3"`, `href="/?limit=3&amp;page=3"`}},
		{path: "/?limit=3&page=4", rows: 3, want: []string{"10–12 of 12", "page 4 of 4"}, wantNot: []string{`id="next"`}},
		{path: "/?limit=3&page=99", rows: 3, want: []string{"page 4 of 4"}},
		{path: "/?limit=5&namespace=prod", rows: 5, want: []string{"1–5 of 10", `href="/?limit=5&amp;namespace=prod&amp;page=2"`,
			`<input type="hidden" name="limit" value="5">`}},
		{path: "/?limit=0", rows: 12, want: []string{"12 shown"}},
		{path: "/?limit=oops&page=-2", rows: 12, want: []string{"12 shown"}},
		{path: "/?limit=100000", rows: 12, want: []string{"12 shown", `name="limit" value="500"`}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			g := NewWithT(t)
			resp, body := get(t, h, http.MethodGet, tc.path, nil)
			g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
			g.Expect(rows(body)).To(Equal(tc.rows))
			for _, w := range tc.want {
				g.Expect(body).To(ContainSubstring(w))
			}
			for _, w := range tc.wantNot {
				g.Expect(body).NotTo(ContainSubstring(w))
			}
			if tc.firstRow != "" {
				g.Expect(body[strings.Index(body, "<tr data-name="):]).To(HavePrefix("<tr " + tc.firstRow))
			}
		})
	}
}

// recordingReader remembers the options the dashboard lists with.
type recordingReader struct {
	client.Reader
	mu    sync.Mutex
	lists []*client.ListOptions
}

func (r *recordingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	lo := &client.ListOptions{}
	lo.ApplyOptions(opts)
	r.mu.Lock()
	r.lists = append(r.lists, lo)
	r.mu.Unlock()
	return r.Reader.List(ctx, list, opts...)
}

// TestPagesDoNotDeepCopyTheCache — every list a page makes asks the cache for its own objects
// instead of a deep copy of each.
func TestPagesDoNotDeepCopyTheCache(t *testing.T) {
	g := NewWithT(t)
	var rec *recordingReader
	h := newTestDashboard(t, func(o *Options) { rec = &recordingReader{Reader: o.Reader}; o.Reader = rec }).Handler()
	for _, path := range []string{"/", "/policies", "/remediations/prod/oom-api"} {
		resp, _ := get(t, h, http.MethodGet, path, nil)
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	}
	g.Expect(rec.lists).To(HaveLen(4))
	for _, lo := range rec.lists {
		g.Expect(lo.UnsafeDisableDeepCopy).To(HaveValue(BeTrue()))
	}
}
