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
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func listFixture(now time.Time) []v1beta1.Remediation {
	waiting := v1beta1.Remediation{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "oom-kill-3f9a1c2b7d",
		CreationTimestamp: metav1.NewTime(now.Add(-4 * time.Minute))}}
	waiting.Spec.Action.IncreaseMemory = &v1beta1.IncreaseMemoryAction{}
	waiting.Spec.PolicyRef = v1beta1.PolicyReference{Namespace: "shop", Name: "memory"}
	waiting.Spec.Target = v1beta1.TargetRef{Kind: v1beta1.TargetKindDeployment, Name: "checkout", Namespace: "shop", Container: "app"}
	waiting.Status.Phase, waiting.Status.Reason = v1beta1.PhaseAwaitingApproval, "AwaitingApproval"
	waiting.Status.Plan = &v1beta1.Plan{
		Before: map[string]string{"containers[app].resources.limits.memory": "256Mi", "containers[app].resources.requests.memory": "128Mi"},
		After:  map[string]string{"containers[app].resources.limits.memory": "320Mi", "containers[app].resources.requests.memory": "192Mi"},
	}
	exp := metav1.NewTime(now.Add(56 * time.Minute))
	waiting.Status.Approval = &v1beta1.ApprovalStatus{PlanDigest: "d", ExpiresAt: &exp}

	done := v1beta1.Remediation{ObjectMeta: metav1.ObjectMeta{Namespace: "api", Name: "scale-7c1e",
		CreationTimestamp: metav1.NewTime(now.Add(-3 * time.Hour))}}
	done.Spec.Action.ScaleUp = &v1beta1.ScaleUpAction{}
	done.Spec.PolicyRef = v1beta1.PolicyReference{Namespace: "heal8s-system", Name: "platform"}
	done.Spec.Target = v1beta1.TargetRef{Kind: v1beta1.TargetKindHorizontalPodAutoscaler, Name: "api", Namespace: "api"}
	done.Status.Phase, done.Status.Reason = v1beta1.PhaseFailed, "Rejected"
	at := metav1.NewTime(now.Add(-2 * time.Hour))
	done.Status.Approval = &v1beta1.ApprovalStatus{Decision: v1beta1.ApprovalRejected, User: "alice", Time: &at}
	return []v1beta1.Remediation{done, waiting}
}

func TestPrintRemediations(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	items := listFixture(now)

	var b bytes.Buffer
	g.Expect(PrintRemediations(&b, items, ListOptions{Format: FormatText, AllNamespaces: true}, now)).To(Succeed())
	g.Expect(b.String()).To(Equal(
		"NAMESPACE   NAME                  PHASE              ACTION           TARGET                        PLAN                                                                                                           AGE\n"+
			"api         scale-7c1e            Failed             ScaleUp          HorizontalPodAutoscaler/api   -                                                                                                              3h\n"+
			"shop        oom-kill-3f9a1c2b7d   AwaitingApproval   IncreaseMemory   Deployment/checkout           containers[app].resources.limits.memory 256Mi->320Mi, containers[app].resources.requests.memory 128Mi->192Mi   4m\n"),
		b.String())

	b.Reset()
	g.Expect(PrintRemediations(&b, items[1:], ListOptions{Format: FormatText, Wide: true}, now)).To(Succeed())
	g.Expect(b.String()).To(ContainSubstring("POLICY"))
	g.Expect(b.String()).To(ContainSubstring("shop/memory"))
	g.Expect(b.String()).To(ContainSubstring("expires in 56m"))
	g.Expect(b.String()).NotTo(HavePrefix("NAMESPACE"))
	b.Reset()
	g.Expect(PrintRemediations(&b, items[:1], ListOptions{Format: FormatText, Wide: true}, now)).To(Succeed())
	g.Expect(b.String()).To(ContainSubstring("Rejected by alice"))

	for _, f := range []Format{FormatJSON, FormatYAML} {
		b.Reset()
		g.Expect(PrintRemediations(&b, items, ListOptions{Format: f}, now)).To(Succeed())
		var list v1beta1.RemediationList
		if f == FormatJSON {
			g.Expect(json.Unmarshal(b.Bytes(), &list)).To(Succeed())
		} else {
			g.Expect(yaml.UnmarshalStrict(b.Bytes(), &list)).To(Succeed())
		}
		g.Expect(list.Kind).To(Equal("List"))
		g.Expect(list.Items).To(HaveLen(2))
		g.Expect(list.Items[1].Kind).To(Equal("Remediation"))
		g.Expect(list.Items[1].Status.Plan.After).To(HaveKeyWithValue("containers[app].resources.limits.memory", "320Mi"))
	}
}
