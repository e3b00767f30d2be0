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

package fake_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	gh "github.com/google/go-github/v88/github"
	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/fake"
	"github.com/heal8s/heal8s/internal/gitprovider/providertest"
)

var _ providertest.Backend = (*fake.Server)(nil)

const repo = "acme/deploy"

func start(t *testing.T) (*fake.Server, *gh.Client) {
	t.Helper()
	srv, err := fake.New(fake.Options{Clock: fake.NewClock(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := srv.NewRepo(repo, map[string]string{"a.yaml": "a: 1\n", "dir/b.yaml": "b: 1\n"}); err != nil {
		t.Fatal(err)
	}
	u := srv.URL()
	c, err := gh.NewClient(gh.WithURLs(&u, &u), gh.WithAuthToken(srv.Token()), gh.WithDisableRateLimitCheck())
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func status(err error) int {
	if er, ok := errors.AsType[*gh.ErrorResponse](err); ok {
		return er.Response.StatusCode
	}
	return 0
}

// branch makes branch from main with one commit changing path.
func branch(g Gomega, srv *fake.Server, c *gh.Client, name, path, content string) {
	ctx := context.Background()
	main, _, err := c.Git.GetRef(ctx, "acme", "deploy", "heads/main")
	g.Expect(err).NotTo(HaveOccurred())
	_, _, err = c.Git.CreateRef(ctx, "acme", "deploy", gh.CreateRef{Ref: "refs/heads/" + name, SHA: main.GetObject().GetSHA()})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CommitFiles(repo, name, map[string]string{path: content}, "change "+path)
	g.Expect(err).NotTo(HaveOccurred())
}

func TestFakeRefusesWhatGitHubRefuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		do   func(g Gomega, srv *fake.Server, c *gh.Client) error
		want int
	}{
		{
			name: "no token",
			do: func(_ Gomega, srv *fake.Server, _ *gh.Client) error {
				u := srv.URL()
				anon, _ := gh.NewClient(gh.WithURLs(&u, &u))
				_, _, err := anon.Git.GetRef(ctx, "acme", "deploy", "heads/main")
				return err
			},
			want: http.StatusUnauthorized,
		},
		{
			name: "unknown repository",
			do: func(_ Gomega, _ *fake.Server, c *gh.Client) error {
				_, _, err := c.Git.GetRef(ctx, "acme", "nope", "heads/main")
				return err
			},
			want: http.StatusNotFound,
		},
		{
			name: "a ref that exists",
			do: func(_ Gomega, _ *fake.Server, c *gh.Client) error {
				main, _, _ := c.Git.GetRef(ctx, "acme", "deploy", "heads/main")
				_, _, err := c.Git.CreateRef(ctx, "acme", "deploy", gh.CreateRef{Ref: "refs/heads/main", SHA: main.GetObject().GetSHA()})
				return err
			},
			want: http.StatusUnprocessableEntity,
		},
		{
			name: "a contents update with a stale sha",
			do: func(_ Gomega, _ *fake.Server, c *gh.Client) error {
				_, _, err := c.Repositories.UpdateFile(ctx, "acme", "deploy", "a.yaml", &gh.RepositoryContentFileOptions{
					Message: gh.Ptr("m"), Content: []byte("a: 2\n"), SHA: gh.Ptr("0000"), Branch: gh.Ptr("main"),
				})
				return err
			},
			want: http.StatusConflict,
		},
		{
			name: "a pull request without commits",
			do: func(g Gomega, _ *fake.Server, c *gh.Client) error {
				main, _, _ := c.Git.GetRef(ctx, "acme", "deploy", "heads/main")
				_, _, err := c.Git.CreateRef(ctx, "acme", "deploy", gh.CreateRef{Ref: "refs/heads/empty", SHA: main.GetObject().GetSHA()})
				g.Expect(err).NotTo(HaveOccurred())
				_, _, err = c.PullRequests.Create(ctx, "acme", "deploy", &gh.NewPullRequest{Title: gh.Ptr("t"), Head: gh.Ptr("empty"), Base: gh.Ptr("main")})
				return err
			},
			want: http.StatusUnprocessableEntity,
		},
		{
			name: "a second open pull request for the same branch",
			do: func(g Gomega, srv *fake.Server, c *gh.Client) error {
				branch(g, srv, c, "x", "a.yaml", "a: 2\n")
				np := &gh.NewPullRequest{Title: gh.Ptr("t"), Head: gh.Ptr("x"), Base: gh.Ptr("main")}
				_, _, err := c.PullRequests.Create(ctx, "acme", "deploy", np)
				g.Expect(err).NotTo(HaveOccurred())
				_, _, err = c.PullRequests.Create(ctx, "acme", "deploy", np)
				return err
			},
			want: http.StatusUnprocessableEntity,
		},
		{
			name: "a merge that conflicts",
			do: func(g Gomega, srv *fake.Server, c *gh.Client) error {
				branch(g, srv, c, "x", "a.yaml", "a: 2\n")
				pr, _, err := c.PullRequests.Create(ctx, "acme", "deploy", &gh.NewPullRequest{Title: gh.Ptr("t"), Head: gh.Ptr("x"), Base: gh.Ptr("main")})
				g.Expect(err).NotTo(HaveOccurred())
				_, err = srv.CommitFiles(repo, "main", map[string]string{"a.yaml": "a: 3\n"}, "concurrent")
				g.Expect(err).NotTo(HaveOccurred())
				_, _, err = c.PullRequests.Merge(ctx, "acme", "deploy", pr.GetNumber(), "", nil)
				return err
			},
			want: http.StatusMethodNotAllowed,
		},
		{
			name: "reopening a merged pull request",
			do: func(g Gomega, srv *fake.Server, c *gh.Client) error {
				branch(g, srv, c, "x", "a.yaml", "a: 2\n")
				pr, _, err := c.PullRequests.Create(ctx, "acme", "deploy", &gh.NewPullRequest{Title: gh.Ptr("t"), Head: gh.Ptr("x"), Base: gh.Ptr("main")})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(srv.MergePR(repo, pr.GetNumber())).To(Succeed())
				_, _, err = c.PullRequests.Edit(ctx, "acme", "deploy", pr.GetNumber(), &gh.PullRequest{State: gh.Ptr("open")})
				return err
			},
			want: http.StatusUnprocessableEntity,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			srv, c := start(t)
			err := tc.do(g, srv, c)
			g.Expect(err).To(HaveOccurred())
			g.Expect(status(err)).To(Equal(tc.want), err.Error())
		})
	}
}

func TestFakeMergeUpdatesBaseAndKeepsOtherChanges(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv, c := start(t)
	branch(g, srv, c, "x", "a.yaml", "a: 2\n")
	pr, _, err := c.PullRequests.Create(ctx, "acme", "deploy", &gh.NewPullRequest{Title: gh.Ptr("t"), Head: gh.Ptr("x"), Base: gh.Ptr("main")})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CommitFiles(repo, "main", map[string]string{"dir/b.yaml": "b: 2\n"}, "unrelated")
	g.Expect(err).NotTo(HaveOccurred())
	res, _, err := c.PullRequests.Merge(ctx, "acme", "deploy", pr.GetNumber(), "", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.GetMerged()).To(BeTrue())
	for path, want := range map[string]string{"a.yaml": "a: 2\n", "dir/b.yaml": "b: 2\n"} {
		got, err := srv.ReadFile(repo, "main", path)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want))
	}
	got, _, err := c.PullRequests.Get(ctx, "acme", "deploy", pr.GetNumber())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.GetMerged()).To(BeTrue())
	g.Expect(got.GetState()).To(Equal("closed"))
	_, err = srv.ReadFile(repo, "main", "missing.yaml")
	g.Expect(err).To(MatchError(gitprovider.ErrNotFound))
}

func TestFakeTreesAndLists(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	srv, c := start(t)

	flat, _, err := c.Git.GetTree(ctx, "acme", "deploy", "main", false)
	g.Expect(err).NotTo(HaveOccurred())
	var top []string
	for _, e := range flat.Entries {
		top = append(top, e.GetType()+" "+e.GetPath())
	}
	g.Expect(top).To(Equal([]string{"blob a.yaml", "tree dir"}))
	deep, _, err := c.Git.GetTree(ctx, "acme", "deploy", "main", true)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(deep.Entries).To(HaveLen(3))

	branch(g, srv, c, "heal8s/one", "a.yaml", "a: 2\n")
	branch(g, srv, c, "other", "dir/b.yaml", "b: 2\n")
	for _, h := range []string{"heal8s/one", "other"} {
		_, _, err := c.PullRequests.Create(ctx, "acme", "deploy", &gh.NewPullRequest{Title: gh.Ptr(h), Head: gh.Ptr(h), Base: gh.Ptr("main")})
		g.Expect(err).NotTo(HaveOccurred())
	}
	only, _, err := c.PullRequests.List(ctx, "acme", "deploy", &gh.PullRequestListOptions{Head: "acme:heal8s/one", State: "all"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(only).To(HaveLen(1))
	g.Expect(only[0].GetHead().GetRef()).To(Equal("heal8s/one"))
	g.Expect(srv.ClosePR(repo, 2)).To(Succeed())
	open, _, err := c.PullRequests.List(ctx, "acme", "deploy", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(open).To(HaveLen(1), "state defaults to open")
	labels, _, err := c.Issues.AddLabelsToIssue(ctx, "acme", "deploy", 1, []string{"heal8s", "heal8s", "ScaleUp"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(labels).To(HaveLen(2))
}
