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

// Package gitaccess decides whether a RemediationPolicy may use a Git credential Secret, and
// where that credential may be sent. It is the one place the rule lives: the Remediation
// reconciler, the pull request poller and the admission webhook all ask it, so a cluster with
// webhooks off is guarded exactly like one with them on.
//
// The rule, in the spirit of cert-manager's Issuer/ClusterIssuer split and Flux's refusal of
// cross-namespace references:
//
//   - the platform lists the Git API hosts heal8s may talk to (--git-hosts), https only unless
//     --git-allow-insecure-http;
//   - a credential Secret (always in the operator namespace) says which host it was issued for
//     (annotation heal8s.io/git-host, default github.com), which namespaces' policies may use it
//     (heal8s.io/allowed-namespaces) and, optionally, for which repositories
//     (heal8s.io/allowed-repositories);
//   - a policy in the operator namespace may use any Secret there; a policy elsewhere only a
//     Secret that grants its namespace;
//   - whoever uses it, a credential only ever goes to the host it was issued for, and only if
//     that host is allowlisted.
//
// Authorize is pure: no client, no network, table-tested.
package gitaccess

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Annotations of a credential Secret.
const (
	// AnnotationGitHost names the Git host the credential was issued for: "github.com" (which
	// covers https://api.github.com) or a GitHub Enterprise host such as "ghe.example.com"
	// (which covers https://ghe.example.com/api/v3/). Absent means github.com.
	AnnotationGitHost = "heal8s.io/git-host"
	// AnnotationAllowedNamespaces lists the namespaces (comma-separated path.Match patterns, or
	// "*") whose policies may use the Secret. Policies in the operator namespace need no grant.
	AnnotationAllowedNamespaces = "heal8s.io/allowed-namespaces"
	// AnnotationAllowedRepositories, when set, lists the repositories (comma-separated
	// owner/name path.Match patterns, compared case-insensitively) the credential may be used
	// for, by any policy.
	AnnotationAllowedRepositories = "heal8s.io/allowed-repositories"
)

// DefaultHost is github.com: the host of a policy without baseURL, of a Secret without
// heal8s.io/git-host, and the default of --git-hosts.
const DefaultHost = "github.com"

// githubAPIHost is github.com's API host; it belongs to github.com.
const githubAPIHost = "api.github.com"

// ErrDenied means the policy may not use the credential, or not for that host or repository.
// Its message says which rule refused and how to grant access; it never contains a secret.
var ErrDenied = errors.New("git access denied")

// Config is the platform's side of the rule: the manager's flags.
type Config struct {
	// OperatorNamespace holds the credential Secrets; its policies may use any of them.
	OperatorNamespace string
	// Hosts is the allowlist of Git hosts (canonical, see CanonicalHost); empty means
	// DefaultHost only.
	Hosts []string
	// AllowInsecureHTTP lets a baseURL use plain http (local tests with a fake GitHub only).
	AllowInsecureHTTP bool
}

// ParseHosts reads a --git-hosts value: comma-separated hosts, each "name" or "name:port".
func ParseHosts(list string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		h, err := CanonicalHost(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no Git host given")
	}
	return out, nil
}

// hostname is a DNS name or an IPv4 address: letters, digits, dots and hyphens.
var hostname = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// CanonicalHost checks and normalises a Git host as written in --git-hosts or the
// heal8s.io/git-host annotation: lower case, "name" or "name:port", no scheme or path.
// api.github.com is github.com.
func CanonicalHost(s string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(s))
	if strings.ContainsAny(h, "/@?#[] ") {
		return "", fmt.Errorf("git host %q is not a host name (write ghe.example.com, without scheme or path)", s)
	}
	name, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		name, port = h[:i], h[i+1:]
		if port == "" || strings.Trim(port, "0123456789") != "" || len(port) > 5 {
			return "", fmt.Errorf("git host %q: the port is not a number", s)
		}
	}
	if !hostname.MatchString(name) || len(name) > 253 {
		return "", fmt.Errorf("git host %q is not a host name (write ghe.example.com, without scheme or path)", s)
	}
	if name == githubAPIHost {
		name = DefaultHost
	}
	if port != "" {
		return name + ":" + port, nil
	}
	return name, nil
}

// Endpoint is where a policy's requests go: the Git host they belong to and the API root.
type Endpoint struct {
	// Host is the canonical Git host (github.com, ghe.example.com, 127.0.0.1:8080).
	Host string
	// BaseURL is the API root to give the provider: "" for github.com's https://api.github.com/.
	BaseURL string
}

// ParseBaseURL reads a policy's spec.git.baseURL into the host it addresses. It checks the form
// only; Config.CheckBaseURL also checks the scheme and the allowlist.
func ParseBaseURL(baseURL string) (Endpoint, string, error) {
	if strings.TrimSpace(baseURL) == "" {
		return Endpoint{Host: DefaultHost}, "https", nil
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("baseURL %q is not a URL: %w", baseURL, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return Endpoint{}, "", fmt.Errorf("baseURL %q must be an https URL such as https://ghe.example.com/api/v3", baseURL)
	case u.Host == "" || u.Opaque != "":
		return Endpoint{}, "", fmt.Errorf("baseURL %q has no host", baseURL)
	case u.User != nil:
		return Endpoint{}, "", fmt.Errorf("baseURL %q must not carry user information", baseURL)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return Endpoint{}, "", fmt.Errorf("baseURL %q must not have a query or fragment", baseURL)
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		return Endpoint{}, "", fmt.Errorf("baseURL %q: IPv6 addresses are not supported, use a host name", baseURL)
	}
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	canonical, err := CanonicalHost(host)
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("baseURL %q: %w", baseURL, err)
	}
	return Endpoint{Host: canonical, BaseURL: baseURL}, u.Scheme, nil
}

// CheckBaseURL is the admission check of spec.git.baseURL: a well-formed https URL (http only
// with AllowInsecureHTTP) whose host is allowlisted. It returns the endpoint.
func (c Config) CheckBaseURL(baseURL string) (Endpoint, error) {
	ep, scheme, err := ParseBaseURL(baseURL)
	if err != nil {
		return Endpoint{}, err
	}
	if scheme == "http" && !c.AllowInsecureHTTP {
		return Endpoint{}, fmt.Errorf("baseURL %q uses plain http; heal8s sends credentials over https only", baseURL)
	}
	if !slices.Contains(c.hosts(), ep.Host) {
		return Endpoint{}, fmt.Errorf("host %s of baseURL is not one of the Git hosts this heal8s may talk to (%s, flag --git-hosts)",
			ep.Host, strings.Join(c.hosts(), ", "))
	}
	return ep, nil
}

func (c Config) hosts() []string {
	if len(c.Hosts) == 0 {
		return []string{DefaultHost}
	}
	return c.Hosts
}

// Request is one use of a credential: which policy, for which repository and address, with
// which Secret (only its name and annotations: the data plays no part in the decision).
type Request struct {
	// PolicyNamespace and PolicyName identify the policy (the name only for messages).
	PolicyNamespace, PolicyName string
	// Repository is "owner/name".
	Repository string
	// BaseURL is the policy's spec.git.baseURL.
	BaseURL string
	// SecretName and SecretAnnotations describe the Secret in the operator namespace.
	SecretName        string
	SecretAnnotations map[string]string
}

// Authorize decides whether the request may use the credential, and returns the one endpoint
// it may be sent to. Every refusal wraps ErrDenied.
func (c Config) Authorize(r Request) (Endpoint, error) {
	secret := c.OperatorNamespace + "/" + r.SecretName
	deny := func(format string, args ...any) (Endpoint, error) {
		return Endpoint{}, fmt.Errorf("%w: %s", ErrDenied, fmt.Sprintf(format, args...))
	}
	ep, err := c.CheckBaseURL(r.BaseURL)
	if err != nil {
		return deny("%v", err)
	}
	issuedFor := DefaultHost
	if v, ok := r.SecretAnnotations[AnnotationGitHost]; ok {
		if issuedFor, err = CanonicalHost(v); err != nil {
			return deny("Secret %s: annotation %s: %v", secret, AnnotationGitHost, err)
		}
	}
	if ep.Host != issuedFor {
		return deny("Secret %s was issued for %s (annotation %s), but the policy sends it to %s; a credential only goes to its own host",
			secret, issuedFor, AnnotationGitHost, ep.Host)
	}
	if r.PolicyNamespace != c.OperatorNamespace {
		if !matchesAny(r.SecretAnnotations[AnnotationAllowedNamespaces], r.PolicyNamespace, false) {
			return deny("Secret %s does not grant namespace %s: only policies in %s may use it unless its annotation %s lists %s",
				secret, r.PolicyNamespace, c.OperatorNamespace, AnnotationAllowedNamespaces, r.PolicyNamespace)
		}
	}
	if repos, ok := r.SecretAnnotations[AnnotationAllowedRepositories]; ok {
		if !matchesAny(repos, r.Repository, true) {
			return deny("Secret %s is not for repository %s (annotation %s)", secret, r.Repository, AnnotationAllowedRepositories)
		}
	}
	return ep, nil
}

// matchesAny reports whether value matches one of the comma-separated path.Match patterns.
func matchesAny(patterns, value string, fold bool) bool {
	if fold {
		value = strings.ToLower(value)
	}
	for p := range strings.SplitSeq(patterns, ",") {
		p = strings.TrimSpace(p)
		if fold {
			p = strings.ToLower(p)
		}
		if p == "" {
			continue
		}
		if ok, err := path.Match(p, value); err == nil && ok {
			return true
		}
	}
	return false
}

// SameHost reports whether two URLs address the same scheme, host and port; the GitHub client
// follows a redirect only then, so a credential never leaves its host through a redirect.
func SameHost(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "http" {
			return "80"
		}
		return "443"
	}
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}
