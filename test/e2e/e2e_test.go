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
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/test/harness"
)

// fluxApply applies every document of path on main to the cluster, as Flux would.
func fluxApply(path string) {
	GinkgoHelper()
	Expect(st.FluxApply(ctx, "main", path)).To(Succeed())
}

// rolledOut waits until the Deployment is fully rolled out and returns one of its current pods.
func rolledOut(ns, name string) string {
	GinkgoHelper()
	var pod string
	Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
		want := *d.Spec.Replicas
		g.Expect(d.Status.ObservedGeneration).To(BeNumerically(">=", d.Generation))
		g.Expect(d.Status.UpdatedReplicas).To(Equal(want))
		g.Expect(d.Status.AvailableReplicas).To(Equal(want))
		g.Expect(d.Status.Replicas).To(Equal(want))
		pods := &corev1.PodList{}
		g.Expect(k8s.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels(d.Spec.Selector.MatchLabels))).To(Succeed())
		pod = ""
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && podImage(&p) == d.Spec.Template.Spec.Containers[0].Image {
				pod = p.Name
			}
		}
		g.Expect(pod).NotTo(BeEmpty())
	}).Should(Succeed())
	return pod
}

func podImage(p *corev1.Pod) string { return p.Spec.Containers[0].Image }

// remediationFor waits for the one Remediation of a target and returns it.
func remediationFor(ns, target string) *v1beta1.Remediation {
	GinkgoHelper()
	var rem *v1beta1.Remediation
	Eventually(func(g Gomega) {
		found := remediationsFor(ns, target)
		g.Expect(found).To(HaveLen(1))
		rem = &found[0]
	}).Should(Succeed())
	return rem
}

func remediationsFor(ns, target string) []v1beta1.Remediation {
	GinkgoHelper()
	list := &v1beta1.RemediationList{}
	Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var out []v1beta1.Remediation
	for _, r := range list.Items {
		if r.Spec.Target.Name == target {
			out = append(out, r)
		}
	}
	return out
}

func waitPhase(rem *v1beta1.Remediation, phase v1beta1.Phase) *v1beta1.Remediation {
	GinkgoHelper()
	got := &v1beta1.Remediation{}
	Eventually(func(g Gomega) v1beta1.Phase {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(rem), got)).To(Succeed())
		return got.Status.Phase
	}).Should(Equal(phase), func() string { return fmt.Sprintf("status: %+v", got.Status) })
	return got
}

// mergeAndApply plays the reviewer and Flux: it checks the pull request's diff touches only
// path, merges it and applies main.
func mergeAndApply(rem *v1beta1.Remediation, path string) {
	GinkgoHelper()
	pr := rem.Status.PullRequest
	Expect(pr).NotTo(BeNil())
	diff, err := st.GitHub.Diff(repository, "main", pr.Branch)
	Expect(err).NotTo(HaveOccurred())
	Expect(diff.Files).To(Equal([]string{path}), "the pull request changes the manifest and nothing else")
	Expect(diff.Commits).To(HaveLen(1))
	Expect(st.GitHub.MergePR(repository, int(pr.Number))).To(Succeed())
	fluxApply(path)
}

// heal walks a fired alert's Remediation through review, merge, apply and resolution.
func heal(ns, target, path string, alert harness.Alert) *v1beta1.Remediation {
	GinkgoHelper()
	rem := remediationFor(ns, target)
	rem = waitPhase(rem, v1beta1.PhaseAwaitingMerge)
	mergeAndApply(rem, path)
	waitPhase(rem, v1beta1.PhaseVerifying)
	Expect(st.Alertmanager.Resolve(ctx, alert)).To(Succeed())
	return waitPhase(rem, v1beta1.PhaseSucceeded)
}

func oomAlert(ns, pod string) harness.Alert {
	return harness.Alert{
		Labels: map[string]string{"alertname": "KubePodOOMKilled", "namespace": ns, "pod": pod,
			"container": "app", "severity": "warning", "job": "kube-state-metrics"},
		Annotations: map[string]string{"summary": "OOMKilled"},
		StartsAt:    time.Now().UTC(),
	}
}

func container(d *appsv1.Deployment) corev1.Container { return d.Spec.Template.Spec.Containers[0] }

func deployment(ns, name string) *appsv1.Deployment {
	GinkgoHelper()
	d := &appsv1.Deployment{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
	return d
}

var _ = Describe("heal8s", Ordered, func() {
	It("raises memory after an OOMKill through a reviewed pull request", func() {
		fluxApply("apps/e2e/mem.yaml")
		// awesome-prometheus-alerts' KubernetesContainerOomKiller as kube-prometheus-stack's
		// kube-state-metrics scrape labels it (test/fixtures/alerts/apa-kubernetes-container-oom-killer).
		pod := rolledOut(appNamespace, "mem")
		alert := harness.Alert{
			Labels: map[string]string{"alertname": "KubernetesContainerOomKiller", "severity": "warning",
				"namespace": appNamespace, "pod": pod, "container": "app", "uid": "5b0e9f7c-8a1d-4c2e-9f3b-7d6a5c4b3a21",
				"endpoint": "http", "instance": "10.244.1.17:8080", "job": "kube-state-metrics",
				"service": "kube-prometheus-stack-kube-state-metrics", "prometheus": "monitoring/kube-prometheus-stack-prometheus"},
			Annotations: map[string]string{"summary": "Kubernetes Container oom killer (" + appNamespace + "/" + pod + ")"},
			StartsAt:    time.Now().UTC(),
		}
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())

		rem := heal(appNamespace, "mem", "apps/e2e/mem.yaml", alert)
		Expect(rem.Status.Reason).To(Equal(remediation.AlertResolvedReason))
		limit := container(deployment(appNamespace, "mem")).Resources.Limits[corev1.ResourceMemory]
		Expect(limit.String()).To(Equal("320Mi"))
		main, err := st.GitHub.ReadFile(repository, "main", "apps/e2e/mem.yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(main).To(ContainSubstring("memory: 320Mi # raised by heal8s"), "the comment on the changed line survives")
	})

	It("raises a throttled container's CPU limit", func() {
		fluxApply("apps/e2e/cpu.yaml")
		pod := rolledOut(appNamespace, "cpu")
		alert := harness.Alert{Labels: map[string]string{"alertname": "ContainerCPUThrottling", "namespace": appNamespace,
			"pod": pod, "container": "app", "severity": "warning"}, StartsAt: time.Now().UTC()}
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())

		heal(appNamespace, "cpu", "apps/e2e/cpu.yaml", alert)
		limit := container(deployment(appNamespace, "cpu")).Resources.Limits[corev1.ResourceCPU]
		Expect(limit.String()).To(Equal("625m"))
	})

	It("raises a maxed-out HPA's ceiling", func() {
		fluxApply("apps/e2e/scale.yaml")
		rolledOut(appNamespace, "scale")
		// kube-prometheus-stack's KubeHpaMaxedOut carries kube-state-metrics' own pod and container
		// (test/fixtures/alerts/kps-kube-hpa-maxed-out): the target is the HPA, with no container.
		alert := harness.Alert{Labels: map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": appNamespace,
			"horizontalpodautoscaler": "scale", "severity": "warning", "container": "kube-state-metrics",
			"pod": "kube-prometheus-stack-kube-state-metrics-6f8d9c7b5-w7xqz", "endpoint": "http",
			"instance": "10.244.1.17:8080", "job": "kube-state-metrics", "service": "kube-prometheus-stack-kube-state-metrics"},
			StartsAt: time.Now().UTC()}
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())

		rem := heal(appNamespace, "scale", "apps/e2e/scale.yaml", alert)
		Expect(rem.Spec.Target.Kind).To(Equal(v1beta1.TargetKindHorizontalPodAutoscaler))
		Expect(rem.Spec.Target.Container).To(BeEmpty(), "kube-state-metrics' container is not the HPA's")
		hpa := &autoscalingv2.HorizontalPodAutoscaler{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: "scale"}, hpa)).To(Succeed())
		Expect(hpa.Spec.MaxReplicas).To(BeEquivalentTo(6))
	})

	It("rolls a crash-looping image back to the last good revision", func() {
		fluxApply("apps/e2e/crash.yaml")
		rolledOut(appNamespace, "crash")
		By("shipping a broken image")
		good, err := st.GitHub.ReadFile(repository, "main", "apps/e2e/crash.yaml")
		Expect(err).NotTo(HaveOccurred())
		_, err = st.GitHub.CommitFiles(repository, "main", map[string]string{
			"apps/e2e/crash.yaml": strings.Replace(good, "pause:3.9", "pause:3.10", 1)}, "Ship pause 3.10")
		Expect(err).NotTo(HaveOccurred())
		fluxApply("apps/e2e/crash.yaml")
		pod := rolledOut(appNamespace, "crash")

		// Scraped by the kube-state-metrics chart's own ServiceMonitor (honorLabels: false): the
		// series' namespace, pod and container are exported_*; the plain ones are the exporter's
		// (test/fixtures/alerts/kps-kube-pod-crash-looping-exported).
		alert := harness.Alert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning",
			"namespace": "monitoring", "pod": "kube-state-metrics-7d9c8b6f5-k2m4p", "container": "kube-state-metrics",
			"exported_namespace": appNamespace, "exported_pod": pod, "exported_container": "app",
			"reason": "CrashLoopBackOff", "instance": "10.244.2.9:8080", "job": "kube-state-metrics",
			"endpoint": "http", "service": "kube-state-metrics"}, StartsAt: time.Now().UTC()}
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())
		heal(appNamespace, "crash", "apps/e2e/crash.yaml", alert)
		Expect(container(deployment(appNamespace, "crash")).Image).To(Equal("registry.k8s.io/pause:3.9"))
	})

	It("ends Failed (Rejected) when a reviewer closes the pull request", func() {
		fluxApply("apps/e2e/mem-reject.yaml")
		alert := oomAlert(appNamespace, rolledOut(appNamespace, "mem-reject"))
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())
		rem := waitPhase(remediationFor(appNamespace, "mem-reject"), v1beta1.PhaseAwaitingMerge)
		Expect(st.GitHub.ClosePR(repository, int(rem.Status.PullRequest.Number))).To(Succeed())
		rem = waitPhase(rem, v1beta1.PhaseFailed)
		Expect(rem.Status.Reason).To(Equal(remediation.RejectedReason))
		limit := container(deployment(appNamespace, "mem-reject")).Resources.Limits[corev1.ResourceMemory]
		Expect(limit.String()).To(Equal("256Mi"), "a rejected change never reaches the cluster")
	})

	It("ends Failed (AlertRefired) when the alert comes back after the fix", func() {
		fluxApply("apps/e2e/slow.yaml") // no kubelet there: the rollout never turns healthy
		alert := oomAlert(slowNamespace, "slow-5d8f7c6b9-abcde")
		// No Pod runs, so the alert names the Deployment the way a cAdvisor-based rule can.
		alert.Labels["deployment"] = "slow"
		delete(alert.Labels, "pod")
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())
		rem := waitPhase(remediationFor(slowNamespace, "slow"), v1beta1.PhaseAwaitingMerge)
		mergeAndApply(rem, "apps/e2e/slow.yaml")
		waitPhase(rem, v1beta1.PhaseVerifying)

		Expect(st.Alertmanager.Resolve(ctx, alert)).To(Succeed())
		Eventually(func(g Gomega) {
			got := &v1beta1.Remediation{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(rem), got)).To(Succeed())
			g.Expect(got.Status.AlertResolvedAt).NotTo(BeNil())
		}).Should(Succeed())
		By("the alert firing again as a new incident")
		again := alert
		again.StartsAt = time.Now().UTC()
		Expect(st.Alertmanager.Fire(ctx, again)).To(Succeed())
		rem = waitPhase(rem, v1beta1.PhaseFailed)
		Expect(rem.Status.Reason).To(Equal(remediation.AlertRefiredReason))
	})

	It("turns a storm of repeats into one Remediation", func() {
		fluxApply("apps/e2e/mem-storm.yaml")
		alert := oomAlert(appNamespace, rolledOut(appNamespace, "mem-storm"))
		By("Prometheus re-sending the alert on every evaluation")
		for range 50 {
			Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())
		}
		By("and 200 deliveries straight to the receiver, 10 at a time")
		payload := stormPayload(alert)
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		sem := make(chan struct{}, 10)
		for range 200 {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				errs <- postToReceiver(payload)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
		storm := func() []v1beta1.Remediation { return remediationsFor(appNamespace, "mem-storm") }
		Eventually(storm).Should(HaveLen(2), "one Remediation for Alertmanager's fingerprint and one for the direct payload's")
		Consistently(storm, 3*time.Second).Should(HaveLen(2), "and no more")
		Eventually(func(g Gomega) {
			for _, r := range remediationsFor(appNamespace, "mem-storm") {
				if r.Spec.Alert.Fingerprint == stormFingerprint {
					g.Expect(r.Status.AlertCount).To(BeEquivalentTo(200), "every delivery counted once, in batched writes")
				}
			}
		}).Should(Succeed())
	})

	It("finishes a remediation the manager was killed in the middle of, with one pull request", func() {
		fluxApply("apps/e2e/mem-restart.yaml")
		alert := oomAlert(appNamespace, rolledOut(appNamespace, "mem-restart"))
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())
		rem := waitPhase(remediationFor(appNamespace, "mem-restart"), v1beta1.PhaseAwaitingMerge)

		By("killing the manager and starting a new one")
		st.Manager.Kill()
		Expect(st.StartManager(ctx, "manager-restarted")).To(Succeed())

		rem = heal(appNamespace, "mem-restart", "apps/e2e/mem-restart.yaml", alert)
		prs, err := st.GitHub.PullRequests(repository)
		Expect(err).NotTo(HaveOccurred())
		n := 0
		for _, pr := range prs {
			if pr.Head == rem.Status.PullRequest.Branch {
				n++
			}
		}
		Expect(n).To(Equal(1), "the restart opened no second pull request")
	})
})

const stormFingerprint = "57a3f00d57a3f00d"

// stormPayload is an Alertmanager webhook payload (version 4) carrying the alert as firing.
func stormPayload(a harness.Alert) []byte {
	GinkgoHelper()
	body, err := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{alertname=\"KubePodOOMKilled\"}", "truncatedAlerts": 0,
		"status": "firing", "receiver": "heal8s", "groupLabels": map[string]string{"alertname": "KubePodOOMKilled"},
		"commonLabels": a.Labels, "commonAnnotations": a.Annotations, "externalURL": "http://alertmanager.example",
		"alerts": []map[string]any{{
			"status": "firing", "labels": a.Labels, "annotations": a.Annotations,
			"startsAt": a.StartsAt.Format(time.RFC3339), "endsAt": "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus.example/graph", "fingerprint": stormFingerprint,
		}},
	})
	Expect(err).NotTo(HaveOccurred())
	return body
}

func postToReceiver(body []byte) error {
	token, err := os.ReadFile(st.TokenFile)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.Manager.ReceiverURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}
