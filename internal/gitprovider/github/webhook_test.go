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

package github_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/github"
)

const webhookSecret = "s3cr3t"

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func prEvent(action, branch string, merged bool) []byte {
	state := "open"
	mergedAt := "null"
	closedAt := "null"
	if action == "closed" {
		state = "closed"
		closedAt = `"2026-11-28T01:30:00Z"`
		if merged {
			mergedAt = closedAt
		}
	}
	return fmt.Appendf(nil, `{
  "action": %q,
  "number": 7,
  "pull_request": {
    "number": 7, "state": %q, "merged": %t, "merged_at": %s, "closed_at": %s,
    "html_url": "https://github.com/acme/deploy/pull/7",
    "head": {"ref": %q, "sha": "abc123"},
    "base": {"ref": "main", "sha": "def456"},
    "labels": [{"name": "heal8s"}]
  },
  "repository": {"full_name": "acme/deploy", "name": "deploy", "owner": {"login": "acme"}}
}`, action, state, merged, mergedAt, closedAt, branch)
}

type recorder struct {
	got []gitprovider.PullRequest
	err error
}

func (r *recorder) callback(_ context.Context, pr gitprovider.PullRequest) error {
	r.got = append(r.got, pr)
	return r.err
}

func TestWebhookHandler(t *testing.T) {
	merged := prEvent("closed", "heal8s/oom-web", true)
	tests := []struct {
		name      string
		method    string
		event     string
		body      []byte
		signature string // "" = sign with the right secret; "-" = no header
		cbErr     error
		wantCode  int
		wantState gitprovider.State // "" = callback not called
	}{
		{name: "merged", event: "pull_request", body: merged, wantCode: http.StatusOK, wantState: gitprovider.StateMerged},
		{name: "closed without merge", event: "pull_request", body: prEvent("closed", "heal8s/oom-web", false), wantCode: http.StatusOK, wantState: gitprovider.StateClosed},
		{name: "reopened", event: "pull_request", body: prEvent("reopened", "heal8s/oom-web", false), wantCode: http.StatusOK, wantState: gitprovider.StateOpen},
		{name: "opened", event: "pull_request", body: prEvent("opened", "heal8s/oom-web", false), wantCode: http.StatusOK, wantState: gitprovider.StateOpen},
		{name: "edited is ignored", event: "pull_request", body: prEvent("edited", "heal8s/oom-web", false), wantCode: http.StatusAccepted},
		{name: "another tool's branch is ignored", event: "pull_request", body: prEvent("closed", "feature/x", true), wantCode: http.StatusAccepted},
		{name: "ping", event: "ping", body: []byte(`{"zen":"Keep it logically awesome."}`), wantCode: http.StatusOK},
		{name: "other events are accepted and ignored", event: "push", body: []byte(`{}`), wantCode: http.StatusAccepted},
		{name: "missing signature", event: "pull_request", body: merged, signature: "-", wantCode: http.StatusUnauthorized},
		{name: "bad signature", event: "pull_request", body: merged, signature: "sha256=00", wantCode: http.StatusUnauthorized},
		{name: "sha1 signature only", event: "pull_request", body: merged, signature: "sha1=abc", wantCode: http.StatusUnauthorized},
		{name: "replayed body with another secret's signature", event: "pull_request", body: merged, signature: sign("other", merged), wantCode: http.StatusUnauthorized},
		{name: "tampered body with the original signature", event: "pull_request", body: prEvent("closed", "heal8s/oom-web", false), signature: sign(webhookSecret, merged), wantCode: http.StatusUnauthorized},
		{name: "oversize", event: "pull_request", body: bytes.Repeat([]byte("x"), github.MaxWebhookBody+1), wantCode: http.StatusRequestEntityTooLarge},
		{name: "not POST", method: http.MethodGet, event: "pull_request", body: nil, wantCode: http.StatusMethodNotAllowed},
		{name: "malformed json", event: "pull_request", body: []byte(`{"action":`), wantCode: http.StatusBadRequest},
		{name: "callback failure asks GitHub to retry", event: "pull_request", body: merged, cbErr: errors.New("conflict"), wantCode: http.StatusServiceUnavailable, wantState: gitprovider.StateMerged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			rec := &recorder{err: tc.cbErr}
			h, err := github.NewWebhookHandler([]byte(webhookSecret+"\n"), rec.callback)
			g.Expect(err).NotTo(HaveOccurred())
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, github.WebhookPath, bytes.NewReader(tc.body))
			req.Header.Set("X-GitHub-Event", tc.event)
			switch tc.signature {
			case "":
				req.Header.Set("X-Hub-Signature-256", sign(webhookSecret, tc.body))
			case "-":
			default:
				req.Header.Set("X-Hub-Signature-256", tc.signature)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			g.Expect(w.Code).To(Equal(tc.wantCode), w.Body.String())
			if tc.wantState == "" {
				g.Expect(rec.got).To(BeEmpty())
				return
			}
			g.Expect(rec.got).To(HaveLen(1))
			pr := rec.got[0]
			g.Expect(pr.State).To(Equal(tc.wantState))
			g.Expect(pr.Repository).To(Equal("acme/deploy"))
			g.Expect(pr.Number).To(Equal(7))
			g.Expect(pr.Branch).To(Equal("heal8s/oom-web"))
			g.Expect(pr.URL).To(Equal("https://github.com/acme/deploy/pull/7"))
		})
	}
}

func TestWebhookSecretFile(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "secret")
	g.Expect(os.WriteFile(good, []byte(webhookSecret+"\n"), 0o600)).To(Succeed())
	rec := &recorder{}
	h, err := github.NewWebhookHandlerFromFile(good, rec.callback)
	g.Expect(err).NotTo(HaveOccurred())
	body := prEvent("closed", "heal8s/a", true)
	req := httptest.NewRequest(http.MethodPost, github.WebhookPath, bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "pull_request")
	req.Header.Set("X-Hub-Signature-256", sign(webhookSecret, body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	g.Expect(w.Code).To(Equal(http.StatusOK))

	empty := filepath.Join(dir, "empty")
	g.Expect(os.WriteFile(empty, []byte(" \n"), 0o600)).To(Succeed())
	_, err = github.NewWebhookHandlerFromFile(empty, rec.callback)
	g.Expect(err).To(MatchError(github.ErrEmptySecret))
	_, err = github.NewWebhookHandlerFromFile(filepath.Join(dir, "missing"), rec.callback)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("reading webhook secret file"))
}

// FuzzWebhookPayload feeds signed arbitrary bodies: the handler must never panic and must answer
// with one of its documented codes.
func FuzzWebhookPayload(f *testing.F) {
	f.Add(prEvent("closed", "heal8s/a", true), "pull_request")
	f.Add([]byte(`{"action":"closed","pull_request":null}`), "pull_request")
	f.Add([]byte(`[]`), "ping")
	f.Fuzz(func(t *testing.T, body []byte, event string) {
		h, err := github.NewWebhookHandler([]byte(webhookSecret), func(context.Context, gitprovider.PullRequest) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, github.WebhookPath, bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-Hub-Signature-256", sign(webhookSecret, body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusAccepted, http.StatusBadRequest:
		default:
			t.Fatalf("unexpected status %d for event %q: %s", w.Code, event, strings.TrimSpace(w.Body.String()))
		}
	})
}

func TestWebhookServerRoutesOnlyTheWebhookPath(t *testing.T) {
	g := NewWithT(t)
	h, err := github.NewWebhookHandler([]byte(webhookSecret), (&recorder{}).callback)
	g.Expect(err).NotTo(HaveOccurred())
	s := github.NewWebhookServer(":0", h)
	g.Expect(s.ReadHeaderTimeout).To(BeNumerically(">", 0))
	g.Expect(s.MaxHeaderBytes).To(BeNumerically(">", 0))
	for path, want := range map[string]int{github.WebhookPath: http.StatusUnauthorized, "/other": http.StatusNotFound} {
		w := httptest.NewRecorder()
		s.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}")))
		g.Expect(w.Code).To(Equal(want), path)
	}
}
