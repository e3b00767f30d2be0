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
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/fake"
	"github.com/heal8s/heal8s/internal/gitprovider/github"
	"github.com/heal8s/heal8s/internal/gitprovider/providertest"
)

const repoName = "acme/deploy"

var t0 = time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)

type env struct {
	srv   *fake.Server
	clock *fake.Clock
	p     *github.Provider
}

// newEnv starts a fake GitHub on a manual clock with the contract's repository, and a provider
// whose backoff has no jitter so waits can be asserted exactly.
func newEnv(t *testing.T, adjust ...func(*github.Options)) env {
	t.Helper()
	clock := fake.NewClock(t0)
	srv, err := fake.New(fake.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := srv.NewRepo(repoName, providertest.Files()); err != nil {
		t.Fatal(err)
	}
	adjust = append([]func(*github.Options){func(o *github.Options) {
		o.Jitter = func(d time.Duration) time.Duration { return d }
	}}, adjust...)
	p, err := srv.Provider(adjust...)
	if err != nil {
		t.Fatal(err)
	}
	return env{srv: srv, clock: clock, p: p}
}

func (e env) harness() providertest.Harness {
	return providertest.Harness{Provider: e.p, Backend: e.srv, Repository: repoName, Faults: e.srv}
}

func TestContractAgainstFakeGitHub(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providertest.Harness {
		t.Helper()
		return newEnv(t).harness()
	})
}

func TestContractWithGitHubAppOnEnterpriseURL(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	providertest.Run(t, func(t *testing.T) providertest.Harness {
		t.Helper()
		// The wall clock: ghinstallation judges the token's expiry by it.
		srv, err := fake.New(fake.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		if err := srv.NewRepo(repoName, providertest.Files()); err != nil {
			t.Fatal(err)
		}
		e := env{srv: srv}
		e.srv.RegisterApp(42, 4242, &key.PublicKey)
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		opts, err := github.OptionsFromSecretData(map[string][]byte{
			"appID": []byte("42"), "installationID": []byte("4242\n"), "privateKey": pemKey,
		}, e.srv.URL()+"api/v3/")
		if err != nil {
			t.Fatal(err)
		}
		p, err := github.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			calls := e.srv.Calls()
			if len(calls) > 0 && e.srv.IssuedTokens() == 0 {
				t.Error("the App never exchanged its JWT for an installation token")
			}
			for _, c := range calls {
				if c.Status == http.StatusUnauthorized {
					t.Errorf("call refused: %s", c)
				}
			}
		})
		return providertest.Harness{Provider: p, Backend: e.srv, Repository: repoName}
	})
}

func TestAppAuthWithWrongKeyIsRefused(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	registered, err := rsa.GenerateKey(rand.Reader, 1024)
	g.Expect(err).NotTo(HaveOccurred())
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	g.Expect(err).NotTo(HaveOccurred())
	e.srv.RegisterApp(42, 4242, &registered.PublicKey)
	p, err := github.New(github.Options{
		BaseURL: e.srv.URL(), AppID: 42, InstallationID: 4242, Clock: e.clock,
		PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)}),
	})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).To(HaveOccurred())
	g.Expect(e.srv.IssuedTokens()).To(BeZero())
}

// TestProposeHappyPathCalls pins the API calls of one Proposal: seven, in this order.
func TestProposeHappyPathCalls(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	before := e.p.Calls()
	_, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.p.Calls() - before).To(BeEquivalentTo(7))
	g.Expect(callStrings(e.srv.Calls())).To(Equal([]string{
		"GET /repos/acme/deploy/git/ref/heads/main -> 200",
		"GET /repos/acme/deploy/pulls?head=acme%3Aheal8s%2Fa&per_page=100&state=all -> 200",
		"GET /repos/acme/deploy/contents/apps/shop/web.yaml?ref=SHA -> 200",
		"POST /repos/acme/deploy/git/refs -> 201",
		"PUT /repos/acme/deploy/contents/apps/shop/web.yaml -> 200",
		"POST /repos/acme/deploy/pulls -> 201",
		"POST /repos/acme/deploy/issues/1/labels -> 200",
	}))

	e.srv.ResetCalls()
	_, err = e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(callStrings(e.srv.Calls())).To(Equal([]string{
		"GET /repos/acme/deploy/git/ref/heads/main -> 200",
		"GET /repos/acme/deploy/pulls?head=acme%3Aheal8s%2Fa&per_page=100&state=all -> 200",
		"GET /repos/acme/deploy/git/commits/SHA -> 200",
	}), "a repeated Propose finds the pull request, and checks its head commit is its own, in three calls")
}

// callStrings renders calls with commit shas replaced, so the list reads as documentation.
func callStrings(calls []fake.Call) []string {
	var out []string
	for _, c := range calls {
		s := c.String()
		for _, marker := range []string{"ref=", "/git/commits/"} {
			if i := strings.Index(s, marker); i >= 0 && len(s) >= i+len(marker)+40 {
				s = s[:i+len(marker)] + "SHA" + s[i+len(marker)+40:]
			}
		}
		out = append(out, s)
	}
	return out
}

// TestProposeSurvivesACrashAtAnyPoint stops the client after each call of the happy path (and
// drops the response of each call GitHub already applied), then retries: the end state is always
// one branch, one commit touching only the file, one labelled pull request.
func TestProposeSurvivesACrashAtAnyPoint(t *testing.T) {
	for _, lose := range []bool{false, true} {
		for n := 0; n <= 6; n++ {
			if lose && n == 0 {
				continue
			}
			t.Run(fmt.Sprintf("lose-response=%t/after-%d-calls", lose, n), func(t *testing.T) {
				g := NewWithT(t)
				e := newEnv(t)
				if lose {
					e.srv.LoseResponseOf(n)
				} else {
					e.srv.CrashAfter(n)
				}
				_, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
				if n < 6 || lose {
					g.Expect(err).To(HaveOccurred(), "the crash must surface")
				}
				e.srv.ClearFaults()
				pr, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(pr.State).To(Equal(gitprovider.StateOpen))
				g.Expect(pr.Labels).To(ConsistOf("heal8s", "IncreaseMemory"))
				providertest.ExpectOne(g, e.harness(), "heal8s/a")
				prs, err := e.srv.PullRequests(repoName)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(prs[0].Labels).To(ConsistOf("heal8s", "IncreaseMemory"))
			})
		}
	}
}

// TestProposeResumesWhenTheBaseMovedAfterACrash: the branch was created, then someone pushed to
// main. The retry moves the empty branch to the new base so the diff stays one file.
func TestProposeResumesWhenTheBaseMovedAfterACrash(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.srv.CrashAfter(3) // base ref, read, create branch
	_, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).To(HaveOccurred())
	e.srv.ClearFaults()
	_, err = e.srv.CommitFiles(repoName, "main", map[string]string{"README.md": "# moved\n"}, "someone else")
	g.Expect(err).NotTo(HaveOccurred())

	_, err = e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	providertest.ExpectOne(g, e.harness(), "heal8s/a")
	d, err := e.srv.Diff(repoName, "main", "heal8s/a")
	g.Expect(err).NotTo(HaveOccurred())
	main, err := e.srv.Diff(repoName, "heal8s/a", "main")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(main.Commits).To(BeEmpty(), "the branch contains the new base")
	g.Expect(d.Files).To(Equal([]string{providertest.EditPath}))
}

func TestProposeAfterMergeAndBranchDeletionFindsTheMergedPR(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	pr, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.srv.MergePR(repoName, pr.Number)).To(Succeed())
	g.Expect(e.srv.DeleteBranch(repoName, "heal8s/a")).To(Succeed())
	again, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Number).To(Equal(pr.Number))
	g.Expect(again.State).To(Equal(gitprovider.StateMerged))
	n, err := e.srv.PullRequestCount(repoName)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(Equal(1))
}

func TestRateLimits(t *testing.T) {
	tests := []struct {
		name string
		// setup arms the fake and returns the earliest time a call may follow the limit.
		setup func(e env) time.Time
		// want403 is how many 403s the log may hold: the one that taught the client the limit.
		want403 int
	}{
		{
			name: "primary limit exhausted: wait for X-RateLimit-Reset, not a second before",
			setup: func(e env) time.Time {
				reset := t0.Add(17 * time.Minute)
				e.srv.SetRateLimit(0, reset)
				return reset
			},
			want403: 1,
		},
		{
			name: "last call of the budget: the next call waits for the reset without being refused",
			setup: func(e env) time.Time {
				reset := t0.Add(5 * time.Minute)
				e.srv.SetRateLimit(1, reset)
				return reset
			},
			want403: 0,
		},
		{
			name: "secondary limit: honour Retry-After",
			setup: func(e env) time.Time {
				e.srv.SecondaryRateLimit(1, 90*time.Second)
				return t0.Add(90 * time.Second)
			},
			want403: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, func(o *github.Options) { o.MaxWait = time.Hour })
			notBefore := tc.setup(e)
			pr, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pr.Number).To(Equal(1))
			refused := 0
			for i, c := range e.srv.Calls() {
				if c.Status == http.StatusForbidden {
					refused++
					continue
				}
				if i > 0 {
					g.Expect(c.At).NotTo(BeTemporally("<", notBefore), "call %s sent before the limit lifted", c)
				}
			}
			g.Expect(refused).To(Equal(tc.want403))
			g.Expect(e.clock.Now()).To(BeTemporally(">=", notBefore))
			g.Expect(e.clock.Now()).To(BeTemporally("<", notBefore.Add(time.Second)), "no needless waiting")
		})
	}
}

func TestServerErrorsBackOffThenSucceed(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	e.srv.FailNext(3, http.StatusBadGateway)
	before := e.p.Calls()
	_, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.clock.Sleeps()).To(Equal([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}))
	g.Expect(e.p.Calls()-before).To(BeEquivalentTo(10), "three failures, then the seven calls")
	providertest.ExpectOne(g, e.harness(), "heal8s/a")
}

func TestDefaultJitterStaysWithinBounds(t *testing.T) {
	g := NewWithT(t)
	clock := fake.NewClock(t0)
	srv, err := fake.New(fake.Options{Clock: clock})
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	g.Expect(srv.NewRepo(repoName, providertest.Files())).To(Succeed())
	p, err := srv.Provider()
	g.Expect(err).NotTo(HaveOccurred())
	srv.FailNext(4, http.StatusServiceUnavailable)
	_, err = p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	sleeps := clock.Sleeps()
	g.Expect(sleeps).To(HaveLen(4))
	for i, d := range sleeps {
		full := time.Second << i
		g.Expect(d).To(BeNumerically(">=", full/2))
		g.Expect(d).To(BeNumerically("<=", full))
	}
}

func TestGiveUp(t *testing.T) {
	tests := []struct {
		name       string
		arm        func(e env)
		reason     string
		maxCalls   int
		budgetKept bool
	}{
		{
			name:     "server errors for longer than the budget",
			arm:      func(e env) { e.srv.FailNext(1000, http.StatusServiceUnavailable) },
			reason:   "HTTP 503",
			maxCalls: 10,
		},
		{
			name:     "a rate-limit reset beyond the budget is not waited for",
			arm:      func(e env) { e.srv.SetRateLimit(0, t0.Add(time.Hour)) },
			reason:   "primary rate limit exhausted until 2026-11-28T02:00:00Z",
			maxCalls: 1,
		},
		{
			name:     "a Retry-After beyond the budget is not waited for",
			arm:      func(e env) { e.srv.SecondaryRateLimit(1, 10*time.Minute) },
			reason:   "Retry-After 600s",
			maxCalls: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			e := newEnv(t, func(o *github.Options) { o.MaxWait = 2 * time.Minute })
			tc.arm(e)
			_, err := e.p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
			g.Expect(err).To(MatchError(gitprovider.ErrGaveUp))
			g.Expect(err.Error()).To(ContainSubstring(tc.reason))
			g.Expect(len(e.srv.Calls())).To(BeNumerically("<=", tc.maxCalls))
			g.Expect(e.clock.Now().Sub(t0)).To(BeNumerically("<=", 2*time.Minute), "the budget bounds the time spent")
		})
	}
}

func TestContextCancellationStopsWaiting(t *testing.T) {
	g := NewWithT(t)
	srv, err := fake.New(fake.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	g.Expect(srv.NewRepo(repoName, providertest.Files())).To(Succeed())
	p, err := srv.Provider()
	g.Expect(err).NotTo(HaveOccurred())
	srv.SecondaryRateLimit(1, 60*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = p.Propose(ctx, providertest.NewProposal(repoName, "a"))
	g.Expect(err).To(MatchError(context.DeadlineExceeded))
	g.Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
}

func TestOptionsFromSecretData(t *testing.T) {
	key := []byte("-----BEGIN RSA PRIVATE KEY-----\nsecretmaterial\n-----END RSA PRIVATE KEY-----\n")
	tests := []struct {
		name    string
		data    map[string][]byte
		wantErr string
		check   func(g Gomega, o github.Options)
	}{
		{
			name: "token wins",
			data: map[string][]byte{"token": []byte("ghp_secret\n"), "appID": []byte("1")},
			check: func(g Gomega, o github.Options) {
				g.Expect(o.Token).To(Equal("ghp_secret"))
				g.Expect(o.AppID).To(BeZero())
			},
		},
		{
			name: "app triple",
			data: map[string][]byte{"appID": []byte("12"), "installationID": []byte(" 34 "), "privateKey": key},
			check: func(g Gomega, o github.Options) {
				g.Expect(o.AppID).To(BeEquivalentTo(12))
				g.Expect(o.InstallationID).To(BeEquivalentTo(34))
				g.Expect(o.PrivateKey).To(Equal(key))
				g.Expect(o.BaseURL).To(Equal("https://ghe.example/api/v3/"))
			},
		},
		{name: "nothing", data: map[string][]byte{}, wantErr: "lacks appID, installationID, privateKey"},
		{name: "no private key", data: map[string][]byte{"appID": []byte("12"), "installationID": []byte("34")}, wantErr: "lacks privateKey"},
		{name: "app id not a number", data: map[string][]byte{"appID": []byte("twelve"), "installationID": []byte("34"), "privateKey": key}, wantErr: "appID is not a positive integer"},
		{name: "installation id negative", data: map[string][]byte{"appID": []byte("12"), "installationID": []byte("-3"), "privateKey": key}, wantErr: "installationID is not a positive integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			o, err := github.OptionsFromSecretData(tc.data, "https://ghe.example/api/v3/")
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(github.ErrMissingCredentials))
				g.Expect(err.Error()).To(ContainSubstring(tc.wantErr))
				g.Expect(err.Error()).NotTo(ContainSubstring("secretmaterial"))
				g.Expect(err.Error()).NotTo(ContainSubstring("twelve"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			tc.check(g, o)
		})
	}
}

func TestABadKeyFromSecretDataIsRejectedWithoutEchoingIt(t *testing.T) {
	g := NewWithT(t)
	opts, err := github.OptionsFromSecretData(map[string][]byte{
		"appID": []byte("1"), "installationID": []byte("2"), "privateKey": []byte("not-a-pem-secretmaterial"),
	}, "")
	if err == nil {
		_, err = github.New(opts)
	}
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).NotTo(ContainSubstring("secretmaterial"))
}

func TestPollerUsesETags(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.p.Propose(ctx, providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	human := providertest.NewProposal(repoName, "x")
	human.Branch = "feature/x"
	human.Edit = providertest.ReplaceEdit("kind: Deployment", "kind: Deployment\n# human")
	_, err = e.p.Propose(ctx, human)
	g.Expect(err).NotTo(HaveOccurred())

	pl := e.p.NewPoller("")
	prs, notModified, err := pl.ListPullRequests(ctx, repoName)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(notModified).To(BeFalse())
	g.Expect(prs).To(HaveLen(1), "only heal8s branches")
	g.Expect(prs[0].Number).To(Equal(a.Number))
	g.Expect(prs[0].State).To(Equal(gitprovider.StateOpen))

	e.srv.ResetCalls()
	prs, notModified, err = pl.ListPullRequests(ctx, repoName)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(notModified).To(BeTrue())
	g.Expect(prs).To(HaveLen(1))
	calls := e.srv.Calls()
	g.Expect(calls).To(HaveLen(1), "one list call per repository per poll")
	g.Expect(calls[0].Status).To(Equal(http.StatusNotModified))

	g.Expect(e.srv.MergePR(repoName, a.Number)).To(Succeed())
	prs, notModified, err = pl.ListPullRequests(ctx, repoName)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(notModified).To(BeFalse())
	g.Expect(prs[0].State).To(Equal(gitprovider.StateMerged))
	g.Expect(prs[0].MergedAt).NotTo(BeNil())
}

func TestPollerNotModifiedCostsNoRateLimit(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	pl := e.p.NewPoller("")
	_, _, err := pl.ListPullRequests(ctx, repoName)
	g.Expect(err).NotTo(HaveOccurred())
	// One call of budget left: if a 304 spent any, the second poll would have to wait an hour.
	e.srv.SetRateLimit(1, t0.Add(time.Hour))
	for range 5 {
		_, notModified, err := pl.ListPullRequests(ctx, repoName)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(notModified).To(BeTrue())
	}
	for _, c := range e.srv.Calls() {
		g.Expect(c.Status).NotTo(Equal(http.StatusForbidden))
	}
	g.Expect(e.clock.Now()).To(Equal(t0), "a 304 spends no budget, so nothing waits for the reset")
}

func TestPollOnceReportsChangesOnly(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.p.Propose(ctx, providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())

	var got []gitprovider.PullRequest
	fail := false
	cb := func(_ context.Context, pr gitprovider.PullRequest) error {
		if fail {
			return fmt.Errorf("status patch conflict")
		}
		got = append(got, pr)
		return nil
	}
	pl := e.p.NewPoller("")
	g.Expect(pl.PollOnce(ctx, []string{repoName}, cb)).To(Succeed())
	g.Expect(got).To(HaveLen(1), "first sight is reported")
	g.Expect(pl.PollOnce(ctx, []string{repoName}, cb)).To(Succeed())
	g.Expect(got).To(HaveLen(1), "nothing changed (304): nothing reported")

	g.Expect(e.srv.ClosePR(repoName, a.Number)).To(Succeed())
	fail = true
	g.Expect(pl.PollOnce(ctx, []string{repoName}, cb)).To(MatchError(ContainSubstring("status patch conflict")))
	fail = false
	g.Expect(pl.PollOnce(ctx, []string{repoName}, cb)).To(Succeed())
	g.Expect(got).To(HaveLen(2), "a failed report is retried on the next poll")
	g.Expect(got[1].State).To(Equal(gitprovider.StateClosed))

	g.Expect(pl.PollOnce(ctx, []string{repoName, "acme/missing"}, cb)).To(MatchError(gitprovider.ErrNotFound))
}

func TestPollerRunsUntilCancelled(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := e.p.Propose(ctx, providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	rounds := 0
	repos := func() []string {
		rounds++
		if rounds == 3 {
			cancel()
		}
		return []string{repoName}
	}
	e.srv.ResetCalls()
	g.Expect(e.p.NewPoller("").Run(ctx, time.Minute, repos, func(context.Context, gitprovider.PullRequest) error { return nil })).To(Succeed())
	g.Expect(rounds).To(Equal(3))
	lists := 0
	for _, c := range e.srv.Calls() {
		if c.Method == http.MethodGet && strings.HasSuffix(c.Path, "/pulls") {
			lists++
		}
	}
	g.Expect(lists).To(BeNumerically("<=", 3), "one list call per repository per interval")
	g.Expect(e.clock.Sleeps()).To(ContainElement(time.Minute))
}

func TestFakeListensOnAFixedAddress(t *testing.T) {
	g := NewWithT(t)
	srv, err := fake.New(fake.Options{Addr: "127.0.0.1:0"})
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	g.Expect(srv.NewRepo(repoName, providertest.Files())).To(Succeed())
	p, err := srv.Provider()
	g.Expect(err).NotTo(HaveOccurred())
	_, err = p.Propose(context.Background(), providertest.NewProposal(repoName, "a"))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = fake.New(fake.Options{Addr: "256.0.0.1:1"})
	g.Expect(err).To(HaveOccurred())
}
