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
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/remediation"
)

// BranchPrefix starts the head branch of every pull request heal8s opens; the rest of the branch
// name is the Remediation's name.
const BranchPrefix = gitprovider.BranchPrefix

// PullRequestSync records what GitHub says of a pull request (a pull_request webhook, or a poll
// of the repository) on the Remediation that opened it, as the heal8s.io/pull-request annotation.
// It never writes status: the Remediation controller folds the annotation into
// status.pullRequest (foldPullRequest) and moves the phase, so status has one writer. It writes
// only when the state is news for what status and the annotation record, so a replayed or
// repeated event costs nothing.
type PullRequestSync struct {
	// Client reads Remediations from the cache (by the IndexRemediationName index) and patches
	// their annotations.
	Client client.Client
}

// Update is a gitprovider.PullRequestCallback. Pull requests heal8s did not open are
// ignored; an error (the API server refused the patch) makes GitHub redeliver the event.
//
// A pull request is matched on its identity, never on its number alone: the repository it was
// opened in, its number and branch, and GitHub's node id once known. A closed pull request #7 of
// another repository the App covers, with the same branch name, changes nothing. A replayed or
// out-of-order delivery (older than what status records) or a change out of merged or closed
// changes nothing either (see nextPullRequestStatus); the controller checks the same again when
// it folds the annotation.
func (s *PullRequestSync) Update(ctx context.Context, pr gitprovider.PullRequest) error {
	name, ok := strings.CutPrefix(pr.Branch, BranchPrefix)
	if !ok || name == "" {
		return nil
	}
	if _, ok := apiState(pr.State); !ok {
		return nil
	}
	list := &v1beta1.RemediationList{}
	if err := s.Client.List(ctx, list, client.MatchingFields{IndexRemediationName: name}); err != nil {
		return fmt.Errorf("listing Remediations named %s for pull request %s#%d: %w", name, pr.Repository, pr.Number, err)
	}
	log := ctrl.LoggerFrom(ctx)
	for i := range list.Items {
		rem := &list.Items[i]
		if rem.Status.PullRequest == nil || rem.Status.Phase.IsTerminal() {
			continue
		}
		legacy := s.legacyRepository(ctx, rem)
		// What the annotation already says, folded or not, counts as recorded.
		st := rem.Status.DeepCopy()
		foldPullRequest(st, rem.Annotations, legacy)
		cur := st.PullRequest
		next, verdict := nextPullRequestStatus(*cur, pr, legacy)
		switch verdict {
		case prOther:
			continue
		case prUnchanged:
			return nil
		case prStale, prTerminal:
			log.Info("Ignored a pull request event that would move state backwards", "Remediation", client.ObjectKeyFromObject(rem),
				"pullRequest", pr.URL, "state", pr.State, "recorded", cur.State, "verdict", string(verdict))
			return nil
		case prChanged:
		}
		raw, err := json.Marshal(v1beta1.PullRequestSighting{Repository: next.Repository, Number: next.Number, Branch: next.Branch,
			NodeID: next.NodeID, URL: next.URL, State: next.State, UpdatedAt: next.UpdatedAt})
		if err != nil {
			return fmt.Errorf("encoding the state of pull request %s#%d: %w", pr.Repository, pr.Number, err)
		}
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
			v1beta1.AnnotationPullRequest: string(raw)}}})
		if err != nil {
			return fmt.Errorf("encoding the annotation patch: %w", err)
		}
		if err := s.Client.Patch(ctx, rem, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("recording pull request %s#%d as %s on Remediation %s/%s: %w",
				pr.Repository, pr.Number, next.State, rem.Namespace, rem.Name, err)
		}
		log.Info("Pull request state recorded", "Remediation", client.ObjectKeyFromObject(rem),
			"pullRequest", pr.URL, "state", next.State)
		return nil
	}
	return nil
}

// sightingPullRequest turns the heal8s.io/pull-request annotation back into what the provider
// reported, for nextPullRequestStatus.
func sightingPullRequest(s *v1beta1.PullRequestSighting) gitprovider.PullRequest {
	pr := gitprovider.PullRequest{Repository: s.Repository, Number: int(s.Number), Branch: s.Branch, NodeID: s.NodeID,
		URL: s.URL, State: gitprovider.State(s.State)}
	if s.UpdatedAt != nil {
		pr.UpdatedAt = s.UpdatedAt.Time
	}
	return pr
}

// foldPullRequest folds the heal8s.io/pull-request annotation into status.pullRequest when it
// is about the recorded pull request and news (nextPullRequestStatus, as for a provider read).
// legacyRepository stands for a repository status predates.
func foldPullRequest(st *v1beta1.RemediationStatus, annotations map[string]string, legacyRepository string) {
	seen := remediation.ReadSightings(annotations).PullRequest
	if seen == nil || st.PullRequest == nil {
		return
	}
	next, verdict := nextPullRequestStatus(*st.PullRequest, sightingPullRequest(seen), legacyRepository)
	if verdict != prChanged {
		return
	}
	st.PullRequest = &next
}

// legacyRepository is the repository of a pull request recorded before heal8s kept it in
// status: the policy's, as it is now ("" when the policy is gone, which matches nothing).
func (s *PullRequestSync) legacyRepository(ctx context.Context, rem *v1beta1.Remediation) string {
	if rem.Status.PullRequest.Repository != "" {
		return ""
	}
	policy := &v1beta1.RemediationPolicy{}
	ref := rem.Spec.PolicyRef
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, policy); err != nil || policy.Spec.Git == nil {
		return ""
	}
	return policy.Spec.Git.Repository
}

// prVerdict is what a pull request event means for a recorded pull request.
type prVerdict string

const (
	// prOther: the event is about another pull request (repository, number, branch or node id
	// differ).
	prOther prVerdict = "other"
	// prUnchanged: the same pull request, nothing to record.
	prUnchanged prVerdict = "unchanged"
	// prStale: older than what status records (a replay, or a delivery out of order).
	prStale prVerdict = "stale"
	// prTerminal: would move the state out of merged or closed.
	prTerminal prVerdict = "terminal"
	// prChanged: record the returned status.
	prChanged prVerdict = "changed"
)

// nextPullRequestStatus decides what an event or poll pr means for the recorded pull request cur.
// legacyRepository stands for cur.Repository when status predates it. Pure: the webhook, the
// poller and the reconciler's own reads all go through it.
func nextPullRequestStatus(cur v1beta1.PullRequestStatus, pr gitprovider.PullRequest, legacyRepository string) (v1beta1.PullRequestStatus, prVerdict) {
	repo := cur.Repository
	if repo == "" {
		repo = legacyRepository
	}
	switch {
	case repo == "" || !strings.EqualFold(repo, pr.Repository),
		int(cur.Number) != pr.Number,
		cur.Branch != "" && cur.Branch != pr.Branch,
		cur.NodeID != "" && pr.NodeID != "" && cur.NodeID != pr.NodeID:
		return cur, prOther
	}
	state, ok := apiState(pr.State)
	if !ok {
		return cur, prOther
	}
	if cur.UpdatedAt != nil && !pr.UpdatedAt.IsZero() && pr.UpdatedAt.Before(cur.UpdatedAt.Time) {
		return cur, prStale
	}
	terminal := cur.State == v1beta1.PullRequestMerged || cur.State == v1beta1.PullRequestClosed
	if terminal && state != cur.State {
		return cur, prTerminal
	}
	next := *cur.DeepCopy()
	next.State = state
	if pr.URL != "" {
		next.URL = pr.URL
	}
	if next.Repository == "" {
		next.Repository = pr.Repository
	}
	if next.NodeID == "" {
		next.NodeID = pr.NodeID
	}
	if next.Branch == "" {
		next.Branch = pr.Branch
	}
	if !pr.UpdatedAt.IsZero() {
		next.UpdatedAt = &metav1.Time{Time: pr.UpdatedAt.UTC().Truncate(time.Second)}
	}
	// Only a new state or a newly learned identity is worth a write; a later updatedAt alone
	// (a label, an edit of the title) is not.
	if next.State == cur.State && next.Repository == cur.Repository && next.NodeID == cur.NodeID && next.URL == cur.URL {
		return cur, prUnchanged
	}
	return next, prChanged
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
