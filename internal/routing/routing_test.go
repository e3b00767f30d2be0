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

package routing

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
)

const opNS = "heal8s-system"

func memAction() v1beta1.Action {
	return v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}
}

func policy(ns, name string, rules ...v1beta1.Rule) *v1beta1.RemediationPolicy {
	return &v1beta1.RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 3},
		Spec:       v1beta1.RemediationPolicySpec{Rules: rules},
	}
}

func rule(name string, matchers ...string) v1beta1.Rule {
	return v1beta1.Rule{Name: name, Matchers: matchers, Action: memAction()}
}

func mustCompile(t *testing.T, p *v1beta1.RemediationPolicy) *Policy {
	t.Helper()
	c, err := Compile(p)
	if err != nil {
		t.Fatalf("compiling %s: %v", p.Name, err)
	}
	return c
}

func noNamespaces(string) (map[string]string, bool, error) { return nil, false, nil }

func TestCompile(t *testing.T) {
	tests := []struct {
		name     string
		policy   *v1beta1.RemediationPolicy
		wantErr  error
		wantRule string
		wantMsg  string
	}{
		{name: "valid", policy: policy("a", "p", rule("r1", `alertname="X"`), rule("r2", `severity=~"warning|critical"`, `team!="x"`, `job!~"k.*"`))},
		{name: "bad matcher", policy: policy("a", "p", rule("ok", `alertname="X"`), rule("broken", `alertname=~"(("`)),
			wantErr: ErrInvalidMatcher, wantRule: "broken", wantMsg: `rule "broken": invalid matcher "alertname=~\"((\""`},
		{name: "garbage matcher", policy: policy("a", "p", rule("g", `not a matcher`)), wantErr: ErrInvalidMatcher, wantRule: "g"},
		{name: "unescaped quote", policy: policy("a", "p", rule("q", `a="x"y"`)), wantErr: ErrInvalidMatcher, wantRule: "q"},
		{name: "no matchers", policy: policy("a", "p", rule("empty")), wantErr: ErrNoMatchers, wantRule: "empty"},
		{name: "duplicate", policy: policy("a", "p", rule("d", `a="1"`), rule("d", `a="2"`)), wantErr: ErrDuplicateRule, wantRule: "d"},
		{name: "empty action", policy: policy("a", "p", v1beta1.Rule{Name: "n", Matchers: []string{`a="1"`}}), wantErr: ErrInvalidAction, wantRule: "n"},
		{name: "two actions", policy: policy("a", "p", v1beta1.Rule{Name: "n", Matchers: []string{`a="1"`},
			Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}, IncreaseCPU: &v1beta1.IncreaseCPUAction{}}}), wantErr: ErrInvalidAction, wantRule: "n"},
		{name: "bad selector", policy: func() *v1beta1.RemediationPolicy {
			p := policy(opNS, "p", rule("r", `a="1"`))
			p.Spec.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "x", Operator: "Bogus"}}}
			return p
		}(), wantErr: ErrInvalidSelector},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c, err := Compile(tt.policy)
			g.Expect(c).NotTo(BeNil())
			if tt.wantErr == nil {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(c.Ready()).To(BeTrue())
				g.Expect(c.Rules).To(HaveLen(len(tt.policy.Spec.Rules)))
				return
			}
			g.Expect(err).To(MatchError(tt.wantErr))
			g.Expect(c.Ready()).To(BeFalse())
			var ce *CompileError
			g.Expect(errors.As(err, &ce)).To(BeTrue())
			g.Expect(ce.Rule).To(Equal(tt.wantRule))
			if tt.wantMsg != "" {
				g.Expect(err.Error()).To(HavePrefix(tt.wantMsg))
			}
		})
	}
}

func TestCompileDefaultsACopy(t *testing.T) {
	g := NewWithT(t)
	p := policy("a", "p", rule("r", `alertname="X"`))
	c := mustCompile(t, p)
	g.Expect(p.Spec.Rules[0].Action.IncreaseMemory.Percent).To(BeNil(), "the input must stay untouched")
	g.Expect(p.Spec.Strategy).To(BeEmpty())
	m := c.Rules[0].Action.IncreaseMemory
	g.Expect(*m.Percent).To(Equal(v1beta1.DefaultMemoryPercent))
	g.Expect(m.Max.Cmp(resource.MustParse(v1beta1.DefaultMemoryMax))).To(BeZero())
	g.Expect(c.Strategy).To(Equal(v1beta1.StrategyDryRun))
	g.Expect(c.Generation).To(Equal(int64(3)))
}

func TestMatcherOperators(t *testing.T) {
	alert := map[string]string{"alertname": "KubePodOOMKilled", "severity": "warning", "namespace": "a", "pod": "p"}
	tests := []struct {
		matcher string
		want    bool
	}{
		{`alertname="KubePodOOMKilled"`, true},
		{`alertname=KubePodOOMKilled`, true},
		{`alertname="KubePodCrashLooping"`, false},
		{`alertname!="KubePodCrashLooping"`, true},
		{`alertname!="KubePodOOMKilled"`, false},
		{`severity=~"warning|critical"`, true},
		{`severity=~"warn"`, false}, // anchored, as in Alertmanager
		{`severity=~"crit.*"`, false},
		{`severity!~"info|none"`, true},
		{`severity!~"warning|critical"`, false},
		{`team=""`, true}, // a missing label reads as empty
		{`team!=""`, false},
		{`team=~".*"`, true},
		{` alertname = "KubePodOOMKilled" `, true},
	}
	for _, tt := range tests {
		t.Run(tt.matcher, func(t *testing.T) {
			g := NewWithT(t)
			c := mustCompile(t, policy("a", "p", rule("r", tt.matcher)))
			g.Expect(c.Rules[0].Matches(alert)).To(Equal(tt.want))
		})
	}
}

func TestRuleOrder(t *testing.T) {
	g := NewWithT(t)
	tbl := NewTable(TableOptions{OperatorNamespace: opNS})
	scale := rule("scale", `alertname="KubePodOOMKilled"`)
	scale.Action = v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}
	tbl.Set(mustCompile(t, policy("a", "p",
		rule("critical-only", `alertname="KubePodOOMKilled"`, `severity="critical"`),
		rule("first", `alertname="KubePodOOMKilled"`),
		scale,
	)))
	m, reason, err := tbl.Route(map[string]string{"alertname": "KubePodOOMKilled", "severity": "warning", "namespace": "a", "deployment": "d"}, noNamespaces)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(reason).To(BeEmpty())
	g.Expect(m.Rule).To(Equal("first"))
	g.Expect(m.Action.Type()).To(Equal(v1beta1.ActionIncreaseMemory))
	g.Expect(*m.Action.IncreaseMemory.Percent).To(Equal(v1beta1.DefaultMemoryPercent))

	m, _, _ = tbl.Route(map[string]string{"alertname": "KubePodOOMKilled", "severity": "critical", "namespace": "a", "deployment": "d"}, noNamespaces)
	g.Expect(m.Rule).To(Equal("critical-only"))
}

func TestNamespaceScoping(t *testing.T) {
	nsLabels := map[string]map[string]string{
		"team-a":  {"heal8s.io/managed": "true"},
		"team-b":  {},
		"kube-db": {"heal8s.io/managed": "true"},
	}
	lookup := func(ns string) (map[string]string, bool, error) { l, ok := nsLabels[ns]; return l, ok, nil }
	clusterWide := func(ns, name string, r ...v1beta1.Rule) *v1beta1.RemediationPolicy {
		p := policy(ns, name, r...)
		p.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"heal8s.io/managed": "true"}}
		return p
	}
	oom := `alertname="KubePodOOMKilled"`
	suspended := policy("team-a", "aa-suspended", rule("r", `alertname="Suspended"`))
	suspended.Spec.Safety.Suspend = true
	paused := policy("team-a", "ac-paused", rule("r", `alertname="Paused"`))
	paused.Spec.Safety.PauseRequests = []string{"maintenance", "alice"}
	broken, _ := Compile(policy("team-a", "ab-broken", rule("ok", `alertname="Broken"`), rule("bad", `x=~"(("`)))

	tbl := NewTable(TableOptions{OperatorNamespace: opNS})
	tbl.Set(mustCompile(t, policy("team-a", "zz-own", rule("own", oom))))
	tbl.Set(mustCompile(t, policy("team-a", "b-own", rule("own-first", oom))))
	tbl.Set(mustCompile(t, clusterWide(opNS, "b-global", rule("global-b", oom), rule("db", `alertname="DB"`))))
	tbl.Set(mustCompile(t, clusterWide(opNS, "a-global", rule("global-a", oom))))
	tbl.Set(mustCompile(t, clusterWide("team-b", "selector-ignored", rule("other", `alertname="Other"`))))
	tbl.Set(mustCompile(t, policy("team-c", "only-c", rule("c", `alertname="OnlyC"`))))
	tbl.Set(mustCompile(t, suspended))
	tbl.Set(mustCompile(t, paused))
	tbl.Set(broken)

	tests := []struct {
		name       string
		labels     map[string]string
		wantPolicy types.NamespacedName
		wantRule   string
		wantReason SkipReason
	}{
		{name: "own namespace first, ordered by name", labels: map[string]string{"alertname": "KubePodOOMKilled", "namespace": "team-a", "pod": "x"},
			wantPolicy: types.NamespacedName{Namespace: "team-a", Name: "b-own"}, wantRule: "own-first"},
		{name: "cluster-wide ordered by name", labels: map[string]string{"alertname": "KubePodOOMKilled", "namespace": "kube-db", "pod": "x"},
			wantPolicy: types.NamespacedName{Namespace: opNS, Name: "a-global"}, wantRule: "global-a"},
		{name: "cluster-wide second rule", labels: map[string]string{"alertname": "DB", "namespace": "kube-db", "pod": "x"},
			wantPolicy: types.NamespacedName{Namespace: opNS, Name: "b-global"}, wantRule: "db"},
		{name: "selector does not match", labels: map[string]string{"alertname": "KubePodOOMKilled", "namespace": "team-b", "pod": "x"},
			wantReason: SkipNamespaceOutOfScope},
		{name: "namespace unknown", labels: map[string]string{"alertname": "KubePodOOMKilled", "namespace": "ghost", "pod": "x"},
			wantReason: SkipNamespaceOutOfScope},
		{name: "selector outside operator namespace is ignored", labels: map[string]string{"alertname": "Other", "namespace": "kube-db", "pod": "x"},
			wantReason: SkipNamespaceOutOfScope},
		{name: "selector outside operator namespace acts at home", labels: map[string]string{"alertname": "Other", "namespace": "team-b", "pod": "x"},
			wantPolicy: types.NamespacedName{Namespace: "team-b", Name: "selector-ignored"}, wantRule: "other"},
		{name: "other namespace's policy", labels: map[string]string{"alertname": "OnlyC", "namespace": "team-b", "pod": "x"},
			wantReason: SkipNamespaceOutOfScope},
		{name: "no rule", labels: map[string]string{"alertname": "Watchdog", "namespace": "team-c"}, wantReason: SkipNoRule},
		{name: "suspended", labels: map[string]string{"alertname": "Suspended", "namespace": "team-a", "pod": "x"}, wantReason: SkipPolicySuspended},
		{name: "paused", labels: map[string]string{"alertname": "Paused", "namespace": "team-a", "pod": "x"}, wantReason: SkipPolicyPaused},
		{name: "not ready, compiled rule matched", labels: map[string]string{"alertname": "Broken", "namespace": "team-a", "pod": "x"}, wantReason: SkipPolicyNotReady},
		{name: "not ready, nothing matched", labels: map[string]string{"alertname": "Watchdog", "namespace": "team-a"}, wantReason: SkipPolicyNotReady},
		{name: "no namespace label", labels: map[string]string{"alertname": "KubePodOOMKilled", "pod": "x"}, wantReason: SkipNoTarget},
		{name: "no namespace label, no rule", labels: map[string]string{"alertname": "Watchdog"}, wantReason: SkipNoRule},
		{name: "no workload label", labels: map[string]string{"alertname": "KubePodOOMKilled", "namespace": "team-a"}, wantReason: SkipNoTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m, reason, err := tbl.Route(tt.labels, lookup)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(reason).To(Equal(tt.wantReason))
			if tt.wantReason == "" {
				g.Expect(m.Policy).To(Equal(tt.wantPolicy))
				g.Expect(m.Rule).To(Equal(tt.wantRule))
			}
		})
	}
}

func TestRouteLookupError(t *testing.T) {
	g := NewWithT(t)
	tbl := NewTable(TableOptions{OperatorNamespace: opNS})
	p := policy(opNS, "g", rule("r", `alertname="X"`))
	p.Spec.NamespaceSelector = &metav1.LabelSelector{}
	tbl.Set(mustCompile(t, p))
	boom := errors.New("apiserver down")
	_, _, err := tbl.Route(map[string]string{"alertname": "X", "namespace": "n", "pod": "p"},
		func(string) (map[string]string, bool, error) { return nil, false, boom })
	g.Expect(err).To(MatchError(boom))
	// An empty selector selects every namespace.
	m, reason, err := tbl.Route(map[string]string{"alertname": "X", "namespace": "n", "pod": "p"},
		func(string) (map[string]string, bool, error) { return map[string]string{}, true, nil })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(reason).To(BeEmpty())
	g.Expect(m.Rule).To(Equal("r"))
}

func TestSetDelete(t *testing.T) {
	g := NewWithT(t)
	tbl := NewTable(TableOptions{})
	labels := map[string]string{"alertname": "X", "namespace": "a", "deployment": "d"}
	tbl.Set(mustCompile(t, policy("a", "p", rule("old", `alertname="X"`))))
	m, _, _ := tbl.Route(labels, noNamespaces)
	g.Expect(m.Rule).To(Equal("old"))
	tbl.Set(mustCompile(t, policy("a", "p", rule("new", `alertname="X"`))))
	m, _, _ = tbl.Route(labels, noNamespaces)
	g.Expect(m.Rule).To(Equal("new"))
	g.Expect(tbl.Len()).To(Equal(1))
	key := types.NamespacedName{Namespace: "a", Name: "p"}
	_, ok := tbl.Get(key)
	g.Expect(ok).To(BeTrue())
	tbl.Delete(key)
	tbl.Delete(key)
	_, reason, _ := tbl.Route(labels, noNamespaces)
	g.Expect(reason).To(Equal(SkipNoRule))
	g.Expect(tbl.Len()).To(BeZero())
}

// TestConcurrentReadsAndWrites is meant for -race: routes never see a half-built snapshot.
func TestConcurrentReadsAndWrites(t *testing.T) {
	g := NewWithT(t)
	tbl := NewTable(TableOptions{})
	labels := map[string]string{"alertname": "X", "namespace": "a", "deployment": "d"}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				p := policy("a", fmt.Sprintf("p%d-%d", w, i%5), rule("r", `alertname="X"`))
				c, _ := Compile(p)
				tbl.Set(c)
				if i%3 == 0 {
					tbl.Delete(c.Key)
				}
			}
		})
	}
	wg.Go(func() {
		for range 2000 {
			if m, reason, _ := tbl.Route(labels, noNamespaces); reason == "" && m.Rule != "r" {
				t.Errorf("routed to rule %q", m.Rule)
			}
		}
	})
	wg.Wait()
	g.Expect(tbl.Len()).To(BeNumerically(">", 0))
	m, reason, _ := tbl.Route(labels, noNamespaces)
	g.Expect(reason).To(BeEmpty())
	g.Expect(m.Policy.Namespace).To(Equal("a"))
}
