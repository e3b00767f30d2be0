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
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/plugin"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/internal/routing"
)

// readApprovalManifests reads config/approval's objects as kustomize names them (heal8s-*).
func readApprovalManifests() (*rbacv1.ClusterRole, *admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	dir := filepath.Join("..", "..", "config", "approval")
	role := &rbacv1.ClusterRole{}
	b, err := os.ReadFile(filepath.Join(dir, "approver_role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.UnmarshalStrict(b, role)).To(Succeed())
	b, err = os.ReadFile(filepath.Join(dir, "approval_policy.yaml"))
	Expect(err).NotTo(HaveOccurred())
	docs := strings.Split(string(b), "\n---\n")
	Expect(docs).To(HaveLen(2))
	vap := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	Expect(yaml.UnmarshalStrict([]byte(docs[0]), vap)).To(Succeed())
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	Expect(yaml.UnmarshalStrict([]byte(docs[1]), binding)).To(Succeed())
	for _, o := range []client.Object{role, vap, binding} {
		o.SetName("heal8s-" + o.GetName())
	}
	Expect(binding.Spec.PolicyName).To(Equal(vap.Name))
	return role, vap, binding
}

var _ = Describe("Approval, pause and retry", Ordered, func() {
	var (
		stopManager context.CancelFunc
		stopped     chan struct{}
		ns          string
		alice       client.Client // holds heal8s-approver
		mallory     client.Client // may edit Remediations, not approve them
		vap         *admissionregistrationv1.ValidatingAdmissionPolicy
		binding     *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	)

	userClient := func(name string) client.Client {
		u, err := testEnv.AddUser(envtest.User{Name: name}, nil)
		Expect(err).NotTo(HaveOccurred())
		c, err := plugin.NewClient(u.Config())
		Expect(err).NotTo(HaveOccurred())
		return c
	}

	BeforeAll(func() {
		stopManager, stopped = startTestManager(func(mgr ctrl.Manager) {
			Expect((&RemediationReconciler{
				Client:              mgr.GetClient(),
				Workers:             2,
				Metrics:             metrics.NewRecorder(prometheus.NewRegistry()),
				OperatorNamespace:   operatorNamespace,
				PollInterval:        200 * time.Millisecond,
				ProtectedNamespaces: routing.DefaultProtectedNamespaces,
			}).SetupWithManager(mgr)).To(Succeed())
		})
		role, v, b := readApprovalManifests()
		vap, binding = v, b
		Expect(k8sClient.Create(ctx, role)).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-approves"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}})).To(Succeed())
		// mallory has what the edit role gives on heal8s's objects, and more: every verb but approve.
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "heal8s-editor-test"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"heal8s.io"}, Resources: []string{"remediations", "remediationpolicies"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "mallory-edits"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "heal8s-editor-test"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}}})).To(Succeed())
		alice, mallory = userClient("alice"), userClient("mallory")
	})
	AfterAll(func() {
		stopManager()
		Eventually(stopped).WithTimeout(20 * time.Second).Should(BeClosed())
		for _, o := range []client.Object{binding, vap} {
			if o != nil {
				Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, o))).To(Succeed())
			}
		}
	})
	BeforeEach(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "appr-"}}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		ns = n.Name
	})

	deployment := func(name string) {
		labels := map[string]string{"app": name}
		Expect(k8sClient.Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.test/app:v1",
						Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}}}}},
				},
			},
		})).To(Succeed())
	}
	memLimit := func(name string) string {
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d)).To(Succeed())
		q := d.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory]
		return q.String()
	}
	policy := func(mut func(*v1beta1.RemediationPolicySpec)) {
		p := &v1beta1.RemediationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "policy"},
			Spec: v1beta1.RemediationPolicySpec{Strategy: v1beta1.StrategyDirect, Approval: v1beta1.ApprovalRequired,
				Rules: []v1beta1.Rule{{Name: "oom", Matchers: []string{`alertname="KubePodOOMKilled"`},
					Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}}}}}
		if mut != nil {
			mut(&p.Spec)
		}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
	}
	create := func(name, target string) types.NamespacedName {
		action := v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}
		defaults.Action(&action)
		Expect(k8sClient.Create(ctx, &v1beta1.Remediation{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1beta1.LabelAction: string(action.Type())}},
			Spec: v1beta1.RemediationSpec{
				PolicyRef: v1beta1.PolicyReference{Namespace: ns, Name: "policy"}, Rule: "oom",
				Alert:  v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "fp-" + name},
				Target: v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: target, Namespace: ns, Container: "app"},
				Action: action, Strategy: v1beta1.StrategyDirect,
			},
		})).To(Succeed())
		return types.NamespacedName{Namespace: ns, Name: name}
	}
	get := func(key types.NamespacedName) *v1beta1.Remediation {
		r := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, key, r)).To(Succeed())
		return r
	}
	waitPhase := func(key types.NamespacedName, phase v1beta1.Phase) *v1beta1.Remediation {
		Eventually(func() v1beta1.Phase { return get(key).Status.Phase }).Should(Equal(phase),
			func() string { return fmt.Sprintf("%+v", get(key).Status) })
		return get(key)
	}

	It("holds a planned Direct change until approved; without the admission policy, the controller refuses an approver without the right", func() {
		deployment("web")
		policy(nil)
		key := create("oom-1", "web")
		r := waitPhase(key, v1beta1.PhaseAwaitingApproval)
		Expect(r.Status.Reason).To(Equal(remediation.AwaitingApprovalReason))
		Expect(r.Status.Plan).NotTo(BeNil())
		Expect(r.Status.Plan.After).To(ContainElement("320Mi"), "the approver sees the plan: before and after")
		Expect(r.Status.Approval).NotTo(BeNil())
		Expect(r.Status.Approval.PlanDigest).To(Equal(remediation.PlanDigest(r.Status.Plan)))
		Expect(r.Status.Approval.ExpiresAt.Time).To(BeTemporally("~", r.Status.History[len(r.Status.History)-1].Time.Add(time.Hour), time.Second))
		Consistently(func() string { return memLimit("web") }).WithTimeout(time.Second).Should(Equal("256Mi"))

		By("mallory, who may edit Remediations but not approve, approves through the plugin: the annotation is written, the controller refuses it")
		who, err := plugin.WhoAmI(ctx, mallory)
		Expect(err).NotTo(HaveOccurred())
		Expect(who).To(Equal("mallory"))
		_, err = plugin.Decide(ctx, mallory, key, v1beta1.ApprovalApproved, who, "")
		Expect(err).NotTo(HaveOccurred(), "no admission policy is installed yet")
		Eventually(func() string { return get(key).Status.Approval.Refused }).Should(ContainSubstring("mallory may not approve"))
		r = get(key)
		Expect(r.Status.Phase).To(Equal(v1beta1.PhaseAwaitingApproval))
		Expect(r.Status.Reason).To(Equal(remediation.ApprovalRefusedReason))
		Consistently(func() string { return memLimit("web") }).WithTimeout(time.Second).Should(Equal("256Mi"))

		By("alice, an approver, approves through the plugin: the plan is applied and she is recorded")
		who, err = plugin.WhoAmI(ctx, alice)
		Expect(err).NotTo(HaveOccurred())
		Expect(who).To(Equal("alice"))
		_, err = plugin.Decide(ctx, alice, key, v1beta1.ApprovalApproved, who, "checked the dashboard")
		Expect(err).NotTo(HaveOccurred())
		r = waitPhase(key, v1beta1.PhaseVerifying)
		Expect(memLimit("web")).To(Equal("320Mi"))
		Expect(r.Status.Approval.Decision).To(Equal(v1beta1.ApprovalApproved))
		Expect(r.Status.Approval.User).To(Equal("alice"))
		Expect(r.Status.Approval.Reason).To(Equal("checked the dashboard"))
		Expect(r.Status.Approval.Refused).To(BeEmpty())
		var phases []string
		for _, h := range r.Status.History {
			phases = append(phases, string(h.Phase)+"/"+h.Reason)
		}
		Expect(phases).To(ContainElements("AwaitingApproval/AwaitingApproval", "Proposed/Approved", "Verifying/Applied"))
	})

	It("with the admission policy installed, refuses at the API server an approval by a user without the right, or naming someone else", func() {
		Expect(k8sClient.Create(ctx, vap.DeepCopy())).To(Succeed())
		Expect(k8sClient.Create(ctx, binding.DeepCopy())).To(Succeed())
		deployment("web")
		policy(nil)
		key := create("oom-2", "web")
		waitPhase(key, v1beta1.PhaseAwaitingApproval)

		By("the API server loads the policy: a dry run of mallory's approval is refused once it has")
		Eventually(func() error {
			r := get(key)
			patch := client.MergeFrom(r.DeepCopy())
			r.Annotations = map[string]string{v1beta1.AnnotationApprovalDecision: "Approved", v1beta1.AnnotationApprovalUser: "mallory"}
			return mallory.Patch(ctx, r, patch, client.DryRunAll)
		}).Should(SatisfyAll(HaveOccurred(), WithTransform(apierrors.IsForbidden, BeTrue())))

		By("mallory approving as herself through the plugin is refused by the ValidatingAdmissionPolicy")
		_, err := plugin.Decide(ctx, mallory, key, v1beta1.ApprovalApproved, "mallory", "")
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err).To(MatchError(ContainSubstring("may not approve or reject")))
		By("mallory naming alice is refused too")
		_, err = plugin.Decide(ctx, mallory, key, v1beta1.ApprovalApproved, "alice", "")
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		By("alice naming someone else is refused: the approval names who wrote it")
		_, err = plugin.Decide(ctx, alice, key, v1beta1.ApprovalApproved, "bob", "")
		Expect(err).To(MatchError(ContainSubstring("must be your own username")))
		Expect(get(key).Annotations).NotTo(HaveKey(v1beta1.AnnotationApprovalDecision))
		By("a metadata write that leaves the approval alone is not the policy's business")
		r := get(key)
		patch := client.MergeFrom(r.DeepCopy())
		r.Annotations = map[string]string{"example.test/note": "x"}
		Expect(mallory.Patch(ctx, r, patch)).To(Succeed())

		By("alice approves through the plugin")
		_, err = plugin.Decide(ctx, alice, key, v1beta1.ApprovalApproved, "alice", "")
		Expect(err).NotTo(HaveOccurred())
		waitPhase(key, v1beta1.PhaseVerifying)
		Expect(memLimit("web")).To(Equal("320Mi"))
	})

	It("remembers a rejection as a veto of the same action on the same target", func() {
		deployment("web")
		policy(nil)
		key := create("oom-3", "web")
		waitPhase(key, v1beta1.PhaseAwaitingApproval)
		_, err := plugin.Decide(ctx, alice, key, v1beta1.ApprovalRejected, "alice", "not during the sale")
		Expect(err).NotTo(HaveOccurred())
		r := waitPhase(key, v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.RejectedReason))
		Expect(r.Status.Message).To(Equal("Rejected by alice: not during the sale"))
		Expect(r.Status.Approval.Decision).To(Equal(v1beta1.ApprovalRejected))
		Expect(memLimit("web")).To(Equal("256Mi"))

		next := create("oom-4", "web")
		r = waitPhase(next, v1beta1.PhaseSkipped)
		Expect(r.Status.Reason).To(Equal(remediation.VetoedReason))
		Expect(r.Status.Message).To(ContainSubstring("oom-3"))

		By("a rejected Remediation is not retried: the veto stands")
		_, err = plugin.RequestRetry(ctx, alice, key, time.Now())
		Expect(err).To(MatchError(ContainSubstring("veto")))
	})

	It("expires a plan nobody decides on", func() {
		deployment("web")
		policy(func(s *v1beta1.RemediationPolicySpec) {
			s.ApprovalTimeout = &metav1.Duration{Duration: 2 * time.Second}
		})
		key := create("oom-5", "web")
		waitPhase(key, v1beta1.PhaseAwaitingApproval)
		r := waitPhase(key, v1beta1.PhaseSkipped)
		Expect(r.Status.Reason).To(Equal(remediation.ApprovalExpiredReason))
		Expect(r.Status.Message).To(ContainSubstring("within 2s"))
		Expect(r.Status.Approval.Decision).To(Equal(v1beta1.ApprovalExpired))
		Expect(memLimit("web")).To(Equal("256Mi"))
		By("an approval after expiry is too late: the phase is final")
		_, err := plugin.Decide(ctx, alice, key, v1beta1.ApprovalApproved, "alice", "")
		Expect(err).To(MatchError(ContainSubstring("not AwaitingApproval")))
	})

	It("pauses and resumes a policy through the plugin, by name, losing no concurrent pause; a retry after resuming goes through the guards", func() {
		deployment("web")
		policy(func(s *v1beta1.RemediationPolicySpec) { s.Approval = "" })
		pkey := types.NamespacedName{Namespace: ns, Name: "policy"}
		var wg sync.WaitGroup
		names := []string{"maintenance", "deploy-freeze", "alice", "incident-42"}
		for _, n := range names {
			wg.Go(func() {
				defer GinkgoRecover()
				changed, err := plugin.Pause(ctx, mallory, pkey, n)
				Expect(err).NotTo(HaveOccurred())
				Expect(changed).To(BeTrue())
			})
		}
		wg.Wait()
		p := &v1beta1.RemediationPolicy{}
		Expect(k8sClient.Get(ctx, pkey, p)).To(Succeed())
		Expect(p.Spec.Safety.PauseRequests).To(ConsistOf(names), "no concurrent pause is lost")
		changed, err := plugin.Pause(ctx, mallory, pkey, "alice")
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeFalse(), "pausing twice under one name is one pause")

		key := create("oom-6", "web")
		r := waitPhase(key, v1beta1.PhaseSkipped)
		Expect(r.Status.Reason).To(Equal(remediation.PolicyPausedReason))
		Expect(r.Status.Message).To(ContainSubstring("paused by alice, deploy-freeze, incident-42, maintenance"))

		for _, n := range names[:3] {
			changed, err := plugin.Resume(ctx, mallory, pkey, n)
			Expect(err).NotTo(HaveOccurred())
			Expect(changed).To(BeTrue())
		}
		Expect(k8sClient.Get(ctx, pkey, p)).To(Succeed())
		Expect(p.Spec.Safety.PauseRequests).To(Equal([]string{"incident-42"}), "resume removes one name only")

		By("a retry while still paused re-enters Pending and is skipped again by the guards")
		_, err = plugin.RequestRetry(ctx, mallory, key, time.Now())
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() int32 {
			if rt := get(key).Status.Retry; rt != nil {
				return rt.Count
			}
			return 0
		}).Should(Equal(int32(1)))
		r = waitPhase(key, v1beta1.PhaseSkipped)
		Expect(r.Status.Reason).To(Equal(remediation.PolicyPausedReason))
		Expect(r.Status.Message).To(ContainSubstring("paused by incident-42"))

		changed, err = plugin.Resume(ctx, mallory, pkey, "incident-42")
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeTrue())
		Expect(k8sClient.Get(ctx, pkey, p)).To(Succeed())
		Expect(p.Spec.Safety.PauseRequests).To(BeEmpty())

		By("resumed, a retry goes through and applies the fix")
		_, err = plugin.RequestRetry(ctx, mallory, key, time.Now())
		Expect(err).NotTo(HaveOccurred())
		r = waitPhase(key, v1beta1.PhaseVerifying)
		Expect(r.Status.Retry.Count).To(Equal(int32(2)))
		Expect(r.Status.Retry.PreviousReason).To(Equal(remediation.PolicyPausedReason))
		Expect(memLimit("web")).To(Equal("320Mi"))

		By("a retry of a running Remediation is refused by the plugin and, written by hand, recorded as refused")
		_, err = plugin.RequestRetry(ctx, mallory, key, time.Now())
		Expect(err).To(MatchError(ContainSubstring("not one in Verifying")))
		r = get(key)
		patch := client.MergeFrom(r.DeepCopy())
		r.Annotations[v1beta1.AnnotationRetry] = "by-hand"
		Expect(mallory.Patch(ctx, r, patch)).To(Succeed())
		Eventually(func() string { return get(key).Status.Retry.Refused }).Should(ContainSubstring("not one in Verifying"))
		Expect(get(key).Status.Retry.Token).To(Equal("by-hand"))
	})
})
