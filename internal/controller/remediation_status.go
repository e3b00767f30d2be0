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
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

// step is one decision of a reconcile: usually one, two when the guards pass and the plan is
// made in the same reconcile.
type step struct {
	from     v1beta1.Phase
	decision remediation.Decision
	moved    bool
}

// commit writes the status the steps left in s.rem with one patch (none when nothing changed),
// then, only once the write succeeded, records each step's metrics and the Events a person needs,
// so a retried reconcile never counts a transition twice. The patch carries an optimistic lock: a
// decision made from a stale read is refused by the API server instead of moving a newer status
// backwards. It reports whether it wrote.
func (r *RemediationReconciler) commit(ctx context.Context, s *scope, steps []step) (bool, error) {
	orig := s.orig
	if equality.Semantic.DeepEqual(orig.Status, s.rem.Status) {
		return false, nil
	}
	if err := r.Status().Patch(ctx, s.rem, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("patching the status of Remediation %s/%s: %w", s.rem.Namespace, s.rem.Name, err)
	}
	for _, st := range steps {
		if st.moved {
			r.recordTransition(s, st.from, st.decision)
		}
	}
	return true, nil
}

func nextStatus(st *v1beta1.RemediationStatus, generation int64, obs remediation.Observations, d remediation.Decision, moved bool, now time.Time) {
	from := remediation.Current(st.Phase)
	st.Phase = d.Next
	st.Reason, st.Message, st.Attempts = d.Reason, d.Message, d.Attempts
	st.ObservedGeneration = generation
	if obs.Plan != nil && (d.Next == v1beta1.PhaseProposed || d.Next == v1beta1.PhaseSucceeded || d.Next == v1beta1.PhaseAwaitingApproval) {
		st.Plan = obs.Plan.DeepCopy()
	}
	if obs.PullRequest != nil {
		st.PullRequest = obs.PullRequest.DeepCopy()
	}
	if obs.Source != nil {
		st.Source = obs.Source.DeepCopy()
	}
	if d.Next == v1beta1.PhaseSuperseded && obs.SupersededBy != "" {
		st.SupersededBy = obs.SupersededBy
	}
	at := metav1.NewTime(now)
	if moved {
		st.History = append(st.History, v1beta1.PhaseTransition{Phase: d.Next, Reason: d.Reason, Time: at})
		if n := len(st.History); n > v1beta1.MaxHistory {
			st.History = append([]v1beta1.PhaseTransition(nil), st.History[n-v1beta1.MaxHistory:]...)
		}
	}
	if from == v1beta1.PhasePending && d.Next != v1beta1.PhasePending && st.StartedAt == nil {
		st.StartedAt = &at
	}
	if d.Next.IsTerminal() && st.CompletedAt == nil {
		st.CompletedAt = &at
	}

	progressing := metav1.Condition{Type: v1beta1.ConditionProgressing, Status: metav1.ConditionTrue,
		Reason: d.Reason, Message: d.Message, ObservedGeneration: generation, LastTransitionTime: at}
	succeeded := metav1.Condition{Type: v1beta1.ConditionSucceeded, Status: metav1.ConditionUnknown,
		Reason: d.Reason, Message: d.Message, ObservedGeneration: generation, LastTransitionTime: at}
	if d.Next.IsTerminal() {
		progressing.Status = metav1.ConditionFalse
		succeeded.Status = metav1.ConditionFalse
		if d.Next == v1beta1.PhaseSucceeded {
			succeeded.Status = metav1.ConditionTrue
		}
	}
	meta.SetStatusCondition(&st.Conditions, progressing)
	meta.SetStatusCondition(&st.Conditions, succeeded)
}

// recordTransition emits the Event and metrics of a phase change.
func (r *RemediationReconciler) recordTransition(s *scope, from v1beta1.Phase, d remediation.Decision) {
	rem := s.rem
	eventType := corev1.EventTypeNormal
	if d.Next == v1beta1.PhaseFailed || d.Next == v1beta1.PhaseSkipped {
		eventType = corev1.EventTypeWarning
	}
	if r.Recorder != nil && eventWorthy(from, d) {
		note := d.Message
		if p := rem.Status.Plan; p != nil && d.Next != v1beta1.PhaseFailed && d.Next != v1beta1.PhaseSkipped && p.Reason != "" && p.Reason != d.Message {
			note += ". " + p.Reason
		}
		r.Recorder.Eventf(rem, nil, eventType, d.Reason, string(d.Next), "%s", truncate(note, maxEventNote))
	}
	m := r.Metrics
	if from != d.Next {
		m.PhaseTransitions.WithLabelValues(string(from), string(d.Next)).Inc()
	}
	if !d.Next.IsTerminal() {
		return
	}
	action, ns := string(rem.Spec.Action.Type()), rem.Spec.PolicyRef.Namespace
	switch d.Next {
	case v1beta1.PhaseSucceeded:
		m.RemediationsSucceeded.WithLabelValues(action, ns).Inc()
	case v1beta1.PhaseFailed:
		m.RemediationsFailed.WithLabelValues(action, ns, d.Reason).Inc()
	case v1beta1.PhaseSkipped, v1beta1.PhaseSuperseded:
	case v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseAwaitingApproval, v1beta1.PhaseProposed,
		v1beta1.PhaseAwaitingMerge, v1beta1.PhaseApplying, v1beta1.PhaseVerifying:
	}
	m.RemediationDuration.WithLabelValues(action, string(d.Next)).Observe(s.now.Sub(rem.CreationTimestamp.Time).Seconds())
}

// maxEventNote keeps an Event's note under the 1 kB the events API accepts; a longer one would
// be dropped whole.
const maxEventNote = 1000

// eventWorthy says which transitions get an Event: those a person needs to hear of on the
// Remediation (kubectl describe, the dashboard's Events). Every transition is in status.history
// and counted in heal8s_remediation_phase_transitions_total; an Event is an API write, so only
// the change made to their workload (the patch, the pull request), the DryRun plan and the
// outcomes that need a look (Failed, Skipped, Superseded) get one.
func eventWorthy(from v1beta1.Phase, d remediation.Decision) bool {
	switch d.Next {
	case v1beta1.PhaseFailed, v1beta1.PhaseSkipped, v1beta1.PhaseSuperseded, v1beta1.PhaseAwaitingApproval:
		return true
	case v1beta1.PhaseVerifying, v1beta1.PhaseAwaitingMerge:
		return from == v1beta1.PhaseProposed
	case v1beta1.PhaseSucceeded:
		return d.Reason == remediation.DryRunReason
	case v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseProposed, v1beta1.PhaseApplying:
	}
	return false
}

// truncate shortens s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
