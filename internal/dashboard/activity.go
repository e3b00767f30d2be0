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

package dashboard

import (
	"slices"
	"sync"
	"time"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Activity is one phase transition of one Remediation, the unit of the recent-activity feed.
type Activity struct {
	// Time the Remediation entered Phase.
	Time time.Time
	// Namespace and Name identify the Remediation.
	Namespace, Name string
	// Phase entered.
	Phase v1beta1.Phase
	// Reason the engine gave for the transition.
	Reason string
	// Action is the Remediation's action type, so the feed reads without a click.
	Action string
	// Target is the workload, as Kind/name.
	Target string
}

func (a Activity) key() string {
	return a.Namespace + "/" + a.Name + "/" + string(a.Phase) + "/" + a.Time.UTC().Format(time.RFC3339Nano)
}

// Feed keeps the newest N activities in time order. It is a ring buffer that also accepts
// entries out of order (the informer's initial list replays the history of every Remediation in
// no particular order): the oldest entry is the one dropped when it is full, and an entry it has
// already seen is ignored, so replaying the same history twice changes nothing.
type Feed struct {
	mu      sync.Mutex
	size    int
	entries []Activity // oldest first
	seen    map[string]struct{}
}

// NewFeed returns a feed holding at most size entries (at least one).
func NewFeed(size int) *Feed {
	size = max(size, 1)
	return &Feed{size: size, seen: make(map[string]struct{}, size)}
}

// Add records a, reporting whether the feed changed.
func (f *Feed) Add(a Activity) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := a.key()
	if _, dup := f.seen[k]; dup {
		return false
	}
	if len(f.entries) == f.size && !a.Time.After(f.entries[0].Time) {
		return false // older than everything kept
	}
	i, _ := slices.BinarySearchFunc(f.entries, a, func(e, t Activity) int {
		if e.Time.After(t.Time) {
			return 1
		}
		return -1 // equal times keep arrival order
	})
	f.entries = slices.Insert(f.entries, i, a)
	f.seen[k] = struct{}{}
	if len(f.entries) > f.size {
		delete(f.seen, f.entries[0].key())
		f.entries = slices.Delete(f.entries, 0, 1)
	}
	return true
}

// Recent returns up to n entries, newest first; n <= 0 means all.
func (f *Feed) Recent(n int) []Activity {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= 0 || n > len(f.entries) {
		n = len(f.entries)
	}
	out := make([]Activity, 0, n)
	for i := len(f.entries) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, f.entries[i])
	}
	return out
}

// transitions returns the activities old -> cur adds: the history entries cur has that old does
// not. Where the engine changed the phase without recording history, the change itself is the
// activity, stamped now. old is nil for a Remediation the cache has just seen.
func transitions(old, cur *v1beta1.Remediation, now time.Time) []Activity {
	base := Activity{
		Namespace: cur.Namespace,
		Name:      cur.Name,
		Action:    actionOf(cur),
		Target:    string(cur.Spec.Target.Kind) + "/" + cur.Spec.Target.Name,
	}
	var known map[string]struct{}
	if old != nil {
		known = make(map[string]struct{}, len(old.Status.History))
		for _, h := range old.Status.History {
			known[string(h.Phase)+"/"+h.Time.UTC().Format(time.RFC3339)] = struct{}{}
		}
	}
	var out []Activity
	for _, h := range cur.Status.History {
		if _, ok := known[string(h.Phase)+"/"+h.Time.UTC().Format(time.RFC3339)]; ok {
			continue
		}
		a := base
		a.Time, a.Phase, a.Reason = h.Time.Time, h.Phase, h.Reason
		out = append(out, a)
	}
	if len(out) == 0 && old != nil && cur.Status.Phase != "" && old.Status.Phase != cur.Status.Phase {
		a := base
		a.Time, a.Phase, a.Reason = now, cur.Status.Phase, cur.Status.Reason
		out = append(out, a)
	}
	return out
}
