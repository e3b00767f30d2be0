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

// Package gitlabfake is a stateful, in-memory GitLab served over HTTP for tests and the demo. The
// real provider in gitprovider/gitlab talks to it, so every test against the fake is a test of
// the production code. It speaks the REST API v4 endpoints heal8s uses, in the shapes GitLab's
// API documentation gives (cited beside each route in routes.go): branches, the recursive tree
// with offset pagination, raw files, commits with actions (which create a branch and its commit
// in one call), compare, merge requests with labels, notes and state events, plus 429 rate
// limits with GitLab's headers and switches for faults (crashes, lost answers, server errors).
package gitlabfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider/fakecrash"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlab"
)

// Options configure a Server.
type Options struct {
	// Token is the one access token the server accepts; empty means "fake-gitlab-token".
	Token string
	// Clock drives timestamps and rate-limit resets; nil means the wall clock.
	Clock gitlab.Clock
	// Addr, when set (e.g. "127.0.0.1:9098"), is where the server listens instead of a random
	// port, so a demo can print a stable URL.
	Addr string
}

// Call is one request the server received.
type Call struct {
	Method string
	// Path is the request path without the /api/v4 prefix, as sent (escaped).
	Path  string
	Query string
	// Status is the response status; 0 when the connection was dropped.
	Status int
}

// String renders the call as "METHOD /path?query -> status".
func (c Call) String() string {
	q := ""
	if c.Query != "" {
		q = "?" + c.Query
	}
	return fmt.Sprintf("%s %s%s -> %d", c.Method, c.Path, q, c.Status)
}

// Server is the fake GitLab. Its methods are safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	clock gitlab.Clock
	token string

	mu       sync.Mutex
	projects map[string]*project
	calls    []Call
	nextID   int64
	faults   faults
}

type faults struct {
	failNext   int
	failStatus int
	limitNext  int
	retryAfter time.Duration
	crash      fakecrash.Plan
}

// New starts a fake GitLab; Close it when done.
func New(opts Options) (*Server, error) {
	s := &Server{clock: opts.Clock, token: opts.Token, projects: map[string]*project{}, nextID: 1000}
	if s.clock == nil {
		s.clock = gitlab.RealClock{}
	}
	if s.token == "" {
		s.token = "fake-gitlab-token"
	}
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

// URL is the instance's address (what a policy's baseURL holds); the API is under /api/v4/.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the API root, with a trailing slash.
func (s *Server) APIURL() string { return s.srv.URL + "/api/v4/" }

// Token is the access token the server accepts.
func (s *Server) Token() string { return s.token }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Provider returns the GitLab provider pointed at this server with its token and clock.
func (s *Server) Provider(adjust ...func(*gitlab.Options)) (*gitlab.Provider, error) {
	opts := gitlab.Options{BaseURL: s.URL(), Token: s.token, Clock: s.clock}
	for _, f := range adjust {
		f(&opts)
	}
	return gitlab.New(opts)
}

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

// errReply is GitLab's error shape: {"message": "404 Project Not Found"}.
func errReply(status int, msg any) reply { return jsonReply(status, map[string]any{"message": msg}) }

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 10<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	path := strings.TrimPrefix(req.URL.EscapedPath(), "/api/v4")

	s.mu.Lock()
	n := len(s.calls) + 1
	call := Call{Method: req.Method, Path: path, Query: req.URL.RawQuery}
	drop, lose := s.faults.crash.Of(n)
	var rep reply
	if !drop {
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
	if rep.header.Get("Content-Type") == "" && len(rep.body) > 0 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// handle runs with s.mu held: faults, authentication, rate limit, then the route.
func (s *Server) handle(req *http.Request, path string, body []byte) reply {
	if s.faults.failNext > 0 {
		s.faults.failNext--
		return errReply(s.faults.failStatus, "fake: injected server error")
	}
	if !s.authorised(req) {
		return errReply(http.StatusUnauthorized, "401 Unauthorized")
	}
	if s.faults.limitNext > 0 {
		s.faults.limitNext--
		// GitLab's rate-limit answer: 429 with Retry-After and the RateLimit-* headers
		// (https://docs.gitlab.com/ee/administration/settings/user_and_ip_rate_limits.html#response-headers).
		reset := s.clock.Now().Add(s.faults.retryAfter)
		rep := reply{status: http.StatusTooManyRequests, body: []byte("Retry later\n"), header: http.Header{
			"Content-Type":        {"text/plain"},
			"Retry-After":         {strconv.Itoa(int(s.faults.retryAfter / time.Second))},
			"Ratelimit-Limit":     {"600"},
			"Ratelimit-Observed":  {"601"},
			"Ratelimit-Remaining": {"0"},
			"Ratelimit-Reset":     {strconv.FormatInt(reset.Unix(), 10)},
			"Ratelimit-Resettime": {reset.UTC().Format(http.TimeFormat)},
		}}
		return rep
	}
	return s.route(req, path, body)
}

// authorised accepts the token as PRIVATE-TOKEN or as an OAuth-style bearer token, as GitLab
// does for personal, group and project access tokens.
func (s *Server) authorised(req *http.Request) bool {
	if req.Header.Get("PRIVATE-TOKEN") == s.token {
		return true
	}
	return req.Header.Get("Authorization") == "Bearer "+s.token
}

// segments splits an escaped path and unescapes each part, so "projects/acme%2Fdeploy/..." keeps
// the project path in one segment.
func segments(escaped string) ([]string, error) {
	parts := strings.Split(strings.Trim(escaped, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = u
	}
	return parts, nil
}
