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

package notify

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// AddressPolicy is the platform's rule for where the manager may send notifications. A tenant
// writes the address (in a Secret of their namespace), and the manager posts from inside the
// cluster, so without it a Notifier would let a tenant reach what only the manager can reach:
// the cloud's metadata service, the API server, other namespaces' services (docs/security.md).
type AddressPolicy struct {
	// AllowedHosts, when not empty, are the only hosts allowed: "hooks.slack.com" is that host,
	// "*.webhook.office.com" its subdomains.
	AllowedHosts []string
	// AllowPrivate allows loopback and private addresses (RFC 1918, RFC 4193, CGNAT) and plain
	// http, for receivers inside the cluster. Link-local addresses (169.254.0.0/16 and fe80::/10,
	// where most metadata services live), the metadata services outside it (metadata),
	// unspecified and multicast ones are never allowed.
	AllowPrivate bool
}

// ParseAllowedHosts reads --notification-allowed-hosts: comma-separated hosts or *.domain.
func ParseAllowedHosts(s string) ([]string, error) {
	var out []string
	for h := range strings.SplitSeq(s, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		name := strings.TrimPrefix(h, "*.")
		if name == "" || strings.ContainsAny(name, "/:*@ ") {
			return nil, fmt.Errorf("%q is not a host or *.domain", h)
		}
		out = append(out, h)
	}
	return out, nil
}

// CheckURL parses a notification address and checks it against the policy, before any
// connection: scheme, credentials in the URL, the host allow-list, and a literal IP address.
func (p AddressPolicy) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("the address is not a URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowPrivate:
	default:
		return nil, fmt.Errorf("the address must use https (http only with --notification-allow-private-addresses)")
	}
	if u.User != nil {
		return nil, fmt.Errorf("the address must not carry a user or password")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return nil, fmt.Errorf("the address has no host")
	}
	if len(p.AllowedHosts) > 0 && !hostAllowed(p.AllowedHosts, host) {
		return nil, fmt.Errorf("host %q is not in --notification-allowed-hosts", host)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := p.checkIP(ip); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func hostAllowed(allowed []string, host string) bool {
	for _, a := range allowed {
		if d, ok := strings.CutPrefix(a, "*."); ok {
			if strings.HasSuffix(host, "."+d) {
				return true
			}
		} else if host == a {
			return true
		}
	}
	return false
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// metadata are cloud metadata services outside link-local space, never allowed: AWS's IPv6
// endpoint (a unique local address) and Alibaba Cloud's (in the CGNAT range).
var metadata = []netip.Prefix{netip.MustParsePrefix("fd00:ec2::254/128"), netip.MustParsePrefix("100.100.100.200/32")}

func (p AddressPolicy) checkIP(ip netip.Addr) error {
	ip = ip.Unmap()
	for _, m := range metadata {
		if m.Contains(ip) {
			return fmt.Errorf("address %s is a cloud metadata service: never allowed", ip)
		}
	}
	switch {
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("address %s is link-local, unspecified or multicast: never allowed", ip)
	case ip.IsLoopback(), ip.IsPrivate(), cgnat.Contains(ip):
		if !p.AllowPrivate {
			return fmt.Errorf("address %s is loopback or private: allowed only with --notification-allow-private-addresses", ip)
		}
	}
	return nil
}

// Client is the HTTP client deliveries use: it checks every address it connects to (so a name
// that resolves, or later re-resolves, to a forbidden address is refused), follows no redirect,
// uses no proxy from the environment, and gives up on one attempt after timeout.
func (p AddressPolicy) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout: timeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("reading the address dialled: %w", err)
			}
			return p.checkIP(ap.Addr())
		},
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
