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
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/actions"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/manifest"
	"github.com/heal8s/heal8s/internal/remediation"
)

// vpaListGVK is the list kind of autoscaling.k8s.io/v1 VerticalPodAutoscalers, read unstructured
// so the operator works, with no VPA guard, where the CRD is not installed.
var vpaListGVK = schema.GroupVersionKind{Group: "autoscaling.k8s.io", Version: "v1", Kind: "VerticalPodAutoscalerList"}

// observe runs the current phase's step and reports what it saw. Every step is idempotent, so a
// reconcile repeated after a crash or a failed status write observes the same thing again.
func (r *RemediationReconciler) observe(ctx context.Context, s *scope) (remediation.Observations, error) {
	obs := remediation.Observations{Now: s.now}
	if decided, err := r.observeSupersede(ctx, s, &obs); decided || err != nil {
		return obs, err
	}
	var err error
	switch phase := remediation.Current(s.rem.Status.Phase); phase {
	case v1beta1.PhasePending:
		err = r.observeGuards(ctx, s, &obs)
	case v1beta1.PhasePlanning:
		err = r.observePlan(ctx, s, &obs)
		obs.ApprovalRequired = remediation.ApprovalRequired(s.rem, s.policy)
	case v1beta1.PhaseAwaitingApproval:
		err = r.observeApproval(ctx, s, &obs)
	case v1beta1.PhaseProposed:
		switch s.rem.Spec.Strategy {
		case v1beta1.StrategyDirect:
			err = r.applyDirect(ctx, s, &obs)
		case v1beta1.StrategyGitOps:
			err = r.propose(ctx, s, &obs)
		case v1beta1.StrategyDryRun:
			// Transition ends it as planned.
		}
	case v1beta1.PhaseAwaitingMerge:
		err = r.observePullRequest(ctx, s, &obs)
	case v1beta1.PhaseApplying:
		err = r.observeLive(ctx, s, &obs)
	case v1beta1.PhaseVerifying:
		err = r.observeVerify(ctx, s, &obs)
	case v1beta1.PhaseSucceeded, v1beta1.PhaseFailed, v1beta1.PhaseSkipped, v1beta1.PhaseSuperseded:
		// Terminal phases are not reconciled.
	}
	return obs, err
}

// observeGuards gathers the guards' input and runs the chain.
func (r *RemediationReconciler) observeGuards(ctx context.Context, s *scope, obs *remediation.Observations) error {
	in := remediation.Input{Remediation: s.rem, Policy: s.policy, Now: s.now, RecheckInterval: r.PollInterval,
		OperatorNamespace: r.OperatorNamespace, ProtectedNamespaces: r.ProtectedNamespaces}
	if err := r.scopeInputs(ctx, s, &in); err != nil {
		return err
	}
	_, err := r.readTarget(ctx, r.Client, s.rem.Spec.Target)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	default:
		in.TargetExists = true
	}
	peers, err := r.peers(ctx, s)
	if err != nil {
		return err
	}
	in.Others = peers
	if t := s.action.Type(); t == v1beta1.ActionIncreaseMemory || t == v1beta1.ActionIncreaseCPU {
		vpas, err := r.listVPAs(ctx, s.rem.Spec.Target.Namespace)
		if err != nil {
			return err
		}
		in.VPAs = vpas
	}
	chain := r.Guards
	if chain == nil {
		chain = remediation.DefaultGuards()
	}
	res := remediation.RunGuards(chain, in)
	obs.Guard = &res
	if res.Reason == remediation.SupersedingReason {
		// This one waits for an open one of the same action and target to be superseded (or to
		// go past the point of no return): wake it, so it decides now rather than at its poll.
		for _, o := range in.Others {
			if remediation.Competing(s.rem, o) && !o.Status.Phase.IsTerminal() {
				r.wakeUp(o.Namespace, o.Name)
			}
		}
	}
	return nil
}

// peers are the Remediations the guards count for rem: those of its target and those of its
// policy budget (peerIndex: pointers into the cache, neither copied nor changed), with the statuses reserved but not yet in the cache
// laid over them.
func (r *RemediationReconciler) peers(ctx context.Context, s *scope) ([]*v1beta1.Remediation, error) {
	sameTarget, err := r.competitors(ctx, s)
	if err != nil {
		return nil, err
	}
	rem := s.rem
	byBudget, err := r.peerIndex.byBudget(BudgetKey(rem))
	if err != nil {
		return nil, fmt.Errorf("reading the Remediations of policy budget %s for the guards: %w", BudgetKey(rem), err)
	}
	other := byBudget[:0]
	for _, o := range byBudget {
		if TargetKey(o) != TargetKey(rem) {
			other = append(other, o)
		}
	}
	r.reserved().overlay(other)
	// Clipped: appending never writes into the scope's list of the target.
	return append(slices.Clip(sameTarget), other...), nil
}

// listVPAs reads the VPAs of a namespace; a cluster without the VPA CRD has none.
func (r *RemediationReconciler) listVPAs(ctx context.Context, namespace string) ([]remediation.VPA, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(vpaListGVK)
	if err := r.APIReader.List(ctx, list, client.InNamespace(namespace)); err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing VerticalPodAutoscalers in %s: %w", namespace, err)
	}
	out := make([]remediation.VPA, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, remediation.VPAFrom(&list.Items[i]))
	}
	return out, nil
}

// observePlan reads the live target and what the action needs beside it, and plans.
func (r *RemediationReconciler) observePlan(ctx context.Context, s *scope, obs *remediation.Observations) error {
	t := s.rem.Spec.Target
	obj, err := r.readTarget(ctx, r.Client, t)
	if apierrors.IsNotFound(err) {
		obs.Skip = &remediation.Outcome{Reason: remediation.TargetNotFoundReason, Message: fmt.Sprintf("%s %s/%s does not exist", t.Kind, t.Namespace, t.Name)}
		return nil
	}
	if err != nil {
		return err
	}
	in, err := r.planInputs(ctx, r.Client, s, obj)
	if err != nil {
		return err
	}
	plan, err := actions.PlanFor(s.action, in)
	if err != nil {
		if class, out := remediation.ClassifyPlan(err); class == remediation.Skip {
			obs.Skip = out
		} else {
			obs.Failure = out
		}
		return nil
	}
	api := plan.API()
	obs.Plan = &api
	return nil
}

// planInputs lists what the action reads beside the target: ReplicaSets or ControllerRevisions
// for a rollback, HPAs for a scale-up (so an autoscaled workload is scaled through its HPA).
// ReplicaSets and ControllerRevisions are never cached (cmd/main.go): they are read from the API
// server, only those the workload's selector matches, which include every one it owns.
func (r *RemediationReconciler) planInputs(ctx context.Context, c client.Reader, s *scope, obj client.Object) (actions.Inputs, error) {
	in := actions.Inputs{Object: obj, Container: s.rem.Spec.Target.Container}
	ns := client.InNamespace(obj.GetNamespace())
	switch s.action.Type() {
	case v1beta1.ActionScaleUp:
		var hpas autoscalingv2.HorizontalPodAutoscalerList
		if err := c.List(ctx, &hpas, ns); err != nil {
			return in, fmt.Errorf("listing HorizontalPodAutoscalers in %s: %w", obj.GetNamespace(), err)
		}
		in.HPAs = hpas.Items
	case v1beta1.ActionRollbackImage:
		switch w := obj.(type) {
		case *appsv1.Deployment:
			sel, err := ownedBySelector(w.Spec.Selector, ns)
			if err != nil {
				return in, fmt.Errorf("reading the selector of Deployment %s: %w", client.ObjectKeyFromObject(w), err)
			}
			var rss appsv1.ReplicaSetList
			if err := r.APIReader.List(ctx, &rss, sel...); err != nil {
				return in, fmt.Errorf("listing ReplicaSets in %s: %w", obj.GetNamespace(), err)
			}
			in.ReplicaSets = rss.Items
		case *appsv1.StatefulSet:
			sel, err := ownedBySelector(w.Spec.Selector, ns)
			if err != nil {
				return in, fmt.Errorf("reading the selector of StatefulSet %s: %w", client.ObjectKeyFromObject(w), err)
			}
			var crs appsv1.ControllerRevisionList
			if err := r.APIReader.List(ctx, &crs, sel...); err != nil {
				return in, fmt.Errorf("listing ControllerRevisions in %s: %w", obj.GetNamespace(), err)
			}
			in.ControllerRevisions = crs.Items
		}
	case v1beta1.ActionIncreaseMemory, v1beta1.ActionIncreaseCPU:
	}
	return in, nil
}

// patchTarget is the object the plan's patch applies to: the target itself, or for a ScaleUp the
// HPA that controls it, found the same way the planner found it.
func (r *RemediationReconciler) patchTarget(ctx context.Context, s *scope, c client.Reader) (client.Object, error) {
	obj, err := r.readTarget(ctx, c, s.rem.Spec.Target)
	if err != nil || s.action.Type() != v1beta1.ActionScaleUp {
		return obj, err
	}
	in, err := r.planInputs(ctx, c, s, obj)
	if err != nil {
		return nil, err
	}
	hpa, err := actions.ControllingHPA(obj, in.HPAs)
	if err != nil {
		return nil, fmt.Errorf("finding the HPA that controls %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	if hpa != nil {
		return hpa, nil
	}
	return obj, nil
}

// applyDirect sends the plan's JSON patch, unless the live object already carries it (a restart
// after the patch went out) or its test operations no longer hold (someone changed the target:
// plan again rather than clobber). The target is read around the cache so a stale cache can
// never make heal8s apply a plan twice.
func (r *RemediationReconciler) applyDirect(ctx context.Context, s *scope, obs *remediation.Observations) error {
	plan := s.rem.Status.Plan
	if plan == nil || plan.Patch == "" {
		obs.Failure = &remediation.Outcome{Reason: remediation.NoPlanReason, Message: "The remediation has no plan to apply"}
		return nil
	}
	obj, state, err := r.checkLive(ctx, s, r.APIReader)
	if apierrors.IsNotFound(err) {
		obs.Failure = &remediation.Outcome{Reason: remediation.TargetNotFoundReason, Message: "The target was deleted before the change was applied"}
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case state.Carries:
		obs.LiveCarriesPlan = true
		return nil
	case !state.TestsPass:
		obs.Conflict = true
		return nil
	}
	holds, err := r.planHolds(ctx, s, r.APIReader)
	if err != nil {
		return err
	}
	if !holds {
		obs.Conflict = true
		return nil
	}
	writer, who, err := r.directWriter(s)
	if err != nil {
		return err
	}
	err = writer.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, []byte(plan.Patch)))
	switch {
	case err == nil:
		obs.Applied = true
		ctrl.LoggerFrom(ctx).Info("Patched the target", "target", client.ObjectKeyFromObject(obj), "after", plan.After, "as", who)
		return nil
	case apierrors.IsForbidden(err):
		obs.Failure = &remediation.Outcome{Reason: remediation.ForbiddenReason,
			Message: fmt.Sprintf("%s may not patch %s: %v", who, client.ObjectKeyFromObject(obj), err)}
		return nil
	case apierrors.IsInvalid(err) || apierrors.IsConflict(err):
		// A test operation failed on the server: the target changed after it was read.
		_, state, rerr := r.checkLive(ctx, s, r.APIReader)
		if rerr != nil {
			return fmt.Errorf("re-reading the target after a rejected patch (%w): %w", err, rerr)
		}
		switch {
		case state.Carries:
			obs.LiveCarriesPlan = true
		case state.TestsPass:
			// The object is as planned, so the server refused the change itself (validation,
			// an admission policy): planning again would be refused the same way.
			obs.Failure = &remediation.Outcome{Reason: remediation.PatchRejectedReason, Message: fmt.Sprintf("The API server refused the patch: %v", err)}
		default:
			obs.Conflict = true
		}
		return nil
	default:
		return fmt.Errorf("patching %s: %w", client.ObjectKeyFromObject(obj), err)
	}
}

// checkLive reads the patch target with c and evaluates the plan's patch against it.
func (r *RemediationReconciler) checkLive(ctx context.Context, s *scope, c client.Reader) (client.Object, remediation.PatchState, error) {
	obj, err := r.patchTarget(ctx, s, c)
	if err != nil {
		return nil, remediation.PatchState{}, err
	}
	live, err := json.Marshal(obj)
	if err != nil {
		return nil, remediation.PatchState{}, fmt.Errorf("encoding %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	state, err := remediation.CheckPatch(live, []byte(s.rem.Status.Plan.Patch))
	return obj, state, err
}

// observeLive reports whether the live object carries the plan (Applying: the merged change
// synced by Flux, Argo CD or CI).
func (r *RemediationReconciler) observeLive(ctx context.Context, s *scope, obs *remediation.Observations) error {
	if s.rem.Status.Plan == nil {
		obs.Failure = &remediation.Outcome{Reason: remediation.NoPlanReason, Message: "The remediation has no plan to wait for"}
		return nil
	}
	_, state, err := r.checkLive(ctx, s, r.Client)
	if apierrors.IsNotFound(err) {
		obs.Failure = &remediation.Outcome{Reason: remediation.TargetNotFoundReason, Message: "The target was deleted before the change went live"}
		return nil
	}
	if err != nil {
		return err
	}
	obs.LiveCarriesPlan = state.Carries
	return nil
}

// observeVerify reads the rollout's health and the alert's state as the receiver recorded it.
func (r *RemediationReconciler) observeVerify(ctx context.Context, s *scope, obs *remediation.Observations) error {
	obj, err := r.readTarget(ctx, r.Client, s.rem.Spec.Target)
	if apierrors.IsNotFound(err) {
		obs.Failure = &remediation.Outcome{Reason: remediation.TargetNotFoundReason, Message: "The target was deleted while the change was verified"}
		return nil
	}
	if err != nil {
		return err
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return fmt.Errorf("converting %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	un := &unstructured.Unstructured{Object: u}
	un.SetKind(string(s.rem.Spec.Target.Kind))
	obs.RolloutHealthy = remediation.RolloutHealthy(un)
	appliedAt := remediation.EnteredAt(s.rem, v1beta1.PhaseVerifying, s.now)
	obs.AlertResolved, obs.AlertRefired, obs.AlertStillFiring = remediation.AlertState(s.rem.Status, appliedAt)
	return nil
}

// propose opens (or finds again: Propose is idempotent on the branch) the pull request that
// carries the plan into the manifest in Git.
func (r *RemediationReconciler) propose(ctx context.Context, s *scope, obs *remediation.Observations) error {
	plan := s.rem.Status.Plan
	if plan == nil || plan.Patch == "" {
		obs.Failure = &remediation.Outcome{Reason: remediation.NoPlanReason, Message: "The remediation has no plan to propose"}
		return nil
	}
	if s.policy != nil && s.policy.Spec.Git != nil {
		// Checked before anything is read or sent: a path is substituted, never executed.
		if err := manifest.ValidatePathTemplate(s.policy.Spec.Git.Path); err != nil {
			obs.Failure = &remediation.Outcome{Reason: remediation.InvalidPathTemplateReason, Message: fmt.Sprintf("spec.git.path: %v", err)}
			return nil
		}
	}
	target, err := r.patchTarget(ctx, s, r.Client)
	if apierrors.IsNotFound(err) {
		obs.Failure = &remediation.Outcome{Reason: remediation.TargetNotFoundReason, Message: "The target was deleted before the change was proposed"}
		return nil
	}
	if err != nil {
		return err
	}
	gvk, err := r.targetGVK(target)
	if err != nil {
		return err
	}
	if s.policy == nil || s.policy.Spec.Git == nil {
		obs.Failure = &remediation.Outcome{Reason: remediation.GitNotConfiguredReason,
			Message: "The GitOps strategy needs the policy's git section and a Git provider"}
		return nil
	}
	// Where the change goes: the policy's repository, or the one Flux or Argo CD applies the
	// target from. The credentials are then checked for that repository like any other.
	src, failure, err := r.resolveSource(ctx, s, target, gvk)
	if failure != nil || err != nil {
		obs.Failure = failure
		return err
	}
	prov, failure, err := r.provider(ctx, s, src.Repository)
	if failure != nil || err != nil {
		obs.Failure = failure
		return err
	}
	if s.rem.Status.PullRequest == nil {
		// Before the first proposal only: once a pull request exists, its branch holds the plan.
		holds, err := r.planHolds(ctx, s, r.Client)
		if err != nil {
			return err
		}
		if !holds {
			obs.Conflict = true
			return nil
		}
	}
	prop, edited := r.proposal(s, target, gvk, src)
	pr, err := prov.Propose(ctx, prop)
	if err != nil {
		if class, out := remediation.Classify(err); class != remediation.Transient {
			obs.Failure = out
			return nil
		}
		return fmt.Errorf("proposing the change of %s: %w", s.rem.Name, err)
	}
	obs.PullRequest = pullRequestStatus(gitProviderOf(s), pr)
	obs.Source = edited()
	return nil
}

// proposal builds the pull request: the branch is heal8s/<remediation-name>, so proposing again
// after a restart finds the same pull request.
func (r *RemediationReconciler) proposal(s *scope, target client.Object, gvk schema.GroupVersionKind,
	src gitSource) (gitprovider.Proposal, func() *v1beta1.GitSourceStatus) {
	rem, plan, git := s.rem, s.rem.Status.Plan, s.policy.Spec.Git
	obj := manifest.Object{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: target.GetNamespace(),
		Name: target.GetName(), Annotations: target.GetAnnotations()}
	changes := make([]gitprovider.BodyChange, 0, len(plan.After))
	for _, k := range slices.Sorted(maps.Keys(plan.After)) {
		changes = append(changes, gitprovider.BodyChange{Field: k, Before: plan.Before[k], After: plan.After[k]})
	}
	about := gitprovider.BodyInput{
		AlertName: rem.Spec.Alert.Name, AlertLabels: rem.Spec.Alert.Labels, GeneratorURL: rem.Spec.Alert.GeneratorURL,
		Summary: rem.Spec.Alert.Annotations["summary"], Action: string(s.action.Type()), Changes: changes, Reason: plan.Reason,
		Target: gitprovider.BodyTarget{APIVersion: obj.APIVersion, Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name,
			Container: rem.Spec.Target.Container},
		RemediationName: rem.Name, RemediationNamespace: rem.Namespace,
	}
	if st := rem.Spec.Alert.StartsAt; st != nil {
		about.FiringSince = st.Time
	}
	patch := []byte(plan.Patch)
	// The live object, for carrying the plan into Helm values (which container, which image).
	live, _ := json.Marshal(target)
	// The Edit records what it found and proved; Propose may call it more than once (a retry
	// inside the provider), the last call counts.
	var (
		evidence *gitprovider.Evidence
		path     string
	)
	edited := func() *v1beta1.GitSourceStatus {
		if path == "" {
			return nil
		}
		return sourceStatus(src, path, evidence)
	}
	return gitprovider.NewProposal(gitprovider.Change{
		Repository: src.Repository, BaseBranch: src.BaseBranch, Branch: BranchPrefix + rem.Name,
		// The commit carries the Remediation's UID: a heal8s/<name> branch or pull request
		// without it is someone else's, and Propose refuses it rather than adopt it.
		Owner: string(rem.UID),
		About: about,
		Edit: func(ctx context.Context, repo gitprovider.Repo) (string, []byte, error) {
			p, out, ev, err := editManifest(ctx, repo, src, obj, live, git.Path, patch)
			if err != nil {
				return "", nil, err
			}
			path, evidence = p, ev
			return p, out, nil
		},
		Evidence: func() *gitprovider.Evidence { return evidence },
	}), edited
}

// observePullRequest learns the pull request's state: from status when a webhook already wrote
// a final one, otherwise from the provider (which handles rate limits and backs off).
func (r *RemediationReconciler) observePullRequest(ctx context.Context, s *scope, obs *remediation.Observations) error {
	cur := s.rem.Status.PullRequest
	if cur == nil {
		obs.Failure = &remediation.Outcome{Reason: remediation.NoPlanReason, Message: "The remediation awaits a merge but records no pull request"}
		return nil
	}
	if cur.State == v1beta1.PullRequestMerged || cur.State == v1beta1.PullRequestClosed {
		obs.PullRequest = cur.DeepCopy()
		return nil
	}
	prov, failure, err := r.provider(ctx, s, cur.Repository)
	if failure != nil || err != nil {
		obs.Failure = failure
		return err
	}
	repository := cur.Repository
	if repository == "" {
		// Recorded before heal8s kept the repository: the policy's.
		repository = s.policy.Spec.Git.Repository
	}
	pr, err := prov.Status(ctx, gitprovider.PullRequest{Repository: repository, Number: int(cur.Number),
		URL: cur.URL, Branch: cur.Branch, State: gitprovider.State(cur.State), NodeID: cur.NodeID})
	if errors.Is(err, gitprovider.ErrGaveUp) {
		// Rate limited or the provider is failing: keep waiting at the slow poll, not the
		// controller's fast error backoff.
		ctrl.LoggerFrom(ctx).Info("Git provider unavailable, will ask again", "pullRequest", cur.URL, "error", err.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the state of pull request %s: %w", cur.URL, err)
	}
	next, verdict := nextPullRequestStatus(*cur, pr, repository)
	switch verdict {
	case prChanged:
		obs.PullRequest = &next
		// Someone else pushed to the branch (the provider labelled it when it left it alone):
		// status says so, once; heal8s goes on following what a person decides.
		obs.PullRequest.Edited = cur.Edited || pr.Edited
	case prUnchanged:
		obs.PullRequest = cur.DeepCopy()
		obs.PullRequest.Edited = cur.Edited || pr.Edited
	case prOther, prStale, prTerminal:
		// Not the pull request heal8s recorded (another node id), or older than the record:
		// keep waiting rather than act on it.
		ctrl.LoggerFrom(ctx).Info("Ignored a pull request read that does not match the recorded one", "pullRequest", cur.URL,
			"verdict", string(verdict), "nodeID", pr.NodeID, "recordedNodeID", cur.NodeID)
	}
	return nil
}

// provider builds the policy's Git provider for repository ("" means the policy's) from the
// Secret its git.secretRef names, once internal/gitaccess allowed the policy to use that Secret
// towards that host and repository. A refusal ends the remediation (GitAccessDenied) before any
// request is sent anywhere.
func (r *RemediationReconciler) provider(ctx context.Context, s *scope, repository string) (gitprovider.Provider, *remediation.Outcome, error) {
	if s.policy == nil || s.policy.Spec.Git == nil || r.Providers == nil {
		return nil, &remediation.Outcome{Reason: remediation.GitNotConfiguredReason,
			Message: "The GitOps strategy needs the policy's git section and a Git provider"}, nil
	}
	if repository == "" {
		repository = s.policy.Spec.Git.Repository
	}
	creds, err := loadGitCredentials(ctx, r.APIReader, gitAccessConfig(r.GitAccess, r.OperatorNamespace), s.policy, repository)
	if errors.Is(err, gitaccess.ErrDenied) {
		ctrl.LoggerFrom(ctx).Info("Refused the policy's Git credentials", "RemediationPolicy", client.ObjectKeyFromObject(s.policy),
			"secret", s.policy.Spec.Git.SecretRef.Name, "repository", repository, "reason", err.Error())
		return nil, &remediation.Outcome{Reason: remediation.GitAccessDeniedReason, Message: err.Error()}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := r.Providers(creds)
	if err != nil {
		return nil, &remediation.Outcome{Reason: remediation.GitNotConfiguredReason, Message: fmt.Sprintf("Building the Git provider: %v", err)}, nil
	}
	return p, nil, nil
}

// gitProviderOf is the hosting service of the scope's policy (github when unset).
func gitProviderOf(s *scope) v1beta1.GitProvider {
	if s.policy != nil && s.policy.Spec.Git != nil && s.policy.Spec.Git.Provider != "" {
		return s.policy.Spec.Git.Provider
	}
	return v1beta1.DefaultGitProvider
}

func pullRequestStatus(provider v1beta1.GitProvider, pr gitprovider.PullRequest) *v1beta1.PullRequestStatus {
	st := &v1beta1.PullRequestStatus{Provider: provider, URL: pr.URL, Number: int32(pr.Number),
		Branch: pr.Branch, State: v1beta1.PullRequestState(pr.State), Repository: pr.Repository, NodeID: pr.NodeID, Edited: pr.Edited}
	if !pr.UpdatedAt.IsZero() {
		st.UpdatedAt = &metav1.Time{Time: pr.UpdatedAt.UTC().Truncate(time.Second)}
	}
	return st
}

// readTarget reads a workload of one of the kinds heal8s acts on as its typed object.
func (r *RemediationReconciler) readTarget(ctx context.Context, c client.Reader, t v1beta1.TargetRef) (client.Object, error) {
	var obj client.Object
	switch t.Kind {
	case v1beta1.TargetKindDeployment:
		obj = &appsv1.Deployment{}
	case v1beta1.TargetKindStatefulSet:
		obj = &appsv1.StatefulSet{}
	case v1beta1.TargetKindDaemonSet:
		obj = &appsv1.DaemonSet{}
	case v1beta1.TargetKindHorizontalPodAutoscaler:
		obj = &autoscalingv2.HorizontalPodAutoscaler{}
	default:
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: string(t.Kind)}, t.Name)
	}
	key := client.ObjectKey{Namespace: t.Namespace, Name: t.Name}
	err := c.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) && c != r.APIReader {
		// A missing target ends a remediation, so a cache that has not yet seen it is not
		// trusted: the API server confirms.
		err = r.APIReader.Get(ctx, key, obj)
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, fmt.Errorf("reading %s %s/%s: %w", t.Kind, t.Namespace, t.Name, err)
	}
	return obj, nil
}

// targetGVK names a typed target's group, version and kind.
func (r *RemediationReconciler) targetGVK(obj client.Object) (schema.GroupVersionKind, error) {
	gvk, err := apiutil.GVKForObject(obj, r.Scheme)
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("naming the kind of %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	return gvk, nil
}
