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

package remediation

import (
	"errors"

	"github.com/heal8s/heal8s/internal/actions"
	"github.com/heal8s/heal8s/internal/gitops/helmvalues"
	"github.com/heal8s/heal8s/internal/gitops/overlay"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/manifest"
)

// Class is what an error met by a step means for the remediation.
type Class int

const (
	// Transient errors (the API server, the network, a Git provider's 5xx or rate limit) are
	// returned by the reconciler, which retries with the controller's backoff; the phase stays.
	Transient Class = iota
	// Skip ends the remediation Skipped: heal8s decided there is nothing it should do.
	Skip
	// Fail ends the remediation Failed: retrying cannot help, a person must act.
	Fail
)

// Classify is the one place that tells a transient error from a terminal one, with the
// terminal one's reason. Only the sentinels below are terminal; everything else is retried, so
// an error heal8s does not recognise never ends a remediation for good.
//
//   - the planners' sentinels of internal/actions: Skip, with AtMaximum, ContainerNotFound,
//     NoCandidate, NoChange, UnsupportedTarget or ControlledHPA;
//   - internal/manifest: a manifest no document declares (ManifestNotFound), declared several
//     times or past the search's bounds (ManifestAmbiguous), a bad path template
//     (InvalidPathTemplate): Fail;
//   - internal/gitops/overlay: no edit renders to exactly the plan, or the kustomization does
//     not render the target; internal/gitops/helmvalues: no values key demonstrably produces
//     the field (RenderProofFailed): Fail;
//   - internal/gitprovider: a branch someone else made (BranchNotOwned), a proposal the
//     provider refuses or that changes nothing (ProposalInvalid): Fail. ErrGaveUp (rate limits,
//     server errors past the provider's budget) is Transient.
func Classify(err error) (Class, *Outcome) {
	var reason string
	class := Fail
	switch {
	case err == nil:
		return Transient, nil
	case errors.Is(err, actions.ErrAtMaximum):
		class, reason = Skip, AtMaximumReason
	case errors.Is(err, actions.ErrContainerNotFound):
		class, reason = Skip, ContainerNotFoundReason
	case errors.Is(err, actions.ErrNoCandidate):
		class, reason = Skip, NoCandidateReason
	case errors.Is(err, actions.ErrNoChange):
		class, reason = Skip, NoChangeReason
	case errors.Is(err, actions.ErrUnsupportedTarget):
		class, reason = Skip, UnsupportedTargetReason
	case errors.Is(err, actions.ErrControlled):
		class, reason = Skip, ControlledHPAReason
	case errors.Is(err, gitprovider.ErrGaveUp):
		return Transient, nil
	case errors.Is(err, manifest.ErrNotFound):
		reason = ManifestNotFoundReason
	case errors.Is(err, manifest.ErrAmbiguous), errors.Is(err, manifest.ErrSearchLimit):
		reason = ManifestAmbiguousReason
	case errors.Is(err, manifest.ErrPathTemplate):
		reason = InvalidPathTemplateReason
	case errors.Is(err, overlay.ErrNoProvenEdit), errors.Is(err, overlay.ErrTargetNotRendered), errors.Is(err, helmvalues.ErrNoMapping):
		reason = RenderProofFailedReason
	case errors.Is(err, gitprovider.ErrBranchNotOwned):
		reason = BranchNotOwnedReason
	case errors.Is(err, gitprovider.ErrInvalidProposal), errors.Is(err, gitprovider.ErrNoChange):
		reason = ProposalInvalidReason
	default:
		return Transient, nil
	}
	return class, &Outcome{Reason: reason, Message: err.Error()}
}

// ClassifyPlan is Classify for a planner's error: a planner reads only the objects it was
// given, so an error that is not a sentinel (a value it cannot parse) will not go away on a
// retry either, and fails the remediation PlanFailed.
func ClassifyPlan(err error) (Class, *Outcome) {
	if class, out := Classify(err); class != Transient || err == nil {
		return class, out
	}
	return Fail, &Outcome{Reason: PlanFailedReason, Message: err.Error()}
}
