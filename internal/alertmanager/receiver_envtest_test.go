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

package alertmanager

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/routing"
)

// replica is one heal8s pod's receiver: its own manager (cache), routing table and metrics.
type replica struct {
	recv    *Receiver
	table   *routing.Table
	metrics *metrics.Recorder
	url     string
}

// failingCreates makes the API server refuse every create, for the 503 path.
type failingCreates struct{ client.Client }

func (failingCreates) Create(context.Context, client.Object, ...client.CreateOption) error {
	return apierrors.NewServiceUnavailable("the API server is down for this test")
}

var _ = Describe("Alertmanager receiver", Ordered, func() {
	var (
		a, b      *replica
		tokenPath string
		ns        string
	)

	startReplica := func(ctx context.Context) *replica {
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{
			Scheme:                 testScheme(),
			Metrics:                metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0",
		})
		Expect(err).NotTo(HaveOccurred())
		r := &replica{table: routing.NewTable(routing.TableOptions{OperatorNamespace: "heal8s-system"}),
			metrics: metrics.NewRecorder(prometheus.NewRegistry())}
		r.recv, err = New(Options{BindAddress: "127.0.0.1:0", TokenFile: tokenPath, FlushInterval: 200 * time.Millisecond},
			mgr.GetClient(), mgr.GetAPIReader(), r.table, r.metrics)
		Expect(err).NotTo(HaveOccurred())
		Expect(mgr.Add(r.recv)).To(Succeed())
		go func() {
			defer GinkgoRecover()
			Expect(mgr.Start(ctx)).To(Succeed())
		}()
		addr, err := r.recv.Addr(ctx)
		Expect(err).NotTo(HaveOccurred())
		r.url = "http://" + addr.String() + Path
		return r
	}

	BeforeAll(func() {
		tokenPath = filepath.Join(GinkgoT().TempDir(), "token")
		Expect(os.WriteFile(tokenPath, []byte(testToken), 0o600)).To(Succeed())
		ctx, cancel := context.WithCancel(suiteCtx)
		DeferCleanup(cancel)
		a, b = startReplica(ctx), startReplica(ctx)
	})

	BeforeEach(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "receiver-"}}
		Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
		ns = n.Name
		p := seedPolicy(ns)
		Expect(k8sClient.Create(suiteCtx, p)).To(Succeed())
		for _, r := range []*replica{a, b} {
			c, err := routing.Compile(p)
			Expect(err).NotTo(HaveOccurred())
			r.table.Set(c)
		}
	})

	post := func(url string, alerts ...Alert) (int, string) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payloadJSON(GinkgoT(), alerts...)))
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		return do(GinkgoT(), req)
	}
	remediations := func() []v1beta1.Remediation {
		list := &v1beta1.RemediationList{}
		Expect(k8sClient.List(suiteCtx, list, client.InNamespace(ns))).To(Succeed())
		return list.Items
	}
	nameFor := func(rule, fingerprint string) types.NamespacedName {
		return types.NamespacedName{Namespace: ns, Name: RemediationName(types.NamespacedName{Namespace: ns, Name: "seed"}, rule, fingerprint, testStart)}
	}
	hpa := func(i int) Alert {
		return firing(map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": ns, "horizontalpodautoscaler": fmt.Sprintf("api-%d", i)}, fp(i))
	}
	deployment := func(name string) *appsv1.Deployment {
		labels := map[string]string{"app": name}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "ghcr.io/acme/api:1"}}},
				},
			},
		}
		Expect(k8sClient.Create(suiteCtx, d)).To(Succeed())
		return d
	}
	ownedBy := func(o client.Object, kind string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: o.GetName(), UID: o.GetUID(), Controller: ptr.To(true)}}
	}
	replicaSet := func(d *appsv1.Deployment, hash string) *appsv1.ReplicaSet {
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: d.Name + "-" + hash, OwnerReferences: ownedBy(d, "Deployment")},
			Spec:       appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template},
		}
		Expect(k8sClient.Create(suiteCtx, rs)).To(Succeed())
		return rs
	}

	It("turns a payload as Alertmanager sends it into the expected Remediations, resolving pods to Deployments", func() {
		api := deployment("api")
		rs := replicaSet(api, "7d9f8b6c5d")
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: rs.Name + "-x2k4q", OwnerReferences: ownedBy(rs, "ReplicaSet")},
			Spec:       api.Spec.Template.Spec,
		}
		Expect(k8sClient.Create(suiteCtx, pod)).To(Succeed())
		worker := deployment("worker")
		workerRS := replicaSet(worker, "5f6c7d8e9a") // its pod is already gone

		oom := firing(oomLabels(ns, pod.Name), fp(1))
		nearLimit := firing(map[string]string{"alertname": "ContainerMemoryNearLimit", "namespace": ns, "pod": workerRS.Name + "-q1w2e",
			"container": "app", "job": "kubelet", "metrics_path": "/metrics/cadvisor"}, fp(2))
		code, body := post(a.url, oom, nearLimit, hpa(3),
			firing(map[string]string{"alertname": "Watchdog", "namespace": ns}, fp(4)),
			firing(oomLabels(ns, "ghost-5c4b3a2d1e-aaaaa"), fp(5)))
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(MatchJSON(`{"created":3,"existing":0,"resolved":0,"skipped":{"no_rule":1,"target_not_found":1}}`))

		Expect(remediations()).To(HaveLen(3))
		rem := &v1beta1.Remediation{}
		Expect(k8sClient.Get(suiteCtx, nameFor("memory", fp(1)), rem)).To(Succeed())
		Expect(rem.Spec.Target).To(Equal(v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: "api", Namespace: ns, Container: "app"}))
		Expect(rem.Labels).To(HaveKeyWithValue(v1beta1.LabelFingerprint, fp(1)))
		Expect(rem.Labels).To(HaveKeyWithValue(v1beta1.LabelAction, "IncreaseMemory"))
		Expect(rem.Spec.Alert.Labels).To(Equal(oom.Labels))
		Expect(sightingsOf(rem).Count).To(Equal(int32(1)))
		Expect(sightingsOf(rem).LastSeen).NotTo(BeZero())
		Expect(k8sClient.Get(suiteCtx, nameFor("memory", fp(2)), rem)).To(Succeed())
		Expect(rem.Spec.Target.Name).To(Equal("worker"), "a gone pod resolves through its ReplicaSet's name")
		Expect(k8sClient.Get(suiteCtx, nameFor("hpa-maxed", fp(3)), rem)).To(Succeed())
		Expect(rem.Spec.Target.Kind).To(Equal(v1beta1.TargetKindHorizontalPodAutoscaler))

		Expect(testutil.ToFloat64(a.metrics.AlertsReceived.WithLabelValues("firing"))).To(BeNumerically(">=", 5))
		Eventually(func(g Gomega) {
			p := &v1beta1.RemediationPolicy{}
			g.Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: ns, Name: "seed"}, p)).To(Succeed())
			g.Expect(p.Status.LastMatchTime).NotTo(BeNil())
		}).Should(Succeed())
	})

	It("creates each Remediation once and loses no count when two replicas receive repeats at once", func() {
		const sends = 6
		alerts := []Alert{hpa(1), hpa(2), hpa(3)}
		var wg sync.WaitGroup
		codes := make(chan int, 2*sends)
		for i := range 2 * sends {
			url := a.url
			if i%2 == 1 {
				url = b.url
			}
			wg.Go(func() {
				defer GinkgoRecover()
				code, _ := post(url, alerts...)
				codes <- code
			})
		}
		wg.Wait()
		close(codes)
		for code := range codes {
			Expect(code).To(Equal(http.StatusOK))
		}
		Expect(remediations()).To(HaveLen(len(alerts)))
		created := testutil.ToFloat64(a.metrics.RemediationsCreated.WithLabelValues("ScaleUp", ns)) +
			testutil.ToFloat64(b.metrics.RemediationsCreated.WithLabelValues("ScaleUp", ns))
		Expect(created).To(Equal(float64(len(alerts))))
		Eventually(func(g Gomega) {
			for _, r := range remediations() {
				g.Expect(sightingsOf(&r).Count).To(Equal(int32(2*sends)), r.Name)
			}
		}).WithTimeout(10 * time.Second).Should(Succeed())
		Consistently(func(g Gomega) {
			for _, r := range remediations() {
				g.Expect(sightingsOf(&r).Count).To(Equal(int32(2*sends)), r.Name)
			}
		}).WithTimeout(time.Second).Should(Succeed())
	})

	It("answers 503 and persists nothing when the API server refuses, then succeeds on retry", func() {
		mgrClient := k8sClient
		broken, err := New(Options{TokenFile: tokenPath, Logger: GinkgoLogr}, failingCreates{mgrClient}, mgrClient, a.table,
			metrics.NewRecorder(prometheus.NewRegistry()))
		Expect(err).NotTo(HaveOccurred())
		broken.handler.loaded.Store(true)
		srv := httptest.NewServer(broken.Handler())
		defer srv.Close()
		code, body := post(srv.URL+Path, hpa(7))
		Expect(code).To(Equal(http.StatusServiceUnavailable))
		Expect(body).To(ContainSubstring("the API server is down"))
		Expect(remediations()).To(BeEmpty())

		code, body = post(a.url, hpa(7))
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(remediations()).To(HaveLen(1))
	})

	It("records the resolution on the Remediation before answering", func() {
		code, _ := post(a.url, hpa(8))
		Expect(code).To(Equal(http.StatusOK))
		resolved := hpa(8)
		resolved.Status = StatusResolved
		resolved.EndsAt = time.Now().Add(-10 * time.Second).Truncate(time.Second)
		// The other replica may not have the new Remediation in its cache yet; it must still find it.
		code, body := post(b.url, resolved)
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(MatchJSON(`{"created":0,"existing":0,"resolved":1}`))
		rem := &v1beta1.Remediation{}
		Expect(k8sClient.Get(suiteCtx, nameFor("hpa-maxed", fp(8)), rem)).To(Succeed())
		Expect(sightingsOf(rem).ResolvedAt).NotTo(BeZero())
		Expect(sightingsOf(rem).ResolvedAt.Equal(resolved.EndsAt)).To(BeTrue())
	})

	It("answers 401 over the network without the token", func() {
		req, _ := http.NewRequest(http.MethodPost, a.url, bytes.NewReader(payloadJSON(GinkgoT(), hpa(9))))
		req.Header.Set("Content-Type", "application/json")
		code, _ := do(GinkgoT(), req)
		Expect(code).To(Equal(http.StatusUnauthorized))
		Expect(remediations()).To(BeEmpty())
	})
})
