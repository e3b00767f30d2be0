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

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/remediation"
)

// observeSupersede is the older remediation's side of superseding (the rule is in
// internal/remediation/supersede.go): while it has applied nothing, a newer open remediation of the same
// action on the same target takes over. Its pull request, if any, is closed first with a comment
// naming the newer one; a pull request found merged is followed instead (the older applied), and
// one a person closed is a veto. It reports whether it decided, in which case the phase's own
// step does not run.
func (r *RemediationReconciler) observeSupersede(ctx context.Context, s *scope, obs *remediation.Observations) (bool, error) {
	if !remediation.Supersedable(s.rem) {
		return false, nil
	}
	others, err := r.competitors(ctx, s)
	if err != nil {
		return false, err
	}
	newer := remediation.SupersededBy(s.rem, others)
	if newer == nil {
		return false, nil
	}
	log := ctrl.LoggerFrom(ctx).WithValues("supersededBy", newer.Name)
	if cur := s.rem.Status.PullRequest; cur != nil && cur.Number > 0 {
		prov, failure, err := r.provider(ctx, s, cur.Repository)
		if failure != nil || err != nil {
			obs.Failure = failure
			return true, err
		}
		repository := cur.Repository
		if repository == "" {
			repository = s.policy.Spec.Git.Repository
		}
		pr, err := prov.Close(ctx, gitprovider.PullRequest{Repository: repository, Number: int(cur.Number), URL: cur.URL,
			Branch: cur.Branch, State: gitprovider.State(cur.State), NodeID: cur.NodeID},
			gitprovider.Closure{RemediationNamespace: s.rem.Namespace, RemediationName: s.rem.Name, SupersededBy: newer.Name})
		switch {
		case errors.Is(err, gitprovider.ErrEdited):
			// Someone pushed to heal8s's branch: the pull request is theirs now. It stays open
			// and this Remediation follows it (a merge is verified, a close is a veto); the
			// newer one waits until it ends.
			log.Info("Did not supersede: someone else pushed to the pull request's branch, heal8s leaves it alone", "pullRequest", cur.URL)
			if r.Recorder != nil && !cur.Edited {
				r.Recorder.Eventf(s.rem, nil, corev1.EventTypeNormal, "PullRequestEdited", "Supersede",
					"Someone else pushed to %s; heal8s leaves pull request %s alone and follows what a person decides, the newer Remediation %s waits",
					cur.Branch, cur.URL, newer.Name)
			}
			obs.PullRequest = pullRequestStatus(gitProviderOf(s), pr)
			return true, nil
		case errors.Is(err, gitprovider.ErrNotOpen):
			// Merged: the change is on its way, follow it. Closed by a person: a veto.
			log.Info("Did not supersede: the pull request is no longer open", "pullRequest", cur.URL, "state", string(pr.State))
			obs.PullRequest = pullRequestStatus(gitProviderOf(s), pr)
			return true, nil
		case errors.Is(err, gitprovider.ErrGaveUp):
			log.Info("Git provider unavailable, will close the superseded pull request later", "pullRequest", cur.URL, "error", err.Error())
			return true, nil
		case err != nil:
			return true, fmt.Errorf("closing pull request %s of Remediation %s, superseded by %s: %w", cur.URL, s.rem.Name, newer.Name, err)
		}
		log.Info("Closed the superseded pull request", "pullRequest", cur.URL)
		obs.PullRequest = pullRequestStatus(gitProviderOf(s), pr)
	}
	obs.SupersededBy = newer.Name
	return true, nil
}

// competitors are the Remediations of s.rem's target (peerIndex.byTarget: pointers into the
// cache, neither copied nor changed), among which those of the same action compete with it, with the
// statuses reserved but not yet in the cache laid over them. The list is read once per scope:
// superseding and the guards of one reconcile share it.
func (r *RemediationReconciler) competitors(_ context.Context, s *scope) ([]*v1beta1.Remediation, error) {
	if s.sameTarget != nil {
		return s.sameTarget, nil
	}
	list, err := r.peerIndex.byTarget(TargetKey(s.rem))
	if err != nil {
		return nil, fmt.Errorf("reading the Remediations of target %s to find a newer one of the same action: %w", TargetKey(s.rem), err)
	}
	r.reserved().overlay(list)
	s.sameTarget = list
	return s.sameTarget, nil
}
