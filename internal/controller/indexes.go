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

// Field indexes of the manager's Remediation cache, so a controller finds one target's or one
// policy's Remediations without listing (and deep-copying) every Remediation in the cluster:
//
//	var list v1beta1.RemediationList
//	err := c.List(ctx, &list, client.MatchingFields{controller.IndexRemediationTarget: controller.TargetIndexKey(t)})
//
// A lookup without client.InNamespace searches every namespace.
const (
	// IndexRemediationTarget indexes a Remediation by its target, "<namespace>/<kind>/<name>"
	// of spec.target (TargetIndexKey).
	IndexRemediationTarget = "spec.target"
	// IndexRemediationPolicy indexes a Remediation by its policy, "<namespace>/<name>" of
	// spec.policyRef (PolicyIndexKey).
	IndexRemediationPolicy = "spec.policyRef"
)

// TargetIndexKey is the IndexRemediationTarget value of a target. The namespace is the
// target's own, which defaulting (internal/defaults) fills from the Remediation's.
func TargetIndexKey(t v1beta1.TargetRef) string {
	return t.Namespace + "/" + string(t.Kind) + "/" + t.Name
}

// PolicyIndexKey is the IndexRemediationPolicy value of a policy reference.
func PolicyIndexKey(p v1beta1.PolicyReference) string {
	return p.Namespace + "/" + p.Name
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

func remediationPolicy(r *v1beta1.Remediation) v1beta1.PolicyReference {
	p := r.Spec.PolicyRef
	if p.Namespace == "" {
		p.Namespace = r.Namespace
	}
	return p
}

// SetupIndexes registers the field indexes above with the manager's cache (mgr.GetFieldIndexer()).
// main calls it once, before the controllers that list by them (RemediationRetentionReconciler)
// are set up; registering an index twice is an error.
func SetupIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	if err := indexer.IndexField(ctx, &v1beta1.Remediation{}, IndexRemediationTarget, func(o client.Object) []string {
		r, ok := o.(*v1beta1.Remediation)
		if !ok {
			return nil
		}
		return []string{TargetIndexKey(remediationTarget(r))}
	}); err != nil {
		return fmt.Errorf("indexing Remediations by %s: %w", IndexRemediationTarget, err)
	}
	if err := indexer.IndexField(ctx, &v1beta1.Remediation{}, IndexRemediationPolicy, func(o client.Object) []string {
		r, ok := o.(*v1beta1.Remediation)
		if !ok {
			return nil
		}
		return []string{PolicyIndexKey(remediationPolicy(r))}
	}); err != nil {
		return fmt.Errorf("indexing Remediations by %s: %w", IndexRemediationPolicy, err)
	}
	return nil
}
