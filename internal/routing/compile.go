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

// Package routing decides, without any Kubernetes client, which rule of which RemediationPolicy
// an alert deserves. Policies are compiled once (matchers parsed with Alertmanager's own parser,
// actions defaulted) and held in a Table whose snapshots are swapped atomically, so the receiver
// routes every alert of a storm without a lock or an API call.
package routing

import (
	"errors"
	"fmt"
	"slices"

	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
)

var (
	// ErrInvalidMatcher means a rule's matcher is not valid Alertmanager matcher syntax.
	ErrInvalidMatcher = errors.New("invalid matcher")
	// ErrNoMatchers means a rule has no matcher; it would match every alert, which is never meant.
	ErrNoMatchers = errors.New("rule has no matchers")
	// ErrInvalidAction means a rule's action union is empty or names more than one action.
	ErrInvalidAction = errors.New("action must name exactly one of increaseMemory, increaseCPU, scaleUp, rollbackImage")
	// ErrInvalidSelector means spec.namespaceSelector cannot be turned into a label selector.
	ErrInvalidSelector = errors.New("invalid namespaceSelector")
	// ErrDuplicateRule means two rules share a name, so Remediation names would collide.
	ErrDuplicateRule = errors.New("duplicate rule name")
)

// CompileError says which rule of a policy did not compile and why, so the policy's Ready
// condition can point the user at the line to fix.
type CompileError struct {
	// Rule is the rule's name, or its index when it has none; empty for policy-level errors.
	Rule string
	// Err is the underlying error, wrapping one of the ErrXxx sentinels.
	Err error
}

// Error implements error.
func (e *CompileError) Error() string {
	if e.Rule == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("rule %q: %v", e.Rule, e.Err)
}

// Unwrap lets errors.Is see the sentinel.
func (e *CompileError) Unwrap() error { return e.Err }

// Policy is a RemediationPolicy compiled for routing. It is immutable once built: the Table
// shares it between goroutines.
type Policy struct {
	// Key is the policy's namespace and name.
	Key types.NamespacedName
	// Generation is the metadata.generation that was compiled.
	Generation int64
	// Strategy is the policy's (defaulted) strategy, copied into every Remediation.
	Strategy v1beta1.Strategy
	// Suspended policies are routed (so the skip is counted with its reason) but never act.
	Suspended bool
	// PauseRequests are the policy's named pauses (spec.safety.pauseRequests): like Suspended,
	// the policy is routed but never acts while any is present.
	PauseRequests []string
	// Selector is the compiled spec.namespaceSelector, nil when the policy has none. The Table
	// honours it only for policies in the operator's namespace.
	Selector labels.Selector
	// Rules are the rules that compiled, in list order. When Err is set, the rules from the
	// failing one on are missing.
	Rules []Rule
	// Err is the compile error; a policy with one is not ready and acts on nothing.
	Err error
}

// Ready reports whether every rule compiled, so the policy may act.
func (p *Policy) Ready() bool { return p.Err == nil }

// Rule is one compiled rule.
type Rule struct {
	// Name is the rule's name.
	Name string
	// Matchers must all match an alert's labels.
	Matchers amlabels.Matchers
	// Action is the rule's action with every parameter defaulted.
	Action v1beta1.Action
	// Target overrides how the target is read from the alert, or is nil.
	Target *v1beta1.TargetOverride
}

// Matches reports whether every matcher matches; a label missing from the alert reads as "",
// exactly as in an Alertmanager route.
func (r *Rule) Matches(alertLabels map[string]string) bool {
	for _, m := range r.Matchers {
		if !m.Matches(alertLabels[m.Name]) {
			return false
		}
	}
	return true
}

// Compile turns a RemediationPolicy into its routing form. It never modifies p: it defaults a
// copy, so rules carry full action parameters even where no defaulting webhook ran. On error the
// returned Policy is still usable as a not-ready entry of the Table, and the error is a
// *CompileError naming the rule and the bad matcher.
func Compile(p *v1beta1.RemediationPolicy) (*Policy, error) {
	p = p.DeepCopy()
	defaults.Policy(p)
	out := &Policy{
		Key:        types.NamespacedName{Namespace: p.Namespace, Name: p.Name},
		Generation: p.Generation,
		Strategy:   p.Spec.Strategy,
		Suspended:  p.Spec.Safety.Suspend,

		PauseRequests: slices.Clone(p.Spec.Safety.PauseRequests),
	}
	fail := func(rule string, err error) (*Policy, error) {
		out.Err = &CompileError{Rule: rule, Err: err}
		return out, out.Err
	}
	if p.Spec.NamespaceSelector != nil {
		sel, err := CompileSelector(p.Spec.NamespaceSelector)
		if err != nil {
			return fail("", err)
		}
		out.Selector = sel
	}
	seen := make(map[string]bool, len(p.Spec.Rules))
	for i, r := range p.Spec.Rules {
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		rule, err := compileRule(r)
		if err == nil && seen[r.Name] {
			err = ErrDuplicateRule
		}
		if err != nil {
			return fail(name, err)
		}
		seen[r.Name] = true
		out.Rules = append(out.Rules, rule)
	}
	return out, nil
}

func compileRule(r v1beta1.Rule) (Rule, error) {
	if len(r.Matchers) == 0 {
		return Rule{}, ErrNoMatchers
	}
	if ActionCount(r.Action) != 1 {
		return Rule{}, ErrInvalidAction
	}
	ms := make(amlabels.Matchers, 0, len(r.Matchers))
	for _, s := range r.Matchers {
		m, err := ParseMatcher(s)
		if err != nil {
			return Rule{}, err
		}
		ms = append(ms, m)
	}
	return Rule{Name: r.Name, Matchers: ms, Action: r.Action, Target: r.Target}, nil
}

// ParseMatcher parses one rule matcher with Alertmanager's own parser. The admission webhook
// and Compile both call it, so a matcher the webhook accepts is the matcher the receiver routes
// with. The error wraps ErrInvalidMatcher.
func ParseMatcher(s string) (*amlabels.Matcher, error) {
	m, err := amlabels.ParseMatcher(s)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidMatcher, s, err)
	}
	return m, nil
}

// CompileSelector turns a namespaceSelector into the selector routing and the engine evaluate.
// The error wraps ErrInvalidSelector.
func CompileSelector(sel *metav1.LabelSelector) (labels.Selector, error) {
	out, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSelector, err)
	}
	return out, nil
}

// ActionCount is how many members of the action union are set; a rule needs exactly one. The
// webhook and Compile both ask it.
func ActionCount(a v1beta1.Action) int {
	n := 0
	for _, set := range []bool{a.IncreaseMemory != nil, a.IncreaseCPU != nil, a.ScaleUp != nil, a.RollbackImage != nil} {
		if set {
			n++
		}
	}
	return n
}
