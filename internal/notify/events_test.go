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

package notify

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

func TestEventsOf(t *testing.T) {
	direct := oomRemediation("u-direct", v1beta1.StrategyDirect,
		step(v1beta1.PhasePlanning, remediation.GuardsPassedReason, 0),
		step(v1beta1.PhaseProposed, remediation.PlannedReason, time.Second),
		step(v1beta1.PhaseVerifying, remediation.AppliedReason, 2*time.Second))
	approved := oomRemediation("u-approved", v1beta1.StrategyDirect,
		step(v1beta1.PhasePlanning, remediation.GuardsPassedReason, 0),
		step(v1beta1.PhaseAwaitingApproval, remediation.PlannedReason, time.Second),
		step(v1beta1.PhaseProposed, remediation.PlannedReason, time.Minute),
		step(v1beta1.PhaseVerifying, remediation.AppliedReason, 2*time.Minute))
	dryRun := oomRemediation("u-dry", v1beta1.StrategyDryRun,
		step(v1beta1.PhasePlanning, remediation.GuardsPassedReason, 0),
		step(v1beta1.PhaseSucceeded, remediation.DryRunReason, time.Second))
	vetoed := oomRemediation("u-veto", v1beta1.StrategyGitOps, step(v1beta1.PhaseSkipped, remediation.VetoedReason, 0))
	vetoed.Status.StartedAt = nil
	budget := oomRemediation("u-budget", v1beta1.StrategyGitOps, step(v1beta1.PhaseSkipped, remediation.BudgetExhaustedReason, 0))
	budget.Status.StartedAt = nil
	rejected := oomRemediation("u-rej", v1beta1.StrategyGitOps,
		step(v1beta1.PhaseAwaitingMerge, remediation.PullRequestOpenedReason, 0),
		step(v1beta1.PhaseFailed, remediation.RejectedReason, time.Hour))
	superseded := oomRemediation("u-sup", v1beta1.StrategyGitOps, step(v1beta1.PhaseSuperseded, remediation.SupersededReason, 0))

	// Two earlier acted remediations of the same target within the default budgetWindow (168h)
	// plus this one: 3 of the default maxPerTarget 3 used.
	succeeded := gitopsSucceeded("u-ok")
	earlier := []v1beta1.Remediation{*gitopsSucceeded("u-1"), *gitopsSucceeded("u-2"), *succeeded}
	for i := range earlier[:2] {
		earlier[i].Status.StartedAt = &metav1.Time{Time: t0.Add(-time.Duration(i+1) * time.Hour)}
	}
	now := t0.Add(21 * time.Minute)

	tests := []struct {
		name   string
		r      *v1beta1.Remediation
		others []v1beta1.Remediation
		since  time.Time
		want   []v1beta1.NotificationEvent
	}{
		{"GitOps: the pull request is the proposal, then success", succeeded, nil, t0,
			[]v1beta1.NotificationEvent{v1beta1.EventProposed, v1beta1.EventSucceeded}},
		{"only phase changes from since on", succeeded, nil, t0.Add(5 * time.Second),
			[]v1beta1.NotificationEvent{v1beta1.EventSucceeded}},
		{"Direct: the plan about to be applied is the proposal", direct, nil, t0,
			[]v1beta1.NotificationEvent{v1beta1.EventProposed}},
		{"Direct with approval: the plan awaiting approval, then the approved plan about to be applied", approved, nil, t0,
			[]v1beta1.NotificationEvent{v1beta1.EventProposed, v1beta1.EventProposed}},
		{"DryRun: only the recorded plan's success", dryRun, nil, t0,
			[]v1beta1.NotificationEvent{v1beta1.EventSucceeded}},
		{"a veto is a Skipped", vetoed, nil, t0, []v1beta1.NotificationEvent{v1beta1.EventSkipped}},
		{"an exhausted budget is its own event", budget, nil, t0, []v1beta1.NotificationEvent{v1beta1.EventBudgetExhausted}},
		{"a closed pull request fails the remediation", rejected, nil, t0,
			[]v1beta1.NotificationEvent{v1beta1.EventProposed, v1beta1.EventFailed}},
		{"Superseded is not reported", superseded, nil, t0, nil},
		{"a success that uses up the budget adds BudgetLow", succeeded, earlier, t0,
			[]v1beta1.NotificationEvent{v1beta1.EventProposed, v1beta1.EventSucceeded, v1beta1.EventBudgetLow}},
		{"one success of three leaves the budget alone", succeeded, earlier[2:], t0,
			[]v1beta1.NotificationEvent{v1beta1.EventProposed, v1beta1.EventSucceeded}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EventsOf(tc.r, Context{Others: tc.others, Now: now, DashboardURL: "https://heal8s.example.com/"}, tc.since)
			var types []v1beta1.NotificationEvent
			keys := map[string]bool{}
			for _, e := range got {
				types = append(types, e.Type)
				if keys[e.Key] {
					t.Errorf("key %s repeated", e.Key)
				}
				keys[e.Key] = true
				if e.DashboardURL != "https://heal8s.example.com/remediations/shop/checkout-oom-7f3a9c" {
					t.Errorf("DashboardURL = %q", e.DashboardURL)
				}
				if e.Before["containers[api].resources.limits.memory"] != "256Mi" || e.Target != "Deployment/checkout" {
					t.Errorf("event lacks the plan or target: %+v", e)
				}
			}
			if len(types) != len(tc.want) {
				t.Fatalf("events = %v, want %v", types, tc.want)
			}
			for i := range types {
				if types[i] != tc.want[i] {
					t.Fatalf("events = %v, want %v", types, tc.want)
				}
			}
		})
	}
	// The same Remediation gives the same keys every time: the unit of deduplication.
	a, b := EventsOf(succeeded, Context{Now: now}, t0), EventsOf(succeeded, Context{Now: now}, t0)
	if a[1].Key != b[1].Key || a[0].Key == a[1].Key {
		t.Errorf("keys are not stable per phase change: %s %s %s", a[0].Key, a[1].Key, b[1].Key)
	}
}

func TestEventsOfKeepsOnlyWebLinks(t *testing.T) {
	r := gitopsSucceeded("u-js")
	r.Status.PullRequest.URL = "javascript:alert(1)"
	for _, e := range EventsOf(r, Context{}, t0) {
		if e.PullRequestURL != "" {
			t.Errorf("PullRequestURL = %q, want it dropped", e.PullRequestURL)
		}
	}
}

func TestWants(t *testing.T) {
	tests := []struct {
		events []v1beta1.NotificationEvent
		min    v1beta1.NotificationSeverity
		t      v1beta1.NotificationEvent
		want   bool
	}{
		{nil, "", v1beta1.EventSucceeded, true},
		{nil, v1beta1.SeverityInfo, v1beta1.EventProposed, true},
		{nil, v1beta1.SeverityWarning, v1beta1.EventSucceeded, false},
		{nil, v1beta1.SeverityWarning, v1beta1.EventBudgetLow, true},
		{nil, v1beta1.SeverityError, v1beta1.EventSkipped, false},
		{nil, v1beta1.SeverityError, v1beta1.EventBudgetExhausted, true},
		{[]v1beta1.NotificationEvent{v1beta1.EventFailed}, v1beta1.SeverityInfo, v1beta1.EventSucceeded, false},
		{[]v1beta1.NotificationEvent{v1beta1.EventFailed}, v1beta1.SeverityInfo, v1beta1.EventFailed, true},
		{[]v1beta1.NotificationEvent{v1beta1.EventProposed}, v1beta1.SeverityError, v1beta1.EventProposed, false},
	}
	for _, tc := range tests {
		spec := &v1beta1.NotifierSpec{Events: tc.events, MinSeverity: tc.min}
		if got := Wants(spec, tc.t); got != tc.want {
			t.Errorf("Wants(events %v, min %q, %s) = %v, want %v", tc.events, tc.min, tc.t, got, tc.want)
		}
	}
}

func TestTitleOfAPlanAwaitingApproval(t *testing.T) {
	r := oomRemediation("u-wait", v1beta1.StrategyDirect, step(v1beta1.PhaseAwaitingApproval, remediation.PlannedReason, 0))
	evs := EventsOf(r, Context{}, t0)
	if len(evs) != 1 {
		t.Fatalf("EventsOf = %d events, want 1", len(evs))
	}
	title := Title(&evs[0])
	for _, want := range []string{"awaiting approval", "kubectl heal8s approve " + r.Name + " -n " + r.Namespace} {
		if !strings.Contains(title, want) {
			t.Errorf("Title = %q, want it to contain %q", title, want)
		}
	}
}
