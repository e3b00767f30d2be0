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

package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

// The receiver never writes a Remediation's status: it records what it sees in the sighting
// annotations (v1beta1.AnnotationAlertCount, AnnotationAlertLastSeen, AnnotationAlertResolvedAt)
// and the Remediation controller folds them into status (remediation.FoldAlert). A sighting
// write is a JSON patch whose test operations hold the annotation values it was computed from:
// it never conflicts with the controller's status writes (which change the resourceVersion, not
// these values), and two replicas adding to one count cannot lose or double an addition (the
// second's test fails, it rereads and adds again).

// sightingUpdate computes new sighting annotations from what a Remediation holds.
type sightingUpdate func(cur remediation.Sightings, r *v1beta1.Remediation) (map[string]string, bool)

// addSightings is the update of n more sightings (0 only moves lastSeen) at t.
func addSightings(n int32, t time.Time) sightingUpdate {
	return func(cur remediation.Sightings, r *v1beta1.Remediation) (map[string]string, bool) {
		count := cur.Count
		if count == 0 {
			// Counted into status before sightings were annotations.
			count = r.Status.AlertCount
		}
		set := map[string]string{}
		if n > 0 {
			set[v1beta1.AnnotationAlertCount] = strconv.FormatInt(int64(count)+int64(n), 10)
		}
		if last := lastSeenOf(cur, r); t.Truncate(time.Second).After(last) {
			set[v1beta1.AnnotationAlertLastSeen] = remediation.FormatTime(t)
		}
		return set, len(set) > 0
	}
}

// resolvedSighting is the update that records the alert resolved at t, unless a resolution as
// late is already recorded.
func resolvedSighting(t time.Time) sightingUpdate {
	return func(cur remediation.Sightings, r *v1beta1.Remediation) (map[string]string, bool) {
		if !t.Truncate(time.Second).After(resolvedAtOf(cur, r)) {
			return nil, false
		}
		return map[string]string{v1beta1.AnnotationAlertResolvedAt: remediation.FormatTime(t)}, true
	}
}

// lastSeenOf is the later of the annotation and what status already holds.
func lastSeenOf(cur remediation.Sightings, r *v1beta1.Remediation) time.Time {
	t := cur.LastSeen
	if s := r.Status.LastSeen; s != nil && s.After(t) {
		t = s.Time
	}
	return t
}

func resolvedAtOf(cur remediation.Sightings, r *v1beta1.Remediation) time.Time {
	t := cur.ResolvedAt
	if s := r.Status.AlertResolvedAt; s != nil && s.After(t) {
		t = s.Time
	}
	return t
}

// recordSighting applies update to the Remediation key: read from the cache first, then (after a
// failed test or a cache miss) from the API server, at most maxConflictRetries times. A
// Remediation that is gone has nothing left to record on.
func (in *intake) recordSighting(ctx context.Context, key types.NamespacedName, r *v1beta1.Remediation, update sightingUpdate) error {
	var reader client.Reader = in.client
	for range maxConflictRetries {
		if r == nil {
			r = &v1beta1.Remediation{}
			if err := reader.Get(ctx, key, r); err != nil {
				if apierrors.IsNotFound(err) {
					if reader == in.apiReader {
						return nil
					}
					reader, r = in.apiReader, nil
					continue
				}
				return fmt.Errorf("reading Remediation %s: %w", key, err)
			}
		}
		set, ok := update(remediation.ReadSightings(r.Annotations), r)
		if !ok {
			return nil
		}
		patch, err := sightingPatch(r.Annotations, set)
		if err != nil {
			return err
		}
		err = in.client.Patch(ctx, r, client.RawPatch(types.JSONPatchType, patch))
		switch {
		case err == nil:
			return nil
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsConflict(err), apierrors.IsInvalid(err):
			// A test operation failed: someone recorded a sighting since the read.
			reader, r = in.apiReader, nil
		default:
			return fmt.Errorf("recording a sighting on Remediation %s: %w", key, err)
		}
	}
	return fmt.Errorf("recording a sighting on Remediation %s: the annotations kept changing over %d fresh reads", key, maxConflictRetries)
}

// sightingPatch is a JSON patch (RFC 6902) that sets each annotation of set, after testing that
// it still holds the value in cur (or is absent, when cur lacks it).
func sightingPatch(cur, set map[string]string) ([]byte, error) {
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	var ops []op
	if cur == nil {
		ops = append(ops, op{Op: "test", Path: "/metadata/annotations", Value: nil},
			op{Op: "add", Path: "/metadata/annotations", Value: set})
	} else {
		for _, k := range slices.Sorted(maps.Keys(set)) {
			path := "/metadata/annotations/" + escapePointer(k)
			var old any
			if v, ok := cur[k]; ok {
				old = v
			}
			ops = append(ops, op{Op: "test", Path: path, Value: old}, op{Op: "add", Path: path, Value: set[k]})
		}
	}
	out, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encoding a sighting patch: %w", err)
	}
	return out, nil
}

// escapePointer escapes a JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
