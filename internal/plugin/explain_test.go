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

package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
)

var now = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func sampleRemediation() *v1beta1.Remediation {
	pct := int32(25)
	started, seen, planned := at(2*time.Hour), at(5*time.Minute), at(110*time.Minute)
	return &v1beta1.Remediation{
		ObjectMeta: metav1.ObjectMeta{Name: "oom-killed-3f9a1c2b7d", Namespace: "shop", UID: "uid-1",
			CreationTimestamp: at(2 * time.Hour)},
		Spec: v1beta1.RemediationSpec{
			PolicyRef: v1beta1.PolicyReference{Name: "heal8s", Namespace: "heal8s-system"},
			Rule:      "oom-killed",
			Alert: v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "4f3c2a1b0e9d8c7a", StartsAt: &started,
				Labels: map[string]string{"alertname": "KubePodOOMKilled", "namespace": "shop", "pod": "checkout-7d4b9c8f6d-x2x9z",
					"container": "app", "severity": "warning", "uid": "u", "endpoint": "http"},
				Annotations: map[string]string{"summary": "Container app was OOMKilled"}},
			Target: v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: "checkout",
				Namespace: "shop", Container: "app"},
			Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{Percent: &pct,
				Max: new(resource.MustParse("2Gi"))}},
			Strategy: v1beta1.StrategyGitOps,
		},
		Status: v1beta1.RemediationStatus{
			Phase: v1beta1.PhaseAwaitingMerge, Reason: "PullRequestOpened", Message: "Opened pull request #12",
			AlertCount: 3, LastSeen: &seen, StartedAt: &planned,
			Conditions: []metav1.Condition{{Type: v1beta1.ConditionProgressing, Status: metav1.ConditionTrue,
				Reason: "AwaitingMerge", Message: "Waiting for\na review", LastTransitionTime: at(100 * time.Minute)}},
			Plan: &v1beta1.Plan{
				Before: map[string]string{"spec.template.spec.containers[app].resources.limits.memory": "512Mi"},
				After:  map[string]string{"spec.template.spec.containers[app].resources.limits.memory": "640Mi"},
				Reason: "512Mi + 25% = 640Mi, under the cap 2Gi",
				Patch: `[{"op":"test","path":"/spec/template/spec/containers/0/resources/limits/memory","value":"512Mi"},` +
					`{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/memory","value":"640Mi"}]`,
			},
			PullRequest: &v1beta1.PullRequestStatus{Provider: "github", URL: "https://github.com/acme/deploy/pull/12",
				Number: 12, Branch: "heal8s/oom-killed-3f9a1c2b7d", State: v1beta1.PullRequestOpen},
			History: []v1beta1.PhaseTransition{
				{Phase: v1beta1.PhasePending, Reason: "Created", Time: at(2 * time.Hour)},
				{Phase: v1beta1.PhasePlanning, Reason: "GuardsPassed", Time: at(110 * time.Minute)},
				{Phase: v1beta1.PhaseAwaitingMerge, Reason: "PullRequestOpened", Time: at(100 * time.Minute)},
			},
		},
	}
}

func event(name string, regarding corev1.ObjectReference, reason string, ago time.Duration) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		EventTime:  metav1.NewMicroTime(now.Add(-ago)), Regarding: regarding, Reason: reason, Type: "Normal",
		Note: reason + " note", ReportingController: "heal8s-remediation", ReportingInstance: "x", Action: "Phase",
	}
}

func TestExplain(t *testing.T) {
	s, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	rem := sampleRemediation()
	mine := corev1.ObjectReference{Kind: "Remediation", Name: rem.Name, Namespace: "shop", UID: rem.UID}
	other := corev1.ObjectReference{Kind: "Remediation", Name: "other", Namespace: "shop", UID: "uid-2"}
	objs := []client.Object{rem,
		event("e1", mine, "Planning", 110*time.Minute),
		event("e3", mine, "AwaitingMerge", 100*time.Minute),
		event("e2", mine, "Pending", 2*time.Hour),
		event("e4", other, "Pending", time.Minute),
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()

	e, err := Explain(context.Background(), c, types.NamespacedName{Namespace: "shop", Name: rem.Name}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if e.EventsError != "" {
		t.Fatalf("events: %s", e.EventsError)
	}
	var reasons []string
	for _, ev := range e.Events {
		reasons = append(reasons, ev.Reason)
	}
	if got := strings.Join(reasons, ","); got != "Planning,AwaitingMerge" {
		t.Errorf("events = %s, want the latest two about it, oldest first: Planning,AwaitingMerge", got)
	}

	var b bytes.Buffer
	if err := PrintExplanation(&b, e, FormatText, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Remediation:    shop/oom-killed-3f9a1c2b7d (created 120m ago)",
		"Phase:          AwaitingMerge  reason PullRequestOpened",
		"Alert:          KubePodOOMKilled (fingerprint 4f3c2a1b0e9d8c7a)",
		"alertname=KubePodOOMKilled container=app namespace=shop pod=checkout-7d4b9c8f6d-x2x9z severity=warning",
		"severity=warning (+2 more: -o yaml)",
		"  started:      2026-03-15T10:00:00Z (120m ago)",
		"  sent:         3 times, last 2026-03-15T11:55:00Z (5m ago)",
		"  resolved:     not yet",
		"Policy:         heal8s-system/heal8s, rule oom-killed",
		"Action:         IncreaseMemory (percent 25, max 2Gi)",
		"Target:         Deployment shop/checkout (apps/v1), container app",
		"Progressing  True    AwaitingMerge  100m ago  Waiting for a review",
		"Reason: 512Mi + 25% = 640Mi, under the cap 2Gi",
		"spec.template.spec.containers[app].resources.limits.memory  512Mi   640Mi",
		`    {"op":"test","path":"/spec/template/spec/containers/0/resources/limits/memory","value":"512Mi"}`,
		"https://github.com/acme/deploy/pull/12",
		"#12, open, branch heal8s/oom-killed-3f9a1c2b7d (github)",
		"2026-03-15T10:00:00Z  120m ago  Pending        Created",
		"100m ago  Normal  AwaitingMerge  1      heal8s-remediation  AwaitingMerge note",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Pending note") {
		t.Errorf("explain shows an Event beyond --events 2, or of another Remediation:\n%s", out)
	}

	// -o json and yaml pass the object through, typed, without managedFields.
	e.Remediation.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "heal8s", Operation: metav1.ManagedFieldsOperationUpdate}}
	b.Reset()
	if err := PrintExplanation(&b, e, FormatJSON, now); err != nil {
		t.Fatal(err)
	}
	var back v1beta1.Remediation
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.APIVersion != "heal8s.io/v1beta1" || back.Kind != "Remediation" || back.Status.Plan == nil ||
		back.ManagedFields != nil || back.Spec.Alert.Labels["uid"] != "u" {
		t.Errorf("json = %s", b.String())
	}
	b.Reset()
	if err := PrintExplanation(&b, e, FormatYAML, now); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b.Bytes(), &back); err != nil || back.Name != rem.Name {
		t.Errorf("yaml = %s (%v)", b.String(), err)
	}
	if e.Remediation.ManagedFields == nil {
		t.Error("PrintExplanation changed the Remediation it was given")
	}
}

func TestExplainNotFound(t *testing.T) {
	s, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(s).Build()
	_, err = Explain(context.Background(), c, types.NamespacedName{Namespace: "shop", Name: "absent"}, 10)
	if err == nil || !strings.Contains(err.Error(), "Remediation shop/absent: not found") {
		t.Errorf("error = %v", err)
	}
}

func TestExplainBareRemediation(t *testing.T) {
	rem := &v1beta1.Remediation{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "shop"},
		Spec: v1beta1.RemediationSpec{Strategy: v1beta1.StrategyDryRun}}
	var b bytes.Buffer
	if err := PrintExplanation(&b, &Explanation{Remediation: rem, EventsError: "forbidden"}, FormatText, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(none yet: the controller has not seen it)", "Plan:\n  (none yet)",
		"(none: strategy DryRun)", "(could not list them: forbidden)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	if err := PrintExplanation(&b, nil, FormatText, now); err == nil {
		t.Error("PrintExplanation(nil): no error")
	}
	if err := PrintExplanation(&b, &Explanation{Remediation: rem}, Format("xml"), now); err == nil {
		t.Error("format xml: no error")
	}
}

func TestPatchLines(t *testing.T) {
	if got := patchLines(`[ {"op": "add"}, {"op":"test"} ]`); fmt.Sprint(got) != `[{"op":"add"} {"op":"test"}]` {
		t.Errorf("patchLines = %q", got)
	}
	if got := patchLines("not json\nat all"); len(got) != 2 {
		t.Errorf("patchLines(text) = %q", got)
	}
}

func TestExplainApprovalAndRetry(t *testing.T) {
	rem := &v1beta1.Remediation{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "shop"},
		Spec: v1beta1.RemediationSpec{Strategy: v1beta1.StrategyDirect}}
	exp := metav1.NewTime(now.Add(30 * time.Minute))
	rem.Status.Phase = v1beta1.PhaseAwaitingApproval
	rem.Status.Approval = &v1beta1.ApprovalStatus{PlanDigest: "d", ExpiresAt: &exp, Refused: "mallory may not approve Remediations here"}
	var b bytes.Buffer
	if err := PrintExplanation(&b, &Explanation{Remediation: rem}, FormatText, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Approval:       waiting until", "kubectl heal8s approve|reject r -n shop", "  refused:      mallory may not"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}

	// A decision, and a retry, with times a hand-written status may lack.
	rem.Status.Phase = v1beta1.PhaseFailed
	rem.Status.Approval = &v1beta1.ApprovalStatus{Decision: v1beta1.ApprovalRejected, User: "alice", Reason: "not now"}
	rem.Status.Retry = &v1beta1.RetryStatus{Token: "t", Refused: "A rejected Remediation is a veto"}
	b.Reset()
	if err := PrintExplanation(&b, &Explanation{Remediation: rem}, FormatText, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Approval:       Rejected by alice, -: not now", "Retry:          refused: A rejected Remediation is a veto"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
