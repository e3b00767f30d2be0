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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// oomRemediation is a GitOps IncreaseMemory Remediation after a KubePodOOMKilled-style alert,
// as the receiver writes it (spec), with its history up to phase.
func oomRemediation(uid string, strategy v1beta1.Strategy, steps ...v1beta1.PhaseTransition) *v1beta1.Remediation {
	r := &v1beta1.Remediation{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout-oom-7f3a9c", Namespace: "shop", UID: types.UID(uid)},
		Spec: v1beta1.RemediationSpec{
			PolicyRef: v1beta1.PolicyReference{Name: "memory", Namespace: "shop"},
			Rule:      "oom",
			Alert: v1beta1.AlertInfo{
				Name: "KubeContainerOOMKilled", Fingerprint: "4f1c0b2a9d8e7f60",
				Labels:      map[string]string{"severity": "warning", "namespace": "shop", "container": "api"},
				Annotations: map[string]string{"summary": "Container api in shop/checkout was OOMKilled 3 times in 10m"},
			},
			Target:   v1beta1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "checkout", Namespace: "shop", Container: "api"},
			Action:   v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}},
			Strategy: strategy,
		},
	}
	r.Status.Plan = &v1beta1.Plan{
		Before: map[string]string{"containers[api].resources.limits.memory": "256Mi"},
		After:  map[string]string{"containers[api].resources.limits.memory": "320Mi"},
		Reason: "+25% of 256Mi, rounded up to 320Mi (cap 2Gi)",
	}
	r.Status.History = steps
	if len(steps) > 0 {
		last := steps[len(steps)-1]
		r.Status.Phase, r.Status.Reason = last.Phase, last.Reason
		started := metav1.NewTime(steps[0].Time.Time)
		r.Status.StartedAt = &started
	}
	return r
}

func step(p v1beta1.Phase, reason string, after time.Duration) v1beta1.PhaseTransition {
	return v1beta1.PhaseTransition{Phase: p, Reason: reason, Time: metav1.NewTime(t0.Add(after))}
}

func gitopsSucceeded(uid string) *v1beta1.Remediation {
	r := oomRemediation(uid, v1beta1.StrategyGitOps,
		step(v1beta1.PhasePlanning, remediation.GuardsPassedReason, 0),
		step(v1beta1.PhaseProposed, remediation.PlannedReason, time.Second),
		step(v1beta1.PhaseAwaitingMerge, remediation.PullRequestOpenedReason, 3*time.Second),
		step(v1beta1.PhaseApplying, remediation.MergedReason, 10*time.Minute),
		step(v1beta1.PhaseVerifying, remediation.ChangeLiveReason, 12*time.Minute),
		step(v1beta1.PhaseSucceeded, remediation.AlertResolvedReason, 20*time.Minute),
	)
	r.Status.PullRequest = &v1beta1.PullRequestStatus{URL: "https://github.com/acme/shop-deploy/pull/412", Number: 412, State: v1beta1.PullRequestMerged}
	r.Status.Message = "The rollout is healthy and the alert resolved"
	return r
}
