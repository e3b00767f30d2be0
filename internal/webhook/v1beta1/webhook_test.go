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

package v1beta1

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "webhook-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

var _ = Describe("RemediationPolicy webhooks", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("fills the defaults on create", func() {
		p := validPolicy()
		p.Namespace = ns
		Expect(k8sClient.Create(ctx, p)).To(Succeed())

		got := &v1beta1.RemediationPolicy{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		mem := got.Spec.Rules[0].Action.IncreaseMemory
		Expect(*mem.Percent).To(BeEquivalentTo(25))
		Expect(mem.MinIncrease.String()).To(Equal("64Mi"))
		Expect(mem.RoundTo.String()).To(Equal("64Mi"))
		Expect(mem.Max.String()).To(Equal("2Gi"))
		Expect(got.Spec.Strategy).To(Equal(v1beta1.StrategyDryRun))
		Expect(got.Spec.Safety.Cooldown.Duration).To(Equal(30 * time.Minute))
		Expect(*got.Spec.Safety.MaxPerTarget).To(BeEquivalentTo(3))
		Expect(got.Spec.Safety.BudgetWindow.Duration).To(Equal(168 * time.Hour))
		Expect(got.Spec.Verify.Window.Duration).To(Equal(10 * time.Minute))
	})

	DescribeTable("refuses an invalid policy, naming the field",
		func(mutate func(p *v1beta1.RemediationPolicy), field string) {
			p := validPolicy()
			p.Namespace = ns
			mutate(p)
			err := k8sClient.Create(ctx, p)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
		},
		Entry("unparsable matcher", func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Matchers = []string{`severity=~"(unclosed"`}
		}, "spec.rules[0].matchers[0]"),
		Entry("empty action union", func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action = v1beta1.Action{}
		}, "spec.rules[0].action"),
		Entry("two actions", func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action.ScaleUp = &v1beta1.ScaleUpAction{}
		}, "spec.rules[0].action"),
		Entry("percent outside 1..1000", func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action.IncreaseMemory.Percent = ptr.To[int32](1500)
		}, "spec.rules[0].action.increaseMemory.percent"),
		Entry("max below the unit values are rounded to", func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action.IncreaseMemory.Max = q("512m")
		}, "spec.rules[0].action.increaseMemory.max"),
		Entry("GitOps without git", func(p *v1beta1.RemediationPolicy) {
			p.Spec.Strategy = v1beta1.StrategyGitOps
		}, "spec.git"),
		Entry("cross-namespace selector outside the operator namespace", func(p *v1beta1.RemediationPolicy) {
			p.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
		}, "spec.namespaceSelector"),
	)

	It("lets a policy in the operator namespace select other namespaces", func() {
		sys := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: suiteOperatorNamespace}}
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, sys))).To(Succeed())
		p := validPolicy()
		p.Namespace = suiteOperatorNamespace
		p.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
	})
})

var _ = Describe("Remediation webhooks", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	remediationIn := func(ns string) *v1beta1.Remediation {
		r := validRemediation()
		r.Namespace = ns
		r.Spec.PolicyRef.Namespace = ns
		r.Spec.Target.Namespace = ns
		return r
	}

	It("fills the defaults and keeps the spec immutable while status changes", func() {
		r := remediationIn(ns)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		Expect(*r.Spec.Action.ScaleUp.MaxReplicas).To(BeEquivalentTo(10))

		r.Status.Phase = v1beta1.PhasePending
		Expect(k8sClient.Status().Update(ctx, r)).To(Succeed())

		r.Spec.Action.ScaleUp.MaxReplicas = ptr.To[int32](99)
		err := k8sClient.Update(ctx, r)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec"))
		Expect(err.Error()).To(ContainSubstring("immutable"))
	})

	It("refuses an approval that names anyone but its writer", func() {
		r := remediationIn(ns)
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		review := &authenticationv1.SelfSubjectReview{}
		Expect(k8sClient.Create(ctx, review)).To(Succeed())
		me := review.Status.UserInfo.Username
		Expect(me).NotTo(BeEmpty())

		patch := client.MergeFrom(r.DeepCopy())
		r.Annotations = map[string]string{v1beta1.AnnotationApprovalDecision: "Approved", v1beta1.AnnotationApprovalUser: "alice"}
		err := k8sClient.Patch(ctx, r, patch)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("must be your own username (" + me + `), not "alice"`))

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(r), r)).To(Succeed())
		patch = client.MergeFrom(r.DeepCopy())
		r.Annotations = map[string]string{v1beta1.AnnotationApprovalDecision: "Approved", v1beta1.AnnotationApprovalUser: me}
		Expect(k8sClient.Patch(ctx, r, patch)).To(Succeed(), "naming oneself is the webhook's whole check: the controller checks the right")

		By("other metadata writes leave an approval someone else wrote alone")
		patch = client.MergeFrom(r.DeepCopy())
		r.Annotations["example.test/note"] = "x"
		Expect(k8sClient.Patch(ctx, r, patch)).To(Succeed())

		By("and a new Remediation cannot carry someone else's approval either")
		other := remediationIn(ns)
		other.Name = "other"
		other.Annotations = map[string]string{v1beta1.AnnotationApprovalUser: "alice", v1beta1.AnnotationApprovalDecision: "Approved"}
		Expect(apierrors.IsForbidden(k8sClient.Create(ctx, other))).To(BeTrue())
	})

	DescribeTable("refuses an invalid Remediation, naming the field",
		func(mutate func(r *v1beta1.Remediation), field string) {
			r := remediationIn(ns)
			mutate(r)
			err := k8sClient.Create(ctx, r)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
		},
		Entry("target in another namespace", func(r *v1beta1.Remediation) { r.Spec.Target.Namespace = "elsewhere" }, "spec.target.namespace"),
		Entry("empty action union", func(r *v1beta1.Remediation) { r.Spec.Action = v1beta1.Action{} }, "spec.action"),
		Entry("wrong apiVersion for the kind", func(r *v1beta1.Remediation) { r.Spec.Target.APIVersion = "apps/v1beta2" }, "spec.target.apiVersion"),
	)
})

var _ = Describe("config/samples", func() {
	It("are all accepted", func() {
		ns := "default"
		files, err := filepath.Glob(filepath.Join("..", "..", "..", "config", "samples", "*_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		for _, f := range files {
			raw, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			obj := &unstructured.Unstructured{}
			Expect(yaml.Unmarshal(raw, &obj.Object)).To(Succeed(), f)
			obj.SetNamespace(ns)
			Expect(k8sClient.Create(ctx, obj)).To(Succeed(), "sample %s", f)
		}
	})
})
