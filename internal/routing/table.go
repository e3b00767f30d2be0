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
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// SkipReason says why an alert created nothing. The values are the reason label of
// heal8s_alerts_skipped_total, so they stay few and fixed.
type SkipReason string

const (
	// SkipNoRule means no rule of any policy in scope matched the alert.
	SkipNoRule SkipReason = "no_rule"
	// SkipNamespaceOutOfScope means a rule matched, but of a policy whose scope excludes the
	// alert's namespace.
	SkipNamespaceOutOfScope SkipReason = "namespace_out_of_scope"
	// SkipPolicyNotReady means the deciding policy did not compile (or might have matched with
	// the rule that did not).
	SkipPolicyNotReady SkipReason = "policy_not_ready"
	// SkipPolicySuspended means the deciding policy is suspended.
	SkipPolicySuspended SkipReason = "policy_suspended"
	// SkipNoTarget means the matching rule found no namespace, pod or workload in the labels.
	SkipNoTarget SkipReason = "no_target"
	// SkipTargetNotFound means the pod or its owner does not exist in the cluster.
	SkipTargetNotFound SkipReason = "target_not_found"
)

// Match is the routing decision for an alert that deserves a Remediation.
type Match struct {
	// Policy is the policy whose rule matched.
	Policy types.NamespacedName
	// Rule is the matching rule's name.
	Rule string
	// Action is the rule's action, defaulted; a copy the caller may keep.
	Action v1beta1.Action
	// Strategy is the policy's strategy.
	Strategy v1beta1.Strategy
	// Target is what the alert's labels say about the workload.
	Target Target
}

// NamespaceLabels returns a namespace's labels, for cluster-wide policies' selectors. found is
// false when the namespace does not exist; an error means the lookup itself failed.
type NamespaceLabels func(namespace string) (nsLabels map[string]string, found bool, err error)

// TableOptions configures a Table.
type TableOptions struct {
	// OperatorNamespace is where heal8s runs; only its policies may act cluster-wide through
	// spec.namespaceSelector.
	OperatorNamespace string
}

// Table holds every compiled policy. Reads (Route, Get) take an immutable snapshot and never
// block; writers (Set, Delete) serialise among themselves and publish a new snapshot.
type Table struct {
	opts TableOptions
	mu   sync.Mutex
	snap atomic.Pointer[snapshot]
}

type snapshot struct {
	all map[types.NamespacedName]*Policy
	// byNamespace holds each namespace's policies ordered by name.
	byNamespace map[string][]*Policy
	// clusterWide holds the operator namespace's policies with a selector, ordered by name.
	clusterWide []*Policy
}

// NewTable returns an empty table.
func NewTable(opts TableOptions) *Table {
	t := &Table{opts: opts}
	t.snap.Store(t.build(map[types.NamespacedName]*Policy{}))
	return t
}

// Set adds or replaces a compiled policy.
func (t *Table) Set(p *Policy) {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := clone(t.snap.Load().all)
	all[p.Key] = p
	t.snap.Store(t.build(all))
}

// Delete removes a policy; removing an absent one is a no-op.
func (t *Table) Delete(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.snap.Load().all
	if _, ok := cur[key]; !ok {
		return
	}
	all := clone(cur)
	delete(all, key)
	t.snap.Store(t.build(all))
}

// Get returns the compiled policy under key.
func (t *Table) Get(key types.NamespacedName) (*Policy, bool) {
	p, ok := t.snap.Load().all[key]
	return p, ok
}

// Len is the number of policies in the table, ready or not.
func (t *Table) Len() int { return len(t.snap.Load().all) }

func clone(m map[types.NamespacedName]*Policy) map[types.NamespacedName]*Policy {
	out := make(map[types.NamespacedName]*Policy, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (t *Table) build(all map[types.NamespacedName]*Policy) *snapshot {
	s := &snapshot{all: all, byNamespace: map[string][]*Policy{}}
	for _, p := range all {
		s.byNamespace[p.Key.Namespace] = append(s.byNamespace[p.Key.Namespace], p)
		if p.Selector != nil && t.opts.OperatorNamespace != "" && p.Key.Namespace == t.opts.OperatorNamespace {
			s.clusterWide = append(s.clusterWide, p)
		}
	}
	byName := func(a, b *Policy) int { return strings.Compare(a.Key.Name, b.Key.Name) }
	for _, ps := range s.byNamespace {
		slices.SortFunc(ps, byName)
	}
	slices.SortFunc(s.clusterWide, byName)
	return s
}

// Route decides what an alert deserves. Candidates are the policies of the alert's namespace,
// then the cluster-wide policies whose selector matches that namespace, each group ordered by
// name; within a policy the first matching rule wins. The first policy with a matching rule
// decides: a suspended or not-ready one skips the alert rather than passing it on, because its
// owner asked for that rule to govern the alert. The returned reason is empty on a match. The
// error is the namespace lookup's only.
func (t *Table) Route(alertLabels map[string]string, nsLabels NamespaceLabels) (Match, SkipReason, error) {
	s := t.snap.Load()
	ns := alertLabels[LabelNamespace]
	if ns == "" {
		if s.anyRuleMatches(alertLabels) {
			return Match{}, SkipNoTarget, nil
		}
		return Match{}, SkipNoRule, nil
	}
	inScope := make([]*Policy, 0, len(s.byNamespace[ns])+len(s.clusterWide))
	inScope = append(inScope, s.byNamespace[ns]...)
	var outOfScope []*Policy
	if len(s.clusterWide) > 0 && ns != t.opts.OperatorNamespace {
		nsl, found, err := nsLabels(ns)
		if err != nil {
			return Match{}, "", fmt.Errorf("reading labels of namespace %s: %w", ns, err)
		}
		for _, p := range s.clusterWide {
			if found && p.Selector.Matches(labels.Set(nsl)) {
				inScope = append(inScope, p)
			} else {
				outOfScope = append(outOfScope, p)
			}
		}
	}
	notReady := false
	for _, p := range inScope {
		rule := p.firstMatch(alertLabels)
		if rule == nil {
			notReady = notReady || !p.Ready()
			continue
		}
		switch {
		case !p.Ready():
			return Match{}, SkipPolicyNotReady, nil
		case p.Suspended:
			return Match{}, SkipPolicySuspended, nil
		}
		target, err := ExtractTarget(alertLabels, rule.Target)
		if err != nil {
			return Match{}, SkipNoTarget, nil
		}
		return Match{
			Policy:   p.Key,
			Rule:     rule.Name,
			Action:   *rule.Action.DeepCopy(),
			Strategy: p.Strategy,
			Target:   target,
		}, "", nil
	}
	if notReady {
		return Match{}, SkipPolicyNotReady, nil
	}
	for _, p := range outOfScope {
		if p.firstMatch(alertLabels) != nil {
			return Match{}, SkipNamespaceOutOfScope, nil
		}
	}
	for nsName, ps := range s.byNamespace {
		if nsName == ns {
			continue
		}
		for _, p := range ps {
			if p.firstMatch(alertLabels) != nil {
				return Match{}, SkipNamespaceOutOfScope, nil
			}
		}
	}
	return Match{}, SkipNoRule, nil
}

func (s *snapshot) anyRuleMatches(alertLabels map[string]string) bool {
	for _, p := range s.all {
		if p.firstMatch(alertLabels) != nil {
			return true
		}
	}
	return false
}

func (p *Policy) firstMatch(alertLabels map[string]string) *Rule {
	for i := range p.Rules {
		if p.Rules[i].Matches(alertLabels) {
			return &p.Rules[i]
		}
	}
	return nil
}
