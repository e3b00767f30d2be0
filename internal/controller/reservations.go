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
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// reservations makes the guards' budgets atomic when several workers reconcile Remediations.
//
// A Pending Remediation's guards count its peers (the same target; the same policy budget) and
// its status write is what reserves a place: leaving Pending makes it count against
// maxConcurrent, maxPerHour, maxPerTarget and one-at-a-time for everyone else. Two things make
// that safe with many workers:
//
//   - a lock per target and per budget key, held from reading the peers to the status write, so
//     two Pending Remediations that share either never decide at the same time (keys are taken
//     in one sorted order, so workers never deadlock);
//   - the statuses written under those locks, kept until the cache shows them: the next decision
//     reads a peer's status from here while the informer still holds the version before it, so a
//     stale cache cannot hide a reservation. A peer whose cached resourceVersion is still the
//     one the write was made from gets the written status instead.
//
// Only one manager replica runs the controller (leader election), so an in-process lock is the
// whole story.
type reservations struct {
	mu      sync.Mutex
	locks   map[string]*keyLock
	written map[types.NamespacedName]writtenStatus
}

type keyLock struct {
	sync.Mutex
	refs int
}

// writtenStatus is a status written under the locks, and the resourceVersion it replaced.
type writtenStatus struct {
	status     v1beta1.RemediationStatus
	replacedRV string
	at         time.Time
}

// writtenTTL bounds how long a written status is kept when its object never shows up again in a
// guard's peers (deleted, or no longer anyone's peer): far longer than an informer's delay.
const writtenTTL = 2 * time.Minute

func newReservations() *reservations {
	return &reservations{locks: map[string]*keyLock{}, written: map[types.NamespacedName]writtenStatus{}}
}

// lock takes the locks of keys, in sorted order, and returns the function that releases them.
func (rs *reservations) lock(keys ...string) func() {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	held := make([]*keyLock, 0, len(keys))
	for _, k := range keys {
		rs.mu.Lock()
		l := rs.locks[k]
		if l == nil {
			l = &keyLock{}
			rs.locks[k] = l
		}
		l.refs++
		rs.mu.Unlock()
		l.Lock()
		held = append(held, l)
	}
	return func() {
		for _, h := range slices.Backward(held) {
			h.Unlock()
		}
		rs.mu.Lock()
		defer rs.mu.Unlock()
		for i, k := range keys {
			if held[i].refs--; held[i].refs == 0 {
				delete(rs.locks, k)
			}
		}
	}
}

// record keeps the status written on key over the object version replacedRV.
func (rs *reservations) record(key types.NamespacedName, status *v1beta1.RemediationStatus, replacedRV string, now time.Time) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for k, w := range rs.written {
		if now.Sub(w.at) > writtenTTL {
			delete(rs.written, k)
		}
	}
	rs.written[key] = writtenStatus{status: *status.DeepCopy(), replacedRV: replacedRV, at: now}
}

// overlay replaces the status of every peer the cache shows at the version a recorded write
// replaced, and forgets writes the cache has caught up with. peers may point into the cache: an
// overlaid peer is replaced in the slice by a shallow copy carrying the reserved status, never
// changed through its pointer.
func (rs *reservations) overlay(peers []*v1beta1.Remediation) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.written) == 0 {
		return
	}
	for i, p := range peers {
		if p == nil {
			continue
		}
		key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
		w, ok := rs.written[key]
		if !ok {
			continue
		}
		if p.ResourceVersion == w.replacedRV {
			c := *p
			c.Status = *w.status.DeepCopy()
			peers[i] = &c
			continue
		}
		delete(rs.written, key)
	}
}
