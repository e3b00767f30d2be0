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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/remediation"
)

var _ = Describe("Remediation retention controller", Ordered, func() {
	var (
		stopManager context.CancelFunc
		stopped     chan struct{}
		clk         = &shiftClock{}
		retention   *RemediationRetentionReconciler
		opNS, ns    string
	)

	namespace := func(prefix string) string {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		return n.Name
	}

	BeforeAll(func() {
		opNS = namespace("retention-operator-")
		stopManager, stopped = startTestManager(func(mgr ctrl.Manager) {
			retention = &RemediationRetentionReconciler{Client: mgr.GetClient(), Clock: clk, OperatorNamespace: opNS,
				BatchDelay: 10 * time.Millisecond}
			Expect(retention.SetupWithManager(mgr)).To(Succeed())
		})
	})
	AfterAll(func() {
		stopManager()
		Eventually(stopped).Should(BeClosed())
	})
	BeforeEach(func() {
		ns = namespace("retention-")
	})

	policy := func(ttl time.Duration, historyLimit int32, safety v1beta1.SafetySpec) {
		p := &v1beta1.RemediationPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "policy"},
			Spec: v1beta1.RemediationPolicySpec{
				Strategy: v1beta1.StrategyDirect,
				Rules: []v1beta1.Rule{{Name: "oom", Matchers: []string{`alertname="KubePodOOMKilled"`},
					Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}}},
				Safety: safety,
				Retention: v1beta1.RetentionSpec{TTLSecondsAfterFinished: ptr.To(int32(ttl / time.Second)),
					HistoryLimit: ptr.To(historyLimit)},
			},
		}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
	}
	// finished creates a Remediation of the web Deployment that ended in phase with reason:
	// started (unless nil) and completed at the given clock offsets.
	finished := func(name string, strategy v1beta1.Strategy, phase v1beta1.Phase, reason string, started *time.Duration, completed time.Duration) {
		action := v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}
		defaults.Action(&action)
		r := &v1beta1.Remediation{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1beta1.RemediationSpec{
				PolicyRef: v1beta1.PolicyReference{Namespace: ns, Name: "policy"},
				Rule:      "oom",
				Alert:     v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "fp-" + name},
				Target:    v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: "web", Namespace: ns, Container: "app"},
				Action:    action,
				Strategy:  strategy,
			},
		}
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		now := clk.Now()
		r.Status.Phase, r.Status.Reason = phase, reason
		if started != nil {
			r.Status.StartedAt = ptr.To(metav1.NewTime(now.Add(*started)))
		}
		r.Status.CompletedAt = ptr.To(metav1.NewTime(now.Add(completed)))
		Expect(k8sClient.Status().Update(ctx, r)).To(Succeed())
	}
	exists := func(name string) func() bool {
		return func() bool {
			err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &v1beta1.Remediation{})
			if apierrors.IsNotFound(err) {
				return false
			}
			Expect(err).NotTo(HaveOccurred())
			return true
		}
	}
	expired := func() *v1beta1.ExpiredOutcomes {
		p := &v1beta1.RemediationPolicy{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "policy"}, p)).To(Succeed())
		return p.Status.Expired
	}
	expiredTotal := func() int64 {
		if e := expired(); e != nil {
			return e.Total
		}
		return 0
	}
	// poke wakes the controller for the target after a clock jump, as a change of one of its
	// Remediations would.
	poke := func(name string) {
		r := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, r)).To(Succeed())
		patch := client.MergeFrom(r.DeepCopy())
		r.Annotations = map[string]string{"test.heal8s.io/poke": clk.Now().String()}
		Expect(k8sClient.Patch(ctx, r, patch)).To(Succeed())
	}
	request := func() ctrl.Request {
		return ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: "Deployment/web"}}
	}
	// requeueAfter runs the reconciler once the cache holds the named Remediation finished, and
	// returns when it would look again.
	requeueAfter := func(name string) time.Duration {
		Eventually(func() error {
			return retention.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &v1beta1.Remediation{})
		}).Should(Succeed())
		var res ctrl.Result
		Eventually(func() (time.Duration, error) {
			var err error
			res, err = retention.Reconcile(ctx, request())
			return res.RequeueAfter, err
		}).ShouldNot(BeZero())
		return res.RequeueAfter
	}
	short := v1beta1.SafetySpec{Cooldown: &metav1.Duration{Duration: time.Minute}, BudgetWindow: &metav1.Duration{Duration: time.Minute},
		VetoPeriod: &metav1.Duration{Duration: time.Minute}}

	It("deletes a finished Remediation once ttlSecondsAfterFinished has passed, and records its outcome on the policy", func() {
		policy(time.Hour, 10, short)
		finished("skipped", v1beta1.StrategyDirect, v1beta1.PhaseSkipped, remediation.CooldownReason, nil, 0)

		By("keeping it until the TTL ends, and looking again then")
		Expect(requeueAfter("skipped")).To(BeNumerically("~", time.Hour, time.Minute))
		Expect(exists("skipped")()).To(BeTrue())
		Expect(expired()).To(BeNil())

		By("deleting it once the clock has passed the TTL")
		clk.Advance(time.Hour + time.Minute)
		poke("skipped")
		Eventually(exists("skipped")).Should(BeFalse())
		Eventually(expiredTotal).Should(Equal(int64(1)))
		e := expired()
		Expect(e.ByOutcome).To(Equal([]v1beta1.OutcomeCount{{Phase: v1beta1.PhaseSkipped, Reason: remediation.CooldownReason, Count: 1}}))
		Expect(e.Recent).To(HaveLen(1))
		Expect(e.Recent[0]).To(And(HaveField("Name", "skipped"), HaveField("Namespace", ns), HaveField("Target", "Deployment/web"),
			HaveField("Action", v1beta1.ActionIncreaseMemory), HaveField("Phase", v1beta1.PhaseSkipped)))
		Expect(e.LastDeletionTime).NotTo(BeNil())
	})

	It("keeps only the newest historyLimit finished Remediations of a target", func() {
		policy(24*time.Hour, 2, short)
		for i, name := range []string{"oldest", "older", "newer", "newest"} {
			finished(name, v1beta1.StrategyDirect, v1beta1.PhaseSkipped, remediation.TargetNotFoundReason, nil, time.Duration(i-10)*time.Minute)
		}
		Eventually(expiredTotal).Should(Equal(int64(2)))
		// The status is written after the deletions of the same reconcile.
		Expect(exists("oldest")()).To(BeFalse())
		Expect(exists("older")()).To(BeFalse())
		Expect(exists("newer")()).To(BeTrue())
		Expect(exists("newest")()).To(BeTrue())
		Expect(expired().ByOutcome).To(Equal([]v1beta1.OutcomeCount{{Phase: v1beta1.PhaseSkipped, Reason: remediation.TargetNotFoundReason, Count: 2}}))
	})

	It("never deletes a Remediation that cooldown, budgetWindow, maxPerHour or vetoPeriod still counts", func() {
		policy(0, 0, v1beta1.SafetySpec{Cooldown: &metav1.Duration{Duration: time.Hour}, BudgetWindow: &metav1.Duration{Duration: 2 * time.Hour},
			VetoPeriod: &metav1.Duration{Duration: 3 * time.Hour}})
		// Acted 10 minutes ago: cooldown (until +55m) and budgetWindow (until +1h50m) count it.
		finished("acted", v1beta1.StrategyDirect, v1beta1.PhaseSucceeded, remediation.VerifyWindowPassedReason, ptr.To(-10*time.Minute), -5*time.Minute)
		// Rejected 90 minutes ago: only the veto (until +1h30m) counts it.
		finished("vetoed", v1beta1.StrategyGitOps, v1beta1.PhaseFailed, remediation.RejectedReason, ptr.To(-4*time.Hour), -90*time.Minute)
		// A DryRun started 30 minutes ago counts in maxPerHour until +30m.
		finished("dryrun", v1beta1.StrategyDryRun, v1beta1.PhaseSucceeded, remediation.DryRunReason, ptr.To(-30*time.Minute), -29*time.Minute)
		// Skipped before it started: nothing counts it.
		finished("skipped", v1beta1.StrategyDirect, v1beta1.PhaseSkipped, remediation.CooldownReason, nil, -time.Minute)

		Eventually(expiredTotal).Should(Equal(int64(1)))
		Expect(exists("skipped")()).To(BeFalse())
		Expect(requeueAfter("acted")).To(BeNumerically("~", 30*time.Minute, time.Minute))
		for _, name := range []string{"acted", "vetoed", "dryrun"} {
			Expect(exists(name)()).To(BeTrue(), name)
		}

		By("letting the DryRun go when its hour is over")
		clk.Advance(31 * time.Minute)
		poke("acted")
		Eventually(expiredTotal).Should(Equal(int64(2)))
		Expect(exists("dryrun")()).To(BeFalse())
		Expect(exists("acted")()).To(BeTrue(), "budgetWindow still counts it")
		Expect(exists("vetoed")()).To(BeTrue(), "vetoPeriod still counts it")

		By("letting the rejected one go when the veto is over")
		clk.Advance(time.Hour + 4*time.Minute)
		poke("acted")
		Eventually(expiredTotal).Should(Equal(int64(3)))
		Expect(exists("vetoed")()).To(BeFalse())
		Expect(exists("acted")()).To(BeTrue(), "budgetWindow still counts it")

		By("letting the acted one go when budgetWindow is over")
		clk.Advance(20 * time.Minute)
		poke("acted")
		Eventually(exists("acted")).Should(BeFalse())
		Eventually(expiredTotal).Should(Equal(int64(4)))
		Expect(expired().ByOutcome).To(ConsistOf(
			v1beta1.OutcomeCount{Phase: v1beta1.PhaseSkipped, Reason: remediation.CooldownReason, Count: 1},
			v1beta1.OutcomeCount{Phase: v1beta1.PhaseSucceeded, Reason: remediation.DryRunReason, Count: 1},
			v1beta1.OutcomeCount{Phase: v1beta1.PhaseFailed, Reason: remediation.RejectedReason, Count: 1},
			v1beta1.OutcomeCount{Phase: v1beta1.PhaseSucceeded, Reason: remediation.VerifyWindowPassedReason, Count: 1},
		))
		Expect(expired().Recent[0].Name).To(Equal("acted"), "newest first")
	})

	It("does not delete a Remediation that changed since it was read", func() {
		policy(time.Hour, 10, short)
		finished("changed", v1beta1.StrategyDirect, v1beta1.PhaseSkipped, remediation.CooldownReason, nil, 0)
		stale := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "changed"}, stale)).To(Succeed())
		poke("changed")
		deleted, err := retention.delete(ctx, remediation.Deletion{Remediation: stale, Reason: remediation.ExpiredReason})
		Expect(err).NotTo(HaveOccurred())
		Expect(deleted).To(BeFalse())
		Expect(exists("changed")()).To(BeTrue())
	})

	It("records every Remediation expiring at once exactly once, with several workers and targets sharing a policy", func() {
		Expect(retention.Workers).To(BeZero(), "the manager runs DefaultRetentionWorkers")
		Expect(DefaultRetentionWorkers).To(BeNumerically(">", 1))
		policy(time.Minute, 100, short)
		const targets, perTarget = 16, 5
		names := map[string]bool{}
		for t := range targets {
			for i := range perTarget {
				name := fmt.Sprintf("t%d-%d", t, i)
				names[name] = true
				action := v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}
				defaults.Action(&action)
				r := &v1beta1.Remediation{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
					Spec: v1beta1.RemediationSpec{
						PolicyRef: v1beta1.PolicyReference{Namespace: ns, Name: "policy"},
						Rule:      "oom",
						Alert:     v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "fp-" + name},
						Target: v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: fmt.Sprintf("web-%d", t),
							Namespace: ns, Container: "app"},
						Action:   action,
						Strategy: v1beta1.StrategyDirect,
					},
				}
				Expect(k8sClient.Create(ctx, r)).To(Succeed())
				// Finished an hour ago: past the TTL and every safety window, so all of them
				// expire in the first reconcile of their target, all targets at once.
				r.Status.Phase, r.Status.Reason = v1beta1.PhaseSkipped, remediation.TargetNotFoundReason
				r.Status.CompletedAt = ptr.To(metav1.NewTime(clk.Now().Add(-time.Hour)))
				Expect(k8sClient.Status().Update(ctx, r)).To(Succeed())
			}
		}
		left := func() int {
			var list v1beta1.RemediationList
			Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			return len(list.Items)
		}
		Eventually(left).WithTimeout(30 * time.Second).Should(BeZero())
		Eventually(expiredTotal).WithTimeout(30 * time.Second).Should(Equal(int64(targets * perTarget)))
		Consistently(expiredTotal).WithTimeout(2 * time.Second).Should(Equal(int64(targets * perTarget)))
		e := expired()
		Expect(e.ByOutcome).To(Equal([]v1beta1.OutcomeCount{{Phase: v1beta1.PhaseSkipped, Reason: remediation.TargetNotFoundReason,
			Count: targets * perTarget}}))
		Expect(e.Recent).To(HaveLen(v1beta1.MaxExpiredRecent))
		seen := map[string]bool{}
		for _, rec := range e.Recent {
			Expect(names).To(HaveKey(rec.Name))
			Expect(seen).NotTo(HaveKey(rec.Name), "recorded twice")
			seen[rec.Name] = true
		}
		retention.mu.Lock()
		defer retention.mu.Unlock()
		Expect(retention.pending).To(BeEmpty(), "nothing left unwritten")
	})
})
