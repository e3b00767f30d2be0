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

package v1beta1

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitaccess"
)

const operatorNS = "heal8s-system"

func q(s string) *resource.Quantity {
	v := resource.MustParse(s)
	return &v
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// validPolicy is the smallest policy every validation case starts from.
func validPolicy() *v1beta1.RemediationPolicy {
	return &v1beta1.RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team-a"},
		Spec: v1beta1.RemediationPolicySpec{
			Rules: []v1beta1.Rule{{
				Name:     "oom",
				Matchers: []string{`alertname="KubePodOOMKilled"`, `severity=~"warning|critical"`},
				Action:   v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}},
			}},
		},
	}
}

func validRemediation() *v1beta1.Remediation {
	return &v1beta1.Remediation{
		ObjectMeta: metav1.ObjectMeta{Name: "oom-abc", Namespace: "team-a"},
		Spec: v1beta1.RemediationSpec{
			PolicyRef: v1beta1.PolicyReference{Name: "p", Namespace: "team-a"},
			Rule:      "oom",
			Alert:     v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "f00d"},
			Target: v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment,
				Name: "web", Namespace: "team-a", Container: "app"},
			Action:   v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}},
			Strategy: v1beta1.StrategyDirect,
		},
	}
}

func fields(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestValidatePolicy(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(p *v1beta1.RemediationPolicy)
		want   []string // offending field paths; empty means valid
	}{
		{name: "valid", mutate: func(*v1beta1.RemediationPolicy) {}},
		{name: "defaulted is valid", mutate: func(p *v1beta1.RemediationPolicy) {
			(&RemediationPolicyDefaulter{}).Default(context.Background(), p) //nolint:errcheck
		}},
		{name: "no rules", mutate: func(p *v1beta1.RemediationPolicy) { p.Spec.Rules = nil },
			want: []string{"spec.rules"}},
		{name: "unparsable matcher", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Matchers = append(p.Spec.Rules[0].Matchers, `severity=~"(unclosed"`)
		}, want: []string{"spec.rules[0].matchers[2]"}},
		{name: "matcher without operator", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Matchers = []string{"KubePodOOMKilled"}
		}, want: []string{"spec.rules[0].matchers[0]"}},
		{name: "no matchers", mutate: func(p *v1beta1.RemediationPolicy) { p.Spec.Rules[0].Matchers = nil },
			want: []string{"spec.rules[0].matchers"}},
		{name: "empty action union", mutate: func(p *v1beta1.RemediationPolicy) { p.Spec.Rules[0].Action = v1beta1.Action{} },
			want: []string{"spec.rules[0].action"}},
		{name: "two actions", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action.ScaleUp = &v1beta1.ScaleUpAction{}
		}, want: []string{"spec.rules[0].action"}},
		{name: "percent zero", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action.IncreaseMemory.Percent = ptr.To[int32](0)
		}, want: []string{"spec.rules[0].action.increaseMemory.percent"}},
		{name: "percent above 1000", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action = v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{Percent: ptr.To[int32](1001)}}
		}, want: []string{"spec.rules[0].action.scaleUp.percent"}},
		{name: "cpu percent negative", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action = v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{Percent: ptr.To[int32](-5)}}
		}, want: []string{"spec.rules[0].action.increaseCPU.percent"}},
		{name: "memory max in milli-bytes", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action.IncreaseMemory.Max = q("512m")
		}, want: []string{"spec.rules[0].action.increaseMemory.max"}},
		{name: "memory max below roundTo", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action.IncreaseMemory.Max = q("32Mi")
			p.Spec.Rules[0].Action.IncreaseMemory.RoundTo = q("64Mi")
		}, want: []string{"spec.rules[0].action.increaseMemory.max"}},
		{name: "cpu max below a millicore", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action = v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{Max: q("0")}}
		}, want: []string{"spec.rules[0].action.increaseCPU.max"}},
		{name: "maxReplicas zero", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action = v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{MaxReplicas: ptr.To[int32](0)}}
		}, want: []string{"spec.rules[0].action.scaleUp.maxReplicas"}},
		{name: "maxRevisions too many", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Action = v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{MaxRevisions: ptr.To[int32](101)}}
		}, want: []string{"spec.rules[0].action.rollbackImage.maxRevisions"}},
		{name: "duplicate rule names", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules = append(p.Spec.Rules, p.Spec.Rules[0])
		}, want: []string{"spec.rules[1].name"}},
		{name: "rule name not a DNS label", mutate: func(p *v1beta1.RemediationPolicy) { p.Spec.Rules[0].Name = "OOM_rule" },
			want: []string{"spec.rules[0].name"}},
		{name: "bad target label", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Rules[0].Target = &v1beta1.TargetOverride{NameLabel: "app.kubernetes.io/name"}
		}, want: []string{"spec.rules[0].target.nameLabel"}},
		{name: "GitOps without git", mutate: func(p *v1beta1.RemediationPolicy) { p.Spec.Strategy = v1beta1.StrategyGitOps },
			want: []string{"spec.git"}},
		// A repository may be discovered from Flux or Argo CD; a secret is always needed.
		{name: "git without repository and secret", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{}
		}, want: []string{"spec.git.secretRef.name"}},
		{name: "git path without repository", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{Path: "apps/{{ .Name }}.yaml", SecretRef: secretRef("gh")}
		}, want: []string{"spec.git.repository"}},
		{name: "git path not a template", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{Repository: "o/r", Path: "apps/{{.Name", SecretRef: secretRef("gh")}
		}, want: []string{"spec.git.path"}},
		{name: "git path with a loop", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{Repository: "o/r", Path: "{{range 2000000000}}{{end}}", SecretRef: secretRef("gh")}
		}, want: []string{"spec.git.path"}},
		{name: "git path with a pipeline", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{Repository: "o/r", Path: "apps/{{ .Name | printf \"%s\" }}.yaml", SecretRef: secretRef("gh")}
		}, want: []string{"spec.git.path"}},
		{name: "git path with placeholders", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{Repository: "o/r", Path: "apps/{{ .Namespace }}/{{.Kind}}-{{.Name}}.yaml#0", SecretRef: secretRef("gh")}
		}},
		{name: "git baseURL with user information", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{Repository: "o/r", BaseURL: "https://github.com@evil.example/", SecretRef: secretRef("gh")}
		}, want: []string{"spec.git.baseURL"}},
		{name: "gitlab project in a nested group", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{Provider: v1beta1.GitProviderGitLab, Repository: "acme/platform/deploy", SecretRef: secretRef("gl")}
		}},
		{name: "github repository with a nested path", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{Repository: "acme/platform/deploy", SecretRef: secretRef("gh")}
		}, want: []string{"spec.git.repository"}},
		{name: "unknown git provider", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.Git = &v1beta1.GitSpec{Provider: "bitbucket", Repository: "o/r", SecretRef: secretRef("gh")}
		}, want: []string{"spec.git.provider"}},
		{name: "unknown strategy", mutate: func(p *v1beta1.RemediationPolicy) { p.Spec.Strategy = "Yolo" },
			want: []string{"spec.strategy"}},
		{name: "negative cooldown", mutate: func(p *v1beta1.RemediationPolicy) { p.Spec.Safety.Cooldown = dur(-time.Minute) },
			want: []string{"spec.safety.cooldown"}},
		{name: "zero maxConcurrent", mutate: func(p *v1beta1.RemediationPolicy) { p.Spec.Safety.MaxConcurrent = ptr.To[int32](0) },
			want: []string{"spec.safety.maxConcurrent"}},
		{name: "zero verify window", mutate: func(p *v1beta1.RemediationPolicy) { p.Spec.Verify.Window = dur(0) },
			want: []string{"spec.verify.window"}},
		{name: "cross-namespace selector outside the operator namespace", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
		}, want: []string{"spec.namespaceSelector"}},
		{name: "cross-namespace selector in the operator namespace", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Namespace = operatorNS
			p.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
		}},
		{name: "invalid selector", mutate: func(p *v1beta1.RemediationPolicy) {
			p.Namespace = operatorNS
			p.Spec.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Near"}}}
		}, want: []string{"spec.namespaceSelector"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := validPolicy()
			tc.mutate(p)
			g.Expect(fields(ValidatePolicy(p, operatorNS))).To(ConsistOf(toAny(tc.want)...))
		})
	}
}

// TestValidatePolicyGitHosts: with the platform's allowlist, baseURL must be https and name an
// allowlisted host.
func TestValidatePolicyGitHosts(t *testing.T) {
	v := &RemediationPolicyValidator{OperatorNamespace: operatorNS,
		Git: &gitaccess.Config{OperatorNamespace: operatorNS, Hosts: []string{"github.com", "ghe.example.com"}}}
	for _, tc := range []struct {
		baseURL string
		ok      bool
	}{
		{"", true},
		{"https://api.github.com/", true},
		{"https://ghe.example.com/api/v3", true},
		{"https://attacker.example/api/v3", false},
		{"http://ghe.example.com/api/v3", false},
		{"https://ghe.example.com:8443/api/v3", false},
		{"https://ghe.example.com.attacker.example/", false},
	} {
		t.Run(tc.baseURL, func(t *testing.T) {
			g := NewWithT(t)
			p := validPolicy()
			p.Spec.Git = &v1beta1.GitSpec{Repository: "o/r", BaseURL: tc.baseURL, SecretRef: secretRef("gh")}
			errs := v.validate(p)
			if tc.ok {
				g.Expect(errs).To(BeEmpty())
				return
			}
			g.Expect(fields(errs)).To(ConsistOf("spec.git.baseURL"))
		})
	}
}

// TestValidatePolicyGitLabHosts: a GitLab policy goes to gitlab.com without a baseURL, and to a
// self-managed instance only when that host is allowlisted, like a GitHub Enterprise server.
func TestValidatePolicyGitLabHosts(t *testing.T) {
	for _, tc := range []struct {
		hosts   []string
		baseURL string
		ok      bool
	}{
		{[]string{"github.com"}, "", false},
		{[]string{"github.com", "gitlab.com"}, "", true},
		{[]string{"gitlab.com"}, "https://gitlab.example.com", false},
		{[]string{"gitlab.example.com"}, "https://gitlab.example.com", true},
		{[]string{"gitlab.example.com"}, "http://gitlab.example.com", false},
		{[]string{"gitlab.example.com"}, "https://gitlab.example.com.attacker.example", false},
	} {
		t.Run(fmt.Sprintf("%v/%s", tc.hosts, tc.baseURL), func(t *testing.T) {
			g := NewWithT(t)
			v := &RemediationPolicyValidator{OperatorNamespace: operatorNS,
				Git: &gitaccess.Config{OperatorNamespace: operatorNS, Hosts: tc.hosts}}
			p := validPolicy()
			p.Spec.Git = &v1beta1.GitSpec{Provider: v1beta1.GitProviderGitLab, Repository: "acme/platform/deploy", BaseURL: tc.baseURL, SecretRef: secretRef("gl")}
			errs := v.validate(p)
			if tc.ok {
				g.Expect(errs).To(BeEmpty())
				return
			}
			g.Expect(fields(errs)).To(ConsistOf("spec.git.baseURL"))
		})
	}
}

func TestValidateRemediation(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(r *v1beta1.Remediation)
		want   []string
	}{
		{name: "valid", mutate: func(*v1beta1.Remediation) {}},
		{name: "missing policy, rule, alert", mutate: func(r *v1beta1.Remediation) {
			r.Spec.PolicyRef.Name, r.Spec.Rule, r.Spec.Alert = "", "", v1beta1.AlertInfo{}
		}, want: []string{"spec.policyRef.name", "spec.rule", "spec.alert.name", "spec.alert.fingerprint"}},
		{name: "target in another namespace", mutate: func(r *v1beta1.Remediation) { r.Spec.Target.Namespace = "team-b" },
			want: []string{"spec.target.namespace"}},
		{name: "unsupported kind", mutate: func(r *v1beta1.Remediation) { r.Spec.Target.Kind = "CronJob" },
			want: []string{"spec.target.kind"}},
		{name: "wrong apiVersion", mutate: func(r *v1beta1.Remediation) { r.Spec.Target.APIVersion = "extensions/v1beta1" },
			want: []string{"spec.target.apiVersion"}},
		{name: "empty action", mutate: func(r *v1beta1.Remediation) { r.Spec.Action = v1beta1.Action{} },
			want: []string{"spec.action"}},
		{name: "unknown strategy", mutate: func(r *v1beta1.Remediation) { r.Spec.Strategy = "Later" },
			want: []string{"spec.strategy"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := validRemediation()
			tc.mutate(r)
			g.Expect(fields(validateRemediation(r))).To(ConsistOf(toAny(tc.want)...))
		})
	}
}

func TestRemediationSpecIsImmutable(t *testing.T) {
	g := NewWithT(t)
	v := &RemediationValidator{}
	oldObj := validRemediation()

	statusOnly := oldObj.DeepCopy()
	statusOnly.Status.Phase = v1beta1.PhasePlanning
	statusOnly.Labels = map[string]string{"x": "y"}
	_, err := v.ValidateUpdate(context.Background(), oldObj, statusOnly)
	g.Expect(err).NotTo(HaveOccurred())

	changed := oldObj.DeepCopy()
	changed.Spec.Action = v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{MaxReplicas: ptr.To[int32](50)}}
	_, err = v.ValidateUpdate(context.Background(), oldObj, changed)
	g.Expect(err).To(MatchError(ContainSubstring("spec: Forbidden: spec is immutable after creation")))
}

func TestPolicyDefaulting(t *testing.T) {
	g := NewWithT(t)
	p := validPolicy()
	p.Spec.Rules = append(p.Spec.Rules,
		v1beta1.Rule{Name: "cpu", Matchers: []string{`alertname="CPUThrottlingHigh"`}, Action: v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{}}},
		v1beta1.Rule{Name: "hpa", Matchers: []string{`alertname="KubeHpaMaxedOut"`}, Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{Percent: ptr.To[int32](100)}}},
		v1beta1.Rule{Name: "crash", Matchers: []string{`alertname="KubePodCrashLooping"`}, Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}},
	)
	g.Expect((&RemediationPolicyDefaulter{}).Default(context.Background(), p)).To(Succeed())

	mem := p.Spec.Rules[0].Action.IncreaseMemory
	g.Expect(*mem.Percent).To(BeEquivalentTo(25))
	g.Expect(mem.MinIncrease.String()).To(Equal("64Mi"))
	g.Expect(mem.RoundTo.String()).To(Equal("64Mi"))
	g.Expect(mem.Max.String()).To(Equal("2Gi"))
	cpu := p.Spec.Rules[1].Action.IncreaseCPU
	g.Expect(*cpu.Percent).To(BeEquivalentTo(25))
	g.Expect(cpu.Max.String()).To(Equal("4"))
	g.Expect(*p.Spec.Rules[2].Action.ScaleUp.Percent).To(BeEquivalentTo(100), "a value the user set is kept")
	g.Expect(*p.Spec.Rules[2].Action.ScaleUp.MaxReplicas).To(BeEquivalentTo(10))
	g.Expect(*p.Spec.Rules[3].Action.RollbackImage.MaxRevisions).To(BeEquivalentTo(5))

	g.Expect(p.Spec.Strategy).To(Equal(v1beta1.StrategyDryRun), "without git the default is DryRun")
	s := p.Spec.Safety
	g.Expect(s.Cooldown.Duration).To(Equal(30 * time.Minute))
	g.Expect(*s.MaxConcurrent).To(BeEquivalentTo(5))
	g.Expect(*s.MaxPerHour).To(BeEquivalentTo(10))
	g.Expect(*s.MaxPerTarget).To(BeEquivalentTo(3))
	g.Expect(s.BudgetWindow.Duration).To(Equal(168 * time.Hour))
	g.Expect(s.VetoPeriod.Duration).To(Equal(168 * time.Hour))
	g.Expect(p.Spec.Verify.Window.Duration).To(Equal(10 * time.Minute))

	withGit := validPolicy()
	withGit.Spec.Git = &v1beta1.GitSpec{Repository: "acme/deploy", SecretRef: secretRef("gh")}
	g.Expect((&RemediationPolicyDefaulter{}).Default(context.Background(), withGit)).To(Succeed())
	g.Expect(withGit.Spec.Strategy).To(Equal(v1beta1.StrategyGitOps), "with git the default is GitOps")
	g.Expect(withGit.Spec.Git.BaseBranch).To(Equal("main"))
	g.Expect(withGit.Spec.Git.Provider).To(Equal(v1beta1.GitProviderGitHub))

	again := p.DeepCopy()
	g.Expect((&RemediationPolicyDefaulter{}).Default(context.Background(), again)).To(Succeed())
	g.Expect(again).To(Equal(p), "defaulting is idempotent")
}

func TestRemediationDefaulting(t *testing.T) {
	g := NewWithT(t)
	r := validRemediation()
	r.Spec.PolicyRef.Namespace = ""
	r.Spec.Target.Namespace = ""
	r.Spec.Target.APIVersion = ""
	r.Spec.Target.Kind = v1beta1.TargetKindHorizontalPodAutoscaler
	g.Expect((&RemediationDefaulter{}).Default(context.Background(), r)).To(Succeed())
	g.Expect(r.Spec.PolicyRef.Namespace).To(Equal("team-a"))
	g.Expect(r.Spec.Target.Namespace).To(Equal("team-a"))
	g.Expect(r.Spec.Target.APIVersion).To(Equal("autoscaling/v2"))
	g.Expect(*r.Spec.Action.ScaleUp.MaxReplicas).To(BeEquivalentTo(10))
}

func toAny(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

func secretRef(name string) corev1.LocalObjectReference {
	return corev1.LocalObjectReference{Name: name}
}
