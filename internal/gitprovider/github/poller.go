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

package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v88/github"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/ratelimit"
)

// DefaultBranchPrefix marks the branches heal8s opens pull requests from.
const DefaultBranchPrefix = gitprovider.BranchPrefix

// Poller learns pull request states when no webhook reaches the operator. Each poll is one list
// call per repository, sorted by last update, with the previous ETag: when nothing changed GitHub
// answers 304, which does not count against the rate limit. A pull request whose state changed
// since the last poll was updated, so it is on the first page unless more than 100 pull requests
// changed within one interval.
type Poller struct {
	p      *Provider
	prefix string

	mu    sync.Mutex
	cache map[string]pollEntry
	seen  map[string]gitprovider.State // "owner/name#number" -> last state reported
}

type pollEntry struct {
	etag string
	prs  []gitprovider.PullRequest
}

// NewPoller returns a poller over branches starting with prefix ("" means DefaultBranchPrefix).
func (p *Provider) NewPoller(prefix string) *Poller {
	if prefix == "" {
		prefix = DefaultBranchPrefix
	}
	return &Poller{p: p, prefix: prefix, cache: map[string]pollEntry{}, seen: map[string]gitprovider.State{}}
}

// ListPullRequests returns the heal8s pull requests of repository ("owner/name") with their
// states, most recently updated first. notModified reports a 304, when the answer is the
// previous one.
func (pl *Poller) ListPullRequests(ctx context.Context, repository string) (prs []gitprovider.PullRequest, notModified bool, err error) {
	owner, name, err := splitRepository(repository)
	if err != nil {
		return nil, false, err
	}
	ctx = ratelimit.WithBudget(ctx, pl.p.clock.Now())
	pl.mu.Lock()
	prev, known := pl.cache[repository]
	pl.mu.Unlock()

	u := fmt.Sprintf("repos/%s/%s/pulls?state=all&sort=updated&direction=desc&per_page=100", owner, name)
	req, err := pl.p.client.NewRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("building pull request list for %s: %w", repository, err)
	}
	if known && prev.etag != "" {
		req.Header.Set("If-None-Match", prev.etag)
	}
	var list []*gh.PullRequest
	resp, err := pl.p.client.Do(req, &list)
	if resp != nil && resp.StatusCode == http.StatusNotModified && known {
		return clonePRs(prev.prs), true, nil
	}
	if err != nil {
		if _, ok := errors.AsType[*gh.ErrorResponse](err); ok {
			err = mapErr(err)
		}
		return nil, false, fmt.Errorf("listing pull requests of %s: %w", repository, err)
	}
	out := []gitprovider.PullRequest{}
	for _, pr := range list {
		if strings.HasPrefix(pr.GetHead().GetRef(), pl.prefix) {
			out = append(out, convertPR(repository, pr))
		}
	}
	pl.mu.Lock()
	pl.cache[repository] = pollEntry{etag: resp.Header.Get("ETag"), prs: out}
	pl.mu.Unlock()
	return clonePRs(out), false, nil
}

func clonePRs(in []gitprovider.PullRequest) []gitprovider.PullRequest {
	return append([]gitprovider.PullRequest{}, in...)
}

// PollOnce lists each repository once and calls callback for every heal8s pull request seen for
// the first time or whose state changed since the last poll, the same callback the webhook
// handler takes. A failing repository or callback does not stop the others; the errors are
// joined, and a pull request whose callback failed is reported again next time.
func (pl *Poller) PollOnce(ctx context.Context, repositories []string, callback PullRequestCallback) error {
	var errs []error
	for _, repo := range repositories {
		prs, notModified, err := pl.ListPullRequests(ctx, repo)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if notModified {
			continue
		}
		for _, pr := range prs {
			key := fmt.Sprintf("%s#%d", pr.Repository, pr.Number)
			pl.mu.Lock()
			prev, ok := pl.seen[key]
			pl.mu.Unlock()
			if ok && prev == pr.State {
				continue
			}
			if err := callback(ctx, pr); err != nil {
				errs = append(errs, fmt.Errorf("reporting %s: %w", key, err))
				// Forget the ETag so the next poll lists again and retries this report.
				pl.mu.Lock()
				delete(pl.cache, repo)
				pl.mu.Unlock()
				continue
			}
			pl.mu.Lock()
			pl.seen[key] = pr.State
			pl.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// Run polls every interval until ctx ends. repositories is asked each round, so policies added
// or removed take effect without a restart. Errors are logged and the loop goes on.
func (pl *Poller) Run(ctx context.Context, interval time.Duration, repositories func() []string, callback PullRequestCallback) error {
	log := ctrl.LoggerFrom(ctx)
	for {
		if err := pl.PollOnce(ctx, repositories(), callback); err != nil {
			log.Error(err, "Polling pull requests failed")
		}
		if err := pl.p.clock.Sleep(ctx, interval); err != nil {
			return nil
		}
	}
}
