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

package gitlab_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlab"
)

func fixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/merge_request_hook.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseMergeRequestEvent(t *testing.T) {
	base := fixture(t)
	merged := time.Date(2013, 12, 3, 17, 23, 34, 0, time.UTC)
	cases := []struct {
		name      string
		body      string
		wantErr   bool
		relevant  bool
		wantState gitprovider.State
	}{
		{name: "merged, as documented", body: base, relevant: true, wantState: gitprovider.StateMerged},
		{name: "older GitLab's date form", body: strings.ReplaceAll(base, `"updated_at": "2013-12-03T17:23:34Z"`, `"updated_at": "2013-12-03 17:23:34 UTC"`),
			relevant: true, wantState: gitprovider.StateMerged},
		{name: "closed", body: strings.NewReplacer(`"state": "merged"`, `"state": "closed"`, `"action": "merge"`, `"action": "close"`).Replace(base),
			relevant: true, wantState: gitprovider.StateClosed},
		{name: "reopened", body: strings.NewReplacer(`"state": "merged"`, `"state": "opened"`, `"action": "merge"`, `"action": "reopen"`).Replace(base),
			relevant: true, wantState: gitprovider.StateOpen},
		{name: "an update changes no state heal8s follows", body: strings.Replace(base, `"action": "merge"`, `"action": "update"`, 1)},
		{name: "not JSON", body: "{", wantErr: true},
		{name: "another kind of event", body: strings.Replace(base, `"object_kind": "merge_request"`, `"object_kind": "push"`, 1), wantErr: true},
		{name: "no object_attributes", body: `{"object_kind":"merge_request","project":{"path_with_namespace":"a/b"}}`, wantErr: true},
		{name: "a project path that is not group/project", body: strings.ReplaceAll(base, `"path_with_namespace": "acme/platform/deploy"`, `"path_with_namespace": "deploy"`), wantErr: true},
		{name: "an unreadable date", body: strings.Replace(base, `"updated_at": "2013-12-03T17:23:34Z"`, `"updated_at": "yesterday"`, 1), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			pr, relevant, err := gitlab.ParseMergeRequestEvent([]byte(tc.body))
			if tc.wantErr {
				g.Expect(err).To(HaveOccurred())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(relevant).To(Equal(tc.relevant))
			if !relevant {
				return
			}
			g.Expect(pr.Repository).To(Equal("acme/platform/deploy"))
			g.Expect(pr.Number).To(Equal(7))
			g.Expect(pr.Branch).To(Equal("heal8s/web-oom-4f2a"))
			g.Expect(pr.NodeID).To(Equal("gitlab-mr-90"))
			g.Expect(pr.URL).To(Equal("https://gitlab.example.com/acme/platform/deploy/-/merge_requests/7"))
			g.Expect(pr.HeadSHA).To(Equal("da1560886d4f094c3e6c9ef40349f7d38b5d27d7"))
			g.Expect(pr.Labels).To(Equal([]string{"heal8s"}))
			g.Expect(pr.State).To(Equal(tc.wantState))
			g.Expect(pr.UpdatedAt).To(Equal(merged))
			if tc.wantState == gitprovider.StateMerged {
				g.Expect(pr.MergedAt).NotTo(BeNil())
			} else {
				g.Expect(pr.MergedAt).To(BeNil())
			}
		})
	}
}

func TestWebhookHandler(t *testing.T) {
	body := fixture(t)
	cases := []struct {
		name       string
		method     string
		token      string
		event      string
		body       string
		callbackFn func(context.Context, gitprovider.PullRequest) error
		wantStatus int
		wantCalls  int
	}{
		{name: "a merge is reported", token: "s3cret", body: body, wantStatus: http.StatusOK, wantCalls: 1},
		{name: "no token", body: body, wantStatus: http.StatusUnauthorized},
		{name: "a wrong token", token: "s3cres", body: body, wantStatus: http.StatusUnauthorized},
		{name: "a longer token with the right prefix", token: "s3cret-and-more", body: body, wantStatus: http.StatusUnauthorized},
		{name: "GET", method: http.MethodGet, token: "s3cret", wantStatus: http.StatusMethodNotAllowed},
		{name: "another event is accepted and ignored", token: "s3cret", event: "Push Hook", body: body, wantStatus: http.StatusAccepted},
		{name: "a malformed body", token: "s3cret", body: "{", wantStatus: http.StatusBadRequest},
		{name: "a branch that is not heal8s's", token: "s3cret", body: strings.ReplaceAll(body, "heal8s/web-oom-4f2a", "feature/x"), wantStatus: http.StatusAccepted},
		{name: "too large", token: "s3cret", body: `{"x":"` + strings.Repeat("a", gitlab.MaxWebhookBody) + `"}`, wantStatus: http.StatusRequestEntityTooLarge},
		{name: "the callback fails: GitLab retries", token: "s3cret", body: body, wantStatus: http.StatusServiceUnavailable, wantCalls: 1,
			callbackFn: func(context.Context, gitprovider.PullRequest) error { return errors.New("conflict") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			calls := 0
			cb := func(ctx context.Context, pr gitprovider.PullRequest) error {
				calls++
				g.Expect(pr.State).To(Equal(gitprovider.StateMerged))
				if tc.callbackFn != nil {
					return tc.callbackFn(ctx, pr)
				}
				return nil
			}
			h, err := gitlab.NewWebhookHandler([]byte("  s3cret\n"), cb)
			g.Expect(err).NotTo(HaveOccurred())
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, gitlab.WebhookPath, strings.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("X-Gitlab-Token", tc.token)
			}
			event := tc.event
			if event == "" {
				event = "Merge Request Hook"
			}
			req.Header.Set("X-Gitlab-Event", event)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			g.Expect(rec.Code).To(Equal(tc.wantStatus))
			g.Expect(calls).To(Equal(tc.wantCalls))
		})
	}
}

func TestWebhookHandlerRefusesAnEmptyToken(t *testing.T) {
	g := NewWithT(t)
	_, err := gitlab.NewWebhookHandler([]byte(" \n"), func(context.Context, gitprovider.PullRequest) error { return nil })
	g.Expect(err).To(MatchError(gitlab.ErrEmptySecret))
}
