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
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	open := AddressPolicy{}
	private := AddressPolicy{AllowPrivate: true}
	listed := AddressPolicy{AllowedHosts: []string{"hooks.slack.com", "*.webhook.office.com"}}
	tests := []struct {
		p   AddressPolicy
		url string
		ok  bool
	}{
		{open, "https://hooks.slack.com/services/T000/B000/XXXX", true},
		{open, "http://hooks.slack.com/services/T000/B000/XXXX", false},
		{open, "https://user:pw@example.com/hook", false},
		{open, "ftp://example.com/", false},
		{open, "https://169.254.169.254/latest/meta-data/", false},
		{private, "http://169.254.169.254/latest/meta-data/", false},
		{private, "https://[fe80::1]/", false},
		{private, "https://[::ffff:169.254.169.254]/", false},
		{private, "http://[fd00:ec2::254]/latest/meta-data/", false},
		{private, "http://100.100.100.200/latest/meta-data/", false},
		{private, "http://100.100.100.201/", true},
		{open, "https://127.0.0.1:8443/", false},
		{open, "https://10.0.0.5/", false},
		{open, "https://[fd00::1]/", false},
		{open, "https://100.64.1.1/", false},
		{private, "http://127.0.0.1:8080/hook", true},
		{private, "https://10.0.0.5/", true},
		{open, "https://0.0.0.0/", false},
		{listed, "https://hooks.slack.com/services/x", true},
		{listed, "https://acme.webhook.office.com/webhookb2/x", true},
		{listed, "https://webhook.office.com.evil.example/x", false},
		{listed, "https://evil.example/x", false},
		{open, "not a url at all\x7f", false},
	}
	for _, tc := range tests {
		_, err := tc.p.CheckURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q) with %+v = %v, want ok %v", tc.url, tc.p, err, tc.ok)
		}
	}
}

func TestParseAllowedHosts(t *testing.T) {
	h, err := ParseAllowedHosts(" hooks.slack.com, *.webhook.office.com ,,")
	if err != nil || strings.Join(h, "|") != "hooks.slack.com|*.webhook.office.com" {
		t.Errorf("got %v %v", h, err)
	}
	for _, bad := range []string{"*.", "https://x", "a/b", "x:443", "*.*.x"} {
		if _, err := ParseAllowedHosts(bad); err == nil {
			t.Errorf("ParseAllowedHosts(%q) accepted", bad)
		}
	}
}

// A name that resolves to a forbidden address is refused when dialling, not only literal IPs:
// "localhost" passes CheckURL (it is a name) but the dial to 127.0.0.1 is refused.
func TestClientRefusesForbiddenAddressesAtDial(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	c := AddressPolicy{}.Client(2 * time.Second)
	if resp, err := c.Post(u, "application/json", strings.NewReader("{}")); err == nil {
		_ = resp.Body.Close()
		t.Fatal("a dial to loopback succeeded without AllowPrivate")
	}
	c = AddressPolicy{AllowPrivate: true}.Client(2 * time.Second)
	resp, err := c.Post(u, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("with AllowPrivate: %v", err)
	}
	_ = resp.Body.Close()
	if hits != 1 {
		t.Errorf("server saw %d requests, want 1", hits)
	}
}

// Redirects are not followed: a receiver cannot bounce the manager to another address.
func TestClientFollowsNoRedirect(t *testing.T) {
	target := 0
	dst := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { target++ }))
	defer dst.Close()
	src := httptest.NewServer(http.RedirectHandler(dst.URL, http.StatusTemporaryRedirect))
	defer src.Close()
	resp, err := AddressPolicy{AllowPrivate: true}.Client(2*time.Second).Post(src.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || target != 0 {
		t.Errorf("status %d, redirect target hit %d times", resp.StatusCode, target)
	}
}
