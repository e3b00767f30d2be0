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
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func hpaAlert(i int) Alert {
	return firing(map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop",
		"horizontalpodautoscaler": fmt.Sprintf("api-%d", i), "severity": "warning", "job": "kube-state-metrics"}, fp(i))
}

// benchHandler posts one payload b.N times. Run:
//
//	go test ./internal/alertmanager/ -run '^$' -bench Handler -benchmem
func benchHandler(b *testing.B, unique bool) {
	b.Helper()
	alerts := make([]Alert, 1000)
	for i := range alerts {
		if unique {
			alerts[i] = hpaAlert(i)
		} else {
			alerts[i] = hpaAlert(0)
		}
	}
	body := payloadJSON(b, alerts...)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		// A fresh store each round, so "unique" always creates 1,000 Remediations and "repeated"
		// always creates one and then takes the fast path 999 times.
		fx := newFastFixture(b, tableFor(b, seedPolicy("shop")), seedPolicy("shop"))
		fx.recv.handler.maxBody = DefaultMaxBodyBytes
		h := fx.recv.Handler()
		b.StartTimer()
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
		b.StopTimer()
		list := &v1beta1.RemediationList{}
		if err := fx.client.List(b.Context(), list); err != nil {
			b.Fatal(err)
		}
		want := 1
		if unique {
			want = len(alerts)
		}
		if len(list.Items) != want {
			b.Fatalf("%d Remediations, want %d", len(list.Items), want)
		}
		fx.srv.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(alerts)*b.N)/b.Elapsed().Seconds(), "alerts/s")
}

func BenchmarkHandler1000Repeated(b *testing.B) { benchHandler(b, false) }

func BenchmarkHandler1000Unique(b *testing.B) { benchHandler(b, true) }
