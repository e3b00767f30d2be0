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
	"fmt"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/github"
)

// BranchPrefix starts the head branch of every pull request heal8s opens; the rest of the branch
// name is the Remediation's name.
const BranchPrefix = github.DefaultBranchPrefix

// PullRequestSync records what GitHub says of a pull request (a pull_request webhook, or a poll
// of the repository) in the status of the Remediation that opened it. The Remediation
// reconciler then moves the phase; this only writes status.pullRequest.state, with one patch
// and only when the state changed, so a replayed or repeated event costs nothing.
type PullRequestSync struct {
	// Client reads Remediations from the cache and patches their status.
	Client client.Client
}

// Update is a gitprovider/github.PullRequestCallback. Pull requests heal8s did not open are
// ignored; an error (the API server refused the patch) makes GitHub redeliver the event.
func (s *PullRequestSync) Update(ctx context.Context, pr gitprovider.PullRequest) error {
	name, ok := strings.CutPrefix(pr.Branch, BranchPrefix)
	if !ok || name == "" {
		return nil
	}
	state, ok := apiState(pr.State)
	if !ok {
		return nil
	}
	list := &v1beta1.RemediationList{}
	if err := s.Client.List(ctx, list); err != nil {
		return fmt.Errorf("listing Remediations for pull request %s#%d: %w", pr.Repository, pr.Number, err)
	}
	for i := range list.Items {
		rem := &list.Items[i]
		cur := rem.Status.PullRequest
		if rem.Name != name || cur == nil || int(cur.Number) != pr.Number || cur.Branch != pr.Branch {
			continue
		}
		if cur.State == state {
			return nil
		}
		base := rem.DeepCopy()
		rem.Status.PullRequest.State = state
		if pr.URL != "" {
			rem.Status.PullRequest.URL = pr.URL
		}
		if err := s.Client.Status().Patch(ctx, rem, client.MergeFrom(base)); err != nil {
			return fmt.Errorf("recording pull request %s#%d as %s on Remediation %s/%s: %w",
				pr.Repository, pr.Number, state, rem.Namespace, rem.Name, err)
		}
		ctrl.LoggerFrom(ctx).Info("Pull request state recorded", "Remediation", client.ObjectKeyFromObject(rem),
			"pullRequest", pr.URL, "state", state)
		return nil
	}
	return nil
}

func apiState(s gitprovider.State) (v1beta1.PullRequestState, bool) {
	switch s {
	case gitprovider.StateOpen:
		return v1beta1.PullRequestOpen, true
	case gitprovider.StateMerged:
		return v1beta1.PullRequestMerged, true
	case gitprovider.StateClosed:
		return v1beta1.PullRequestClosed, true
	}
	return "", false
}
