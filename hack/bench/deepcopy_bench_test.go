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
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// BenchmarkListCopy measures what the engine's guards pay per reconcile to list every
// Remediation from the cache (internal/controller observeGuards: r.List of all Remediations,
// which the cache returns deep-copied): one DeepCopyInto per Remediation in the cluster. Run:
//
//	go test ./hack/bench/ -run '^$' -bench ListCopy -benchmem
func BenchmarkListCopy(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			items := make([]v1beta1.Remediation, n)
			now := metav1.NewTime(time.Now())
			for i := range items {
				r := &items[i]
				r.Name, r.Namespace = fmt.Sprintf("scale-%010d", i), "shop"
				r.Labels = map[string]string{v1beta1.LabelPolicy: "bench", v1beta1.LabelRule: "scale", v1beta1.LabelFingerprint: fmt.Sprintf("%016x", i), v1beta1.LabelAction: "ScaleUp"}
				r.Spec.Alert = v1beta1.AlertInfo{Name: "BenchHeal", Fingerprint: fmt.Sprintf("%016x", i),
					Labels:      map[string]string{"alertname": "BenchHeal", "namespace": "shop", "deployment": "app", "container": "app", "severity": "warning", "job": "kube-state-metrics"},
					Annotations: map[string]string{"summary": "benchmark alert"}, StartsAt: &now}
				r.Spec.Action = v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{MaxReplicas: ptr[int32](100)}}
				r.Status.Phase = v1beta1.PhaseSucceeded
				for _, p := range []v1beta1.Phase{v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseProposed, v1beta1.PhaseVerifying, v1beta1.PhaseSucceeded} {
					r.Status.History = append(r.Status.History, v1beta1.PhaseTransition{Phase: p, Time: now, Reason: "Reason"})
				}
			}
			b.ResetTimer()
			for range b.N {
				out := make([]v1beta1.Remediation, n)
				for i := range items {
					items[i].DeepCopyInto(&out[i])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/list")
		})
	}
}
