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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func TestFoldAlert(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }
	cases := []struct {
		name        string
		status      v1beta1.RemediationStatus
		annotations map[string]string
		want        v1beta1.RemediationStatus
		changed     bool
	}{
		{
			name:        "first fold of a new alert",
			annotations: map[string]string{v1beta1.AnnotationAlertCount: "1", v1beta1.AnnotationAlertLastSeen: FormatTime(t0)},
			want:        v1beta1.RemediationStatus{AlertCount: 1, LastSeen: at(0)},
			changed:     true,
		},
		{
			name:        "repeats raise the count and lastSeen",
			status:      v1beta1.RemediationStatus{AlertCount: 1, LastSeen: at(0)},
			annotations: map[string]string{v1beta1.AnnotationAlertCount: "7", v1beta1.AnnotationAlertLastSeen: FormatTime(t0.Add(time.Minute))},
			want:        v1beta1.RemediationStatus{AlertCount: 7, LastSeen: at(time.Minute)},
			changed:     true,
		},
		{
			name:        "folding again changes nothing",
			status:      v1beta1.RemediationStatus{AlertCount: 7, LastSeen: at(time.Minute)},
			annotations: map[string]string{v1beta1.AnnotationAlertCount: "7", v1beta1.AnnotationAlertLastSeen: FormatTime(t0.Add(time.Minute))},
			want:        v1beta1.RemediationStatus{AlertCount: 7, LastSeen: at(time.Minute)},
		},
		{
			name:        "an older or lower annotation never lowers status",
			status:      v1beta1.RemediationStatus{AlertCount: 9, LastSeen: at(time.Hour), AlertResolvedAt: at(2 * time.Hour)},
			annotations: map[string]string{v1beta1.AnnotationAlertCount: "2", v1beta1.AnnotationAlertLastSeen: FormatTime(t0), v1beta1.AnnotationAlertResolvedAt: FormatTime(t0)},
			want:        v1beta1.RemediationStatus{AlertCount: 9, LastSeen: at(time.Hour), AlertResolvedAt: at(2 * time.Hour)},
		},
		{
			name:        "resolution is recorded",
			status:      v1beta1.RemediationStatus{AlertCount: 3, LastSeen: at(0)},
			annotations: map[string]string{v1beta1.AnnotationAlertCount: "3", v1beta1.AnnotationAlertResolvedAt: FormatTime(t0.Add(5 * time.Minute))},
			want:        v1beta1.RemediationStatus{AlertCount: 3, LastSeen: at(0), AlertResolvedAt: at(5 * time.Minute)},
			changed:     true,
		},
		{
			name:        "garbage is ignored",
			status:      v1beta1.RemediationStatus{AlertCount: 3},
			annotations: map[string]string{v1beta1.AnnotationAlertCount: "-4", v1beta1.AnnotationAlertLastSeen: "yesterday", v1beta1.AnnotationAlertResolvedAt: "99999999999"},
			want:        v1beta1.RemediationStatus{AlertCount: 3},
		},
		{
			name:        "sub-second times fold to the second",
			annotations: map[string]string{v1beta1.AnnotationAlertLastSeen: "2026-12-02T10:00:00.900Z"},
			want:        v1beta1.RemediationStatus{LastSeen: at(0)},
			changed:     true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.status
			changed := FoldAlert(&st, ReadSightings(tc.annotations))
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if st.AlertCount != tc.want.AlertCount || !sameTime(st.LastSeen, tc.want.LastSeen) || !sameTime(st.AlertResolvedAt, tc.want.AlertResolvedAt) {
				t.Errorf("status = %d %v %v, want %d %v %v", st.AlertCount, st.LastSeen, st.AlertResolvedAt,
					tc.want.AlertCount, tc.want.LastSeen, tc.want.AlertResolvedAt)
			}
		})
	}
}

func TestReadSightingsPullRequest(t *testing.T) {
	cases := []struct {
		raw  string
		want bool
	}{
		{`{"repository":"acme/apps","number":7,"state":"merged","nodeID":"PR_1"}`, true},
		{`{"repository":"acme/apps","number":0,"state":"merged"}`, false},
		{`{"number":7,"state":"merged"}`, false},
		{`not json`, false},
	}
	for _, tc := range cases {
		got := ReadSightings(map[string]string{v1beta1.AnnotationPullRequest: tc.raw}).PullRequest
		if (got != nil) != tc.want {
			t.Errorf("%s: got %+v, want present=%v", tc.raw, got, tc.want)
		}
	}
}

func sameTime(a, b *metav1.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Time.Equal(b.Time)
}
