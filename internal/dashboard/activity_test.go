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

package dashboard

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func act(name string, min int) Activity {
	return Activity{Namespace: "ns", Name: name, Phase: v1beta1.PhasePlanning, Time: at(min)}
}

func names(as []Activity) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

func TestFeed(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		add     []Activity
		changed []bool
		recent  int
		want    []string
	}{{
		name: "newest first", size: 5,
		add: []Activity{act("a", 1), act("b", 2), act("c", 3)}, changed: []bool{true, true, true},
		want: []string{"c", "b", "a"},
	}, {
		name: "the oldest is dropped when full", size: 2,
		add: []Activity{act("a", 1), act("b", 2), act("c", 3)}, changed: []bool{true, true, true},
		want: []string{"c", "b"},
	}, {
		name: "out of order arrivals are placed by time", size: 3,
		add: []Activity{act("c", 3), act("a", 1), act("d", 4), act("b", 2)}, changed: []bool{true, true, true, true},
		want: []string{"d", "c", "b"},
	}, {
		name: "an entry older than everything kept is refused when full", size: 2,
		add: []Activity{act("b", 2), act("c", 3), act("a", 1)}, changed: []bool{true, true, false},
		want: []string{"c", "b"},
	}, {
		name: "a replayed entry is ignored", size: 5,
		add: []Activity{act("a", 1), act("a", 1), act("a", 2)}, changed: []bool{true, false, true},
		want: []string{"a", "a"},
	}, {
		name: "an evicted entry replayed stays out", size: 1,
		add: []Activity{act("a", 1), act("b", 2), act("a", 1)}, changed: []bool{true, true, false},
		want: []string{"b"},
	}, {
		name: "recent limits the count", size: 5, recent: 2,
		add: []Activity{act("a", 1), act("b", 2), act("c", 3)}, changed: []bool{true, true, true},
		want: []string{"c", "b"},
	}, {
		name: "size below one keeps one", size: 0,
		add: []Activity{act("a", 1), act("b", 2)}, changed: []bool{true, true},
		want: []string{"b"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			f := NewFeed(tt.size)
			for i, a := range tt.add {
				g.Expect(f.Add(a)).To(Equal(tt.changed[i]), "adding %s at %s", a.Name, a.Time)
			}
			g.Expect(names(f.Recent(tt.recent))).To(Equal(tt.want))
		})
	}
}

func TestTransitions(t *testing.T) {
	base := remediation("ns", "r", v1beta1.ActionScaleUp, at(0))
	started := withPhase(base.DeepCopy(), at(1), "GuardsPassed", "", v1beta1.PhasePending, v1beta1.PhasePlanning)
	proposed := withPhase(base.DeepCopy(), at(1), "Planned", "", v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseProposed)
	noHistory := started.DeepCopy()
	noHistory.Status.Phase, noHistory.Status.Reason = v1beta1.PhaseFailed, "StepFailed"
	sameAgain := started.DeepCopy()
	sameAgain.Status.AlertCount = 7
	trimmed := proposed.DeepCopy() // the engine keeps at most MaxHistory entries: the oldest go
	trimmed.Status.History = trimmed.Status.History[1:]
	trimmed.Status.History = append(trimmed.Status.History, v1beta1.PhaseTransition{Phase: v1beta1.PhaseAwaitingMerge, Reason: "PullRequestOpened", Time: metav1.NewTime(at(9))})
	trimmed.Status.Phase = v1beta1.PhaseAwaitingMerge
	now := at(30)

	type seen struct {
		Phase  v1beta1.Phase
		Reason string
		Time   time.Time
	}
	tests := []struct {
		name     string
		old, cur *v1beta1.Remediation
		want     []seen
	}{{
		name: "a new remediation replays its history", old: nil, cur: proposed,
		want: []seen{{"Pending", "Waiting", at(1)}, {"Planning", "GuardsPassed", at(2)}, {"Proposed", "Planned", at(3)}},
	}, {
		name: "an update adds only the new entries", old: started, cur: proposed,
		want: []seen{{"Proposed", "Planned", at(3)}},
	}, {
		name: "history trimmed at the front still yields only the new entry", old: proposed, cur: trimmed,
		want: []seen{{"AwaitingMerge", "PullRequestOpened", at(9)}},
	}, {
		name: "a phase change without history is stamped now", old: started, cur: noHistory,
		want: []seen{{"Failed", "StepFailed", now}},
	}, {
		name: "a status change that is not a transition adds nothing", old: started, cur: sameAgain,
	}, {
		name: "a remediation the engine has not reached adds nothing", old: nil, cur: base,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var got []seen
			for _, a := range transitions(tt.old, tt.cur, now) {
				g.Expect(a.Namespace + "/" + a.Name).To(Equal("ns/r"))
				g.Expect(a.Action).To(Equal("ScaleUp"))
				g.Expect(a.Target).To(Equal("Deployment/web-r"))
				got = append(got, seen{a.Phase, a.Reason, a.Time})
			}
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestPhaseClass(t *testing.T) {
	g := NewWithT(t)
	g.Expect(phaseClass(v1beta1.PhaseAwaitingMerge)).To(Equal("phase-awaitingmerge"))
	g.Expect(phaseClass(`Evil" onclick="x`)).To(Equal("phase-unknown"))
	g.Expect(phaseOf(&v1beta1.Remediation{})).To(Equal(v1beta1.PhasePending))
}
