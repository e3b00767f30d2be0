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
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// fuzzSeeds are real-shaped payloads and near misses; `go test` runs them, `make fuzz` explores.
var fuzzSeeds = []string{
	`{"version":"4","groupKey":"{}:{alertname=\"KubePodOOMKilled\"}","truncatedAlerts":0,"status":"firing","receiver":"heal8s",` +
		`"groupLabels":{"alertname":"KubePodOOMKilled"},"commonLabels":{"alertname":"KubePodOOMKilled","namespace":"shop"},` +
		`"commonAnnotations":{},"externalURL":"http://alertmanager:9093","alerts":[{"status":"firing","labels":{"alertname":"KubePodOOMKilled",` +
		`"namespace":"shop","pod":"api-7d9f8b6c5d-x2k4q","container":"app"},"annotations":{"summary":"OOM"},"startsAt":"2026-11-28T01:00:00.123Z",` +
		`"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus/graph","fingerprint":"0123456789abcdef"}]}`,
	`{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"KubeHpaMaxedOut","namespace":"shop",` +
		`"horizontalpodautoscaler":"api"},"startsAt":"2026-11-28T01:00:00Z","endsAt":"2026-11-28T01:05:00Z","fingerprint":"fedcba9876543210"}]}`,
	`{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"X","namespace":"shop","deployment":"api"},"fingerprint":"aa"},` +
		`{"status":"firing","labels":{"alertname":"X","namespace":"shop","deployment":"api"},"fingerprint":"aa"}]}`,
	`{"version":"4","alerts":[{"status":"firing","labels":{},"fingerprint":"aa"}]}`,
	`{"version":"3"}`,
	`{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"not a time","fingerprint":"aa"}]}`,
	`{"version":"4"}{"version":"4"}`,
	`[]`,
	`null`,
	``,
	"\xff\xfe",
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error %v does not wrap ErrBadPayload", err)
			}
			return
		}
		if p.Version != PayloadVersion {
			t.Fatalf("accepted version %q", p.Version)
		}
		for i, a := range p.Alerts {
			if len(a.Labels) == 0 || a.Fingerprint == "" || (a.Status != StatusFiring && a.Status != StatusResolved) {
				t.Fatalf("accepted invalid alert %d: %+v", i, a)
			}
		}
	})
}

func FuzzHandler(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	policy := seedPolicy("shop")
	policy.Spec.Rules = append(policy.Spec.Rules, v1beta1.Rule{Name: "any", Matchers: []string{`alertname=~".+"`},
		Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}})
	fx := newFastFixture(f, tableFor(f, policy), policy)
	h := fx.recv.Handler()
	f.Fuzz(func(t *testing.T, data []byte) {
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, data, w.Body.String())
		}
		if w.Code != http.StatusOK && w.Body.Len() == 0 {
			t.Fatalf("status %d without a message", w.Code)
		}
	})
}
