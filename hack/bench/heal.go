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

package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/fake"
	"github.com/heal8s/heal8s/test/harness"
)

func deployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.example/app:1",
					Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}},
				}}},
			},
		},
	}
}

func (b *bench) createDeployments(ctx context.Context, ns string, n int) error {
	return parallel(ctx, n, 8, func(ctx context.Context, i int) error {
		d := deployment(ns, fmt.Sprintf("app-%d", i))
		if err := b.c.Create(ctx, d); err != nil {
			return fmt.Errorf("creating Deployment %s/%s: %w", ns, d.Name, err)
		}
		return nil
	})
}

// heal drives Direct ScaleUp remediations from alert to Succeeded, with the stand-in kubelet
// reporting each rollout finished, and counts the manager's writes per remediation.
func (b *bench) heal(ctx context.Context) error {
	n := b.o.heal
	if n == 0 {
		return nil
	}
	progress("row 4: %d Deployments, then %d alerts healed by Direct ScaleUp", n, n)
	if err := b.createDeployments(ctx, nsHeal, n); err != nil {
		return err
	}
	kctx, stopKubelet := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		(&harness.Kubelet{Client: b.c, Namespaces: []string{nsHeal}, Interval: 500 * time.Millisecond, SimulateWorkloads: true}).Run(kctx)
	})
	defer func() { stopKubelet(); wg.Wait() }()

	alerts := b.alerts(nsHeal, n, func(i int) string { return fmt.Sprintf("app-%d", i) })
	w0, err := b.writes(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	for i := 0; i < n; i += 100 {
		body, err := payload(alerts[i:min(n, i+100)])
		if err != nil {
			return err
		}
		if _, err := b.post(ctx, body); err != nil {
			return err
		}
	}
	var counts map[v1beta1.Phase]int
	err = poll(ctx, 5*time.Minute, time.Second, func() (bool, error) {
		var err error
		counts, err = b.phases(ctx, nsHeal)
		return err == nil && terminal(counts) >= n, err
	})
	elapsed := time.Since(t0)
	if err != nil {
		return fmt.Errorf("%d remediations, phases %v: %w", n, counts, err)
	}
	w1, err := b.writes(ctx)
	if err != nil {
		return err
	}
	perSec := float64(n) / elapsed.Seconds()
	perRem := (w1 - w0) / float64(n)
	// The reference: how fast the plain client makes the same number of writes, 8-way parallel.
	refPerSec := b.rawPar / perRem
	b.add(row{key: "healing_remediations", name: fmt.Sprintf("4 healing, %d Direct ScaleUp to Succeeded", n), figure: perSec, unit: "remediations/s",
		ratio: some(perSec / refPerSec), reference: fmt.Sprintf("raw parallel writes/s / writes per remediation = %.0f/s; phases %v", refPerSec, counts)})
	// The policy asks every remediation to stay healthy for its verify window (benchWindow)
	// before it succeeds: a wait no write rate removes. The second reference adds one window to
	// the time the raw writes would take, as if every remediation's window overlapped with the
	// others' (they can: a wait is a RequeueAfter, not a busy worker).
	refWait := float64(n) / (float64(n)/refPerSec + benchWindow.Seconds())
	b.add(row{key: "healing_remediations_with_window", name: fmt.Sprintf("4 healing, %d Direct, against the writes plus one verify window", n), figure: perSec,
		unit: "remediations/s", ratio: some(perSec / refWait),
		reference: fmt.Sprintf("%d / (%d / %.0f/s + the policy's %s verify window) = %.0f/s", n, n, refPerSec, benchWindow, refWait)})
	b.add(row{key: "healing_writes_per_remediation", name: "4 healing, manager API writes per remediation", figure: perRem, unit: "writes",
		display: fmt.Sprintf("%.1f", perRem), reference: "the receiver's create, the engine's status writes and Events, the target's patch (target: at most 6)"})
	return nil
}

const (
	gitRepo     = "bench/deploy"
	gitManifest = "apps/web.yaml"
)

// gitops proposes pull requests with the real GitHub provider against the fake GitHub, whose
// every call waits the injected latency, and counts the provider's calls per proposal.
func (b *bench) gitops(ctx context.Context) error {
	if b.o.proposals == 0 {
		return nil
	}
	progress("row 6: %d proposals sequentially and %d 8-way parallel, %s per GitHub call", b.o.proposals, b.o.proposals, b.o.latency)
	srv, err := fake.New(fake.Options{})
	if err != nil {
		return fmt.Errorf("starting the fake GitHub: %w", err)
	}
	defer srv.Close()
	manifest := "# the web tier\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n" +
		"spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            limits:\n              memory: 256Mi # raised by hand once\n"
	if err := srv.NewRepo(gitRepo, map[string]string{gitManifest: manifest, "README.md": "deploy\n"}); err != nil {
		return fmt.Errorf("creating the repository: %w", err)
	}
	prov, err := srv.Provider()
	if err != nil {
		return fmt.Errorf("creating the provider: %w", err)
	}
	srv.SetLatency(b.o.latency)
	edit := func(ctx context.Context, repo gitprovider.Repo) (string, []byte, error) {
		old, err := repo.ReadFile(ctx, gitManifest)
		if err != nil {
			return "", nil, err
		}
		return gitManifest, []byte(strings.Replace(string(old), "256Mi", "384Mi", 1)), nil
	}
	propose := func(prefix string) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			_, err := prov.Propose(ctx, gitprovider.Proposal{
				Repository: gitRepo, BaseBranch: "main", Branch: fmt.Sprintf("heal8s/%s-%d", prefix, i),
				Title: "heal8s: IncreaseMemory for shop/web", Body: "benchmark", CommitMessage: "heal8s: raise memory of shop/web to 384Mi",
				Labels: []string{"heal8s", "IncreaseMemory"}, Edit: edit,
			})
			if err != nil {
				return fmt.Errorf("proposing %s-%d: %w", prefix, i, err)
			}
			return nil
		}
	}
	n := b.o.proposals
	c0 := prov.Calls()
	t0 := time.Now()
	if err := parallel(ctx, n, 1, propose("seq")); err != nil {
		return err
	}
	seq := float64(n) / time.Since(t0).Seconds()
	calls := float64(prov.Calls()-c0) / float64(n)
	t0 = time.Now()
	if err := parallel(ctx, n, 8, propose("par")); err != nil {
		return err
	}
	par := float64(n) / time.Since(t0).Seconds()
	ref := 1 / (calls * b.o.latency.Seconds())
	b.add(row{key: "gitops_calls_per_proposal", name: "6 gitops, GitHub API calls per proposal", figure: calls, unit: "calls",
		display: fmt.Sprintf("%.1f", calls), reference: "fake GitHub, one new branch, commit and pull request each"})
	b.add(row{key: "gitops_proposals_sequential", name: "6 gitops, proposals/s sequential", figure: seq, unit: "proposals/s",
		display: fmt.Sprintf("%.2f proposals/s", seq), ratio: some(seq / ref), reference: fmt.Sprintf("1 / (calls x %s) = %.2f/s", b.o.latency, ref)})
	b.add(row{key: "gitops_proposals_parallel", name: "6 gitops, proposals/s 8-way parallel", figure: par, unit: "proposals/s",
		display: fmt.Sprintf("%.2f proposals/s", par), ratio: some(par / (8 * ref)), reference: fmt.Sprintf("8 x that = %.2f/s", 8*ref)})
	return nil
}
