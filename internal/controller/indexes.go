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

// Field indexes of the manager's Remediation cache. A Remediation's peers (the Remediations of
// its target, TargetKey, and those counting against the same policy budget, BudgetKey) are read
// from the peer index on the same informer (peerindex.go) by the guards, superseding, the
// retention controller and the notification controller, as pointers and without a list's copy.
const (
	// IndexRemediationName holds metadata.name (the API server also serves it as a field selector,
	// so a client without the cache gets the same answer), for the pull request webhook, which knows a
	// Remediation's name from the branch but not its namespace.
	IndexRemediationName = "metadata.name"
)

// TargetKey identifies a Remediation's target: "<namespace>/<kind>/<name>".
func TargetKey(r *v1beta1.Remediation) string {
	t := remediationTarget(r)
	return t.Namespace + "/" + string(t.Kind) + "/" + t.Name
}

// remediationTarget is the target of r as indexed: a Remediation written without the target's
// namespace is its own namespace's, as defaulting makes it.
func remediationTarget(r *v1beta1.Remediation) v1beta1.TargetRef {
	t := r.Spec.Target
	if t.Namespace == "" {
		t.Namespace = r.Namespace
	}
	return t
}

// remediationPolicy is the policy of r: one written without the policy's namespace names a
// policy of its own namespace, as defaulting makes it.
func remediationPolicy(r *v1beta1.Remediation) v1beta1.PolicyReference {
	p := r.Spec.PolicyRef
	if p.Namespace == "" {
		p.Namespace = r.Namespace
	}
	return p
}

// BudgetKey identifies the maxPerHour and maxConcurrent budget a Remediation counts against:
// its policy, and its own namespace (the same as the policy's for a namespaced policy; per
// namespace for a cluster-wide one).
func BudgetKey(r *v1beta1.Remediation) string {
	p := remediationPolicy(r)
	return p.Namespace + "/" + p.Name + "/" + r.Namespace
}

// SetupIndexes registers the field indexes on the manager's cache (mgr.GetFieldIndexer()); main
// calls it once, before the controllers that list by them (the pull request sync) start. Registering an index twice is an error.
func SetupIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	indexes := []struct {
		field string
		key   func(*v1beta1.Remediation) string
	}{
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
