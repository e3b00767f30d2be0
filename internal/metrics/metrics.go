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

// Package metrics defines heal8s's Prometheus collectors. Their names are the ones
// docs/operations.md documents; labels stay low-cardinality (action, policy namespace, reason,
// phase) and never carry a pod name or an alert fingerprint.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Recorder holds the heal8s_* collectors. It is created once in main and passed to the receiver
// and the reconcilers, so tests can use a private registry instead of a global one.
type Recorder struct {
	// AlertsReceived counts alerts in Alertmanager payloads, by status (firing, resolved).
	AlertsReceived *prometheus.CounterVec
	// AlertsSkipped counts alerts that created or updated nothing, by reason (no_rule, ...).
	AlertsSkipped *prometheus.CounterVec
	// RemediationsCreated counts Remediations the receiver created, by action and policy namespace.
	RemediationsCreated *prometheus.CounterVec
	// RemediationsSucceeded counts Remediations that reached Succeeded, by action and policy namespace.
	RemediationsSucceeded *prometheus.CounterVec
	// RemediationsFailed counts Remediations that reached Failed, by action, policy namespace and reason.
	RemediationsFailed *prometheus.CounterVec
	// RemediationDuration observes the time from creation to a terminal phase, by action and phase.
	RemediationDuration *prometheus.HistogramVec
	// PhaseTransitions counts every phase change of a Remediation, by from and to phase.
	PhaseTransitions *prometheus.CounterVec
}

// Label names used by the collectors.
const (
	LabelStatus          = "status"
	LabelReason          = "reason"
	LabelAction          = "action"
	LabelPolicyNamespace = "policy_namespace"
	LabelPhase           = "phase"
	LabelFrom            = "from"
	LabelTo              = "to"
)

// NewRecorder creates the collectors and registers them on reg (controller-runtime's
// metrics.Registry in the manager, a fresh prometheus.NewRegistry in tests).
func NewRecorder(reg prometheus.Registerer) *Recorder {
	r := &Recorder{
		AlertsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heal8s_alerts_received_total",
			Help: "Alerts received from Alertmanager, by status.",
		}, []string{LabelStatus}),
		AlertsSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heal8s_alerts_skipped_total",
			Help: "Alerts that created no Remediation, by reason.",
		}, []string{LabelReason}),
		RemediationsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heal8s_remediations_created_total",
			Help: "Remediations created from alerts, by action and policy namespace.",
		}, []string{LabelAction, LabelPolicyNamespace}),
		RemediationsSucceeded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heal8s_remediations_succeeded_total",
			Help: "Remediations that reached Succeeded, by action and policy namespace.",
		}, []string{LabelAction, LabelPolicyNamespace}),
		RemediationsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heal8s_remediations_failed_total",
			Help: "Remediations that reached Failed, by action, policy namespace and reason.",
		}, []string{LabelAction, LabelPolicyNamespace, LabelReason}),
		RemediationDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "heal8s_remediation_duration_seconds",
			Help:    "Time from a Remediation's creation to its terminal phase, by action and phase.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400},
		}, []string{LabelAction, LabelPhase}),
		PhaseTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heal8s_remediation_phase_transitions_total",
			Help: "Phase transitions of Remediations, by from and to phase.",
		}, []string{LabelFrom, LabelTo}),
	}
	reg.MustRegister(r.AlertsReceived, r.AlertsSkipped, r.RemediationsCreated, r.RemediationsSucceeded,
		r.RemediationsFailed, r.RemediationDuration, r.PhaseTransitions)
	return r
}
