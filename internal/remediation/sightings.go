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

package remediation

import (
	"encoding/json"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Sightings is what the receiver and the pull request webhook recorded in a Remediation's
// annotations (v1beta1.AnnotationAlertCount and friends). They never write status: the
// Remediation controller folds sightings into it, so status has one writer.
type Sightings struct {
	// Count is how many times the alert was sent while firing; zero when not recorded.
	Count int32
	// LastSeen and ResolvedAt are zero when not recorded.
	LastSeen, ResolvedAt time.Time
	// PullRequest is the last pull request state GitHub reported, or nil.
	PullRequest *v1beta1.PullRequestSighting
}

// ReadSightings parses the sighting annotations. A value that does not parse counts as not
// recorded: annotations are writable by whoever may edit the Remediation, so they are read as
// hints that can only add to what status holds (see FoldAlert).
func ReadSightings(annotations map[string]string) Sightings {
	var s Sightings
	if n, err := strconv.ParseInt(annotations[v1beta1.AnnotationAlertCount], 10, 32); err == nil && n > 0 {
		s.Count = int32(n)
	}
	s.LastSeen = parseTime(annotations[v1beta1.AnnotationAlertLastSeen])
	s.ResolvedAt = parseTime(annotations[v1beta1.AnnotationAlertResolvedAt])
	if raw := annotations[v1beta1.AnnotationPullRequest]; raw != "" {
		var pr v1beta1.PullRequestSighting
		if err := json.Unmarshal([]byte(raw), &pr); err == nil && pr.Number > 0 && pr.Repository != "" {
			s.PullRequest = &pr
		}
	}
	return s
}

// FoldAlert merges the alert sightings into status: the count only grows and the times only
// move forward, so folding is idempotent and an older or garbled annotation changes nothing.
// It reports whether status changed.
func FoldAlert(st *v1beta1.RemediationStatus, s Sightings) bool {
	changed := false
	if s.Count > st.AlertCount {
		st.AlertCount = s.Count
		changed = true
	}
	if later(st.LastSeen, s.LastSeen) {
		st.LastSeen = &metav1.Time{Time: s.LastSeen}
		changed = true
	}
	if later(st.AlertResolvedAt, s.ResolvedAt) {
		st.AlertResolvedAt = &metav1.Time{Time: s.ResolvedAt}
		changed = true
	}
	return changed
}

// FormatTime is how sighting times are written: RFC 3339 in UTC, to the second, as metav1.Time
// serialises them, so a time folded into status compares equal to the annotation it came from.
func FormatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func parseTime(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}

// later reports whether t is set and after cur (nil counts as the zero time).
func later(cur *metav1.Time, t time.Time) bool {
	if t.IsZero() {
		return false
	}
	return cur == nil || t.After(cur.Time)
}
