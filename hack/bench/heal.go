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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	b.add(fmt.Sprintf("4 healing, %d Direct ScaleUp to Succeeded", n), rate(perSec, "remediations/s"), ratio(perSec/refPerSec),
		fmt.Sprintf("raw parallel writes/s / writes per remediation = %.0f/s; phases %v", refPerSec, counts))
	b.add("4 healing, manager API writes per remediation", fmt.Sprintf("%.1f", perRem), "", "receiver create+status, engine status and the target's patch")
	return nil
}

// memory fills the cluster to the asked numbers of Remediations and Deployments and reads the
// manager's peak resident set (VmHWM) once it has settled.
func (b *bench) memory(ctx context.Context) error {
	have := &v1beta1.RemediationList{}
	if err := b.c.List(ctx, have); err != nil {
		return fmt.Errorf("listing Remediations: %w", err)
	}
	deps := &appsv1.DeploymentList{}
	if err := b.c.List(ctx, deps); err != nil {
		return fmt.Errorf("listing Deployments: %w", err)
	}
	addRem, addDep := max(0, b.o.memRemediations-len(have.Items)), max(0, b.o.memDeployments-len(deps.Items))
	progress("row 5: adding %d Deployments and %d Remediations", addDep, addRem)
	if err := b.createDeployments(ctx, nsMem, addDep); err != nil {
		return err
	}
	// Created with the plain client, 8-way parallel: the receiver's rate is row 2's figure, and
	// the cache holds these objects whichever way they came.
	if err := parallel(ctx, addRem, 8, b.createRemediation(nsMem, "mem")); err != nil {
		return err
	}
	rss, err := b.createReplicaSets(ctx, nsMem, b.o.memReplicaSets)
	if err != nil {
		return err
	}
	// The cache holds every object whatever the engine has done with it; a few seconds let the
	// informers catch up with the last creates.
	time.Sleep(5 * time.Second)
	if err := b.c.List(ctx, have); err != nil {
		return fmt.Errorf("listing Remediations: %w", err)
	}
	if err := b.c.List(ctx, deps); err != nil {
		return fmt.Errorf("listing Deployments: %w", err)
	}
	hwm, rssNow, err := b.managerMemory()
	if err != nil {
		return err
	}
	b.add("5 memory, manager peak RSS (VmHWM)", fmt.Sprintf("%d MiB", hwm>>20), "",
		fmt.Sprintf("%d Remediations, %d Deployments, %d ReplicaSets; RSS now %d MiB", len(have.Items), len(deps.Items), rss, rssNow>>20))
	return nil
}

// createReplicaSets makes the cluster hold n ReplicaSets, spread over the Deployments of ns and
// controlled by them as the Deployment controller would leave them (old revisions scaled to
// zero), and returns how many ReplicaSets the cluster holds.
func (b *bench) createReplicaSets(ctx context.Context, ns string, n int) (int, error) {
	have := &appsv1.ReplicaSetList{}
	if err := b.c.List(ctx, have); err != nil {
		return 0, fmt.Errorf("listing ReplicaSets: %w", err)
	}
	add := max(0, n-len(have.Items))
	deps := &appsv1.DeploymentList{}
	if err := b.c.List(ctx, deps, client.InNamespace(ns)); err != nil {
		return 0, fmt.Errorf("listing Deployments in %s: %w", ns, err)
	}
	if add == 0 || len(deps.Items) == 0 {
		return len(have.Items), nil
	}
	progress("row 5: adding %d ReplicaSets", add)
	err := parallel(ctx, add, 8, func(ctx context.Context, i int) error {
		d := &deps.Items[i%len(deps.Items)]
		rev := i/len(deps.Items) + 1
		hash := fmt.Sprintf("r%d", rev)
		labels := map[string]string{"app": d.Name, "pod-template-hash": hash}
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-" + hash, Namespace: ns, Labels: labels,
				Annotations:     map[string]string{"deployment.kubernetes.io/revision": strconv.Itoa(rev)},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr[int32](0),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: *d.Spec.Template.Spec.DeepCopy()},
			},
		}
		if err := b.c.Create(ctx, rs); err != nil {
			return fmt.Errorf("creating ReplicaSet %s/%s: %w", ns, rs.Name, err)
		}
		return nil
	})
	return len(have.Items) + add, err
}

// managerMemory reads VmHWM and VmRSS of the manager process, found by its receiver port.
func (b *bench) managerMemory() (hwm, rss int64, err error) {
	want := "--receiver-bind-address=127.0.0.1:" + strconv.Itoa(b.mgr.ReceiverPort)
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return 0, 0, fmt.Errorf("listing /proc: %w", err)
	}
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), want) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(d, "status"))
		if err != nil {
			return 0, 0, fmt.Errorf("reading %s/status: %w", d, err)
		}
		for _, l := range strings.Split(string(status), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmHWM:":
				hwm = kb << 10
			case "VmRSS:":
				rss = kb << 10
			}
		}
		return hwm, rss, nil
	}
	return 0, 0, fmt.Errorf("no process with %s", want)
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
	b.add("6 gitops, GitHub API calls per proposal", fmt.Sprintf("%.1f", calls), "", "fake GitHub, one new branch, commit and pull request each")
	b.add("6 gitops, proposals/s sequential", fmt.Sprintf("%.2f proposals/s", seq), ratio(seq/ref),
		fmt.Sprintf("1 / (calls x %s) = %.2f/s", b.o.latency, ref))
	b.add("6 gitops, proposals/s 8-way parallel", fmt.Sprintf("%.2f proposals/s", par), ratio(par/(8*ref)), fmt.Sprintf("8 x that = %.2f/s", 8*ref))
	return nil
}
