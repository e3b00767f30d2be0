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

// Package e2e proves heal8s end to end against the built manager binary and a real Alertmanager
// process: alerts go through Alertmanager's API, Alertmanager's webhook reaches the receiver,
// pull requests open in a stateful fake GitHub, the suite merges them and applies main to the
// cluster as Flux would, kube-controller-manager rolls Deployments out, and Alertmanager sends
// the resolution. Run it with `make test-e2e`.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/test/harness"
	"github.com/heal8s/heal8s/test/utils"
)

const (
	// operatorNamespace is the suite's own, so an existing cluster's heal8s-system is untouched.
	operatorNamespace = "heal8s-e2e-system"
	appNamespace      = "e2e"
	// slowNamespace gets no stand-in kubelet: its rollouts never become healthy.
	slowNamespace = "e2e-slow"
	// gitlabNamespace's policy proposes on the fake GitLab.
	gitlabNamespace = "e2e-gitlab"
	repository      = "acme/deploy"
)

var (
	ctx    context.Context
	cancel context.CancelFunc
	st     *harness.Stack
	k8s    client.Client
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(90 * time.Second)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RunSpecs(t, "heal8s e2e suite")
}

var _ = BeforeSuite(func() {
	ctx, cancel = context.WithCancel(context.Background())
	root, err := filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	manager := envOr("MANAGER_BIN", filepath.Join(root, "bin", "manager"))
	alertmanager := envOr("ALERTMANAGER_BIN", filepath.Join(root, "bin", "alertmanager"))
	needed := []string{manager, alertmanager}
	// E2E_KUBECONFIG runs the suite against an existing cluster instead of a local control plane.
	existing := os.Getenv("E2E_KUBECONFIG")
	var assets string
	if existing == "" {
		assets, err = utils.EnvtestAssets()
		Expect(err).NotTo(HaveOccurred())
		needed = append(needed, filepath.Join(assets, "kube-controller-manager"))
	}
	for _, bin := range needed {
		_, err := os.Stat(bin)
		Expect(err).NotTo(HaveOccurred(), "%s is missing: run the suite with 'make test-e2e', which builds it", bin)
	}

	files, err := harness.ReadRepoDir(filepath.Join("testdata", "repo"))
	Expect(err).NotTo(HaveOccurred())

	By("starting the control plane, fake GitHub, the manager and Alertmanager")
	st, err = harness.StartStack(ctx, harness.StackOptions{
		Root: root, Assets: assets, Manager: manager, Alertmanager: alertmanager,
		OperatorNamespace: operatorNamespace, AppNamespaces: append([]string{appNamespace, gitlabNamespace}, overlayNamespaces...),
		GitNamespaces: append([]string{appNamespace, slowNamespace, gitlabNamespace}, overlayNamespaces...),
		Repository:    repository, Files: files, WithGitLab: true,
		PollInterval: time.Second, Dir: os.Getenv("E2E_ARTIFACTS"), Kubeconfig: existing,
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(st.ControlPlane.HasControllerManager).To(BeTrue(), "the e2e suite needs kube-controller-manager for real rollouts")
	k8s = st.ControlPlane.Client
	Expect(st.ControlPlane.EnsureNamespace(ctx, slowNamespace, nil)).To(Succeed())

	By("creating one GitOps policy per namespace")
	for _, ns := range []string{appNamespace, slowNamespace} {
		Expect(k8s.Create(ctx, policy(ns))).To(Succeed())
	}
	gl := policy(gitlabNamespace)
	gl.Spec.Git = st.GitLabSpec()
	Expect(k8s.Create(ctx, gl)).To(Succeed())
	Eventually(func(g Gomega) {
		for _, ns := range []string{appNamespace, slowNamespace, gitlabNamespace} {
			p := &v1beta1.RemediationPolicy{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "e2e"}, p)).To(Succeed())
			g.Expect(p.Status.CompiledRules).To(BeEquivalentTo(4))
		}
	}).Should(Succeed())
})

var _ = AfterSuite(func() {
	if st != nil && st.ControlPlane != nil && st.ControlPlane.Existing {
		_ = k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: slowNamespace}})
	}
	if st != nil {
		Expect(st.Stop()).To(Succeed())
	}
	cancel()
})

var _ = ReportAfterEach(func(report SpecReport) {
	if report.Failed() && st != nil && st.Manager != nil {
		if raw, err := os.ReadFile(st.Manager.Log); err == nil {
			tail := raw[max(0, len(raw)-8000):]
			AddReportEntry("manager log (tail)", string(tail))
		}
	}
})

func policy(ns string) *v1beta1.RemediationPolicy {
	return &v1beta1.RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e", Namespace: ns},
		Spec: v1beta1.RemediationPolicySpec{
			Strategy: v1beta1.StrategyGitOps,
			Git: &v1beta1.GitSpec{
				Repository: repository, BaseBranch: "main", BaseURL: st.GitHub.URL(),
				SecretRef: corev1.LocalObjectReference{Name: st.GitHubSecret},
			},
			Rules: []v1beta1.Rule{
				// heal8s's own OOM alert and awesome-prometheus-alerts' (examples/policies).
				{Name: "oom", Matchers: []string{`alertname=~"KubePodOOMKilled|KubernetesContainerOomKiller"`},
					Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}},
				{Name: "cpu", Matchers: []string{`alertname="ContainerCPUThrottling"`},
					Action: v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{}}},
				{Name: "hpa", Matchers: []string{`alertname="KubeHpaMaxedOut"`},
					Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}},
				{Name: "crash", Matchers: []string{`alertname="KubePodCrashLooping"`},
					Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}},
			},
			Safety: v1beta1.SafetySpec{MaxPerHour: ptrTo[int32](50), MaxConcurrent: ptrTo[int32](20)},
		},
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func ptrTo[T any](v T) *T { return &v }
