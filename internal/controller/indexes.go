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
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Field indexes of the manager's Remediation cache. The guards read a Remediation's peers
// through them (the Remediations of its target, and those counting against the same policy
// budget) instead of listing and copying every Remediation in the cluster.
const (
	// IndexRemediationTarget holds TargetKey of spec.target.
	IndexRemediationTarget = "heal8s.spec.target"
	// IndexRemediationBudget holds BudgetKey: the policy and, for a cluster-wide policy, the
	// Remediation's namespace (its budgets are kept per namespace).
	IndexRemediationBudget = "heal8s.spec.policyRef"
	// IndexRemediationName holds metadata.name (the API server also serves it as a field selector,
	// so a client without the cache gets the same answer), for the pull request webhook, which knows a
	// Remediation's name from the branch but not its namespace.
	IndexRemediationName = "metadata.name"
)

// TargetKey identifies a Remediation's target: namespace, kind and name.
func TargetKey(r *v1beta1.Remediation) string {
	t := r.Spec.Target
	ns := t.Namespace
	if ns == "" {
		ns = r.Namespace
	}
	return ns + "/" + string(t.Kind) + "/" + t.Name
}

// BudgetKey identifies the maxPerHour and maxConcurrent budget a Remediation counts against:
// its policy, and its own namespace (the same as the policy's for a namespaced policy; per
// namespace for a cluster-wide one).
func BudgetKey(r *v1beta1.Remediation) string {
	p := r.Spec.PolicyRef
	ns := p.Namespace
	if ns == "" {
		ns = r.Namespace
	}
	return ns + "/" + p.Name + "/" + r.Namespace
}

// SetupIndexes registers the field indexes on the manager's cache; call it before the
// controllers start.
func SetupIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	indexes := []struct {
		field string
		key   func(*v1beta1.Remediation) string
	}{
		{IndexRemediationTarget, TargetKey},
		{IndexRemediationBudget, BudgetKey},
		{IndexRemediationName, func(r *v1beta1.Remediation) string { return r.Name }},
	}
	for _, ix := range indexes {
		err := indexer.IndexField(ctx, &v1beta1.Remediation{}, ix.field, func(o client.Object) []string {
			r, ok := o.(*v1beta1.Remediation)
			if !ok {
				return nil
			}
			return []string{ix.key(r)}
		})
		if err != nil {
			return fmt.Errorf("indexing Remediations by %s: %w", ix.field, err)
		}
	}
	return nil
}
