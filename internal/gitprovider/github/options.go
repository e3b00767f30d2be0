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

// Package github is the GitHub implementation of gitprovider.Provider: go-github over a
// transport that handles rate limits and server errors, authenticated as a GitHub App
// (ghinstallation) or with a token. It also holds the pull_request webhook handler and a poller
// for clusters where no webhook reaches the operator.
package github

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v88/github"

	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider/ratelimit"
)

// Keys of the Secret a RemediationPolicy's git.secretRef names.
const (
	SecretKeyAppID          = "appID"
	SecretKeyInstallationID = "installationID"
	SecretKeyPrivateKey     = "privateKey"
	SecretKeyToken          = "token"
)

// Defaults of Options.
const (
	DefaultBaseURL     = "https://api.github.com/"
	DefaultMaxWait     = 2 * time.Minute
	DefaultBaseBackoff = time.Second
	DefaultMaxBackoff  = 30 * time.Second
	DefaultTimeout     = 30 * time.Second
)

// ErrMissingCredentials means the Secret has neither a token nor a complete GitHub App identity.
var ErrMissingCredentials = errors.New("missing GitHub credentials")

// Options configure a Provider. Exactly one of Token or the App triple (AppID, InstallationID,
// PrivateKey) authenticates.
type Options struct {
	// BaseURL is the REST API root: empty for github.com, "https://<host>/api/v3/" for GitHub
	// Enterprise Server.
	BaseURL string
	// Token is a personal access or fine-grained token.
	Token string
	// AppID, InstallationID and PrivateKey (PEM) authenticate as a GitHub App installation.
	AppID, InstallationID int64
	PrivateKey            []byte

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

// OptionsFromSecretData reads credentials from a Secret's data. A token wins when present;
// otherwise all of appID, installationID and privateKey are required. Errors name the missing or
// malformed key, never a value.
func OptionsFromSecretData(data map[string][]byte, baseURL string) (Options, error) {
	opts := Options{BaseURL: baseURL}
	if tok := strings.TrimSpace(string(data[SecretKeyToken])); tok != "" {
		opts.Token = tok
		return opts, nil
	}
	var missing []string
	for _, k := range []string{SecretKeyAppID, SecretKeyInstallationID, SecretKeyPrivateKey} {
		if len(strings.TrimSpace(string(data[k]))) == 0 {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Options{}, fmt.Errorf("%w: secret has no %q and lacks %s", ErrMissingCredentials, SecretKeyToken, strings.Join(missing, ", "))
	}
	var err error
	if opts.AppID, err = strconv.ParseInt(strings.TrimSpace(string(data[SecretKeyAppID])), 10, 64); err != nil || opts.AppID <= 0 {
		return Options{}, fmt.Errorf("%w: secret key %s is not a positive integer", ErrMissingCredentials, SecretKeyAppID)
	}
	if opts.InstallationID, err = strconv.ParseInt(strings.TrimSpace(string(data[SecretKeyInstallationID])), 10, 64); err != nil || opts.InstallationID <= 0 {
		return Options{}, fmt.Errorf("%w: secret key %s is not a positive integer", ErrMissingCredentials, SecretKeyInstallationID)
	}
	opts.PrivateKey = data[SecretKeyPrivateKey]
	return opts, nil
}

// New builds a Provider.
func New(opts Options) (*Provider, error) {
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
		// The timeout bounds each attempt, not the whole call: an http.Client timeout would sit
		// above the retry transport and cut a legitimate rate-limit wait short.
		base, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			return nil, errors.New("configuring GitHub client: http.DefaultTransport is not an *http.Transport")
		}
		tr := base.Clone()
		tr.ResponseHeaderTimeout = opts.Timeout
		opts.Transport = tr
	}
	baseURL := opts.BaseURL
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}

	rt := &ratelimit.Transport{
		Base:  opts.Transport,
		Clock: opts.Clock,
		Policy: ratelimit.Policy{
			MaxWait: opts.MaxWait, BaseBackoff: opts.BaseBackoff, MaxBackoff: opts.MaxBackoff, Jitter: opts.Jitter,
		},
		Host: limits{},
	}
	clientOpts := []gh.ClientOptionsFunc{
		gh.WithURLs(&baseURL, &baseURL),
		// The retry transport owns rate limiting, on the injected clock.
		gh.WithDisableRateLimitCheck(),
		gh.WithUserAgent("heal8s"),
	}
	switch {
	case opts.Token != "" && opts.AppID != 0:
		return nil, fmt.Errorf("configuring GitHub client: both a token and an App identity are set; use one")
	case opts.Token != "":
		clientOpts = append(clientOpts, gh.WithHTTPClient(&http.Client{Transport: rt, CheckRedirect: sameHostRedirects}), gh.WithAuthToken(opts.Token))
	case opts.AppID != 0:
		itr, err := ghinstallation.New(rt, opts.AppID, opts.InstallationID, opts.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("configuring GitHub App %d installation %d: %w", opts.AppID, opts.InstallationID, err)
		}
		itr.BaseURL = strings.TrimSuffix(baseURL, "/")
		clientOpts = append(clientOpts, gh.WithHTTPClient(&http.Client{Transport: itr, CheckRedirect: sameHostRedirects}))
	default:
		return nil, fmt.Errorf("configuring GitHub client: %w", ErrMissingCredentials)
	}
	client, err := gh.NewClient(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("configuring GitHub client: %w", err)
	}
	return &Provider{client: client, transport: rt, clock: opts.Clock}, nil
}

// sameHostRedirects follows a redirect only to the scheme, host and port of the first request:
// the token or App credentials are added by the transport to every request, so a redirect to
// another host would carry them there.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if !gitaccess.SameHost(via[0].URL, req.URL) {
		return fmt.Errorf("refusing to follow a redirect from %s to another host %s", via[0].URL.Host, req.URL.Host)
	}
	return nil
}
