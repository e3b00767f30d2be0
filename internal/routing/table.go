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
	"maps"
	"path"
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
	// SkipPolicyPaused means the deciding policy has a pause request (spec.safety.pauseRequests).
	SkipPolicyPaused SkipReason = "policy_paused"
	// SkipNoTarget means the matching rule found no namespace, pod or workload in the labels.
	SkipNoTarget SkipReason = "no_target"
	// SkipTargetNotFound means the pod or its owner does not exist in the cluster.
	SkipTargetNotFound SkipReason = "target_not_found"
	// SkipProtectedNamespace means the target is in a protected namespace (kube-*, heal8s's own,
	// --protected-namespaces).
	SkipProtectedNamespace SkipReason = "protected_namespace"
	// SkipScrapeTarget means the pod the alert names is the scrape target that produced the
	// series (an exporter's own pod): heal8s never acts on the monitoring pipeline.
	SkipScrapeTarget SkipReason = "scrape_target"
	// SkipOtherCluster means the alert's cluster label names a cluster other than --cluster-name.
	SkipOtherCluster SkipReason = "other_cluster"
	// SkipControlledHPA means the HorizontalPodAutoscaler is managed by another controller (a
	// KEDA ScaledObject), which would revert a change to it.
	SkipControlledHPA SkipReason = "hpa_controlled"
)

// Protective reports whether a skip protects something heal8s must not touch, so a person
// should hear of it (the receiver records a Warning Event on the policy).
func (r SkipReason) Protective() bool {
	switch r {
	case SkipProtectedNamespace, SkipScrapeTarget, SkipControlledHPA:
		return true
	default:
		return false
	}
}

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
	// spec.namespaceSelector. It is always protected.
	OperatorNamespace string
	// ProtectedNamespaces are path.Match patterns (kube-*) of namespaces heal8s never changes,
	// whatever a policy says (--protected-namespaces).
	ProtectedNamespaces []string
	// ClusterName is the cluster this heal8s serves (--cluster-name). When set, an alert whose
	// ClusterLabel names another cluster is skipped: a central Alertmanager sends every
	// cluster's alerts, and a same-named workload here is not the one that alerted.
	ClusterName string
	// ClusterLabel is the alert label that names the cluster; empty means "cluster".
	ClusterLabel string
}

// DefaultProtectedNamespaces are the namespaces of the control plane and of Kubernetes itself.
var DefaultProtectedNamespaces = []string{"kube-*"}

func (o TableOptions) clusterLabel() string {
	if o.ClusterLabel == "" {
		return "cluster"
	}
	return o.ClusterLabel
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
	maps.Copy(out, m)
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

// Route decides what an alert deserves from its labels alone; Decide adds what only a read of
// the cluster can tell. The returned reason is empty on a match. The error is the namespace
// lookup's only.
func (t *Table) Route(alertLabels map[string]string, nsLabels NamespaceLabels) (Match, SkipReason, error) {
	d, err := t.route(alertLabels, nsLabels)
	return d.Match, d.Reason, err
}

// route is Route with the explanation. Candidates are the policies of the alert's namespace,
// then the cluster-wide policies whose selector matches that namespace, each group ordered by
// name; within a policy the first matching rule wins. The first policy with a matching rule
// decides: a suspended or not-ready one skips the alert rather than passing it on, because its
// owner asked for that rule to govern the alert. Before any rule, an alert of another cluster
// is skipped; after the rule, a target in a protected namespace is.
func (t *Table) route(alertLabels map[string]string, nsLabels NamespaceLabels) (Decision, error) {
	s := t.snap.Load()
	if t.opts.ClusterName != "" {
		if c := alertLabels[t.opts.clusterLabel()]; c != "" && c != t.opts.ClusterName {
			return skip(SkipOtherCluster, "the alert's %s label is %q and this heal8s serves cluster %q",
				t.opts.clusterLabel(), c, t.opts.ClusterName), nil
		}
	}
	ns := Namespace(alertLabels)
	if ns == "" {
		if p, r := s.anyRuleMatches(alertLabels); r != nil {
			return skip(SkipNoTarget, "rule %s/%s matches, but the alert has no namespace label (nor exported_namespace)",
				p.Key, r.Name), nil
		}
		return skip(SkipNoRule, "no rule of any policy matches"), nil
	}
	inScope, outOfScope, err := t.candidates(s, ns, nsLabels)
	if errors.Is(err, ErrUnresolved) {
		d, err := t.decide(s, alertLabels, ns, inScope, nil, nsLabels)
		if d.Reason == "" {
			d.Unresolved = true
			d.Detail += fmt.Sprintf("; namespace %s assumed selected by the cluster-wide policies (its labels were not read)", ns)
		}
		return d, err
	}
	if err != nil {
		return Decision{}, err
	}
	return t.decide(s, alertLabels, ns, inScope, outOfScope, nsLabels)
}

// decide picks the first matching rule among the candidates.
func (t *Table) decide(s *snapshot, alertLabels map[string]string, ns string, inScope, outOfScope []*Policy, nsLabels NamespaceLabels) (Decision, error) {
	notReady := false
	for _, p := range inScope {
		rule := p.firstMatch(alertLabels)
		if rule == nil {
			notReady = notReady || !p.Ready()
			continue
		}
		switch {
		case !p.Ready():
			return skip(SkipPolicyNotReady, "policy %s is not ready: %v", p.Key, p.Err), nil
		case p.Suspended:
			return skip(SkipPolicySuspended, "rule %s of policy %s matches, but the policy is suspended", rule.Name, p.Key), nil
		case len(p.PauseRequests) > 0:
			return skip(SkipPolicyPaused, "rule %s of policy %s matches, but the policy is paused by %s", rule.Name, p.Key,
				strings.Join(p.PauseRequests, ", ")), nil
		}
		target, err := ExtractTarget(alertLabels, rule.Target)
		if err != nil {
			return skip(SkipNoTarget, "rule %s of policy %s matches, but %v", rule.Name, p.Key, err), nil
		}
		m := Match{Policy: p.Key, Rule: rule.Name, Action: *rule.Action.DeepCopy(), Strategy: p.Strategy, Target: target}
		if target.Namespace != ns {
			// The rule's namespaceLabel moved the target: the policy must cover that namespace too.
			ok, err := t.covers(p, target.Namespace, nsLabels)
			if err != nil {
				return Decision{}, err
			}
			if !ok {
				return Decision{Match: m, Reason: SkipNamespaceOutOfScope, Detail: fmt.Sprintf(
					"rule %s of policy %s reads namespace %s, which the policy may not act on", rule.Name, p.Key, target.Namespace)}, nil
			}
		}
		if t.Protected(target.Namespace) {
			return Decision{Match: m, Reason: SkipProtectedNamespace, Detail: fmt.Sprintf(
				"namespace %s is protected: heal8s never changes workloads there (--protected-namespaces)", target.Namespace)}, nil
		}
		return Decision{Match: m, Detail: fmt.Sprintf("rule %s of policy %s matches; target read from the %s%s",
			rule.Name, p.Key, target.Source, exportedNote(target))}, nil
	}
	if notReady {
		return skip(SkipPolicyNotReady, "a policy that might match is not ready"), nil
	}
	for _, p := range outOfScope {
		if r := p.firstMatch(alertLabels); r != nil {
			return skip(SkipNamespaceOutOfScope, "rule %s of policy %s matches, but its namespaceSelector does not select namespace %s",
				r.Name, p.Key, ns), nil
		}
	}
	for nsName, ps := range s.byNamespace {
		if nsName == ns {
			continue
		}
		for _, p := range ps {
			if r := p.firstMatch(alertLabels); r != nil {
				return skip(SkipNamespaceOutOfScope, "rule %s of policy %s matches, but that policy acts only on namespace %s, not %s",
					r.Name, p.Key, nsName, ns), nil
			}
		}
	}
	return skip(SkipNoRule, "no rule of a policy for namespace %s matches", ns), nil
}

func exportedNote(t Target) string {
	if t.Exported {
		return " (exported_* labels: the scrape has honorLabels: false)"
	}
	return ""
}

// candidates returns the policies that may act on namespace ns, in routing order, and the
// cluster-wide ones whose selector excludes it.
func (t *Table) candidates(s *snapshot, ns string, nsLabels NamespaceLabels) (inScope, outOfScope []*Policy, err error) {
	inScope = make([]*Policy, 0, len(s.byNamespace[ns])+len(s.clusterWide))
	inScope = append(inScope, s.byNamespace[ns]...)
	if len(s.clusterWide) > 0 && ns != t.opts.OperatorNamespace {
		nsl, found, err := nsLabels(ns)
		if errors.Is(err, ErrUnresolved) {
			// Offline: every cluster-wide policy is a candidate, and the decision says so.
			return append(inScope, s.clusterWide...), nil, err
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading labels of namespace %s: %w", ns, err)
		}
		for _, p := range s.clusterWide {
			if found && p.Selector.Matches(labels.Set(nsl)) {
				inScope = append(inScope, p)
			} else {
				outOfScope = append(outOfScope, p)
			}
		}
	}
	return inScope, outOfScope, nil
}

// covers reports whether policy p may act on namespace ns.
func (t *Table) covers(p *Policy, ns string, nsLabels NamespaceLabels) (bool, error) {
	if p.Key.Namespace == ns {
		return true, nil
	}
	if p.Selector == nil || t.opts.OperatorNamespace == "" || p.Key.Namespace != t.opts.OperatorNamespace || ns == t.opts.OperatorNamespace {
		return false, nil
	}
	nsl, found, err := nsLabels(ns)
	if errors.Is(err, ErrUnresolved) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading labels of namespace %s: %w", ns, err)
	}
	return Covers(p, t.opts.OperatorNamespace, ns, nsl, found), nil
}

// Protected reports whether namespace ns is one heal8s never changes: the operator's own, or
// one matching a pattern of TableOptions.ProtectedNamespaces.
func (t *Table) Protected(ns string) bool {
	return IsProtected(ns, t.opts.OperatorNamespace, t.opts.ProtectedNamespaces)
}

// IsProtected reports whether heal8s must never change namespace ns: the operator's own, or one
// matching a path.Match pattern. The receiver (Table.Protected) and the engine's guards both ask
// it, so a Remediation created by hand is held to the same rule as one the receiver made.
func IsProtected(ns, operatorNamespace string, patterns []string) bool {
	if ns == operatorNamespace && ns != "" {
		return true
	}
	for _, pat := range patterns {
		if ok, err := path.Match(pat, ns); err == nil && ok {
			return true
		}
	}
	return false
}

// Covers reports whether compiled policy p may act on namespace ns, whose labels are nsLabels
// (found false when it does not exist): its own namespace, or, for a policy in the operator's
// namespace with a namespaceSelector, a namespace the selector selects. The receiver's routing
// and the engine's InScope guard both ask it.
func Covers(p *Policy, operatorNamespace, ns string, nsLabels map[string]string, found bool) bool {
	if p.Key.Namespace == ns {
		return true
	}
	if p.Selector == nil || operatorNamespace == "" || p.Key.Namespace != operatorNamespace || ns == operatorNamespace {
		return false
	}
	return found && p.Selector.Matches(labels.Set(nsLabels))
}

func skip(reason SkipReason, format string, args ...any) Decision {
	return Decision{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

func (s *snapshot) anyRuleMatches(alertLabels map[string]string) (*Policy, *Rule) {
	keys := make([]types.NamespacedName, 0, len(s.all))
	for k := range s.all {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		if r := s.all[k].firstMatch(alertLabels); r != nil {
			return s.all[k], r
		}
	}
	return nil, nil
}

func (p *Policy) firstMatch(alertLabels map[string]string) *Rule {
	for i := range p.Rules {
		if p.Rules[i].Matches(alertLabels) {
			return &p.Rules[i]
		}
	}
	return nil
}
