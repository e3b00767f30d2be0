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
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	authenticationv1 "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1 "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// The dashboard's RBAC: it asks the API server who a token belongs to (TokenReview) and what
// that user may list (SubjectAccessReview), as the metrics endpoint does.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// TokenCookie holds the token a viewer pasted into the login page. It is HttpOnly (no script
// reads it), SameSite=Strict (no other site's page sends it) and Secure when the dashboard is
// served over TLS.
const TokenCookie = "heal8s_dashboard_token"

// DefaultAuthCacheTTL is how long a TokenReview or SubjectAccessReview answer is reused, per
// token and per user, namespace and resource.
const DefaultAuthCacheTTL = time.Minute

// maxCookieToken bounds a token stored in the cookie: browsers keep cookies up to 4096 bytes.
const maxCookieToken = 3800

// Resources whose list permission decides what a viewer sees.
const (
	resourceRemediations = "remediations"
	resourcePolicies     = "remediationpolicies"
)

// ErrNoAuth is returned by New without an authenticator and an authorizer: the dashboard shows
// alerts, plans and pull requests, so it never serves anyone it has not identified.
var ErrNoAuth = errors.New("dashboard needs an authenticator and an authorizer")

// errAuthorization marks a failed SubjectAccessReview (not a denial): the page is refused with
// 503 rather than shown with less on it.
var errAuthorization = errors.New("authorization failed")

// KubernetesAuth returns the dashboard's authenticator and authorizer, both delegated to the API
// server as controller-runtime's metrics filter does: a bearer token is reviewed with a
// TokenReview and a permission with a SubjectAccessReview, and each answer (allow and deny alike)
// is cached for ttl. The manager's ServiceAccount needs create on tokenreviews and
// subjectaccessreviews.
func KubernetesAuth(cfg *rest.Config, httpClient *http.Client, ttl time.Duration) (authenticator.Request, authorizer.Authorizer, error) {
	if ttl <= 0 {
		ttl = DefaultAuthCacheTTL
	}
	authnClient, err := authenticationv1.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the TokenReview client: %w", err)
	}
	authzClient, err := authorizationv1.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the SubjectAccessReview client: %w", err)
	}
	// The retry backoff of k8s.io/apiserver's options.DefaultAuthWebhookRetryBackoff, as in
	// controller-runtime's metrics filter.
	backoff := &wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:                &apiserver.AnonymousAuthConfig{Enabled: false},
		CacheTTL:                 ttl,
		TokenAccessReviewClient:  authnClient,
		TokenAccessReviewTimeout: 10 * time.Second,
		WebhookRetryBackoff:      backoff,
	}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("creating the dashboard's authenticator: %w", err)
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: authzClient,
		AllowCacheTTL:             ttl,
		DenyCacheTTL:              ttl,
		WebhookRetryBackoff:       backoff,
	}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("creating the dashboard's authorizer: %w", err)
	}
	return authn, authz, nil
}

// viewer is the authenticated person (or program) a request comes from.
type viewer struct {
	user user.Info
	// token is kept to re-check a long live-update stream; it is never logged or rendered.
	token string
}

type viewerKey struct{}

func viewerFrom(ctx context.Context) *viewer {
	v, _ := ctx.Value(viewerKey{}).(*viewer)
	return v
}

// tokenFrom returns the request's bearer token: the Authorization header first, then the
// login cookie.
func tokenFrom(r *http.Request) (token string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:]), false
		}
		return "", false
	}
	if c, err := r.Cookie(TokenCookie); err == nil && c.Value != "" {
		return c.Value, true
	}
	return "", false
}

// authenticate asks the authenticator (a cached TokenReview) who token belongs to.
func (d *Dashboard) authenticate(ctx context.Context, token string) (user.Info, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return nil, false, fmt.Errorf("building the authentication request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, ok, err := d.opts.Authenticator.AuthenticateRequest(req)
	if err != nil {
		// Never the token itself: the error is the TokenReview's reason or the call's failure.
		return nil, false, fmt.Errorf("reviewing the dashboard viewer's token: %w", err)
	}
	if !ok || resp == nil || resp.User == nil {
		return nil, false, nil
	}
	return resp.User, true, nil
}

// requireViewer lets only authenticated requests through; the others get 401 (the login page
// when a browser asks for a page).
func (d *Dashboard) requireViewer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, fromCookie := tokenFrom(r)
		if token == "" {
			d.unauthenticated(w, r, "")
			return
		}
		u, ok, err := d.authenticate(r.Context(), token)
		if !ok {
			// A TokenReview that says no may come with an error (an expired or forged token) as
			// may one that could not be made (the API server is unreachable): both are a 401,
			// and the cookie is kept only in the second case's doubt.
			msg := "The token was not accepted: it may have expired or been revoked."
			if err != nil {
				ctrl.LoggerFrom(r.Context()).V(1).Info("Dashboard token not accepted", "path", r.URL.Path, "reason", err.Error())
				msg = "The token was not accepted, or the API server could not check it."
			} else if fromCookie {
				d.clearCookie(w, r)
			}
			d.unauthenticated(w, r, msg)
			return
		}
		ctx := context.WithValue(r.Context(), viewerKey{}, &viewer{user: u, token: token})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// wantsPage reports whether a browser navigates to a page, as opposed to the page's script, an
// API client or the live stream.
func wantsPage(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		r.Header.Get(FragmentHeader) == "" &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// unauthenticated answers 401: the login page for a browser's page view, plain text otherwise.
func (d *Dashboard) unauthenticated(w http.ResponseWriter, r *http.Request, msg string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", `Bearer realm="heal8s-dashboard"`)
	if !wantsPage(r) {
		http.Error(w, "unauthorized: send a Kubernetes bearer token", http.StatusUnauthorized)
		return
	}
	d.renderLogin(w, r, http.StatusUnauthorized, loginView{
		Next:    safeNext(r.URL.RequestURI()),
		Message: msg,
		// A link from another site (a pull request's "open on the dashboard") arrives without the
		// SameSite=Strict cookie; reloading from this page, now same-site, sends it.
		Reload: msg == "" && r.Header.Get("Sec-Fetch-Site") == "cross-site" && r.Header.Get("Sec-Fetch-Mode") == "navigate",
	})
}

// loginView is the login page.
type loginView struct {
	Next, Message string
	Reload        bool
}

func (d *Dashboard) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	var buf strings.Builder
	if err := d.pages.login.ExecuteTemplate(&buf, "login", v); err != nil {
		ctrl.LoggerFrom(r.Context()).Error(err, "Rendering the dashboard's login page")
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// safeNext keeps a post-login redirect on this site: a path, never a scheme, host or "//".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") || strings.HasPrefix(next, "/logout") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// sameOrigin refuses a form posted from another site (login CSRF: logging a victim in as the
// attacker): Sec-Fetch-Site, which no page can forge, when the browser sends it; otherwise the
// Origin, which must name this host ("null", from a sandboxed frame, does not).
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// secure reports whether the viewer reached the dashboard over TLS, directly or through a proxy
// that says so (which can only make the cookie stricter).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (d *Dashboard) setCookie(w http.ResponseWriter, r *http.Request, token string) {
	// Secure follows the connection (secure above): a dashboard reached over plain HTTP on
	// loopback or a port-forward could not keep a Secure cookie at all.
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // G124: Secure is set whenever the viewer uses TLS.
		Name: TokenCookie, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
		// The token's own expiry ends the session sooner; this bounds a forgotten browser.
		MaxAge: int((12 * time.Hour).Seconds()),
	})
}

func (d *Dashboard) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{ //nolint:gosec // G124: clears the cookie; Secure as in setCookie.
		Name: TokenCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	})
}

// serveLoginPage shows the form where a viewer pastes a token.
func (d *Dashboard) serveLoginPage(w http.ResponseWriter, r *http.Request) {
	d.renderLogin(w, r, http.StatusOK, loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

// serveLogin checks the pasted token with the API server and stores it in the cookie.
func (d *Dashboard) serveLogin(w http.ResponseWriter, r *http.Request) {
	log := ctrl.LoggerFrom(r.Context())
	if !sameOrigin(r) {
		http.Error(w, "cross-site login refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the login form could not be read", http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	switch {
	case token == "":
		d.renderLogin(w, r, http.StatusUnauthorized, loginView{Next: next, Message: "Paste a token."})
		return
	case len(token) > maxCookieToken || strings.ContainsAny(token, " ;,\"\\\t\r\n"):
		d.renderLogin(w, r, http.StatusUnauthorized, loginView{Next: next,
			Message: "This token cannot be kept in a browser cookie; send it in an Authorization header instead."})
		return
	}
	u, ok, err := d.authenticate(r.Context(), token)
	if !ok {
		msg := "The token was not accepted: it may have expired or been revoked."
		if err != nil {
			msg = "The token was not accepted, or the API server could not check it."
			log.V(1).Info("Refused a dashboard login", "reason", err.Error())
		} else {
			log.V(1).Info("Refused a dashboard login: token not accepted")
		}
		d.renderLogin(w, r, http.StatusUnauthorized, loginView{Next: next, Message: msg})
		return
	}
	log.Info("Dashboard login", "user", u.GetName())
	d.setCookie(w, r, token)
	http.Redirect(w, r, next, http.StatusSeeOther) //nolint:gosec // G710: next passed safeNext, a path on this site.
}

// serveLogout forgets the cookie.
func (d *Dashboard) serveLogout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site logout refused", http.StatusForbidden)
		return
	}
	d.clearCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// scope answers which namespaces a viewer may see one resource in: the namespaces where a
// SubjectAccessReview allows them to list it, or all of them with a cluster-wide list right.
// Answers are memoised for the request on top of the authorizer's own cache.
type scope struct {
	d        *Dashboard
	ctx      context.Context
	user     user.Info
	resource string
	all      *bool
	memo     map[string]bool
}

func (d *Dashboard) scope(ctx context.Context, u user.Info, resource string) *scope {
	return &scope{d: d, ctx: ctx, user: u, resource: resource, memo: map[string]bool{}}
}

func (s *scope) may(namespace string) (bool, error) {
	dec, _, err := s.d.opts.Authorizer.Authorize(s.ctx, authorizer.AttributesRecord{
		User: s.user, Verb: "list", Namespace: namespace,
		APIGroup: v1beta1.GroupVersion.Group, APIVersion: "*", Resource: s.resource, ResourceRequest: true,
	})
	if err != nil {
		where := "cluster-wide"
		if namespace != "" {
			where = "in namespace " + namespace
		}
		return false, fmt.Errorf("%w: asking whether %s may list %s %s: %w", errAuthorization, s.user.GetName(), s.resource, where, err)
	}
	return dec == authorizer.DecisionAllow, nil
}

// clusterWide reports whether the viewer may list the resource in every namespace.
func (s *scope) clusterWide() (bool, error) {
	if s.all == nil {
		ok, err := s.may("")
		if err != nil {
			return false, err
		}
		s.all = &ok
	}
	return *s.all, nil
}

// allows reports whether the viewer may see the resource in namespace.
func (s *scope) allows(namespace string) (bool, error) {
	all, err := s.clusterWide()
	if err != nil || all {
		return all, err
	}
	if ok, seen := s.memo[namespace]; seen {
		return ok, nil
	}
	ok, err := s.may(namespace)
	if err != nil {
		return false, err
	}
	s.memo[namespace] = ok
	return ok, nil
}
