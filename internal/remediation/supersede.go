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
	"time"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Superseding: of two open Remediations of the same action on the same target, the newer takes
// over from the older while the older has applied nothing, and the older ends Superseded (its
// pull request, if any, closed with a comment naming the newer). Once the older may have applied
// its change, the newer is skipped InProgress instead (OneAtATime).
//
// "Newer" is decided by Newer, the same way by every reconciler:
//
//  1. the alert that started later (spec.alert.startsAt; a Remediation without one counts as the
//     oldest) is newer: it describes the incident as it is now;
//  2. on equal start times, the later creationTimestamp;
//  3. on equal creation times (they have one-second resolution), the greater namespace/name.

// Newer reports whether a is newer than b by the rule above. It is a strict total order on
// distinct Remediations: exactly one of Newer(a, b) and Newer(b, a) holds unless a is b.
func Newer(a, b *v1beta1.Remediation) bool {
	sa, sb := startsAt(a), startsAt(b)
	if !sa.Equal(sb) {
		return sa.After(sb)
	}
	ca, cb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ca.Equal(cb) {
		return ca.After(cb)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace > b.Namespace
	}
	return a.Name > b.Name
}

func startsAt(r *v1beta1.Remediation) time.Time {
	if s := r.Spec.Alert.StartsAt; s != nil {
		return s.Time
	}
	return time.Time{}
}

// MayHaveApplied reports whether an open remediation may already have changed its target, or
// will without asking again: Applying and Verifying (the change is merged or patched), a
// Direct remediation in Proposed (its patch may have gone out before its status was written),
// and one whose pull request is recorded as merged. Such a remediation is never superseded; it
// holds every other of its action and target.
func MayHaveApplied(r *v1beta1.Remediation) bool {
	if merged(r) && !Current(r.Status.Phase).IsTerminal() {
		return true
	}
	switch Current(r.Status.Phase) {
	case v1beta1.PhaseApplying, v1beta1.PhaseVerifying:
		return true
	case v1beta1.PhaseProposed:
		return r.Spec.Strategy == v1beta1.StrategyDirect
	case v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseAwaitingApproval, v1beta1.PhaseAwaitingMerge,
		v1beta1.PhaseSucceeded, v1beta1.PhaseFailed, v1beta1.PhaseSkipped, v1beta1.PhaseSuperseded:
	}
	return false
}

// Supersedable reports whether r may end Superseded now: it is open, has applied nothing
// (Pending, Planning, AwaitingMerge with no merge recorded), or is Proposed with nothing that can be lost (DryRun, or
// GitOps with its pull request recorded, so it can be closed). A GitOps remediation in Proposed
// without a recorded pull request may have opened one whose number heal8s does not know yet; it
// is superseded once it reaches AwaitingMerge, a moment later.
func Supersedable(r *v1beta1.Remediation) bool {
	if merged(r) {
		return false
	}
	switch Current(r.Status.Phase) {
	case v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseAwaitingApproval, v1beta1.PhaseAwaitingMerge:
		return true
	case v1beta1.PhaseProposed:
		switch r.Spec.Strategy {
		case v1beta1.StrategyDryRun:
			return true
		case v1beta1.StrategyGitOps:
			return r.Status.PullRequest != nil
		case v1beta1.StrategyDirect:
		}
	case v1beta1.PhaseApplying, v1beta1.PhaseVerifying,
		v1beta1.PhaseSucceeded, v1beta1.PhaseFailed, v1beta1.PhaseSkipped, v1beta1.PhaseSuperseded:
	}
	return false
}

func merged(r *v1beta1.Remediation) bool {
	return r.Status.PullRequest != nil && r.Status.PullRequest.State == v1beta1.PullRequestMerged
}

// Competing reports whether a and b are two remediations of the same action on the same target.
func Competing(a, b *v1beta1.Remediation) bool {
	return !isSelf(a, b) && sameTargetAndAction(a, b)
}

// SupersededBy returns the remediation among others that supersedes self, or nil: the newest
// open remediation of the same action on the same target that is newer than self, when self is
// Supersedable. others may include self and remediations of any phase.
func SupersededBy(self *v1beta1.Remediation, others []*v1beta1.Remediation) *v1beta1.Remediation {
	if !Supersedable(self) {
		return nil
	}
	var newest *v1beta1.Remediation
	for _, o := range others {
		if o == nil || isSelf(self, o) || !sameTargetAndAction(self, o) || Current(o.Status.Phase).IsTerminal() || !Newer(o, self) {
			continue
		}
		if newest == nil || Newer(o, newest) {
			newest = o
		}
	}
	return newest
}
