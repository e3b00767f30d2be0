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

package controller

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

func TestNextStatus(t *testing.T) {
	now := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	plan := &v1beta1.Plan{Patch: "[]", After: map[string]string{"x": "2"}}

	t.Run("leaving Pending starts, the plan is recorded on entering Proposed", func(t *testing.T) {
		g := NewWithT(t)
		st := v1beta1.RemediationStatus{Phase: v1beta1.PhasePlanning}
		nextStatus(&st, 3, remediation.Observations{Plan: plan},
			remediation.Decision{Next: v1beta1.PhaseProposed, Reason: remediation.PlannedReason, Message: "m"}, true, now)
		g.Expect(st.Phase).To(Equal(v1beta1.PhaseProposed))
		g.Expect(st.Plan).To(Equal(plan))
		g.Expect(st.Plan).NotTo(BeIdenticalTo(plan), "the status does not alias the observation")
		g.Expect(st.ObservedGeneration).To(Equal(int64(3)))
		g.Expect(st.CompletedAt).To(BeNil())
		g.Expect(st.History).To(Equal([]v1beta1.PhaseTransition{{Phase: v1beta1.PhaseProposed, Reason: remediation.PlannedReason, Time: metav1.NewTime(now)}}))
		g.Expect(st.Conditions).To(ConsistOf(
			And(HaveField("Type", v1beta1.ConditionProgressing), HaveField("Status", metav1.ConditionTrue), HaveField("ObservedGeneration", int64(3))),
			And(HaveField("Type", v1beta1.ConditionSucceeded), HaveField("Status", metav1.ConditionUnknown), HaveField("ObservedGeneration", int64(3))),
		))
	})

	t.Run("Pending to Planning sets startedAt once", func(t *testing.T) {
		g := NewWithT(t)
		st := v1beta1.RemediationStatus{}
		nextStatus(&st, 1, remediation.Observations{}, remediation.Decision{Next: v1beta1.PhasePlanning, Reason: remediation.GuardsPassedReason}, true, now)
		g.Expect(st.StartedAt).To(Equal(&metav1.Time{Time: now}))
		later := now.Add(time.Minute)
		nextStatus(&st, 1, remediation.Observations{}, remediation.Decision{Next: v1beta1.PhaseProposed}, true, later)
		g.Expect(st.StartedAt.Time).To(Equal(now))
	})

	t.Run("a terminal phase completes and settles the conditions", func(t *testing.T) {
		g := NewWithT(t)
		for phase, succeeded := range map[v1beta1.Phase]metav1.ConditionStatus{
			v1beta1.PhaseSucceeded: metav1.ConditionTrue, v1beta1.PhaseFailed: metav1.ConditionFalse, v1beta1.PhaseSkipped: metav1.ConditionFalse,
		} {
			st := v1beta1.RemediationStatus{Phase: v1beta1.PhaseVerifying}
			nextStatus(&st, 1, remediation.Observations{}, remediation.Decision{Next: phase, Reason: "R"}, true, now)
			g.Expect(st.CompletedAt).To(Equal(&metav1.Time{Time: now}))
			g.Expect(st.Conditions).To(ContainElements(
				And(HaveField("Type", v1beta1.ConditionProgressing), HaveField("Status", metav1.ConditionFalse)),
				And(HaveField("Type", v1beta1.ConditionSucceeded), HaveField("Status", succeeded), HaveField("Reason", "R")),
			))
		}
	})

	t.Run("staying appends no history", func(t *testing.T) {
		g := NewWithT(t)
		st := v1beta1.RemediationStatus{Phase: v1beta1.PhaseVerifying, Reason: "Applied"}
		nextStatus(&st, 1, remediation.Observations{}, remediation.Decision{Next: v1beta1.PhaseVerifying, Reason: "Applied"}, false, now)
		g.Expect(st.History).To(BeEmpty())
	})

	t.Run("history keeps the last MaxHistory transitions", func(t *testing.T) {
		g := NewWithT(t)
		st := v1beta1.RemediationStatus{Phase: v1beta1.PhasePlanning}
		for i := range v1beta1.MaxHistory + 5 {
			next := v1beta1.PhaseProposed
			if i%2 == 1 {
				next = v1beta1.PhasePlanning
			}
			nextStatus(&st, 1, remediation.Observations{}, remediation.Decision{Next: next, Reason: "R"}, true, now.Add(time.Duration(i)*time.Second))
		}
		g.Expect(st.History).To(HaveLen(v1beta1.MaxHistory))
		g.Expect(st.History[v1beta1.MaxHistory-1].Time.Time).To(Equal(now.Add(time.Duration(v1beta1.MaxHistory+4) * time.Second)))
		g.Expect(st.History[0].Time.Time).To(Equal(now.Add(5 * time.Second)))
	})
}

func TestTruncate(t *testing.T) {
	g := NewWithT(t)
	g.Expect(truncate("short", 10)).To(Equal("short"))
	long := strings.Repeat("é", 600) // 1200 bytes
	got := truncate(long, maxEventNote)
	g.Expect(len(got)).To(BeNumerically("<=", maxEventNote))
	g.Expect(utf8.ValidString(got)).To(BeTrue())
	g.Expect(got).To(HaveSuffix("…"))
}
