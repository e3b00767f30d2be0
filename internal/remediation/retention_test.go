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

package remediation

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// retentionSafety has windows short enough to read: cooldown 30m, budgetWindow 2h, vetoPeriod 3h.
func retentionSafety() v1beta1.SafetySpec {
	return v1beta1.SafetySpec{
		Cooldown:     &metav1.Duration{Duration: 30 * time.Minute},
		BudgetWindow: &metav1.Duration{Duration: 2 * time.Hour},
		VetoPeriod:   &metav1.Duration{Duration: 3 * time.Hour},
	}
}

func retention(ttl time.Duration, limit int32) v1beta1.RetentionSpec {
	return v1beta1.RetentionSpec{TTLSecondsAfterFinished: ptr.To(int32(ttl / time.Second)), HistoryLimit: ptr.To(limit)}
}

// skipped is a Remediation Skipped by a guard at t0+end: it never started.
func skipped(name string, end time.Duration) v1beta1.Remediation {
	r := rem(name, v1beta1.ActionIncreaseMemory, end)
	r.Status.Phase, r.Status.Reason = v1beta1.PhaseSkipped, CooldownReason
	r.Status.CompletedAt = ptr.To(metav1.NewTime(t0.Add(end)))
	return r
}

func dryRun(r v1beta1.Remediation) v1beta1.Remediation {
	r.Spec.Strategy = v1beta1.StrategyDryRun
	return r
}

func gitOps(r v1beta1.Remediation) v1beta1.Remediation {
	r.Spec.Strategy = v1beta1.StrategyGitOps
	return r
}

func withoutCompletedAt(r v1beta1.Remediation, lastHistory time.Duration) v1beta1.Remediation {
	r.Status.CompletedAt = nil
	r.Status.History = []v1beta1.PhaseTransition{{Phase: r.Status.Phase, Time: metav1.NewTime(t0.Add(lastHistory))}}
	return r
}

func names(ds []Deletion) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Remediation.Name+":"+d.Reason)
	}
	return out
}

func TestRetain(t *testing.T) {
	tests := []struct {
		name      string
		retention v1beta1.RetentionSpec
		safety    *v1beta1.SafetySpec // nil: retentionSafety()
		finished  []v1beta1.Remediation
		now       time.Duration
		deleted   []string
		next      time.Duration // relative to t0; -1 means no next check
	}{{
		name:      "a skipped remediation goes once its TTL has passed",
		retention: retention(time.Hour, 10),
		finished:  []v1beta1.Remediation{skipped("a", 0)},
		now:       time.Hour,
		deleted:   []string{"a:TTLExpired"},
		next:      -1,
	}, {
		name:      "before its TTL it is kept and looked at again when the TTL ends",
		retention: retention(time.Hour, 10),
		finished:  []v1beta1.Remediation{skipped("a", 0)},
		now:       59 * time.Minute,
		deleted:   []string{},
		next:      time.Hour,
	}, {
		name:      "an acted remediation is kept through budgetWindow after it started, past its TTL",
		retention: retention(time.Hour, 10),
		finished:  []v1beta1.Remediation{ended(rem("a", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseSucceeded, VerifyWindowPassedReason, 0, 5*time.Minute)},
		now:       90 * time.Minute,
		deleted:   []string{},
		next:      2 * time.Hour,
	}, {
		name:      "an acted remediation is kept through cooldown after it completed",
		retention: retention(0, 10),
		safety: &v1beta1.SafetySpec{Cooldown: &metav1.Duration{Duration: 3 * time.Hour},
			BudgetWindow: &metav1.Duration{Duration: 10 * time.Minute}, VetoPeriod: &metav1.Duration{Duration: time.Minute}},
		finished: []v1beta1.Remediation{ended(rem("a", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseFailed, AlertRefiredReason, 0, 5*time.Minute)},
		now:      2 * time.Hour,
		deleted:  []string{},
		next:     3*time.Hour + 5*time.Minute,
	}, {
		name:      "... and goes when cooldown, budgetWindow and the hour are over",
		retention: retention(0, 10),
		finished:  []v1beta1.Remediation{ended(rem("a", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseSucceeded, VerifyWindowPassedReason, 0, 5*time.Minute)},
		now:       2 * time.Hour,
		deleted:   []string{"a:TTLExpired"},
		next:      -1,
	}, {
		name:      "a started DryRun counts in maxPerHour for the hour after it started",
		retention: retention(0, 0),
		finished:  []v1beta1.Remediation{dryRun(ended(rem("a", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseSucceeded, DryRunReason, 0, time.Minute))},
		now:       30 * time.Minute,
		deleted:   []string{},
		next:      time.Hour,
	}, {
		name:      "a rejected pull request is kept through vetoPeriod after it closed",
		retention: retention(0, 0),
		finished:  []v1beta1.Remediation{gitOps(ended(rem("a", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseFailed, RejectedReason, 0, 10*time.Minute))},
		now:       2*time.Hour + 30*time.Minute,
		deleted:   []string{},
		next:      3*time.Hour + 10*time.Minute,
	}, {
		name:      "historyLimit deletes the oldest at once and keeps the newest until their TTL",
		retention: retention(time.Hour, 2),
		finished:  []v1beta1.Remediation{skipped("a", 0), skipped("b", time.Minute), skipped("c", 2*time.Minute), skipped("d", 3*time.Minute)},
		now:       5 * time.Minute,
		deleted:   []string{"a:HistoryLimit", "b:HistoryLimit"},
		next:      time.Hour + 2*time.Minute,
	}, {
		name:      "historyLimit never deletes one a guard still counts",
		retention: retention(time.Hour, 1),
		finished: []v1beta1.Remediation{
			ended(rem("a", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseSucceeded, VerifyWindowPassedReason, 0, 5*time.Minute),
			skipped("b", 10*time.Minute),
			ended(rem("c", v1beta1.ActionIncreaseMemory, 20*time.Minute), v1beta1.PhaseSucceeded, VerifyWindowPassedReason, 20*time.Minute, 25*time.Minute),
		},
		now:     30 * time.Minute,
		deleted: []string{"b:HistoryLimit"},
		next:    2 * time.Hour,
	}, {
		name:      "historyLimit 0 and TTL 0 delete every finished remediation no guard counts",
		retention: retention(0, 0),
		finished: []v1beta1.Remediation{skipped("a", 0), skipped("b", time.Minute),
			ended(rem("c", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseSkipped, TargetNotFoundReason, 0, time.Minute)},
		now:     2 * time.Minute,
		deleted: []string{"a:HistoryLimit", "c:HistoryLimit", "b:HistoryLimit"},
		next:    -1,
	}, {
		name:      "remediations still under way are neither deleted nor counted in the history",
		retention: retention(time.Hour, 1),
		finished:  []v1beta1.Remediation{running(rem("a", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseVerifying, 0), skipped("b", 0)},
		now:       time.Minute,
		deleted:   []string{},
		next:      time.Hour,
	}, {
		name:      "a finished remediation without completedAt counts from the latest time it records",
		retention: retention(time.Hour, 10),
		finished:  []v1beta1.Remediation{withoutCompletedAt(skipped("a", 0), 30*time.Minute)},
		now:       80 * time.Minute,
		deleted:   []string{},
		next:      90 * time.Minute,
	}, {
		name:      "a remediation whose alert still fires is kept a day past its last sighting",
		retention: retention(0, 0),
		finished: []v1beta1.Remediation{func() v1beta1.Remediation {
			r := skipped("a", 0)
			r.Status.LastSeen = ptr.To(metav1.NewTime(t0.Add(3 * time.Hour)))
			return r
		}()},
		now:     20 * time.Hour,
		deleted: []string{},
		next:    27 * time.Hour,
	}, {
		name:      "... and goes once the alert is reported resolved",
		retention: retention(0, 0),
		finished: []v1beta1.Remediation{func() v1beta1.Remediation {
			r := skipped("a", 0)
			r.Status.LastSeen = ptr.To(metav1.NewTime(t0.Add(3 * time.Hour)))
			r.Status.AlertResolvedAt = ptr.To(metav1.NewTime(t0.Add(4 * time.Hour)))
			return r
		}()},
		now:     5 * time.Hour,
		deleted: []string{"a:HistoryLimit"},
		next:    -1,
	}, {
		name:      "a policy that is gone: the defaults keep a finished remediation 7 days",
		retention: v1beta1.RetentionSpec{},
		safety:    ptr.To(WidestSafety()),
		finished:  []v1beta1.Remediation{skipped("a", 0), skipped("b", time.Hour)},
		now:       7 * 24 * time.Hour,
		deleted:   []string{"a:TTLExpired"},
		next:      7*24*time.Hour + time.Hour,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			safety := retentionSafety()
			if tt.safety != nil {
				safety = *tt.safety
			}
			var in []*v1beta1.Remediation
			for i := range tt.finished {
				in = append(in, &tt.finished[i])
			}
			d := Retain(RetentionInput{Retention: tt.retention, Safety: safety, Now: t0.Add(tt.now), Finished: in})
			g.Expect(names(d.Delete)).To(Equal(tt.deleted))
			if tt.next < 0 {
				g.Expect(d.NextCheck.IsZero()).To(BeTrue(), "next check %s", d.NextCheck)
			} else {
				g.Expect(d.NextCheck).To(Equal(t0.Add(tt.next)))
			}
		})
	}
}

func TestWidestSafety(t *testing.T) {
	g := NewWithT(t)
	def := WidestSafety()
	g.Expect(def.Cooldown.Duration).To(Equal(v1beta1.DefaultCooldown))
	g.Expect(def.BudgetWindow.Duration).To(Equal(v1beta1.DefaultBudgetWindow))
	g.Expect(def.VetoPeriod.Duration).To(Equal(v1beta1.DefaultVetoPeriod))

	short := retentionSafety()
	long := v1beta1.SafetySpec{Cooldown: &metav1.Duration{Duration: 5 * time.Hour}}
	w := WidestSafety(short, long)
	g.Expect(w.Cooldown.Duration).To(Equal(5 * time.Hour))
	// long leaves budgetWindow and vetoPeriod unset: the guards read their defaults.
	g.Expect(w.BudgetWindow.Duration).To(Equal(v1beta1.DefaultBudgetWindow))
	g.Expect(w.VetoPeriod.Duration).To(Equal(v1beta1.DefaultVetoPeriod))
	g.Expect(WidestSafety(short).Cooldown.Duration).To(Equal(30 * time.Minute))
}

// TestRetainNeverRemovesWhatAGuardCounts checks the safety rule against the guards themselves:
// whenever Retain lets a finished Remediation go, every guard that reads other Remediations gives
// a new Remediation of the same target, action and policy the same verdict with it as without it.
// The bounds are tight (maxPerTarget and maxPerHour 1) so that one counted Remediation changes
// the verdict.
func TestRetainNeverRemovesWhatAGuardCounts(t *testing.T) {
	safety := retentionSafety()
	safety.MaxPerTarget, safety.MaxPerHour = ptr.To(int32(1)), ptr.To(int32(1))
	pol := policy(func(s *v1beta1.SafetySpec) { *s = *safety.DeepCopy() })
	guards := map[string]Guard{"CooledDown": CooledDown, "WithinBudget": WithinBudget, "WithinHourlyRate": WithinHourlyRate, "NotVetoed": NotVetoed}

	base := rem("old", v1beta1.ActionIncreaseMemory, 0)
	var cases []v1beta1.Remediation
	for _, strategy := range []v1beta1.Strategy{v1beta1.StrategyDirect, v1beta1.StrategyGitOps, v1beta1.StrategyDryRun} {
		for _, outcome := range []struct {
			phase  v1beta1.Phase
			reason string
		}{
			{v1beta1.PhaseSucceeded, VerifyWindowPassedReason}, {v1beta1.PhaseFailed, AlertRefiredReason},
			{v1beta1.PhaseFailed, RejectedReason}, {v1beta1.PhaseSkipped, TargetNotFoundReason}, {v1beta1.PhaseSuperseded, ""},
		} {
			for _, end := range []time.Duration{0, time.Minute, 50 * time.Minute} {
				r := ended(*base.DeepCopy(), outcome.phase, outcome.reason, 0, end)
				r.Spec.Strategy = strategy
				cases = append(cases, r)
			}
		}
	}
	var deletions, keeps int
	for i := range cases {
		old := &cases[i]
		for now := time.Duration(0); now <= 5*time.Hour; now += 5 * time.Minute {
			d := Retain(RetentionInput{Retention: retention(0, 0), Safety: safety, Now: t0.Add(now), Finished: []*v1beta1.Remediation{old}})
			if len(d.Delete) == 0 {
				keeps++
				continue
			}
			deletions++
			next := rem("new", v1beta1.ActionIncreaseMemory, now)
			for name, guard := range guards {
				with, _, _, _ := guard(Input{Remediation: &next, Policy: pol, Now: t0.Add(now), Others: []*v1beta1.Remediation{old}})
				without, _, _, _ := guard(Input{Remediation: &next, Policy: pol, Now: t0.Add(now)})
				if with != without {
					t.Errorf("%s: Retain deletes %s %s/%s (strategy %s, ended %s) at t0+%s, but it still changes the verdict (%s, not %s)",
						name, old.Status.Phase, old.Status.Reason, old.Name, old.Spec.Strategy, fmt.Sprint(old.Status.CompletedAt.Sub(t0)), now, with, without)
				}
			}
		}
	}
	// Both answers occur, so the check above compared something.
	if deletions == 0 || keeps == 0 {
		t.Fatalf("Retain deleted %d and kept %d times: the cases do not exercise both answers", deletions, keeps)
	}
}

func TestRecordExpired(t *testing.T) {
	g := NewWithT(t)
	a := ended(rem("a", v1beta1.ActionIncreaseMemory, 0), v1beta1.PhaseSucceeded, VerifyWindowPassedReason, 0, time.Minute)
	b := skipped("b", 2*time.Minute)
	c := skipped("c", 3*time.Minute)
	e := RecordExpired(nil, ExpiredRecord(&a, t0.Add(time.Hour)), ExpiredRecord(&b, t0.Add(time.Hour)))
	e = RecordExpired(e, ExpiredRecord(&c, t0.Add(2*time.Hour)))
	g.Expect(e.Total).To(Equal(int64(3)))
	g.Expect(e.ByOutcome).To(Equal([]v1beta1.OutcomeCount{
		{Phase: v1beta1.PhaseSkipped, Reason: CooldownReason, Count: 2},
		{Phase: v1beta1.PhaseSucceeded, Reason: VerifyWindowPassedReason, Count: 1},
	}))
	g.Expect(e.Recent).To(HaveLen(3))
	g.Expect(e.Recent[0].Name).To(Equal("c"), "newest first")
	g.Expect(e.Recent[2]).To(Equal(v1beta1.ExpiredRemediation{Name: "a", Namespace: "shop", Target: "Deployment/web",
		Action: v1beta1.ActionIncreaseMemory, Phase: v1beta1.PhaseSucceeded, Reason: VerifyWindowPassedReason,
		CompletedAt: ptr.To(metav1.NewTime(t0.Add(time.Minute))), DeletedAt: metav1.NewTime(t0.Add(time.Hour))}))
	g.Expect(e.LastDeletionTime.Time).To(Equal(t0.Add(2 * time.Hour)))
}

func TestRecordExpiredStaysBounded(t *testing.T) {
	g := NewWithT(t)
	var e *v1beta1.ExpiredOutcomes
	for i := range 500 {
		r := skipped(fmt.Sprintf("r%d", i), 0)
		r.Status.Reason = fmt.Sprintf("Reason%d", i%100)
		r.Status.Phase = []v1beta1.Phase{v1beta1.PhaseSkipped, v1beta1.PhaseFailed, v1beta1.PhaseSucceeded, v1beta1.PhaseSuperseded}[i%4]
		e = RecordExpired(e, ExpiredRecord(&r, t0.Add(time.Duration(i)*time.Second)))
	}
	g.Expect(e.Total).To(Equal(int64(500)))
	g.Expect(len(e.ByOutcome)).To(BeNumerically("<=", v1beta1.MaxExpiredOutcomeCounts))
	var sum int64
	for _, c := range e.ByOutcome {
		sum += c.Count
	}
	g.Expect(sum).To(Equal(int64(500)), "every deletion is counted, under Other past the bound")
	g.Expect(e.ByOutcome).To(ContainElement(HaveField("Reason", v1beta1.ExpiredOtherReason)))
	g.Expect(e.Recent).To(HaveLen(v1beta1.MaxExpiredRecent))
	g.Expect(e.Recent[0].Name).To(Equal("r499"))
}
