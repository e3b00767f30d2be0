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

package metrics

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNewRecorderRegistersFixedNames(t *testing.T) {
	g := NewWithT(t)
	reg := prometheus.NewRegistry()
	r := NewRecorder(reg)

	r.AlertsReceived.WithLabelValues("firing").Inc()
	r.AlertsSkipped.WithLabelValues("no_rule").Inc()
	r.RemediationsCreated.WithLabelValues("IncreaseMemory", "team-a").Inc()
	r.RemediationsSucceeded.WithLabelValues("IncreaseMemory", "team-a").Inc()
	r.RemediationsFailed.WithLabelValues("ScaleUp", "team-a", "Rejected").Inc()
	r.RemediationDuration.WithLabelValues("IncreaseMemory", "Succeeded").Observe(42)
	r.PhaseTransitions.WithLabelValues("Pending", "Planning").Inc()

	families, err := reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	g.Expect(names).To(ConsistOf(
		"heal8s_alerts_received_total",
		"heal8s_alerts_skipped_total",
		"heal8s_remediations_created_total",
		"heal8s_remediations_succeeded_total",
		"heal8s_remediations_failed_total",
		"heal8s_remediation_duration_seconds",
		"heal8s_remediation_phase_transitions_total",
	))
	g.Expect(testutil.CollectAndCount(r.PhaseTransitions)).To(Equal(1))
	g.Expect(testutil.CollectAndCompare(r.AlertsSkipped, strings.NewReader(`
# HELP heal8s_alerts_skipped_total Alerts that created no Remediation, by reason.
# TYPE heal8s_alerts_skipped_total counter
heal8s_alerts_skipped_total{reason="no_rule"} 1
`))).To(Succeed())
}

func TestNewRecorderTwiceOnOneRegistryPanics(t *testing.T) {
	g := NewWithT(t)
	reg := prometheus.NewRegistry()
	NewRecorder(reg)
	g.Expect(func() { NewRecorder(reg) }).To(Panic(), "a second registration must be caught at start-up, not silently shadow the first")
}
