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

package actions

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func FuzzParseRevision(f *testing.F) {
	for _, s := range []string{"1", "12", "0", "-3", "", "four", "007", "9223372036854775808", " 5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseRevision(s)
		if err != nil {
			if !errors.Is(err, errBadRevision) {
				t.Fatalf("error %v does not wrap errBadRevision", err)
			}
			return
		}
		if n <= 0 {
			t.Fatalf("accepted non-positive revision %d from %q", n, s)
		}
		if back, _ := strconv.ParseInt(s, 10, 64); back != n {
			t.Fatalf("%q parsed as %d", s, n)
		}
	})
}

func FuzzRevisionImages(f *testing.F) {
	for _, s := range []string{
		`{"spec":{"template":{"$patch":"replace","spec":{"containers":[{"name":"app","image":"db:v1"}]}}}}`,
		`{"spec":{"template":{"spec":{"containers":[{"name":"","image":"x"},{"name":"b"}]}}}}`,
		`{"spec":{"template":{"spec":{"containers":null}}}}`,
		`{"spec":{"template":{"spec":{"containers":{"name":"app"}}}}}`,
		`{}`, `null`, `[]`, `{"spec":`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		images, err := revisionImages(data)
		if err != nil {
			return // Malformed or wrongly shaped data is rejected; it must not panic.
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		for name := range images {
			if name == "" {
				t.Fatalf("empty container name in %v", images)
			}
		}
	})
}

// FuzzPlanIncreaseMemory checks the planner's promises for any parsable limit and request:
// the new limit grows, stays within the cap, the request never passes the limit, and the patch
// applies to the object and writes exactly the planned values.
func FuzzPlanIncreaseMemory(f *testing.F) {
	for _, s := range [][2]string{{"512Mi", "256Mi"}, {"", ""}, {"1G", ""}, {"", "3Gi"}, {"1", "1"}, {"1.5Gi", "100m"}, {"2Gi", "1Gi"}, {"0", "0"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, limit, request string) {
		c := corev1.Container{Name: "app"}
		for _, in := range []struct {
			s   string
			dst *corev1.ResourceList
		}{{limit, &c.Resources.Limits}, {request, &c.Resources.Requests}} {
			if in.s == "" {
				continue
			}
			q, err := resource.ParseQuantity(in.s)
			if err != nil || q.Sign() < 0 {
				return
			}
			*in.dst = corev1.ResourceList{corev1.ResourceMemory: q}
		}
		d := deployment(c)
		p, err := PlanIncreaseMemory(d, "", nil)
		if err != nil {
			if errors.Is(err, ErrAtMaximum) || errors.Is(err, ErrNoChange) {
				return
			}
			t.Fatalf("unexpected error: %v", err)
		}
		newLimit := resource.MustParse(p.After[appLimitMem])
		if capLimit := resource.MustParse("2Gi"); newLimit.Cmp(capLimit) > 0 {
			t.Fatalf("limit %s above the cap", newLimit.String())
		}
		if old, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && old.Sign() > 0 && newLimit.Cmp(old) <= 0 {
			t.Fatalf("limit did not grow: %s -> %s", old.String(), newLimit.String())
		}
		if r, ok := p.After[appRequestMem]; ok {
			if req := resource.MustParse(r); req.Cmp(newLimit) > 0 {
				t.Fatalf("request %s above limit %s", r, newLimit.String())
			}
		}
		doc, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		patch, err := jsonpatch.DecodePatch(p.Patch)
		if err != nil {
			t.Fatal(err)
		}
		out, err := patch.Apply(doc)
		if err != nil {
			t.Fatalf("patch does not apply: %v", err)
		}
		var got appsv1.Deployment
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		gotLimit := got.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory]
		if gotLimit.Cmp(newLimit) != 0 {
			t.Fatalf("patched limit %s, planned %s", gotLimit.String(), newLimit.String())
		}
	})
}
