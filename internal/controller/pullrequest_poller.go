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

package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider"
)

// RepositoryPoller lists a repository's heal8s pull requests and reports new or changed states;
// gitprovider/github's Poller does it with one conditional request per repository.
type RepositoryPoller interface {
	PollOnce(ctx context.Context, repositories []string, callback gitprovider.PullRequestCallback) error
}

// PollerFactory returns the poller for credentials a policy was allowed to use (for their
// endpoint only); the same credentials must get the same poller, so its ETags (and the 304s
// they earn) are kept between rounds.
type PollerFactory func(creds GitCredentials) (RepositoryPoller, error)

// PullRequestPoller follows the pull requests of waiting GitOps remediations when GitHub's
// webhook is not configured (or missed an event): every Interval it makes one conditional list
// call per repository, not one call per pull request, and records what changed through Sync.
// It runs on the leader only.
type PullRequestPoller struct {
	// Client reads Remediations and policies from the cache.
	Client client.Client
	// APIReader reads the credentials Secret, so Secrets are never cached.
	APIReader         client.Reader
	OperatorNamespace string
	// GitAccess decides which policy may use which Secret towards which host, exactly as for
	// the Remediation reconciler; its OperatorNamespace defaults to OperatorNamespace.
	GitAccess gitaccess.Config
	Interval  time.Duration
	Pollers   PollerFactory
	Sync      *PullRequestSync
}

// NeedLeaderElection is true: one replica polling is enough, and spares the rate limit.
func (p *PullRequestPoller) NeedLeaderElection() bool { return true }

// Start polls until ctx ends.
func (p *PullRequestPoller) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("pull-request-poller")
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := p.PollOnce(ctx); err != nil {
			log.Error(err, "Polling pull requests failed")
		}
	}
}

// PollOnce polls every repository that has a remediation waiting on a pull request.
func (p *PullRequestPoller) PollOnce(ctx context.Context) error {
	// The cache's objects, not deep copies (nothing here changes them): with 10,000 Remediations
	// in the cluster a deep copy of each, every poll, was a transient of tens of MB.
	list := &v1beta1.RemediationList{}
	if err := p.Client.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing Remediations: %w", err)
	}
	// Each waiting pull request is polled in the repository it was opened in, with its policy's
	// credentials, if the policy may still use them for that repository.
	type use struct {
		policy     types.NamespacedName
		repository string
	}
	waiting := map[use]bool{}
	for i := range list.Items {
		r := &list.Items[i]
		if r.Status.PullRequest == nil || (r.Status.Phase != v1beta1.PhaseProposed && r.Status.Phase != v1beta1.PhaseAwaitingMerge) {
			continue
		}
		waiting[use{policy: types.NamespacedName{Namespace: r.Spec.PolicyRef.Namespace, Name: r.Spec.PolicyRef.Name},
			repository: r.Status.PullRequest.Repository}] = true
	}
	cfg := gitAccessConfig(p.GitAccess, p.OperatorNamespace)
	var errs []error
	byPoller := map[RepositoryPoller][]string{}
	for u := range waiting {
		policy := &v1beta1.RemediationPolicy{}
		if err := p.Client.Get(ctx, u.policy, policy); err != nil || policy.Spec.Git == nil {
			continue // the Remediation reconciler reports a missing policy
		}
		repository := u.repository
		if repository == "" {
			// Recorded before heal8s kept the repository: the policy's.
			repository = policy.Spec.Git.Repository
		}
		creds, err := loadGitCredentials(ctx, p.APIReader, cfg, policy, repository)
		if err != nil {
			// A refusal is the Remediation reconciler's to report (it ends the remediation);
			// here it only means this repository is not polled with these credentials.
			errs = append(errs, fmt.Errorf("polling pull requests of RemediationPolicy %s: %w", u.policy, err))
			continue
		}
		poller, err := p.Pollers(creds)
		if err != nil {
			errs = append(errs, fmt.Errorf("building the poller of RemediationPolicy %s: %w", u.policy, err))
			continue
		}
		if !slices.Contains(byPoller[poller], repository) {
			byPoller[poller] = append(byPoller[poller], repository)
		}
	}
	for poller, repositories := range byPoller {
		slices.Sort(repositories)
		if err := poller.PollOnce(ctx, repositories, p.Sync.Update); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
