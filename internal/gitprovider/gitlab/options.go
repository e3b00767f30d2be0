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

// Package gitlab is the GitLab implementation of gitprovider.Provider, for gitlab.com and
// self-managed GitLab: merge requests over the REST API v4 with plain net/http, authenticated by a
// personal, group or project access token (PRIVATE-TOKEN), behind a transport that honours
// GitLab's rate limits. It also holds the Merge Request Hook handler and a poller for clusters
// no webhook reaches. The stateful fake GitLab in gitprovider/gitlabfake speaks the same
// endpoints.
package gitlab

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider/ratelimit"
)

// SecretKeyToken is the key of the Secret a RemediationPolicy's git.secretRef names: a personal,
// group or project access token with the api scope.
const SecretKeyToken = "token"

// Defaults of Options.
const (
	// DefaultBaseURL is gitlab.com's API root.
	DefaultBaseURL     = "https://gitlab.com/api/v4/"
	DefaultMaxWait     = 2 * time.Minute
	DefaultBaseBackoff = time.Second
	DefaultMaxBackoff  = 30 * time.Second
	DefaultTimeout     = 30 * time.Second
)

// ErrMissingCredentials means the Secret has no token.
var ErrMissingCredentials = errors.New("missing GitLab credentials")

// Options configure a Provider.
type Options struct {
	// BaseURL is the API root: empty for gitlab.com, "https://<host>/api/v4/" for a self-managed
	// instance. A URL without a path gets /api/v4/ appended.
	BaseURL string
	// Token is a personal, group or project access token.
	Token string
	// Clock is the time source for rate-limit waits and backoff; nil means the wall clock.
	Clock Clock
	// MaxWait bounds the time one operation spends waiting on rate limits and retries before it
	// fails with gitprovider.ErrGaveUp; zero means DefaultMaxWait.
	MaxWait time.Duration
	// BaseBackoff and MaxBackoff shape the exponential backoff on 5xx; zero means the defaults.
	BaseBackoff, MaxBackoff time.Duration
	// Jitter randomises a backoff; nil means a uniform value between half and all of it.
	Jitter func(time.Duration) time.Duration
	// Timeout bounds the wait for each attempt's response headers; zero means DefaultTimeout.
	// It applies when Transport is nil.
	Timeout time.Duration
	// Transport is the underlying HTTP transport; nil means a clone of http.DefaultTransport.
	Transport http.RoundTripper
}

// OptionsFromSecretData reads the token from a Secret's data. Errors name the missing key, never
// a value.
func OptionsFromSecretData(data map[string][]byte, baseURL string) (Options, error) {
	tok := strings.TrimSpace(string(data[SecretKeyToken]))
	if tok == "" {
		return Options{}, fmt.Errorf("%w: secret has no %q", ErrMissingCredentials, SecretKeyToken)
	}
	return Options{BaseURL: baseURL, Token: tok}, nil
}

// APIRoot turns a policy's baseURL into the REST API root: "" is gitlab.com's, a URL with no path
// (https://gitlab.example.com) gets /api/v4/, a URL with a path is kept, with a trailing slash.
func APIRoot(baseURL string) (string, error) {
	if strings.TrimSpace(baseURL) == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("GitLab base URL %q is not an absolute URL", baseURL)
	}
	if strings.Trim(u.Path, "/") == "" {
		u.Path = "/api/v4/"
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// New builds a Provider.
func New(opts Options) (*Provider, error) {
	if opts.Token == "" {
		return nil, fmt.Errorf("configuring GitLab client: %w", ErrMissingCredentials)
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = DefaultBaseBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Jitter == nil {
		opts.Jitter = ratelimit.EqualJitter
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Transport == nil {
		base, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			return nil, errors.New("configuring GitLab client: http.DefaultTransport is not an *http.Transport")
		}
		tr := base.Clone()
		tr.ResponseHeaderTimeout = opts.Timeout
		opts.Transport = tr
	}
	root, err := APIRoot(opts.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("configuring GitLab client: %w", err)
	}
	base, err := url.Parse(root)
	if err != nil {
		return nil, fmt.Errorf("configuring GitLab client: %w", err)
	}
	rt := &ratelimit.Transport{
		Base: opts.Transport, Clock: opts.Clock, Host: limits{},
		Policy: ratelimit.Policy{MaxWait: opts.MaxWait, BaseBackoff: opts.BaseBackoff, MaxBackoff: opts.MaxBackoff, Jitter: opts.Jitter},
	}
	return &Provider{
		base: base, token: opts.Token, clock: opts.Clock, transport: rt,
		http: &http.Client{Transport: rt, CheckRedirect: sameHostRedirects},
	}, nil
}

// sameHostRedirects follows a redirect only to the scheme, host and port of the first request:
// the token rides on every request, so a redirect to another host would carry it there.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if !gitaccess.SameHost(via[0].URL, req.URL) {
		return fmt.Errorf("refusing to follow a redirect from %s to another host %s", via[0].URL.Host, req.URL.Host)
	}
	// net/http copies headers on a same-host redirect; PRIVATE-TOKEN is ours, set again to be sure.
	req.Header.Set(tokenHeader, via[0].Header.Get(tokenHeader))
	return nil
}
