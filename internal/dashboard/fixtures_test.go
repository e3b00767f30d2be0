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

package dashboard

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// xssAnnotation is an alert annotation an attacker controls: it must reach the page as text.
const xssAnnotation = `<script>window.heal8sPwned=1</script><img src=x onerror="window.heal8sPwned=2">`

// t0 is the fake clock's now in the handler tests.
var t0 = time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := v1beta1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// remediation builds a Remediation as the receiver writes it; status is set by the caller.
func remediation(ns, name string, action v1beta1.ActionType, created time.Time) *v1beta1.Remediation {
	r := &v1beta1.Remediation{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name),
			CreationTimestamp: metav1.NewTime(created),
			Labels: map[string]string{
				v1beta1.LabelPolicy: "default", v1beta1.LabelRule: "r1", v1beta1.LabelAction: string(action),
			},
		},
		Spec: v1beta1.RemediationSpec{
			PolicyRef: v1beta1.PolicyReference{Name: "default", Namespace: ns},
			Rule:      "r1",
			Alert: v1beta1.AlertInfo{
				Name:        "KubePodOOMKilled",
				Fingerprint: "fp-" + name,
				Labels:      map[string]string{"alertname": "KubePodOOMKilled", "namespace": ns, "container": "app"},
				Annotations: map[string]string{"summary": "Container app was OOMKilled"},
			},
			Target:   v1beta1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web-" + name, Namespace: ns, Container: "app"},
			Strategy: v1beta1.StrategyGitOps,
		},
	}
	switch action {
	case v1beta1.ActionIncreaseMemory:
		r.Spec.Action.IncreaseMemory = &v1beta1.IncreaseMemoryAction{Percent: ptr.To[int32](25)}
	case v1beta1.ActionIncreaseCPU:
		r.Spec.Action.IncreaseCPU = &v1beta1.IncreaseCPUAction{Percent: ptr.To[int32](50)}
	case v1beta1.ActionScaleUp:
		r.Spec.Action.ScaleUp = &v1beta1.ScaleUpAction{Percent: ptr.To[int32](50)}
	case v1beta1.ActionRollbackImage:
		r.Spec.Action.RollbackImage = &v1beta1.RollbackImageAction{MaxRevisions: ptr.To[int32](5)}
	}
	return r
}

// enteredBecause gives each phase the reason the engine usually enters it with.
var enteredBecause = map[v1beta1.Phase]string{
	v1beta1.PhasePending: "Waiting", v1beta1.PhasePlanning: "GuardsPassed", v1beta1.PhaseProposed: "Planned",
	v1beta1.PhaseAwaitingMerge: "PullRequestOpened", v1beta1.PhaseApplying: "Merged", v1beta1.PhaseVerifying: "ChangeLive",
	v1beta1.PhaseSucceeded: "VerifyWindowPassed", v1beta1.PhaseFailed: "Rejected", v1beta1.PhaseSkipped: "Cooldown",
}

// withPhase walks r through phases, one minute apart from start, recording history as the
// engine does, and sets the last transition's reason and message.
func withPhase(r *v1beta1.Remediation, start time.Time, reason, message string, phases ...v1beta1.Phase) *v1beta1.Remediation {
	for i, p := range phases {
		r.Status.History = append(r.Status.History, v1beta1.PhaseTransition{
			Phase: p, Reason: enteredBecause[p], Time: metav1.NewTime(start.Add(time.Duration(i) * time.Minute)),
		})
	}
	if n := len(phases); n > 0 {
		r.Status.Phase = phases[n-1]
		r.Status.History[n-1].Reason = reason
	}
	r.Status.Reason, r.Status.Message = reason, message
	return r
}

func event(r *v1beta1.Remediation, typ, reason, note string, at time.Time) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name + "." + strings.ToLower(reason)},
		EventTime:  metav1.NewMicroTime(at),
		Regarding: corev1.ObjectReference{
			APIVersion: v1beta1.GroupVersion.String(), Kind: "Remediation",
			Namespace: r.Namespace, Name: r.Name, UID: r.UID,
		},
		Reason: reason, Note: note, Type: typ, Action: "Transition",
		ReportingController: "heal8s.io/remediation", ReportingInstance: "heal8s-0",
	}
}

// scene is the incident board the tests look at: one Remediation per interesting phase, in two
// namespaces, and a Ready and a broken policy.
func scene(now time.Time) (rems []*v1beta1.Remediation, pols []*v1beta1.RemediationPolicy) {
	awaiting := withPhase(remediation("prod", "oom-api", v1beta1.ActionIncreaseMemory, now.Add(-30*time.Minute)),
		now.Add(-29*time.Minute), "PullRequestOpened", "waiting for a reviewer",
		v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseProposed, v1beta1.PhaseAwaitingMerge)
	awaiting.Spec.Alert.Annotations["description"] = xssAnnotation
	awaiting.Status.PullRequest = &v1beta1.PullRequestStatus{
		Provider: "github", URL: "https://github.com/acme/deploy/pull/42", Number: 42,
		Branch: "heal8s/oom-api", State: v1beta1.PullRequestOpen,
	}
	awaiting.Status.Plan = &v1beta1.Plan{
		Before: map[string]string{"containers[app].resources.limits.memory": "256Mi"},
		After:  map[string]string{"containers[app].resources.limits.memory": "320Mi"},
		Patch:  `[{"op":"test","path":"/spec/template/spec/containers/0/resources/limits/memory","value":"256Mi"}]`,
		Reason: "256Mi +25% = 320Mi, rounded to 64Mi",
	}
	awaiting.Status.AlertCount = 3
	verifying := withPhase(remediation("prod", "cpu-worker", v1beta1.ActionIncreaseCPU, now.Add(-20*time.Minute)),
		now.Add(-19*time.Minute), "ChangeLive", "320m is live; waiting 10m for the alert to stay resolved",
		v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseProposed, v1beta1.PhaseApplying, v1beta1.PhaseVerifying)
	verifying.Spec.Alert.Name = "CPUThrottlingHigh"
	verifying.Spec.Alert.Annotations["summary"] = xssAnnotation
	succeeded := withPhase(remediation("staging", "oom-cache", v1beta1.ActionIncreaseMemory, now.Add(-3*time.Hour)),
		now.Add(-3*time.Hour), "VerifyWindowPassed", "the alert stayed resolved for 10m",
		v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseProposed, v1beta1.PhaseVerifying, v1beta1.PhaseSucceeded)
	failed := withPhase(remediation("staging", "scale-web", v1beta1.ActionScaleUp, now.Add(-2*time.Hour)),
		now.Add(-2*time.Hour), "Rejected", "pull request #7 was closed without merging",
		v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseProposed, v1beta1.PhaseAwaitingMerge, v1beta1.PhaseFailed)
	failed.Status.PullRequest = &v1beta1.PullRequestStatus{URL: "https://github.com/acme/deploy/pull/7", Number: 7, State: v1beta1.PullRequestClosed}
	skipped := withPhase(remediation("prod", "rollback-api", v1beta1.ActionRollbackImage, now.Add(-time.Hour)),
		now.Add(-time.Hour), "Cooldown", "IncreaseMemory on Deployment/api ran 5m ago; cooldown is 1h",
		v1beta1.PhasePending, v1beta1.PhaseSkipped)
	rems = []*v1beta1.Remediation{awaiting, verifying, succeeded, failed, skipped}

	ready := &v1beta1.RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "default", Generation: 2},
		Spec: v1beta1.RemediationPolicySpec{
			Strategy: v1beta1.StrategyGitOps,
			Rules: []v1beta1.Rule{{Name: "r1", Matchers: []string{`alertname="KubePodOOMKilled"`},
				Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}}},
		},
		Status: v1beta1.RemediationPolicyStatus{ObservedGeneration: 2, CompiledRules: 1, Conditions: []metav1.Condition{{
			Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.CompiledReason,
			Message: "1 rule compiled", LastTransitionTime: metav1.NewTime(now.Add(-time.Hour)),
		}},
			// Retention deleted seven finished Remediations; the last two are named, one in a
			// namespace only some viewers may list.
			Expired: &v1beta1.ExpiredOutcomes{Total: 7, LastDeletionTime: ptr.To(metav1.NewTime(now.Add(-2 * time.Hour))),
				ByOutcome: []v1beta1.OutcomeCount{
					{Phase: v1beta1.PhaseSkipped, Reason: "Cooldown", Count: 2},
					{Phase: v1beta1.PhaseSucceeded, Reason: "VerifyWindowPassed", Count: 5},
				},
				Recent: []v1beta1.ExpiredRemediation{
					{Name: "expired-oom-api", Namespace: "prod", Target: "Deployment/api", Action: v1beta1.ActionIncreaseMemory,
						Phase: v1beta1.PhaseSucceeded, Reason: "VerifyWindowPassed", CompletedAt: ptr.To(metav1.NewTime(now.Add(-8 * 24 * time.Hour))),
						DeletedAt: metav1.NewTime(now.Add(-2 * time.Hour))},
					{Name: "expired-secret-job", Namespace: "staging", Target: "Deployment/secret", Action: v1beta1.ActionScaleUp,
						Phase: v1beta1.PhaseSkipped, Reason: "Cooldown", DeletedAt: metav1.NewTime(now.Add(-3 * time.Hour))},
				}},
		},
	}
	broken := &v1beta1.RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "staging", Name: "broken", Generation: 1},
		Spec: v1beta1.RemediationPolicySpec{
			Strategy: v1beta1.StrategyDirect,
			Rules: []v1beta1.Rule{{Name: "oom", Matchers: []string{`alertname=~"(`},
				Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}}},
			// Two people paused it, each by name (kubectl heal8s pause).
			Safety: v1beta1.SafetySpec{PauseRequests: []string{"maintenance", "alice"}},
		},
		Status: v1beta1.RemediationPolicyStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{{
			Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1beta1.CompileFailedReason,
			Message: `rule "oom": matcher alertname=~"(": missing closing )`, LastTransitionTime: metav1.NewTime(now),
		}}},
	}
	return rems, []*v1beta1.RemediationPolicy{ready, broken}
}
