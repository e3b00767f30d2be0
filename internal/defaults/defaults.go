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

// Package defaults fills the defaults docs/policies.md lists into heal8s objects. The defaulting
// webhook calls it on every write, and the routing table calls it again on what it compiles, so a
// cluster running without webhooks (make run, ENABLE_WEBHOOKS=false) behaves the same.
// Every function is idempotent: defaulting a defaulted object changes nothing.
package defaults

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Policy fills every unset field of a RemediationPolicy's spec.
func Policy(p *v1beta1.RemediationPolicy) {
	s := &p.Spec
	for i := range s.Rules {
		Action(&s.Rules[i].Action)
	}
	if s.Strategy == "" {
		if s.Git != nil {
			s.Strategy = v1beta1.StrategyGitOps
		} else {
			s.Strategy = v1beta1.StrategyDryRun
		}
	}
	if s.Git != nil {
		if s.Git.Provider == "" {
			s.Git.Provider = v1beta1.DefaultGitProvider
		}
		if s.Git.BaseBranch == "" {
			s.Git.BaseBranch = v1beta1.DefaultGitBaseBranch
		}
	}
	Safety(&s.Safety)
	Verify(&s.Verify)
	Retention(&s.Retention)
	Approval(s)
}

// Approval fills approvalTimeout (1h) on a policy where the policy or a rule requires approval.
func Approval(s *v1beta1.RemediationPolicySpec) {
	required := s.Approval == v1beta1.ApprovalRequired
	for _, r := range s.Rules {
		required = required || r.Approval == v1beta1.ApprovalRequired
	}
	if required && s.ApprovalTimeout == nil {
		s.ApprovalTimeout = &metav1.Duration{Duration: v1beta1.DefaultApprovalTimeout}
	}
}

// Retention fills how long finished Remediations are kept.
func Retention(r *v1beta1.RetentionSpec) {
	int32Default(&r.TTLSecondsAfterFinished, v1beta1.DefaultTTLSecondsAfterFinished)
	int32Default(&r.HistoryLimit, v1beta1.DefaultHistoryLimit)
}

// Action fills the parameters of whichever union member is set.
func Action(a *v1beta1.Action) {
	if m := a.IncreaseMemory; m != nil {
		int32Default(&m.Percent, v1beta1.DefaultMemoryPercent)
		quantityDefault(&m.MinIncrease, v1beta1.DefaultMemoryMinIncrease)
		quantityDefault(&m.RoundTo, v1beta1.DefaultMemoryRoundTo)
		quantityDefault(&m.Max, v1beta1.DefaultMemoryMax)
	}
	if c := a.IncreaseCPU; c != nil {
		int32Default(&c.Percent, v1beta1.DefaultCPUPercent)
		quantityDefault(&c.Max, v1beta1.DefaultCPUMax)
	}
	if s := a.ScaleUp; s != nil {
		int32Default(&s.Percent, v1beta1.DefaultScaleUpPercent)
		int32Default(&s.MaxReplicas, v1beta1.DefaultScaleUpMaxReplicas)
	}
	if r := a.RollbackImage; r != nil {
		int32Default(&r.MaxRevisions, v1beta1.DefaultMaxRevisions)
	}
}

// Safety fills the safety bounds.
func Safety(s *v1beta1.SafetySpec) {
	durationDefault(&s.Cooldown, v1beta1.DefaultCooldown)
	int32Default(&s.MaxConcurrent, v1beta1.DefaultMaxConcurrent)
	int32Default(&s.MaxPerHour, v1beta1.DefaultMaxPerHour)
	int32Default(&s.MaxPerTarget, v1beta1.DefaultMaxPerTarget)
	durationDefault(&s.BudgetWindow, v1beta1.DefaultBudgetWindow)
	durationDefault(&s.VetoPeriod, v1beta1.DefaultVetoPeriod)
}

// Verify fills the verification settings.
func Verify(v *v1beta1.VerifySpec) {
	durationDefault(&v.Window, v1beta1.DefaultVerifyWindow)
	durationDefault(&v.ApplyTimeout, v1beta1.DefaultApplyTimeout)
}

// Remediation fills what a Remediation written by hand (or through v1alpha1) may leave out: the
// policy's namespace defaults to the Remediation's own, the target's namespace likewise, the
// target's apiVersion follows its kind, and the action's parameters get their defaults.
func Remediation(r *v1beta1.Remediation) {
	s := &r.Spec
	if s.PolicyRef.Namespace == "" {
		s.PolicyRef.Namespace = r.Namespace
	}
	if s.Target.Namespace == "" {
		s.Target.Namespace = r.Namespace
	}
	if s.Target.APIVersion == "" {
		s.Target.APIVersion = s.Target.Kind.APIVersion()
	}
	if s.Strategy == "" {
		s.Strategy = v1beta1.StrategyDryRun
	}
	Action(&s.Action)
}

func int32Default(p **int32, v int32) {
	if *p == nil {
		*p = &v
	}
}

func quantityDefault(p **resource.Quantity, v string) {
	if *p == nil {
		q := resource.MustParse(v)
		*p = &q
	}
}

func durationDefault(p **metav1.Duration, v time.Duration) {
	if *p == nil {
		*p = &metav1.Duration{Duration: v}
	}
}
