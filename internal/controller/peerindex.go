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

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	v1beta1 "github.com/heal8s/heal8s/api/v1beta1"
)

// The peer index's index names on the Remediation informer. They are the only indexes of a
// Remediation's target and policy budget: SetupIndexes registers no field index for them (two
// indexes of the same key would hold two sets of every Remediation's key).
const (
	peerIndexTarget = "heal8s.peers.target"
	peerIndexBudget = "heal8s.peers.budget"
)

// peerIndex reads the Remediations of one target (TargetKey) or of one policy budget
// (BudgetKey) from the informer's indexer as pointers into the cache. A cached List, even with
// UnsafeDisableDeepCopy, copies every matching object into a new Items slice; with thousands of
// Remediations on one target every Pending reconcile did that (docs/performance.md, row 5's heap
// profile). The objects are shared with the cache and every other reader: they are never
// changed (reservations.overlay replaces a pointer, it does not write through it).
type peerIndex struct {
	indexer toolscache.Indexer
}

// newPeerIndex adds the two indexes to the cache's Remediation informer, or reads the ones an
// earlier call added (the Remediation reconciler, the retention controller and the notification
// controller share them); it is called before the manager starts the informer.
func newPeerIndex(ctx context.Context, informers cache.Informers) (*peerIndex, error) {
	inf, err := informers.GetInformer(ctx, &v1beta1.Remediation{})
	if err != nil {
		return nil, fmt.Errorf("getting the Remediation informer for the peer index: %w", err)
	}
	shared, ok := inf.(toolscache.SharedIndexInformer)
	if !ok {
		return nil, fmt.Errorf("the cache's Remediation informer is a %T, which has no indexer", inf)
	}
	key := func(f func(*v1beta1.Remediation) string) toolscache.IndexFunc {
		return func(obj any) ([]string, error) {
			r, ok := obj.(*v1beta1.Remediation)
			if !ok {
				return nil, nil
			}
			return []string{f(r)}, nil
		}
	}
	if _, ok := shared.GetIndexer().GetIndexers()[peerIndexTarget]; ok {
		return &peerIndex{indexer: shared.GetIndexer()}, nil
	}
	if err := shared.AddIndexers(toolscache.Indexers{peerIndexTarget: key(TargetKey), peerIndexBudget: key(BudgetKey)}); err != nil {
		return nil, fmt.Errorf("adding the peer indexes to the Remediation informer: %w", err)
	}
	return &peerIndex{indexer: shared.GetIndexer()}, nil
}

// byTarget returns the Remediations whose TargetKey is key, in no particular order (as a List
// returns them; no guard depends on it).
func (p *peerIndex) byTarget(key string) ([]*v1beta1.Remediation, error) {
	return p.by(peerIndexTarget, key)
}

// byBudget returns the Remediations whose BudgetKey is key, in no particular order.
func (p *peerIndex) byBudget(key string) ([]*v1beta1.Remediation, error) {
	return p.by(peerIndexBudget, key)
}

func (p *peerIndex) by(index, key string) ([]*v1beta1.Remediation, error) {
	objs, err := p.indexer.ByIndex(index, key)
	if err != nil {
		return nil, fmt.Errorf("reading the Remediation index %s for %s: %w", index, key, err)
	}
	out := make([]*v1beta1.Remediation, 0, len(objs))
	for _, o := range objs {
		if r, ok := o.(*v1beta1.Remediation); ok {
			out = append(out, r)
		}
	}
	return out, nil
}
