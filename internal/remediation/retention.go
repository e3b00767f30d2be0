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
	"cmp"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
)

// Why a finished Remediation is deleted.
const (
	// ExpiredReason means ttlSecondsAfterFinished has passed since it finished.
	ExpiredReason = "TTLExpired"
	// HistoryLimitReason means newer finished Remediations of the same target fill historyLimit.
	HistoryLimitReason = "HistoryLimit"
)

// RetentionInput is what Retain decides on: the finished Remediations of one target under one
// policy, and the bounds that say how long the guards still need them.
type RetentionInput struct {
	// Retention is the policy's spec.retention; unset fields take the defaults (a policy that is
	// gone passes the zero value).
	Retention v1beta1.RetentionSpec
	// Safety is the safety spec whose windows the guards read: the widest of every policy that
	// may act on the target (WidestSafety); unset fields take the defaults.
	Safety v1beta1.SafetySpec
	// Now is the clock reading.
	Now time.Time
	// Finished are the target's Remediations; those not in a terminal phase are ignored.
	Finished []*v1beta1.Remediation
}

// Deletion is one Remediation Retain says to delete now.
type Deletion struct {
	Remediation *v1beta1.Remediation
	// Reason is ExpiredReason or HistoryLimitReason.
	Reason string
}

// RetentionDecision is Retain's answer.
type RetentionDecision struct {
	// Delete lists what may be deleted now, oldest first.
	Delete []Deletion
	// NextCheck is the earliest time a kept Remediation may become deletable; zero when none
	// will without something changing (a new Remediation of the target).
	NextCheck time.Time
}

// Retain applies spec.retention to the finished Remediations of one target: the newest
// historyLimit are kept until ttlSecondsAfterFinished has passed since they finished, older ones
// go now. On top of both, a Remediation that a guard still counts is never deleted before the
// guard stops counting it (ProtectedUntil). It is pure: no client, no clock of its own.
func Retain(in RetentionInput) RetentionDecision {
	ret := *in.Retention.DeepCopy()
	defaults.Retention(&ret)
	ttl := time.Duration(*ret.TTLSecondsAfterFinished) * time.Second
	limit := int(*ret.HistoryLimit)

	var finished []*v1beta1.Remediation
	for _, r := range in.Finished {
		if r != nil && r.Status.Phase.IsTerminal() && r.DeletionTimestamp == nil {
			finished = append(finished, r)
		}
	}
	// Newest first: the history limit keeps the head.
	slices.SortFunc(finished, func(a, b *v1beta1.Remediation) int {
		if c := FinishedAt(b).Compare(FinishedAt(a)); c != 0 {
			return c
		}
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.Namespace+"/"+b.Name, a.Namespace+"/"+a.Name)
	})

	var d RetentionDecision
	for i, r := range finished {
		// eligible is when the retention settings let r go; reason says which one.
		eligible, reason := FinishedAt(r).Add(ttl), ExpiredReason
		if i >= limit {
			eligible, reason = in.Now, HistoryLimitReason
		}
		if protected := ProtectedUntil(r, in.Safety); protected.After(eligible) {
			eligible = protected
		}
		if !eligible.After(in.Now) {
			d.Delete = append(d.Delete, Deletion{Remediation: r, Reason: reason})
			continue
		}
		if d.NextCheck.IsZero() || eligible.Before(d.NextCheck) {
			d.NextCheck = eligible
		}
	}
	slices.Reverse(d.Delete)
	return d
}

// FinishedAt is when a Remediation reached its terminal phase: status.completedAt, or, for one
// written without it, the latest time its status or metadata records, so a Remediation whose end
// is unknown is kept as long as the latest reading allows.
func FinishedAt(r *v1beta1.Remediation) time.Time {
	if t := r.Status.CompletedAt; t != nil {
		return t.Time
	}
	latest := r.CreationTimestamp.Time
	later := func(t *metav1.Time) {
		if t != nil && t.After(latest) {
			latest = t.Time
		}
	}
	later(r.Status.StartedAt)
	later(r.Status.LastSeen)
	later(r.Status.AlertResolvedAt)
	for i := range r.Status.History {
		later(&r.Status.History[i].Time)
	}
	return latest
}

// ProtectedUntil is the time until which a guard of internal/remediation/guards.go may still count
// r, under the safety bounds s (defaults filled in): CooledDown counts an acted Remediation until
// cooldown after it completed, WithinBudget until budgetWindow after it started,
// WithinHourlyRate any started one that was not Skipped for the hour after it started, and
// NotVetoed a rejected one until vetoPeriod after it completed; and while its alert still fires
// (FiringGrace), so the receiver does not create it again. Where a time the guard reads is
// missing, FinishedAt stands in for it: when in doubt, keep. The zero time means no guard counts it.
func ProtectedUntil(r *v1beta1.Remediation, s v1beta1.SafetySpec) time.Time {
	s = *s.DeepCopy()
	defaults.Safety(&s)
	var until time.Time
	extend := func(from time.Time, d time.Duration) {
		if t := from.Add(d); t.After(until) {
			until = t
		}
	}
	completed := FinishedAt(r)
	if acted(r) {
		extend(completed, s.Cooldown.Duration)
		extend(r.Status.StartedAt.Time, s.BudgetWindow.Duration)
	}
	if r.Status.StartedAt != nil && r.Status.Phase != v1beta1.PhaseSkipped {
		extend(r.Status.StartedAt.Time, time.Hour)
	}
	if r.Status.Phase == v1beta1.PhaseFailed && r.Status.Reason == RejectedReason {
		extend(completed, s.VetoPeriod.Duration)
	}
	if last := r.Status.LastSeen; last != nil && (r.Status.AlertResolvedAt == nil || r.Status.AlertResolvedAt.Before(last)) {
		// The alert still fires: deleted, the receiver's next notification of it would create
		// the same Remediation again and the incident would be handled twice.
		extend(last.Time, FiringGrace)
	}
	return until
}

// FiringGrace is how long after its alert was last seen firing (status.lastSeen, with no
// resolution since) a finished Remediation is kept. Alertmanager repeats a firing alert every
// repeat_interval (4h by default), which moves lastSeen, so a Remediation whose alert keeps
// firing is kept; one whose resolution was never delivered goes a day after the last sighting.
const FiringGrace = 24 * time.Hour

// WidestSafety is the safety spec with the longest of each window the guards read (cooldown,
// budgetWindow, vetoPeriod) among specs, each with its defaults filled in; the defaults when
// specs is empty (every policy is gone). A finished Remediation may be counted by the guard of
// any policy that acts on its target, so retention keeps it for the longest.
func WidestSafety(specs ...v1beta1.SafetySpec) v1beta1.SafetySpec {
	var out v1beta1.SafetySpec
	if len(specs) == 0 {
		defaults.Safety(&out)
		return out
	}
	zero := func() *metav1.Duration { return &metav1.Duration{} }
	out.Cooldown, out.BudgetWindow, out.VetoPeriod = zero(), zero(), zero()
	for i := range specs {
		s := *specs[i].DeepCopy()
		defaults.Safety(&s)
		widen(&out.Cooldown, s.Cooldown)
		widen(&out.BudgetWindow, s.BudgetWindow)
		widen(&out.VetoPeriod, s.VetoPeriod)
	}
	return out
}

func widen(dst **metav1.Duration, d *metav1.Duration) {
	if d != nil && d.Duration > (*dst).Duration {
		*dst = &metav1.Duration{Duration: d.Duration}
	}
}

// ExpiredRecord is what a policy's status keeps of a Remediation retention deleted at deletedAt.
func ExpiredRecord(r *v1beta1.Remediation, deletedAt time.Time) v1beta1.ExpiredRemediation {
	out := v1beta1.ExpiredRemediation{
		Name: r.Name, Namespace: r.Namespace,
		Target: string(r.Spec.Target.Kind) + "/" + r.Spec.Target.Name,
		Action: r.Spec.Action.Type(), Phase: r.Status.Phase, Reason: truncate(r.Status.Reason, maxOutcomeReason),
		DeletedAt: metav1.NewTime(deletedAt.UTC().Truncate(time.Second)),
	}
	if t := r.Status.CompletedAt; t != nil {
		out.CompletedAt = t.DeepCopy()
	}
	return out
}

// maxOutcomeReason is the CRD's bound on the reasons status.expired keeps.
const maxOutcomeReason = 128

// RecordExpired adds deleted (oldest first) to a policy's status.expired: the total, the count
// of each phase and reason (past v1beta1.MaxExpiredOutcomeCounts distinct ones, new reasons are
// counted as v1beta1.ExpiredOtherReason of their phase), the newest v1beta1.MaxExpiredRecent, and
// the last deletion time. It returns e, allocated when nil.
func RecordExpired(e *v1beta1.ExpiredOutcomes, deleted ...v1beta1.ExpiredRemediation) *v1beta1.ExpiredOutcomes {
	if e == nil {
		e = &v1beta1.ExpiredOutcomes{}
	}
	// Room is kept for one ExpiredOtherReason entry per terminal phase.
	const terminalPhases = 4
	for _, d := range deleted {
		e.Total++
		reason := truncate(d.Reason, maxOutcomeReason)
		i := slices.IndexFunc(e.ByOutcome, func(c v1beta1.OutcomeCount) bool { return c.Phase == d.Phase && c.Reason == reason })
		if i < 0 && len(e.ByOutcome) >= v1beta1.MaxExpiredOutcomeCounts-terminalPhases {
			reason = v1beta1.ExpiredOtherReason
			i = slices.IndexFunc(e.ByOutcome, func(c v1beta1.OutcomeCount) bool { return c.Phase == d.Phase && c.Reason == reason })
		}
		if i < 0 {
			e.ByOutcome = append(e.ByOutcome, v1beta1.OutcomeCount{Phase: d.Phase, Reason: reason})
			i = len(e.ByOutcome) - 1
		}
		e.ByOutcome[i].Count++
		e.Recent = append([]v1beta1.ExpiredRemediation{d}, e.Recent...)
		if e.LastDeletionTime == nil || d.DeletedAt.After(e.LastDeletionTime.Time) {
			e.LastDeletionTime = d.DeletedAt.DeepCopy()
		}
	}
	if len(e.Recent) > v1beta1.MaxExpiredRecent {
		e.Recent = e.Recent[:v1beta1.MaxExpiredRecent]
	}
	slices.SortFunc(e.ByOutcome, func(a, b v1beta1.OutcomeCount) int {
		if c := cmp.Compare(a.Phase, b.Phase); c != 0 {
			return c
		}
		return cmp.Compare(a.Reason, b.Reason)
	})
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
