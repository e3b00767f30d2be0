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

package gitlab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/ratelimit"
)

// Poller learns merge request states when no webhook reaches the operator: one list call per
// project and poll, most recently updated first. A merge request whose state changed since the
// last poll was updated, so it is on the first page unless more than 100 changed within one
// interval.
type Poller struct {
	p      *Provider
	prefix string

	mu   sync.Mutex
	seen map[string]gitprovider.State // "group/project!iid" -> last state reported
}

// NewPoller returns a poller over branches starting with prefix ("" means gitprovider.BranchPrefix).
func (p *Provider) NewPoller(prefix string) *Poller {
	if prefix == "" {
		prefix = gitprovider.BranchPrefix
	}
	return &Poller{p: p, prefix: prefix, seen: map[string]gitprovider.State{}}
}

// ListPullRequests returns the heal8s merge requests of a project with their states, most
// recently updated first.
func (pl *Poller) ListPullRequests(ctx context.Context, repository string) ([]gitprovider.PullRequest, error) {
	proj, err := projectPath(repository)
	if err != nil {
		return nil, err
	}
	ctx = ratelimit.WithBudget(ctx, pl.p.clock.Now())
	var list []mergeRequest
	q := url.Values{"state": {"all"}, "order_by": {"updated_at"}, "sort": {"desc"}, perPageParam: {"100"}}
	if _, _, err := pl.p.do(ctx, http.MethodGet, "projects/"+proj+"/merge_requests", q, nil, &list); err != nil {
		return nil, fmt.Errorf("listing merge requests of %s: %w", repository, err)
	}
	out := []gitprovider.PullRequest{}
	for _, mr := range list {
		if strings.HasPrefix(mr.SourceBranch, pl.prefix) {
			out = append(out, mr.convert(repository))
		}
	}
	return out, nil
}

// PollOnce lists each project once and calls callback for every heal8s merge request seen for
// the first time or whose state changed since the last poll. A failing project or callback does
// not stop the others; the errors are joined, and a merge request whose callback failed is
// reported again next time.
func (pl *Poller) PollOnce(ctx context.Context, repositories []string, callback gitprovider.PullRequestCallback) error {
	var errs []error
	for _, repo := range repositories {
		prs, err := pl.ListPullRequests(ctx, repo)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, pr := range prs {
			key := fmt.Sprintf("%s!%d", pr.Repository, pr.Number)
			pl.mu.Lock()
			prev, ok := pl.seen[key]
			pl.mu.Unlock()
			if ok && prev == pr.State {
				continue
			}
			if err := callback(ctx, pr); err != nil {
				errs = append(errs, fmt.Errorf("reporting %s: %w", key, err))
				continue
			}
			pl.mu.Lock()
			pl.seen[key] = pr.State
			pl.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// Run polls every interval until ctx ends.
func (pl *Poller) Run(ctx context.Context, interval time.Duration, repositories func() []string, callback gitprovider.PullRequestCallback) error {
	log := ctrl.LoggerFrom(ctx)
	for {
		if err := pl.PollOnce(ctx, repositories(), callback); err != nil {
			log.Error(err, "Polling merge requests failed")
		}
		if err := pl.p.clock.Sleep(ctx, interval); err != nil {
			return nil
		}
	}
}

// ProviderCache hands out one Provider per distinct token and base URL, so connections and
// rate-limit knowledge are reused across reconciles. A Secret that changes gets a new Provider.
type ProviderCache struct {
	// Adjust, when set, changes the options of every Provider built.
	Adjust func(*Options)

	mu        sync.Mutex
	providers map[string]*Provider
	byOwner   map[string]string
	pollers   map[*Provider]*Poller
}

// Get returns the Provider for a Secret's data and a base URL; owner names where the data came
// from, so a rotated Secret replaces its old Provider rather than adding one.
func (c *ProviderCache) Get(owner string, data map[string][]byte, baseURL string) (*Provider, error) {
	opts, err := OptionsFromSecretData(data, baseURL)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(baseURL + "\x00" + opts.Token))
	key := hex.EncodeToString(h[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.providers[key]; ok {
		return p, nil
	}
	if c.Adjust != nil {
		c.Adjust(&opts)
	}
	p, err := New(opts)
	if err != nil {
		return nil, err
	}
	if c.providers == nil {
		c.providers, c.byOwner, c.pollers = map[string]*Provider{}, map[string]string{}, map[*Provider]*Poller{}
	}
	if old, ok := c.byOwner[owner]; ok && old != key {
		delete(c.pollers, c.providers[old])
		delete(c.providers, old)
	}
	c.providers[key], c.byOwner[owner] = p, key
	return p, nil
}

// Poller returns the merge request poller of the Provider for these credentials, the same one
// each time, so it remembers which states it reported.
func (c *ProviderCache) Poller(owner string, data map[string][]byte, baseURL string) (*Poller, error) {
	p, err := c.Get(owner, data, baseURL)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pl, ok := c.pollers[p]
	if !ok {
		pl = p.NewPoller("")
		c.pollers[p] = pl
	}
	return pl, nil
}
