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
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clienttesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/internal/routing"
)

const testToken = "s3cret-token"

var testStart = time.Date(2026, 11, 28, 1, 0, 0, 123456789, time.UTC)

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := v1beta1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// seedPolicy is shaped like the seed's sample policy: one rule per seed alert.
func seedPolicy(ns string) *v1beta1.RemediationPolicy {
	return &v1beta1.RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "seed"},
		Spec: v1beta1.RemediationPolicySpec{Rules: []v1beta1.Rule{
			{Name: "memory", Matchers: []string{`alertname=~"KubePodOOMKilled|ContainerMemoryNearLimit"`},
				Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}},
			{Name: "hpa-maxed", Matchers: []string{`alertname="KubeHpaMaxedOut"`},
				Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}},
			{Name: "deploy-cpu", Matchers: []string{`alertname="ContainerCPUThrottling"`},
				Action: v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{}}},
		}},
	}
}

// tableFor compiles policies into a fresh table.
func tableFor(t testing.TB, policies ...*v1beta1.RemediationPolicy) *routing.Table {
	t.Helper()
	tbl := routing.NewTable(routing.TableOptions{OperatorNamespace: "heal8s-system"})
	for _, p := range policies {
		c, err := routing.Compile(p)
		if err != nil {
			t.Fatalf("compiling %s: %v", p.Name, err)
		}
		tbl.Set(c)
	}
	return tbl
}

// podObjects returns a Deployment's ReplicaSet and pod, as metadata the resolver reads.
func podObjects(ns, deploy, rsHash, podSuffix string) []client.Object {
	rsName := deploy + "-" + rsHash
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: rsName,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: deploy, UID: "d1", Controller: ptr.To(true)}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: rsName + "-" + podSuffix,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rsName, UID: "r1", Controller: ptr.To(true)}}}}
	return []client.Object{rs, pod}
}

type fixture struct {
	recv    *Receiver
	client  client.WithWatch
	metrics *metrics.Recorder
	srv     *httptest.Server
	clock   *clocktesting.FakePassiveClock
}

func newFixture(t testing.TB, tbl *routing.Table, funcs *interceptor.Funcs, objs ...client.Object) *fixture {
	t.Helper()
	b := fake.NewClientBuilder().WithScheme(testScheme()).
		WithStatusSubresource(&v1beta1.Remediation{}, &v1beta1.RemediationPolicy{}).
		WithObjects(objs...)
	if funcs != nil {
		b = b.WithInterceptorFuncs(*funcs)
	}
	return newFixtureFrom(t, tbl, b)
}

// newFastFixture skips the fake client's managed-fields tracking, which rebuilds a REST mapper on
// every write and would dominate a benchmark of the handler.
func newFastFixture(t testing.TB, tbl *routing.Table, objs ...client.Object) *fixture {
	t.Helper()
	s := testScheme()
	b := fake.NewClientBuilder().WithScheme(s).
		WithObjectTracker(clienttesting.NewObjectTracker(s, serializer.NewCodecFactory(s).UniversalDecoder())).
		WithStatusSubresource(&v1beta1.Remediation{}, &v1beta1.RemediationPolicy{}).
		WithObjects(objs...)
	return newFixtureFrom(t, tbl, b)
}

func newFixtureFrom(t testing.TB, tbl *routing.Table, b *fake.ClientBuilder) *fixture {
	t.Helper()
	c := b.Build()
	rec := metrics.NewRecorder(prometheus.NewRegistry())
	tokenPath := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenPath, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakePassiveClock(testStart.Add(10 * time.Minute))
	r, err := New(Options{TokenFile: tokenPath, MaxBodyBytes: 64 << 10, Clock: clk, Logger: logr.Discard()}, c, c, tbl, rec)
	if err != nil {
		t.Fatal(err)
	}
	r.handler.loaded.Store(true) // no Start here: the table is what the test built
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	return &fixture{recv: r, client: c, metrics: rec, srv: srv, clock: clk}
}

func (f *fixture) post(t testing.TB, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	return do(t, req)
}

// fataler is what the helpers need of a test, satisfied by testing.TB and GinkgoT().
type fataler interface {
	Helper()
	Fatal(args ...any)
}

func do(t fataler, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

func firing(labels map[string]string, fp string) Alert {
	return Alert{Status: StatusFiring, Labels: labels, Fingerprint: fp, StartsAt: testStart,
		Annotations: map[string]string{"summary": "it hurts"}, GeneratorURL: "http://prometheus/graph?g0.expr=x"}
}

func payloadJSON(t fataler, alerts ...Alert) []byte {
	t.Helper()
	p := Payload{Version: "4", GroupKey: `{}:{alertname="x"}`, Status: StatusFiring, Receiver: "heal8s",
		GroupLabels: map[string]string{}, CommonLabels: map[string]string{}, CommonAnnotations: map[string]string{},
		ExternalURL: "http://alertmanager:9093", Alerts: alerts}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func oomLabels(ns, pod string) map[string]string {
	return map[string]string{"alertname": "KubePodOOMKilled", "namespace": ns, "pod": pod, "container": "app",
		"reason": "OOMKilled", "job": "kube-state-metrics", "severity": "warning"}
}

func fp(i int) string { return fmt.Sprintf("%016x", 0xabc000+i) }

// sightingsOf reads what the receiver recorded on a Remediation (the controller, absent from
// these tests, folds it into status).
func sightingsOf(r *v1beta1.Remediation) remediation.Sightings {
	return remediation.ReadSightings(r.Annotations)
}
