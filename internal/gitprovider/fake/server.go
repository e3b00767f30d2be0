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

package fake

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider/fakecrash"
	"github.com/heal8s/heal8s/internal/gitprovider/github"
)

// Options configure a Server.
type Options struct {
	// Token is the one personal token the server accepts; empty means "fake-token".
	Token string
	// Clock drives timestamps and rate-limit resets; nil means the wall clock.
	Clock github.Clock
	// RateLimit is the primary limit per hour; zero means 5000.
	RateLimit int
	// Addr, when set (e.g. "127.0.0.1:9099"), is where the server listens instead of a random
	// port, so a demo can print a stable URL.
	Addr string
}

// Call is one request the server received, for asserting on what the client did.
type Call struct {
	Method string
	// Path is the request path without any /api/v3 prefix, e.g. /repos/o/r/git/refs.
	Path  string
	Query string
	// Status is the response status; 0 when the connection was dropped.
	Status int
	At     time.Time
}

// String renders the call as "METHOD /path?query -> status".
func (c Call) String() string {
	q := ""
	if c.Query != "" {
		q = "?" + c.Query
	}
	return fmt.Sprintf("%s %s%s -> %d", c.Method, c.Path, q, c.Status)
}

// Server is the fake GitHub. Its methods are safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	clock github.Clock
	token string

	mu     sync.Mutex
	repos  map[string]*repo
	calls  []Call
	apps   map[int64]*rsa.PublicKey
	instOf map[int64]int64 // installation -> app
	issued map[string]time.Time

	limit     int
	remaining int
	reset     time.Time

	faults faults
}

type faults struct {
	latency        time.Duration
	failNext       int
	failStatus     int
	secondaryNext  int
	retryAfter     time.Duration
	secondaryUntil time.Time
	crash          fakecrash.Plan
}

// New starts a fake GitHub; Close it when done.
func New(opts Options) (*Server, error) {
	s := &Server{
		clock: opts.Clock, token: opts.Token, repos: map[string]*repo{},
		apps: map[int64]*rsa.PublicKey{}, instOf: map[int64]int64{}, issued: map[string]time.Time{},
		limit: opts.RateLimit,
	}
	if s.clock == nil {
		s.clock = github.RealClock{}
	}
	if s.token == "" {
		s.token = "fake-token"
	}
	if s.limit <= 0 {
		s.limit = 5000
	}
	s.remaining = s.limit
	s.reset = s.clock.Now().Add(time.Hour)
	if opts.Addr == "" {
		s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
		return s, nil
	}
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", opts.Addr, err)
	}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}}
	s.srv.Start()
	return s, nil
}

// URL is the API root to give go-github, with a trailing slash.
func (s *Server) URL() string { return s.srv.URL + "/" }

// Token is the personal token the server accepts.
func (s *Server) Token() string { return s.token }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Provider returns the GitHub provider pointed at this server with its token and clock, ready for
// tests and the demo. Options can be adjusted by the functions given.
func (s *Server) Provider(adjust ...func(*github.Options)) (*github.Provider, error) {
	opts := github.Options{BaseURL: s.URL(), Token: s.token, Clock: s.clock}
	for _, f := range adjust {
		f(&opts)
	}
	return github.New(opts)
}

type apiError struct {
	Message          string     `json:"message"`
	DocumentationURL string     `json:"documentation_url,omitempty"`
	Errors           []errEntry `json:"errors,omitempty"`
}

type errEntry struct {
	Resource string `json:"resource,omitempty"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message,omitempty"`
}

// reply is what a handler returns; serve writes it (or drops it, for fault injection).
type reply struct {
	status int
	header http.Header
	body   []byte
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return reply{status: http.StatusInternalServerError, body: []byte(`{"message":"fake: encoding"}`)}
	}
	return reply{status: status, body: b}
}

func errReply(status int, msg string, entries ...errEntry) reply {
	return jsonReply(status, apiError{Message: msg, Errors: entries, DocumentationURL: "https://docs.github.com/rest"})
}

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	latency := s.faults.latency
	s.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}

	body, err := io.ReadAll(io.LimitReader(req.Body, 10<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	path := strings.TrimPrefix(req.URL.Path, "/api/v3")

	s.mu.Lock()
	n := len(s.calls) + 1
	call := Call{Method: req.Method, Path: path, Query: req.URL.RawQuery, At: s.clock.Now()}
	drop, lose := s.faults.crash.Of(n)
	var rep reply
	switch {
	case drop:
	default:
		rep = s.handle(req, path, body)
	}
	call.Status = rep.status
	if drop || lose {
		call.Status = 0
	}
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	if drop || lose {
		fakecrash.HangUp(w)
		return
	}
	for k, vs := range rep.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if len(rep.body) > 0 {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// handle runs with s.mu held: faults, authentication, rate limits, then the route.
func (s *Server) handle(req *http.Request, path string, body []byte) reply {
	now := s.clock.Now()
	if s.faults.failNext > 0 {
		s.faults.failNext--
		return errReply(s.faults.failStatus, "fake: injected server error")
	}

	if m := strings.TrimPrefix(path, "/app/installations/"); m != path && req.Method == http.MethodPost && strings.HasSuffix(m, "/access_tokens") {
		return s.accessToken(req, strings.TrimSuffix(m, "/access_tokens"))
	}
	if !s.authorised(req, now) {
		return errReply(http.StatusUnauthorized, "Bad credentials")
	}

	if s.faults.secondaryNext > 0 || now.Before(s.faults.secondaryUntil) {
		if s.faults.secondaryNext > 0 {
			s.faults.secondaryNext--
			s.faults.secondaryUntil = now.Add(s.faults.retryAfter)
		}
		rep := jsonReply(http.StatusForbidden, apiError{
			Message:          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
		rep.header = http.Header{"Retry-After": {strconv.Itoa(int(s.faults.secondaryUntil.Sub(now).Round(time.Second) / time.Second))}}
		return rep
	}

	if !now.Before(s.reset) {
		s.remaining, s.reset = s.limit, now.Add(time.Hour)
	}
	if s.remaining <= 0 {
		rep := jsonReply(http.StatusForbidden, apiError{
			Message:          "API rate limit exceeded.",
			DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits",
		})
		rep.header = s.rateHeaders()
		return rep
	}

	rep := s.route(req, path, body, now)
	if rep.status != http.StatusNotModified {
		s.remaining--
	}
	if rep.header == nil {
		rep.header = http.Header{}
	}
	maps.Copy(rep.header, s.rateHeaders())
	return rep
}

func (s *Server) rateHeaders() http.Header {
	return http.Header{
		"X-Ratelimit-Limit":     {strconv.Itoa(s.limit)},
		"X-Ratelimit-Remaining": {strconv.Itoa(max(s.remaining, 0))},
		"X-Ratelimit-Used":      {strconv.Itoa(s.limit - max(s.remaining, 0))},
		"X-Ratelimit-Reset":     {strconv.FormatInt(s.reset.Unix(), 10)},
		"X-Ratelimit-Resource":  {"core"},
	}
}

func (s *Server) authorised(req *http.Request, now time.Time) bool {
	h := req.Header.Get("Authorization")
	tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(h, "Bearer "), "token "))
	if tok == "" || tok == h {
		return false
	}
	if tok == s.token {
		return true
	}
	exp, ok := s.issued[tok]
	return ok && now.Before(exp)
}

// accessToken implements POST /app/installations/{id}/access_tokens: it checks the App's RS256
// JWT against the registered public key and issues an installation token valid for an hour.
func (s *Server) accessToken(req *http.Request, id string) reply {
	inst, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return errReply(http.StatusNotFound, "Not Found")
	}
	appID, ok := s.instOf[inst]
	if !ok {
		return errReply(http.StatusNotFound, "Not Found")
	}
	jwt := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	if err := verifyJWT(jwt, s.apps[appID], appID); err != nil {
		return errReply(http.StatusUnauthorized, "A JSON web token could not be decoded: "+err.Error())
	}
	tok := fmt.Sprintf("ghs_fake_%d_%d", inst, len(s.issued)+1)
	exp := s.clock.Now().Add(time.Hour)
	s.issued[tok] = exp
	return jsonReply(http.StatusCreated, map[string]any{"token": tok, "expires_at": exp.UTC().Format(time.RFC3339)})
}

func verifyJWT(token string, pub *rsa.PublicKey, appID int64) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || pub == nil {
		return fmt.Errorf("malformed token")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("signature encoding: %w", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("payload encoding: %w", err)
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Exp int64           `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	if iss := strings.Trim(string(claims.Iss), `"`); iss != strconv.FormatInt(appID, 10) {
		return fmt.Errorf("issuer %s is not app %d", iss, appID)
	}
	if claims.Exp < time.Now().Unix() {
		return fmt.Errorf("expired")
	}
	return nil
}
