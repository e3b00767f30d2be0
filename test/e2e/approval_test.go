//go:build e2e

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

package e2e

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/plugin"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/test/harness"
)

// as is a plugin client acting as user, through impersonation by the suite's admin.
func as(user string) client.Client {
	GinkgoHelper()
	cfg := rest.CopyConfig(st.ControlPlane.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := plugin.NewClient(cfg)
	Expect(err).NotTo(HaveOccurred())
	return c
}

var _ = Describe("approval, through the plugin", Ordered, func() {
	const name = "approve"
	var alice, mallory client.Client

	BeforeAll(func() {
		if st.ControlPlane.Existing {
			Skip("creates cluster-wide RBAC for made-up users: only on the suite's own control plane")
		}
		By("granting alice heal8s-approver (config/approval) and mallory every verb on Remediations but approve")
		b, err := os.ReadFile(filepath.Join("..", "..", "config", "approval", "approver_role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		role := &rbacv1.ClusterRole{}
		Expect(yaml.UnmarshalStrict(b, role)).To(Succeed())
		role.Name = "heal8s-e2e-approver"
		Expect(k8s.Create(ctx, role)).To(Succeed())
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "alice-approves"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}})).To(Succeed())
		Expect(k8s.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "heal8s-editor"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"heal8s.io"},
				Resources: []string{"remediations", "remediationpolicies"},
				Verbs:     []string{"get", "list", "watch", "update", "patch"}}}})).To(Succeed())
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "mallory-edits"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "heal8s-editor"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}}})).To(Succeed())
		alice, mallory = as("alice"), as("mallory")

		By("a Direct policy whose plans need approval, and its workload")
		Expect(k8s.Create(ctx, &v1beta1.RemediationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: name},
			Spec: v1beta1.RemediationPolicySpec{Strategy: v1beta1.StrategyDirect, Approval: v1beta1.ApprovalRequired,
				Rules: []v1beta1.Rule{{Name: "heap", Matchers: []string{`alertname="E2EHeapNearLimit"`},
					Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}}}}})).To(Succeed())
		labels := map[string]string{"app": name}
		limits := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}
		Expect(k8s.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: ptrTo[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.test/approve:v1",
						Resources: corev1.ResourceRequirements{Limits: limits}}}}}}})).To(Succeed())
	})

	memLimit := func() string {
		q := container(deployment(appNamespace, name)).Resources.Limits[corev1.ResourceMemory]
		return q.String()
	}

	It("waits for approval, refuses a user without the right, and applies the plan once an approver approves", func() {
		pod := rolledOut(appNamespace, name)
		alert := harness.Alert{
			Labels: map[string]string{"alertname": "E2EHeapNearLimit", "namespace": appNamespace, "pod": pod, "container": "app",
				"severity": "warning"},
			Annotations: map[string]string{"summary": "heap near the limit"},
			StartsAt:    time.Now().UTC(),
		}
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())
		rem := waitPhase(remediationFor(appNamespace, name), v1beta1.PhaseAwaitingApproval)
		key := types.NamespacedName{Namespace: rem.Namespace, Name: rem.Name}
		Expect(rem.Status.Plan.After).To(ContainElement("320Mi"))

		pending, err := plugin.ListRemediations(ctx, alice, appNamespace, true)
		Expect(err).NotTo(HaveOccurred())
		Expect(pending).To(ContainElement(HaveField("Name", rem.Name)), "kubectl heal8s list --pending shows it")

		By("mallory naming alice is refused by heal8s's webhook")
		_, err = plugin.Decide(ctx, mallory, key, v1beta1.ApprovalApproved, "alice", "")
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)

		By("mallory approving as herself is refused by the controller")
		who, err := plugin.WhoAmI(ctx, mallory)
		Expect(err).NotTo(HaveOccurred())
		_, err = plugin.Decide(ctx, mallory, key, v1beta1.ApprovalApproved, who, "")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			got := &v1beta1.Remediation{}
			g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
			g.Expect(got.Status.Reason).To(Equal(remediation.ApprovalRefusedReason))
			g.Expect(got.Status.Approval.Refused).To(ContainSubstring("mallory may not approve"))
		}).Should(Succeed())
		Expect(memLimit()).To(Equal("256Mi"))

		By("alice approves")
		who, err = plugin.WhoAmI(ctx, alice)
		Expect(err).NotTo(HaveOccurred())
		Expect(who).To(Equal("alice"))
		_, err = plugin.Decide(ctx, alice, key, v1beta1.ApprovalApproved, who, "e2e")
		Expect(err).NotTo(HaveOccurred())
		rem = waitPhase(rem, v1beta1.PhaseVerifying)
		Expect(rem.Status.Approval.User).To(Equal("alice"))
		Expect(memLimit()).To(Equal("320Mi"))
		rolledOut(appNamespace, name)
		Expect(st.Alertmanager.Resolve(ctx, alert)).To(Succeed())
		waitPhase(rem, v1beta1.PhaseSucceeded)
	})

	It("pauses and resumes the policy through the plugin (a policy editor's right, not an approver's)", func() {
		pkey := types.NamespacedName{Namespace: appNamespace, Name: name}
		for _, n := range []string{"maintenance", "alice"} {
			changed, err := plugin.Pause(ctx, mallory, pkey, n)
			Expect(err).NotTo(HaveOccurred())
			Expect(changed).To(BeTrue())
		}
		Eventually(func(g Gomega) {
			p := &v1beta1.RemediationPolicy{}
			g.Expect(k8s.Get(ctx, pkey, p)).To(Succeed())
			c := findCondition(p.Status.Conditions, v1beta1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1beta1.PausedReason))
			g.Expect(c.Message).To(ContainSubstring("paused by maintenance, alice"))
		}).Should(Succeed())
		for _, n := range []string{"maintenance", "alice"} {
			changed, err := plugin.Resume(ctx, mallory, pkey, n)
			Expect(err).NotTo(HaveOccurred())
			Expect(changed).To(BeTrue())
		}
		Eventually(func(g Gomega) {
			p := &v1beta1.RemediationPolicy{}
			g.Expect(k8s.Get(ctx, pkey, p)).To(Succeed())
			g.Expect(p.Spec.Safety.PauseRequests).To(BeEmpty())
			g.Expect(findCondition(p.Status.Conditions, v1beta1.ConditionReady).Reason).To(Equal(v1beta1.CompiledReason))
		}).Should(Succeed())
	})
})

func findCondition(cs []metav1.Condition, t string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}
