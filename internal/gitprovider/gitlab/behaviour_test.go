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
	"net/http"
	"regexp"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlab"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlabfake"
	"github.com/heal8s/heal8s/internal/gitprovider/providertest"
)

var sha = regexp.MustCompile(`[0-9a-f]{40}`)

func callStrings(calls []gitlabfake.Call) []string {
	out := make([]string, 0, len(calls))
	for _, c := range calls {
		out = append(out, sha.ReplaceAllString(c.String(), "SHA"))
	}
	return out
}

// TestProposeHappyPathCalls pins the API calls of one Proposal: five, in this order; the project
// path and the branch are URL-encoded into one path segment each.
func TestProposeHappyPathCalls(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	_, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.p.Calls()).To(BeEquivalentTo(5))
	g.Expect(callStrings(e.srv.Calls())).To(Equal([]string{
		"GET /projects/acme%2Fplatform%2Fdeploy/repository/branches/main -> 200",
		"GET /projects/acme%2Fplatform%2Fdeploy/merge_requests?per_page=100&source_branch=heal8s%2Fa&state=all&target_branch=main -> 200",
		"GET /projects/acme%2Fplatform%2Fdeploy/repository/files/apps%2Fshop%2Fweb.yaml/raw?ref=SHA -> 200",
		"POST /projects/acme%2Fplatform%2Fdeploy/repository/commits -> 201",
		"POST /projects/acme%2Fplatform%2Fdeploy/merge_requests -> 201",
	}))
	e.srv.ResetCalls()
	_, err = e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(callStrings(e.srv.Calls())).To(Equal([]string{
		"GET /projects/acme%2Fplatform%2Fdeploy/repository/branches/main -> 200",
		"GET /projects/acme%2Fplatform%2Fdeploy/merge_requests?per_page=100&source_branch=heal8s%2Fa&state=all&target_branch=main -> 200",
		"GET /projects/acme%2Fplatform%2Fdeploy/repository/commits/SHA -> 200",
	}), "a repeated Propose finds the merge request and checks its head commit is its own")
}

// TestListFilesFollowsPagination: a tree of more than one page (100 entries) is read whole.
func TestListFilesFollowsPagination(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	files := map[string]string{}
	for i := range 250 {
		files["apps/many/f"+time.Duration(i).String()+".yaml"] = "kind: ConfigMap\n"
	}
	_, err := e.srv.CommitFiles(repoName, "main", files, "many files")
	g.Expect(err).NotTo(HaveOccurred())
	p := providertest.NewProposal(repoName, "a")
	var listed []string
	inner := p.Edit
	p.Edit = func(ctx context.Context, repo gitprovider.Repo) (string, []byte, error) {
		var err error
		if listed, err = repo.ListFiles(ctx); err != nil {
			return "", nil, err
		}
		return inner(ctx, repo)
	}
	_, err = e.p.Propose(context.Background(), p)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(listed).To(HaveLen(250 + len(providertest.Files())))
	g.Expect(listed).To(ContainElement("apps/many/f249ns.yaml"))
	g.Expect(listed).NotTo(ContainElement("apps"), "directories are not files")
}

// TestRateLimitWaitsForRetryAfter: a 429 holds every call back for Retry-After, then the call
// goes through; past the budget the provider gives up with ErrGaveUp.
func TestRateLimitWaitsForRetryAfter(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.srv.RateLimitNext(1, 30*time.Second)
	start := e.clock.Now()
	_, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.clock.Sleeps()).To(Equal([]time.Duration{30 * time.Second}))
	g.Expect(e.clock.Now().Sub(start)).To(Equal(30 * time.Second))
	providertest.ExpectOne(g, e.harness(), "heal8s/a")

	short := newEnv(t, func(o *gitlab.Options) { o.MaxWait = 10 * time.Second })
	short.srv.RateLimitNext(1, time.Minute)
	_, err = short.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).To(MatchError(gitprovider.ErrGaveUp))
	g.Expect(err.Error()).To(ContainSubstring("429"))
	g.Expect(short.clock.Sleeps()).To(BeEmpty(), "no wait that cannot end within the budget")
}

func TestServerErrorsBackOffThenSucceed(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.srv.FailNext(3, http.StatusBadGateway)
	_, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.clock.Sleeps()).To(Equal([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}))
	g.Expect(e.p.Calls()).To(BeEquivalentTo(8), "three failures, then the five calls")
	providertest.ExpectOne(g, e.harness(), "heal8s/a")
}

func TestWrongTokenIsRefused(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t, func(o *gitlab.Options) { o.Token = "wrong" })
	_, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("401"))
	n, err := e.srv.PullRequestCount(repoName)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(BeZero())
}

// TestPollerReportsChangesOnce: a poll reports each heal8s merge request once per state.
func TestPollerReportsChangesOnce(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	pr, err := e.p.Propose(ctx, providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.srv.PushForeignBranch(repoName, "feature/x")).To(Succeed())
	_, err = e.srv.OpenForeignPR(repoName, "feature/x")
	g.Expect(err).NotTo(HaveOccurred())

	pl := e.p.NewPoller("")
	var got []gitprovider.PullRequest
	cb := func(_ context.Context, pr gitprovider.PullRequest) error { got = append(got, pr); return nil }
	g.Expect(pl.PollOnce(ctx, []string{repoName}, cb)).To(Succeed())
	g.Expect(got).To(HaveLen(1), "only heal8s branches")
	g.Expect(got[0].Number).To(Equal(pr.Number))
	g.Expect(got[0].State).To(Equal(gitprovider.StateOpen))
	g.Expect(pl.PollOnce(ctx, []string{repoName}, cb)).To(Succeed())
	g.Expect(got).To(HaveLen(1), "an unchanged state is not reported again")

	g.Expect(e.srv.MergePR(repoName, pr.Number)).To(Succeed())
	g.Expect(pl.PollOnce(ctx, []string{repoName}, cb)).To(Succeed())
	g.Expect(got).To(HaveLen(2))
	g.Expect(got[1].State).To(Equal(gitprovider.StateMerged))
	g.Expect(got[1].MergedAt).NotTo(BeNil())
}

func TestProviderCacheReusesAndReplaces(t *testing.T) {
	g := NewWithT(t)
	c := &gitlab.ProviderCache{}
	a, err := c.Get("ns/s", map[string][]byte{"token": []byte("t1")}, "https://gitlab.example.com")
	g.Expect(err).NotTo(HaveOccurred())
	b, err := c.Get("ns/s", map[string][]byte{"token": []byte("t1\n")}, "https://gitlab.example.com")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(b).To(BeIdenticalTo(a))
	rotated, err := c.Get("ns/s", map[string][]byte{"token": []byte("t2")}, "https://gitlab.example.com")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rotated).NotTo(BeIdenticalTo(a))
	_, err = c.Get("ns/s", map[string][]byte{"appID": []byte("1")}, "")
	g.Expect(err).To(MatchError(gitlab.ErrMissingCredentials))
}

func TestAPIRoot(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "https://gitlab.com/api/v4/",
		"https://gitlab.example.com":        "https://gitlab.example.com/api/v4/",
		"https://gitlab.example.com/":       "https://gitlab.example.com/api/v4/",
		"https://example.com/gitlab/api/v4": "https://example.com/gitlab/api/v4/",
	} {
		got, err := gitlab.APIRoot(in)
		if err != nil || got != want {
			t.Errorf("APIRoot(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := gitlab.APIRoot("gitlab.example.com"); err == nil {
		t.Error("a base URL without scheme must be refused")
	}
}
