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

package gitaccess

import (
	"net/url"
	"testing"

	. "github.com/onsi/gomega"
)

func TestAuthorize(t *testing.T) {
	const op = "heal8s-system"
	cfg := Config{OperatorNamespace: op, Hosts: []string{"github.com", "ghe.example.com"}}
	local := Config{OperatorNamespace: op, Hosts: []string{"127.0.0.1:8080"}, AllowInsecureHTTP: true}
	grant := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		cfg     Config
		req     Request
		want    Endpoint
		denied  string // a substring of the refusal; empty means allowed
		noMatch bool
	}{
		{name: "operator-namespace policy, plain Secret, github.com",
			req:  Request{PolicyNamespace: op, Repository: "acme/deploy", SecretName: "heal8s-github"},
			want: Endpoint{Host: "github.com"}},
		{name: "operator-namespace policy may use the receiver's token Secret, but only towards github.com",
			req:  Request{PolicyNamespace: op, Repository: "acme/deploy", SecretName: "heal8s-receiver-token"},
			want: Endpoint{Host: "github.com"}},
		{name: "operator-namespace policy cannot send a github.com credential to another host",
			req:    Request{PolicyNamespace: op, Repository: "acme/deploy", BaseURL: "https://ghe.example.com/api/v3", SecretName: "heal8s-github"},
			denied: "was issued for github.com"},
		{name: "team namespace without a grant is refused",
			req:    Request{PolicyNamespace: "team-a", Repository: "acme/deploy", SecretName: "heal8s-github"},
			denied: "does not grant namespace team-a"},
		{name: "team namespace naming the receiver's token is refused",
			req:    Request{PolicyNamespace: "team-a", Repository: "acme/deploy", SecretName: "heal8s-receiver-token"},
			denied: "does not grant namespace team-a"},
		{name: "team namespace granted by name",
			req: Request{PolicyNamespace: "team-a", Repository: "acme/deploy", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "team-b, team-a")},
			want: Endpoint{Host: "github.com"}},
		{name: "team namespace granted by pattern",
			req: Request{PolicyNamespace: "team-a", Repository: "acme/deploy", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "team-*")},
			want: Endpoint{Host: "github.com"}},
		{name: "team namespace granted by *",
			req: Request{PolicyNamespace: "team-a", Repository: "acme/deploy", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "*")},
			want: Endpoint{Host: "github.com"}},
		{name: "another namespace's grant does not count",
			req: Request{PolicyNamespace: "team-a", Repository: "acme/deploy", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "team-b,team-a2")},
			denied: "does not grant namespace team-a"},
		{name: "attacker baseURL with the platform Secret is refused before the namespace is even asked",
			req: Request{PolicyNamespace: "team-a", Repository: "acme/deploy", BaseURL: "https://evil.example/", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "*")},
			denied: "host evil.example of baseURL is not one of the Git hosts"},
		{name: "an allowlisted host the Secret was not issued for is refused",
			req: Request{PolicyNamespace: "team-a", Repository: "acme/deploy", BaseURL: "https://ghe.example.com/api/v3/", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "*")},
			denied: "was issued for github.com"},
		{name: "a GHE credential goes to its GHE host",
			req: Request{PolicyNamespace: "team-a", Repository: "acme/deploy", BaseURL: "https://GHE.example.com:443/api/v3/", SecretName: "ghe",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "team-a", AnnotationGitHost, "ghe.example.com")},
			want: Endpoint{Host: "ghe.example.com", BaseURL: "https://GHE.example.com:443/api/v3/"}},
		{name: "a GHE credential is not sent to github.com",
			req: Request{PolicyNamespace: op, Repository: "acme/deploy", SecretName: "ghe",
				SecretAnnotations: grant(AnnotationGitHost, "ghe.example.com")},
			denied: "was issued for ghe.example.com"},
		{name: "explicit api.github.com is github.com",
			req:  Request{PolicyNamespace: op, Repository: "acme/deploy", BaseURL: "https://api.github.com/", SecretName: "git"},
			want: Endpoint{Host: "github.com", BaseURL: "https://api.github.com/"}},
		{name: "http is refused without the flag",
			req:    Request{PolicyNamespace: op, Repository: "acme/deploy", BaseURL: "http://api.github.com/", SecretName: "git"},
			denied: "plain http"},
		{name: "http with the flag, on the allowlisted port",
			cfg: local,
			req: Request{PolicyNamespace: "team-a", Repository: "acme/deploy", BaseURL: "http://127.0.0.1:8080/", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "team-a", AnnotationGitHost, "127.0.0.1:8080")},
			want: Endpoint{Host: "127.0.0.1:8080", BaseURL: "http://127.0.0.1:8080/"}},
		{name: "another port of an allowlisted host is another host",
			cfg: local,
			req: Request{PolicyNamespace: "team-a", Repository: "acme/deploy", BaseURL: "http://127.0.0.1:9999/", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "team-a", AnnotationGitHost, "127.0.0.1:8080")},
			denied: "127.0.0.1:9999 of baseURL is not one of"},
		{name: "user information in baseURL is refused",
			req:    Request{PolicyNamespace: op, Repository: "acme/deploy", BaseURL: "https://github.com@evil.example/", SecretName: "git"},
			denied: "user information"},
		{name: "a malformed host annotation is refused",
			req: Request{PolicyNamespace: op, Repository: "acme/deploy", SecretName: "git",
				SecretAnnotations: grant(AnnotationGitHost, "https://github.com/")},
			denied: "is not a host name"},
		{name: "a repository outside allowed-repositories is refused",
			req: Request{PolicyNamespace: "team-a", Repository: "other/deploy", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "team-a", AnnotationAllowedRepositories, "acme/*")},
			denied: "is not for repository other/deploy"},
		{name: "allowed-repositories also binds the operator namespace",
			req: Request{PolicyNamespace: op, Repository: "other/deploy", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedRepositories, "acme/deploy")},
			denied: "is not for repository other/deploy"},
		{name: "allowed-repositories matches case-insensitively",
			req: Request{PolicyNamespace: "team-a", Repository: "Acme/Deploy", SecretName: "git",
				SecretAnnotations: grant(AnnotationAllowedNamespaces, "team-a", AnnotationAllowedRepositories, "acme/deploy, acme/infra")},
			want: Endpoint{Host: "github.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c := tc.cfg
			if c.OperatorNamespace == "" {
				c = cfg
			}
			got, err := c.Authorize(tc.req)
			if tc.denied != "" {
				g.Expect(err).To(MatchError(ErrDenied))
				g.Expect(err.Error()).To(ContainSubstring(tc.denied))
				g.Expect(got).To(Equal(Endpoint{}))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}

func TestAuthorizeDefaultsToGitHubOnly(t *testing.T) {
	g := NewWithT(t)
	c := Config{OperatorNamespace: "op"}
	_, err := c.Authorize(Request{PolicyNamespace: "op", Repository: "a/b", SecretName: "s"})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.Authorize(Request{PolicyNamespace: "op", Repository: "a/b", BaseURL: "https://ghe.example.com/api/v3", SecretName: "s",
		SecretAnnotations: map[string]string{AnnotationGitHost: "ghe.example.com"}})
	g.Expect(err).To(MatchError(ErrDenied))
}

func TestParseHosts(t *testing.T) {
	g := NewWithT(t)
	got, err := ParseHosts(" github.com, GHE.example.com ,api.github.com,127.0.0.1:8080,")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal([]string{"github.com", "ghe.example.com", "127.0.0.1:8080"}))
	for _, bad := range []string{"", " , ", "https://github.com", "ghe.example.com/api/v3", "host:", "host:http", "a b"} {
		_, err := ParseHosts(bad)
		g.Expect(err).To(HaveOccurred(), bad)
	}
}

func TestCheckBaseURL(t *testing.T) {
	g := NewWithT(t)
	c := Config{Hosts: []string{"github.com", "ghe.example.com"}}
	for _, ok := range []string{"", "https://api.github.com", "https://api.github.com/", "https://ghe.example.com/api/v3/", "https://ghe.example.com:443/api/v3"} {
		_, err := c.CheckBaseURL(ok)
		g.Expect(err).NotTo(HaveOccurred(), ok)
	}
	for _, bad := range []string{"http://api.github.com/", "https://evil.example/", "https://ghe.example.com:8443/api/v3", "ftp://ghe.example.com/",
		"ghe.example.com/api/v3", "https://u:p@ghe.example.com/", "https://ghe.example.com/?x=1", "https://ghe.example.com/#f", "https://[::1]/"} {
		_, err := c.CheckBaseURL(bad)
		g.Expect(err).To(HaveOccurred(), bad)
	}
}

func TestSameHost(t *testing.T) {
	g := NewWithT(t)
	u := func(s string) *url.URL {
		p, err := url.Parse(s)
		g.Expect(err).NotTo(HaveOccurred())
		return p
	}
	g.Expect(SameHost(u("https://api.github.com/a"), u("https://API.github.com:443/b"))).To(BeTrue())
	g.Expect(SameHost(u("https://api.github.com/a"), u("https://evil.example/a"))).To(BeFalse())
	g.Expect(SameHost(u("https://ghe.example.com/a"), u("http://ghe.example.com/a"))).To(BeFalse())
	g.Expect(SameHost(u("http://127.0.0.1:8080/"), u("http://127.0.0.1:8081/"))).To(BeFalse())
}
