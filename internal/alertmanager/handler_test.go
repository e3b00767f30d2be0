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
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func TestHandlerRejectsBadInput(t *testing.T) {
	f := newFixture(t, tableFor(t, seedPolicy("shop")), nil)
	valid := payloadJSON(t, firing(oomLabels("shop", "x"), fp(1)))
	tests := []struct {
		name        string
		method      string
		contentType string
		auth        string
		body        []byte
		wantCode    int
		wantMsg     string
	}{
		{name: "GET", method: http.MethodGet, wantCode: http.StatusMethodNotAllowed, wantMsg: "method GET not allowed"},
		{name: "PUT", method: http.MethodPut, body: valid, wantCode: http.StatusMethodNotAllowed, wantMsg: "POST"},
		{name: "no token", auth: "-", body: valid, wantCode: http.StatusUnauthorized, wantMsg: "bearer token"},
		{name: "wrong token", auth: "Bearer nope", body: valid, wantCode: http.StatusUnauthorized, wantMsg: "bearer token"},
		{name: "token prefix only", auth: "Bearer " + testToken[:4], body: valid, wantCode: http.StatusUnauthorized},
		{name: "basic auth", auth: "Basic " + testToken, body: valid, wantCode: http.StatusUnauthorized},
		{name: "text/plain", contentType: "text/plain", body: valid, wantCode: http.StatusUnsupportedMediaType, wantMsg: "not application/json"},
		{name: "no content type", contentType: "-", body: valid, wantCode: http.StatusUnsupportedMediaType},
		{name: "too large", body: append(valid, bytes.Repeat([]byte(" "), 64<<10)...), wantCode: http.StatusRequestEntityTooLarge, wantMsg: "over the limit"},
		{name: "malformed", body: []byte(`{"version":"4",`), wantCode: http.StatusBadRequest, wantMsg: "malformed JSON"},
		{name: "wrong type", body: []byte(`{"version":4}`), wantCode: http.StatusBadRequest, wantMsg: "malformed JSON"},
		{name: "trailing data", body: append(append([]byte{}, valid...), []byte(`{}`)...), wantCode: http.StatusBadRequest, wantMsg: "data after the payload"},
		{name: "unknown version", body: []byte(`{"version":"3","alerts":[]}`), wantCode: http.StatusBadRequest, wantMsg: `unsupported payload version "3"`},
		{name: "no version", body: []byte(`{"alerts":[]}`), wantCode: http.StatusBadRequest, wantMsg: "unsupported payload version"},
		{name: "alert without labels", body: []byte(`{"version":"4","alerts":[{"status":"firing","labels":{},"fingerprint":"ab"}]}`),
			wantCode: http.StatusBadRequest, wantMsg: "alerts[0]: no labels"},
		{name: "alert without fingerprint", body: []byte(`{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"}}]}`),
			wantCode: http.StatusBadRequest, wantMsg: "alerts[0]: no fingerprint"},
		{name: "fingerprint not a label value", body: []byte(`{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"fingerprint":"a/b"}]}`),
			wantCode: http.StatusBadRequest, wantMsg: "fingerprint"},
		{name: "alert with unknown status", body: []byte(`{"version":"4","alerts":[{"status":"pending","labels":{"a":"b"},"fingerprint":"ab"}]}`),
			wantCode: http.StatusBadRequest, wantMsg: "alerts[0]: status"},
		{name: "empty alerts", body: []byte(`{"version":"4","alerts":[]}`), wantCode: http.StatusOK},
		{name: "unknown field ignored", body: []byte(`{"version":"4","alerts":[],"newField":1}`), wantCode: http.StatusOK},
		{name: "json with charset", contentType: "application/json; charset=utf-8", body: []byte(`{"version":"4"}`), wantCode: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, f.srv.URL+Path, bytes.NewReader(tt.body))
			g.Expect(err).NotTo(HaveOccurred())
			switch tt.contentType {
			case "":
				req.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				req.Header.Set("Content-Type", tt.contentType)
			}
			switch tt.auth {
			case "":
				req.Header.Set("Authorization", "Bearer "+testToken)
			case "-":
			default:
				req.Header.Set("Authorization", tt.auth)
			}
			code, body := do(t, req)
			g.Expect(code).To(Equal(tt.wantCode), body)
			g.Expect(body).To(ContainSubstring(tt.wantMsg))
		})
	}
	list := &v1beta1.RemediationList{}
	NewWithT(t).Expect(f.client.List(context.Background(), list)).To(Succeed())
	NewWithT(t).Expect(list.Items).To(BeEmpty(), "no bad input persists anything")
}

func TestHandlerChunkedBodyOverLimit(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, tableFor(t), nil)
	// An io.Reader without a known length is sent chunked, so only the read limit can catch it.
	body := struct{ *strings.Reader }{strings.NewReader(`{"version":"4","x":"` + strings.Repeat("a", 70<<10) + `"}`)}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+Path, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	code, msg := do(t, req)
	g.Expect(code).To(Equal(http.StatusRequestEntityTooLarge))
	g.Expect(msg).To(ContainSubstring("over the limit"))
}

func TestNewRefusesToRunOpen(t *testing.T) {
	g := NewWithT(t)
	tbl := tableFor(t)
	_, err := New(Options{}, nil, nil, tbl, nil)
	g.Expect(err).To(MatchError(ErrNoToken))
	r, err := New(Options{Insecure: true}, nil, nil, tbl, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.TokenError()).To(Succeed())
	g.Expect(r.NeedLeaderElection()).To(BeFalse())
	g.Expect(r.opts.BindAddress).To(Equal(":9095"))
	g.Expect(r.opts.MaxBodyBytes).To(Equal(int64(4 << 20)))
	g.Expect(r.opts.FlushInterval).To(Equal(5 * time.Second))
}

// A token file that is missing or empty (the Secret not created yet; the manager's volume is
// optional) is waited for: every request is refused with 503 saying why, never let in, until the
// file holds a token.
func TestTokenFileIsWaitedFor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(path string) error
	}{
		{"missing", func(string) error { return nil }},
		{"empty", func(path string) error { return os.WriteFile(path, []byte("\n"), 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			path := filepath.Join(t.TempDir(), "token")
			g.Expect(tc.prepare(path)).To(Succeed())
			r, err := New(Options{TokenFile: path, Logger: logr.Discard()}, nil, nil, tableFor(t), nil)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(r.TokenError()).To(MatchError(ErrNoToken))
			r.handler.loaded.Store(true)
			srv := httptest.NewServer(r.Handler())
			defer srv.Close()
			send := func(token string) (int, string) {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+Path, strings.NewReader(`{"version":"4"}`))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				return do(t, req)
			}
			for _, token := range []string{"", "anything"} {
				code, body := send(token)
				g.Expect(code).To(Equal(http.StatusServiceUnavailable), "token %q", token)
				g.Expect(body).To(ContainSubstring("no receiver token yet"))
			}

			g.Expect(os.WriteFile(path, []byte("late-token\n"), 0o600)).To(Succeed())
			later := time.Now().Add(time.Minute)
			g.Expect(os.Chtimes(path, later, later)).To(Succeed())
			g.Expect(r.TokenError()).To(Succeed())
			code, _ := send("wrong")
			g.Expect(code).To(Equal(http.StatusUnauthorized))
			code, _ = send("late-token")
			g.Expect(code).NotTo(Equal(http.StatusUnauthorized))
			g.Expect(code).NotTo(Equal(http.StatusServiceUnavailable))
		})
	}
}

func TestTokenFileIsReread(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, tableFor(t), nil)
	tokenPath := f.recv.opts.TokenFile
	send := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+Path, strings.NewReader(`{"version":"4"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		code, _ := do(t, req)
		return code
	}
	g.Expect(send(testToken)).To(Equal(http.StatusOK))

	// Rotate the Secret the way the kubelet does: a new file, a new modification time.
	g.Expect(os.WriteFile(tokenPath, []byte("rotated-token"), 0o600)).To(Succeed())
	later := time.Now().Add(time.Minute)
	g.Expect(os.Chtimes(tokenPath, later, later)).To(Succeed())
	g.Expect(send(testToken)).To(Equal(http.StatusUnauthorized))
	g.Expect(send("rotated-token")).To(Equal(http.StatusOK))

	// A vanished file keeps the last good token rather than locking Alertmanager out or letting everyone in.
	g.Expect(os.Remove(tokenPath)).To(Succeed())
	g.Expect(send("rotated-token")).To(Equal(http.StatusOK))
	g.Expect(send("")).To(Equal(http.StatusUnauthorized))
}

func TestHandlerCreatesRemediation(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	objs := append(podObjects("shop", "api", "7d9f8b6c5d", "x2k4q"), seedPolicy("shop"))
	f := newFixture(t, tableFor(t, seedPolicy("shop")), nil, objs...)
	oom := firing(oomLabels("shop", "api-7d9f8b6c5d-x2k4q"), fp(1))
	hpa := firing(map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop", "horizontalpodautoscaler": "api"}, fp(2))
	noRule := firing(map[string]string{"alertname": "Watchdog", "namespace": "shop"}, fp(3))
	gone := firing(oomLabels("shop", "ghost-5c4b3a2d1e-aaaaa"), fp(4))

	code, body := f.post(t, payloadJSON(t, oom, hpa, noRule, gone))
	g.Expect(code).To(Equal(http.StatusOK), body)
	g.Expect(body).To(MatchJSON(`{"created":2,"existing":0,"resolved":0,"skipped":{"no_rule":1,"target_not_found":1}}`))

	key := types.NamespacedName{Namespace: "shop", Name: RemediationName(types.NamespacedName{Namespace: "shop", Name: "seed"}, "memory", fp(1), testStart)}
	rem := &v1beta1.Remediation{}
	g.Expect(f.client.Get(ctx, key, rem)).To(Succeed())
	g.Expect(rem.Labels).To(Equal(map[string]string{
		v1beta1.LabelPolicy: "seed", v1beta1.LabelRule: "memory", v1beta1.LabelFingerprint: fp(1), v1beta1.LabelAction: "IncreaseMemory",
	}))
	g.Expect(rem.Spec.PolicyRef).To(Equal(v1beta1.PolicyReference{Namespace: "shop", Name: "seed"}))
	g.Expect(rem.Spec.Target).To(Equal(v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: "api", Namespace: "shop", Container: "app"}))
	g.Expect(rem.Spec.Alert.Name).To(Equal("KubePodOOMKilled"))
	g.Expect(rem.Spec.Alert.Annotations).To(HaveKeyWithValue("summary", "it hurts"))
	g.Expect(rem.Spec.Alert.GeneratorURL).To(Equal("http://prometheus/graph?g0.expr=x"))
	g.Expect(rem.Spec.Alert.StartsAt.Time.Unix()).To(Equal(testStart.Unix()))
	g.Expect(*rem.Spec.Action.IncreaseMemory.Percent).To(Equal(v1beta1.DefaultMemoryPercent))
	g.Expect(rem.Spec.Strategy).To(Equal(v1beta1.StrategyDryRun))
	g.Expect(sightingsOf(rem).Count).To(Equal(int32(1)))
	g.Expect(sightingsOf(rem).LastSeen).To(BeTemporally("~", f.clock.Now(), time.Second))
	g.Expect(rem.Status.Phase).To(BeEmpty(), "the engine sets Pending")
	g.Expect(rem.Status.AlertCount).To(BeZero(), "the receiver never writes status")

	hpaRem := &v1beta1.Remediation{}
	g.Expect(f.client.Get(ctx, types.NamespacedName{Namespace: "shop", Name: RemediationName(types.NamespacedName{Namespace: "shop", Name: "seed"}, "hpa-maxed", fp(2), testStart)}, hpaRem)).To(Succeed())
	g.Expect(hpaRem.Spec.Target).To(Equal(v1beta1.TargetRef{APIVersion: "autoscaling/v2", Kind: v1beta1.TargetKindHorizontalPodAutoscaler, Name: "api", Namespace: "shop"}))

	g.Expect(testutil.ToFloat64(f.metrics.AlertsReceived.WithLabelValues("firing"))).To(Equal(4.0))
	g.Expect(testutil.ToFloat64(f.metrics.AlertsSkipped.WithLabelValues("no_rule"))).To(Equal(1.0))
	g.Expect(testutil.ToFloat64(f.metrics.AlertsSkipped.WithLabelValues("target_not_found"))).To(Equal(1.0))
	g.Expect(testutil.ToFloat64(f.metrics.RemediationsCreated.WithLabelValues("IncreaseMemory", "shop"))).To(Equal(1.0))
	g.Expect(testutil.ToFloat64(f.metrics.RemediationsCreated.WithLabelValues("ScaleUp", "shop"))).To(Equal(1.0))

	// Repeating the alerts: nothing new, counts batched until the flush.
	f.clock.SetTime(f.clock.Now().Add(time.Minute))
	for range 3 {
		code, body = f.post(t, payloadJSON(t, oom, hpa))
		g.Expect(code).To(Equal(http.StatusOK), body)
		g.Expect(body).To(MatchJSON(`{"created":0,"existing":2,"resolved":0}`))
	}
	g.Expect(f.client.Get(ctx, key, rem)).To(Succeed())
	g.Expect(sightingsOf(rem).Count).To(Equal(int32(1)))
	g.Expect(f.recv.Flush(ctx)).To(Succeed())
	g.Expect(f.client.Get(ctx, key, rem)).To(Succeed())
	g.Expect(sightingsOf(rem).Count).To(Equal(int32(4)))
	g.Expect(sightingsOf(rem).LastSeen).To(BeTemporally("~", f.clock.Now(), time.Second))
	pol := &v1beta1.RemediationPolicy{}
	g.Expect(f.client.Get(ctx, types.NamespacedName{Namespace: "shop", Name: "seed"}, pol)).To(Succeed())
	g.Expect(pol.Status.LastMatchTime).NotTo(BeNil())
	g.Expect(testutil.ToFloat64(f.metrics.RemediationsCreated.WithLabelValues("IncreaseMemory", "shop"))).To(Equal(1.0))

	// Resolving the OOM alert.
	resolved := oom
	resolved.Status = StatusResolved
	resolved.EndsAt = f.clock.Now().Add(-30 * time.Second)
	code, body = f.post(t, payloadJSON(t, resolved))
	g.Expect(code).To(Equal(http.StatusOK), body)
	g.Expect(body).To(MatchJSON(`{"created":0,"existing":0,"resolved":1}`))
	g.Expect(f.client.Get(ctx, key, rem)).To(Succeed())
	g.Expect(sightingsOf(rem).ResolvedAt).NotTo(BeZero())
	g.Expect(sightingsOf(rem).ResolvedAt.Unix()).To(Equal(resolved.EndsAt.Unix()))
	g.Expect(sightingsOf(rem).Count).To(Equal(int32(4)))

	// The same alert firing again later, as a new incident.
	again := oom
	again.StartsAt = testStart.Add(time.Hour)
	f.clock.SetTime(f.clock.Now().Add(time.Minute))
	code, body = f.post(t, payloadJSON(t, again))
	g.Expect(code).To(Equal(http.StatusOK), body)
	g.Expect(body).To(MatchJSON(`{"created":1,"existing":0,"resolved":0}`))
	seenBefore := sightingsOf(rem).LastSeen
	g.Expect(f.recv.Flush(ctx)).To(Succeed())
	g.Expect(f.client.Get(ctx, key, rem)).To(Succeed())
	g.Expect(sightingsOf(rem).LastSeen).To(BeTemporally(">", seenBefore), "the resolved incident sees the alert come back")
	g.Expect(sightingsOf(rem).Count).To(Equal(int32(4)))
	list := &v1beta1.RemediationList{}
	g.Expect(f.client.List(ctx, list, client.MatchingLabels{v1beta1.LabelFingerprint: fp(1)})).To(Succeed())
	g.Expect(list.Items).To(HaveLen(2))

	// A resolved alert that never matched.
	stray := noRule
	stray.Status = StatusResolved
	code, body = f.post(t, payloadJSON(t, stray))
	g.Expect(code).To(Equal(http.StatusOK), body)
	g.Expect(body).To(MatchJSON(`{"created":0,"existing":0,"resolved":0,"skipped":{"no_remediation":1}}`))
}

func TestHandlerAnswers503WhenTheAPIServerFails(t *testing.T) {
	g := NewWithT(t)
	failing := &interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return apierrors.NewServiceUnavailable("etcd is sad")
		},
	}
	f := newFixture(t, tableFor(t, seedPolicy("shop")), failing)
	hpa := firing(map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop", "horizontalpodautoscaler": "api"}, fp(2))
	code, body := f.post(t, payloadJSON(t, hpa))
	g.Expect(code).To(Equal(http.StatusServiceUnavailable))
	g.Expect(body).To(ContainSubstring("etcd is sad"))

	reads := &interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			return apierrors.NewTimeoutError("slow", 1)
		},
	}
	f = newFixture(t, tableFor(t, seedPolicy("shop")), reads)
	code, _ = f.post(t, payloadJSON(t, firing(oomLabels("shop", "api-1-aaaaa"), fp(5))))
	g.Expect(code).To(Equal(http.StatusServiceUnavailable), "an unreadable pod is not a missing one")
}

func TestFlushKeepsCountsOnFailure(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	fail := true
	funcs := &interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if _, ok := obj.(*v1beta1.Remediation); ok && fail {
				return apierrors.NewInternalError(errors.New("boom"))
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
	}
	f := newFixture(t, tableFor(t, seedPolicy("shop")), funcs)
	hpa := firing(map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop", "horizontalpodautoscaler": "api"}, fp(2))
	for range 3 {
		code, body := f.post(t, payloadJSON(t, hpa))
		g.Expect(code).To(Equal(http.StatusOK), body)
	}
	g.Expect(f.recv.Flush(ctx)).To(HaveOccurred())
	fail = false
	g.Expect(f.recv.Flush(ctx)).To(Succeed())
	rem := &v1beta1.Remediation{}
	key := types.NamespacedName{Namespace: "shop", Name: RemediationName(types.NamespacedName{Namespace: "shop", Name: "seed"}, "hpa-maxed", fp(2), testStart)}
	g.Expect(f.client.Get(ctx, key, rem)).To(Succeed())
	g.Expect(sightingsOf(rem).Count).To(Equal(int32(3)), "the two repeats' sighting write failed, so they stayed in the batch")
	g.Expect(f.recv.intake.batch.pending()).To(BeZero())
}

func TestFlushRetriesConflictsWithAFreshRead(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	conflicts := 2
	funcs := &interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if _, ok := obj.(*v1beta1.Remediation); ok && conflicts > 0 {
				conflicts--
				return apierrors.NewConflict(schema.GroupResource{Group: "heal8s.io", Resource: "remediations"}, obj.GetName(), errors.New("stale"))
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
	}
	f := newFixture(t, tableFor(t, seedPolicy("shop")), funcs)
	hpa := firing(map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop", "horizontalpodautoscaler": "api"}, fp(2))
	code, _ := f.post(t, payloadJSON(t, hpa, hpa))
	g.Expect(code).To(Equal(http.StatusOK))
	g.Expect(f.recv.Flush(ctx)).To(Succeed())
	rem := &v1beta1.Remediation{}
	key := types.NamespacedName{Namespace: "shop", Name: RemediationName(types.NamespacedName{Namespace: "shop", Name: "seed"}, "hpa-maxed", fp(2), testStart)}
	g.Expect(f.client.Get(ctx, key, rem)).To(Succeed())
	g.Expect(sightingsOf(rem).Count).To(Equal(int32(2)))
	g.Expect(conflicts).To(BeZero())
}
