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
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// memory fills the cluster to the asked numbers of Remediations, Deployments, ReplicaSets and
// Pods and reads the manager's peak resident set (VmHWM) once it has settled.
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
	if addDep == 0 && (b.o.memReplicaSets > 0 || b.o.memPods > 0) {
		addDep = 1 // the ReplicaSets and Pods need an owner in this namespace
	}
	progress("row 5: adding %d Deployments, %d ReplicaSets, %d Pods and %d Remediations", addDep, b.o.memReplicaSets, b.o.memPods, addRem)
	// Created with the plain client, 8-way parallel: the receiver's rate is row 2's figure, and
	// the cache holds these objects whichever way they came.
	w := newWorkloads(addDep, b.o.memReplicaSets, b.o.memPods)
	uids := make([]types.UID, addDep)
	if err := parallel(ctx, addDep, 8, func(ctx context.Context, i int) error {
		d := w.deployment(i)
		if err := b.c.Create(ctx, d); err != nil {
			return fmt.Errorf("creating Deployment %s/%s: %w", nsMem, d.Name, err)
		}
		uids[i] = d.UID
		return nil
	}); err != nil {
		return err
	}
	rsUIDs := make([]types.UID, addDep) // the newest ReplicaSet of each Deployment, the Pods' owner
	if err := parallel(ctx, b.o.memReplicaSets, 8, func(ctx context.Context, i int) error {
		rs := w.replicaSet(i, uids)
		if err := b.c.Create(ctx, rs); err != nil {
			return fmt.Errorf("creating ReplicaSet %s/%s: %w", nsMem, rs.Name, err)
		}
		if d, rev := w.owner(i); rev == w.revisions(d) {
			rsUIDs[d] = rs.UID
		}
		return nil
	}); err != nil {
		return err
	}
	if err := parallel(ctx, b.o.memPods, 8, func(ctx context.Context, i int) error {
		pod := w.pod(i, rsUIDs)
		if err := b.c.Create(ctx, pod); err != nil {
			return fmt.Errorf("creating Pod %s/%s: %w", nsMem, pod.Name, err)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := parallel(ctx, addRem, 8, b.createRemediation(nsMem, "mem")); err != nil {
		return err
	}
	if err := b.startWorkloadInformers(ctx, w); err != nil {
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
	rss := &appsv1.ReplicaSetList{}
	if err := b.c.List(ctx, rss); err != nil {
		return fmt.Errorf("listing ReplicaSets: %w", err)
	}
	pods := &corev1.PodList{}
	if err := b.c.List(ctx, pods); err != nil {
		return fmt.Errorf("listing Pods: %w", err)
	}
	m, err := b.managerMemory()
	if err != nil {
		return err
	}
	cluster := fmt.Sprintf("%d Remediations, %d Deployments, %d ReplicaSets, %d Pods; a pod alert and a rollbackImage policy made the manager read Pods and ReplicaSets (from the API server, uncached: see the watches listed at the end)",
		len(have.Items), len(deps.Items), len(rss.Items), len(pods.Items))
	if b.o.memLimit != "" {
		cluster += "; the manager ran with GOMEMLIMIT=" + b.o.memLimit
	}
	b.add(row{key: "memory_peak_rss", name: "5 memory, manager peak RSS (VmHWM)", figure: mib(m.hwm), unit: "MiB", reference: cluster})
	b.add(row{key: "memory_rss_end", name: "5 memory, manager RSS at the end", figure: mib(m.rss), unit: "MiB", reference: fmt.Sprintf("the same, when the row ends: %.0f MiB anonymous (RssAnon), %.0f MiB file-backed (RssFile)", mib(m.anon), mib(m.file))})
	if b.o.heapProfile != "" {
		return writeHeapProfile(ctx, b.o.heapProfile)
	}
	return nil
}

// startWorkloadInformers makes the manager cache what an installation that receives pod alerts
// and has a rollbackImage policy caches. controller-runtime starts an informer for a kind on its
// first read, for the whole cluster: one alert naming a Pod makes the receiver resolve it to its
// Deployment (internal/alertmanager/owner.go: Pod and ReplicaSet metadata), and a policy with a
// rollbackImage rule over a namespace holding a Deployment makes the stable-revision controller
// list ReplicaSets (internal/controller/remediation_controller_stable.go). That policy is in a
// namespace of its own with one Deployment, so the controller does not list the 20,000
// ReplicaSets once for each of the row's Deployments.
func (b *bench) startWorkloadInformers(ctx context.Context, w workloads) error {
	if err := b.createPolicyWith(ctx, nsRollback, func(p *v1beta1.RemediationPolicy) {
		p.Spec.Rules = append(p.Spec.Rules, v1beta1.Rule{Name: "rollback", Matchers: []string{`alertname="BenchRollback"`},
			Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}})
	}); err != nil {
		return err
	}
	if err := b.c.Create(ctx, deployment(nsRollback, "app-0")); err != nil {
		return fmt.Errorf("creating Deployment %s/app-0: %w", nsRollback, err)
	}
	if b.o.memPods == 0 {
		return nil
	}
	a := b.alerts(nsMem, 1, func(int) string { return "" })[0]
	delete(a.Labels, "deployment")
	a.Labels["pod"] = w.pod(0, make([]types.UID, w.deployments)).Name
	body, err := payload([]alert{a})
	if err != nil {
		return err
	}
	if _, err := b.post(ctx, body); err != nil {
		return fmt.Errorf("posting an alert naming a Pod: %w", err)
	}
	return nil
}

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// workloads lays out the memory row's objects as a Deployment controller would leave them:
// ReplicaSet i belongs to Deployment i mod deployments, as its revision i/deployments+1, so each
// Deployment has its history of ReplicaSets scaled to zero and the newest one holding its Pods;
// Pod i belongs to the newest ReplicaSet of Deployment i mod deployments.
type workloads struct{ deployments, replicaSets, pods int }

func newWorkloads(deployments, replicaSets, pods int) workloads {
	return workloads{deployments: max(deployments, 1), replicaSets: replicaSets, pods: pods}
}

// owner is the Deployment and revision of ReplicaSet i.
func (w workloads) owner(i int) (deployment, revision int) {
	return i % w.deployments, i/w.deployments + 1
}

// share is how many of n items laid out round-robin fall on Deployment d.
func (w workloads) share(n, d int) int {
	c := n / w.deployments
	if d < n%w.deployments {
		c++
	}
	return c
}

func (w workloads) revisions(d int) int { return w.share(w.replicaSets, d) }
func (w workloads) replicas(d int) int  { return w.share(w.pods, d) }

func memName(d int) string { return fmt.Sprintf("mem-%d", d) }

// templateHash stands in for the pod-template-hash the Deployment controller derives from the
// template: stable per Deployment and revision, in the alphabet it encodes with.
func templateHash(d, revision int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%d/%d", d, revision)
	v := h.Sum64()
	out := make([]byte, 10)
	for i := range out {
		out[i] = alphabet[v%uint64(len(alphabet))]
		v /= uint64(len(alphabet))
	}
	return string(out)
}

// podSpec is the Pod template of Deployment d at a revision: one container with requests,
// limits, ports, environment and probes, the size of an ordinary application's.
func podSpec(d, revision int) corev1.PodSpec {
	name := memName(d)
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
		}
	}
	return corev1.PodSpec{
		AutomountServiceAccountToken:  ptr(false),
		TerminationGracePeriodSeconds: ptr[int64](30),
		Containers: []corev1.Container{{
			Name:  "app",
			Image: fmt.Sprintf("registry.example/%s:1.%d.0", name, revision),
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
				{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP}},
			Env: []corev1.EnvVar{{Name: "APP_NAME", Value: name}, {Name: "LOG_LEVEL", Value: "info"},
				{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			ReadinessProbe:           probe("/readyz"),
			LivenessProbe:            probe("/healthz"),
			TerminationMessagePath:   corev1.TerminationMessagePathDefault,
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ImagePullPolicy:          corev1.PullIfNotPresent,
		}},
		RestartPolicy: corev1.RestartPolicyAlways,
		DNSPolicy:     corev1.DNSClusterFirst,
		SchedulerName: corev1.DefaultSchedulerName,
	}
}

func (w workloads) deployment(d int) *appsv1.Deployment {
	dep := deployment(nsMem, memName(d))
	dep.Spec.Replicas = ptr(int32(w.replicas(d)))
	dep.Spec.Template.Spec = podSpec(d, max(w.revisions(d), 1))
	dep.Annotations = map[string]string{"deployment.kubernetes.io/revision": strconv.Itoa(max(w.revisions(d), 1))}
	return dep
}

func (w workloads) replicaSet(i int, deploymentUIDs []types.UID) *appsv1.ReplicaSet {
	d, rev := w.owner(i)
	hash := templateHash(d, rev)
	labels := map[string]string{"app": memName(d), "pod-template-hash": hash}
	replicas := int32(0)
	if rev == w.revisions(d) {
		replicas = int32(w.replicas(d))
	}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: memName(d) + "-" + hash, Namespace: nsMem, Labels: labels,
			Annotations: map[string]string{
				"deployment.kubernetes.io/revision":         strconv.Itoa(rev),
				"deployment.kubernetes.io/desired-replicas": strconv.Itoa(w.replicas(d)),
				"deployment.kubernetes.io/max-replicas":     strconv.Itoa(w.replicas(d) + 1),
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: memName(d),
				UID: deploymentUIDs[d], Controller: ptr(true), BlockOwnerDeletion: ptr(true)}},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(d, rev)},
		},
	}
}

func (w workloads) pod(i int, replicaSetUIDs []types.UID) *corev1.Pod {
	d := i % w.deployments
	rev := max(w.revisions(d), 1)
	hash := templateHash(d, rev)
	rsName := memName(d) + "-" + hash
	spec := podSpec(d, rev)
	spec.NodeName = fmt.Sprintf("node-%d", i%50)
	spec.ServiceAccountName = "default"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%s", rsName, templateHash(i, 0)[:5]), Namespace: nsMem,
			Labels: map[string]string{"app": memName(d), "pod-template-hash": hash},
		},
		Spec: spec,
	}
	if w.replicaSets > 0 && replicaSetUIDs[d] != "" {
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rsName,
			UID: replicaSetUIDs[d], Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}
	}
	return pod
}

// memoryReading is the manager's resident set: the peak since it started or since resetPeak,
// and now.
// memoryReading is what /proc/PID/status says of the manager's memory: the peak (VmHWM), the
// current resident set (VmRSS) and its anonymous (heap, stacks) and file-backed (the binary's
// pages) parts at the time of the reading (RssAnon, RssFile).
type memoryReading struct{ hwm, rss, anon, file int64 }

// managerPID finds the manager process by its receiver port, once.
func (b *bench) managerPID() (string, error) {
	if b.pid != "" {
		return b.pid, nil
	}
	want := "--receiver-bind-address=127.0.0.1:" + strconv.Itoa(b.mgr.ReceiverPort)
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return "", fmt.Errorf("listing /proc: %w", err)
	}
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && strings.Contains(string(cmdline), want) {
			b.pid = filepath.Base(d)
			return b.pid, nil
		}
	}
	return "", fmt.Errorf("no process with %s", want)
}

// managerMemory reads VmHWM and VmRSS of the manager process.
func (b *bench) managerMemory() (memoryReading, error) {
	pid, err := b.managerPID()
	if err != nil {
		return memoryReading{}, err
	}
	status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return memoryReading{}, fmt.Errorf("reading the manager's /proc/%s/status: %w", pid, err)
	}
	var m memoryReading
	for l := range strings.SplitSeq(string(status), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			m.hwm = kb << 10
		case "VmRSS:":
			m.rss = kb << 10
		case "RssAnon:":
			m.anon = kb << 10
		case "RssFile:":
			m.file = kb << 10
		}
	}
	return m, nil
}

// resetPeak sets the manager's VmHWM back to its current RSS (proc(5), clear_refs value 5), so a
// row reads its own peak rather than that of the rows before it.
func (b *bench) resetPeak() error {
	pid, err := b.managerPID()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join("/proc", pid, "clear_refs"), []byte("5"), 0o200); err != nil {
		return fmt.Errorf("resetting the manager's peak RSS: %w", err)
	}
	return nil
}
