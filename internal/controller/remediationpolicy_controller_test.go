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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/routing"
)

// policyOpsNamespace is the operator namespace of the policy controller's specs.
const policyOpsNamespace = "rempol-operator"

var _ = Describe("RemediationPolicy controller", Ordered, func() {
	var (
		table     *routing.Table
		mgrCancel context.CancelFunc
		ns        string
	)

	BeforeAll(func() {
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{
			Scheme:  scheme,
			Metrics: metricsserver.Options{BindAddress: "0"},
		})
		Expect(err).NotTo(HaveOccurred())
		table = routing.NewTable(routing.TableOptions{OperatorNamespace: "heal8s-system"})
		err = k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: policyOpsNamespace}})
		Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
		Expect((&RemediationPolicyReconciler{Client: mgr.GetClient(), Table: table, APIReader: mgr.GetAPIReader(),
			GitAccess: gitaccess.Config{OperatorNamespace: policyOpsNamespace}}).SetupWithManager(mgr)).To(Succeed())
		var mgrCtx context.Context
		mgrCtx, mgrCancel = context.WithCancel(ctx)
		go func() {
			defer GinkgoRecover()
			Expect(mgr.Start(mgrCtx)).To(Succeed())
		}()
	})

	AfterAll(func() { mgrCancel() })

	BeforeEach(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rempol-"}}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		ns = n.Name
	})

	newPolicy := func(matchers ...string) *v1beta1.RemediationPolicy {
		return &v1beta1.RemediationPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "memory"},
			Spec: v1beta1.RemediationPolicySpec{Rules: []v1beta1.Rule{
				{Name: "oom", Matchers: []string{`alertname="KubePodOOMKilled"`}, Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}},
				{Name: "near-limit", Matchers: matchers, Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}},
			}},
		}
	}
	ready := func(key types.NamespacedName) func(Gomega) *metav1.Condition {
		return func(g Gomega) *metav1.Condition {
			p := &v1beta1.RemediationPolicy{}
			g.Expect(k8sClient.Get(ctx, key, p)).To(Succeed())
			c := meta.FindStatusCondition(p.Status.Conditions, v1beta1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.ObservedGeneration).To(Equal(p.Generation))
			g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation))
			return c
		}
	}
	alert := func() map[string]string {
		return map[string]string{"alertname": "ContainerMemoryNearLimit", "namespace": ns, "pod": "api-1", "container": "app"}
	}
	route := func() (routing.Match, routing.SkipReason) {
		m, reason, err := table.Route(alert(), func(string) (map[string]string, bool, error) { return nil, false, nil })
		Expect(err).NotTo(HaveOccurred())
		return m, reason
	}

	It("compiles a valid policy into the table and reports Compiled", func() {
		p := newPolicy(`alertname="ContainerMemoryNearLimit"`, `severity!~"info|none"`)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		key := client.ObjectKeyFromObject(p)
		Eventually(ready(key)).Should(And(
			HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", v1beta1.CompiledReason),
		))
		got := &v1beta1.RemediationPolicy{}
		Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
		Expect(got.Status.CompiledRules).To(Equal(int32(2)))
		m, reason := route()
		Expect(reason).To(BeEmpty())
		Expect(m.Rule).To(Equal("near-limit"))
		Expect(m.Policy).To(Equal(key))
		Expect(*m.Action.IncreaseMemory.Percent).To(Equal(v1beta1.DefaultMemoryPercent), "compiled actions carry defaults")

		By("suspending it")
		patch := client.MergeFrom(got.DeepCopy())
		got.Spec.Safety.Suspend = true
		Expect(k8sClient.Patch(ctx, got, patch)).To(Succeed())
		Eventually(ready(key)).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", v1beta1.SuspendedReason),
		))
		Eventually(func() routing.SkipReason { _, r := route(); return r }).Should(Equal(routing.SkipPolicySuspended))

		By("resuming it but pausing it by name: shown in its status, skipped at intake")
		Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
		patch = client.MergeFrom(got.DeepCopy())
		got.Spec.Safety.Suspend = false
		got.Spec.Safety.PauseRequests = []string{"maintenance"}
		Expect(k8sClient.Patch(ctx, got, patch)).To(Succeed())
		Eventually(ready(key)).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", v1beta1.PausedReason),
			HaveField("Message", ContainSubstring("paused by maintenance")),
		))
		Eventually(func() routing.SkipReason { _, r := route(); return r }).Should(Equal(routing.SkipPolicyPaused))

		By("deleting it")
		Expect(k8sClient.Delete(ctx, got)).To(Succeed())
		Eventually(func() bool { _, ok := table.Get(key); return ok }).Should(BeFalse())
		_, reason = route()
		Expect(reason).To(Equal(routing.SkipNoRule))
	})

	It("says in GitAccess whether the platform grants the policy its Git credential, before any remediation fails on it", func() {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: policyOpsNamespace, Name: "git-" + ns},
			Data: map[string][]byte{"token": []byte("t0ken")}}
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())
		p := newPolicy(`alertname="ContainerMemoryNearLimit"`)
		p.Spec.Strategy = v1beta1.StrategyGitOps
		p.Spec.Git = &v1beta1.GitSpec{Repository: "acme/deploy", SecretRef: corev1.LocalObjectReference{Name: secret.Name}}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		key := client.ObjectKeyFromObject(p)
		gitAccess := func(g Gomega) *metav1.Condition {
			got := &v1beta1.RemediationPolicy{}
			g.Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
			c := meta.FindStatusCondition(got.Status.Conditions, v1beta1.ConditionGitAccess)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.ObservedGeneration).To(Equal(got.Generation))
			return c
		}
		Eventually(gitAccess).Should(And(HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", v1beta1.GitAccessDeniedReason), HaveField("Message", ContainSubstring(ns))))
		Eventually(ready(key)).Should(HaveField("Reason", v1beta1.CompiledReason), "routing goes on; only Git access is refused")

		By("the platform granting the namespace, and the policy changing")
		secret.Annotations = map[string]string{"heal8s.io/allowed-namespaces": ns}
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())
		got := &v1beta1.RemediationPolicy{}
		Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
		patch := client.MergeFrom(got.DeepCopy())
		got.Spec.Git.BaseBranch = "release"
		Expect(k8sClient.Patch(ctx, got, patch)).To(Succeed())
		Eventually(gitAccess).Should(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", v1beta1.GitAccessGrantedReason)))

		By("naming a Secret that does not exist")
		Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
		patch = client.MergeFrom(got.DeepCopy())
		got.Spec.Git.SecretRef.Name = "missing"
		Expect(k8sClient.Patch(ctx, got, patch)).To(Succeed())
		Eventually(gitAccess).Should(HaveField("Reason", v1beta1.SecretNotFoundReason))
	})

	It("reports a rule that does not compile and recovers once it is fixed", func() {
		p := newPolicy(`alertname=~"(ContainerMemoryNearLimit"`)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		key := client.ObjectKeyFromObject(p)
		Eventually(ready(key)).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", v1beta1.CompileFailedReason),
			HaveField("Message", And(ContainSubstring(`rule "near-limit"`), ContainSubstring("invalid matcher"))),
		))
		got := &v1beta1.RemediationPolicy{}
		Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
		Expect(got.Status.CompiledRules).To(BeZero())
		_, reason := route()
		Expect(reason).To(Equal(routing.SkipPolicyNotReady))

		By("fixing the matcher")
		patch := client.MergeFrom(got.DeepCopy())
		got.Spec.Rules[1].Matchers = []string{`alertname=~"ContainerMemoryNearLimit"`}
		Expect(k8sClient.Patch(ctx, got, patch)).To(Succeed())
		Eventually(ready(key)).Should(HaveField("Reason", v1beta1.CompiledReason))
		Eventually(func() routing.SkipReason { _, r := route(); return r }).Should(BeEmpty())
		Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
		Expect(got.Status.CompiledRules).To(Equal(int32(2)))
		Expect(got.Generation).To(Equal(int64(2)))
	})

	It("keeps the receiver's lastMatchTime when it patches status", func() {
		p := newPolicy(`alertname="ContainerMemoryNearLimit"`)
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		key := client.ObjectKeyFromObject(p)
		Eventually(ready(key)).Should(HaveField("Reason", v1beta1.CompiledReason))
		got := &v1beta1.RemediationPolicy{}
		Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
		patch := client.MergeFrom(got.DeepCopy())
		now := metav1.Now()
		got.Status.LastMatchTime = &now
		Expect(k8sClient.Status().Patch(ctx, got, patch)).To(Succeed())

		patch = client.MergeFrom(got.DeepCopy())
		got.Spec.Rules = got.Spec.Rules[:1]
		Expect(k8sClient.Patch(ctx, got, patch)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
			g.Expect(got.Status.CompiledRules).To(Equal(int32(1)))
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(got.Status.LastMatchTime).NotTo(BeNil())
		}).Should(Succeed())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "absent"}, got))).To(BeTrue())
	})
})
