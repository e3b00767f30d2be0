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

package manifest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

// TestApplyGolden applies testdata/<case>/patch.json to input.yaml at location.json (document
// 0 when absent) and wants want.yaml byte for byte.
func TestApplyGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "input.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			g := NewWithT(t)
			input, err := os.ReadFile(in)
			g.Expect(err).NotTo(HaveOccurred())
			patch, err := os.ReadFile(filepath.Join(dir, "patch.json"))
			g.Expect(err).NotTo(HaveOccurred())
			want, err := os.ReadFile(filepath.Join(dir, "want.yaml"))
			g.Expect(err).NotTo(HaveOccurred())
			loc := Location{Path: "input.yaml"}
			if b, err := os.ReadFile(filepath.Join(dir, "location.json")); err == nil {
				var l struct {
					Index   int    `json:"index"`
					Pointer string `json:"pointer"`
				}
				g.Expect(json.Unmarshal(b, &l)).To(Succeed())
				loc.Index, loc.Pointer = l.Index, l.Pointer
			}

			got, err := Apply(input, loc, patch)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(Equal(string(want)))
		})
	}
}

// TestApplyErrors covers plans the manifest cannot take.
func TestApplyErrors(t *testing.T) {
	const doc = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: api
        image: acme/api:1
        args: |
          --verbose
        resources:
          limits:
            memory: "512Mi"
`
	cases := []struct {
		name  string
		patch string
		loc   Location
		want  error
		msg   string
	}{
		{
			name:  "test mismatch names path and both values",
			patch: `[{"op":"test","path":"/spec/template/spec/containers/0/resources/limits/memory","value":"1Gi"}]`,
			want:  ErrConflict,
			msg:   `at /spec/template/spec/containers/0/resources/limits/memory the manifest has "512Mi", the live object had "1Gi"`,
		},
		{
			name:  "test on a path missing in the manifest",
			patch: `[{"op":"test","path":"/spec/template/spec/containers/0/resources/limits/cpu","value":"1"}]`,
			want:  ErrConflict,
			msg:   "not in the manifest",
		},
		{
			name:  "replicas differ",
			patch: `[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":3}]`,
			want:  ErrConflict,
			msg:   "the manifest has 3, the live object had 2",
		},
		{
			name:  "replace of a missing key",
			patch: `[{"op":"replace","path":"/spec/paused","value":true}]`,
			want:  ErrConflict,
		},
		{
			name:  "add under a scalar",
			patch: `[{"op":"add","path":"/spec/replicas/max","value":5}]`,
			want:  ErrConflict,
		},
		{
			name:  "test of a missing field with a value",
			patch: `[{"op":"test","path":"/spec/template/spec/containers/0/resources/requests","value":{"cpu":"1"}}]`,
			want:  ErrConflict,
			msg:   `/spec/template/spec/containers/0/resources/requests is not in the manifest, the live object had {"cpu":"1"}`,
		},
		{
			name:  "manifest sets a value the live object lacks",
			patch: `[{"op":"test","path":"/spec/template/spec/containers/0/resources","value":{"requests":{"cpu":"1"}}}]`,
			want:  ErrConflict,
		},
		{
			name:  "container index out of range",
			patch: `[{"op":"replace","path":"/spec/template/spec/containers/3/image","value":"x"}]`,
			want:  ErrConflict,
		},
		{
			name:  "block scalar",
			patch: `[{"op":"replace","path":"/spec/template/spec/containers/0/args","value":"--quiet"}]`,
			want:  ErrUnsupported,
		},
		{
			name:  "move",
			patch: `[{"op":"move","from":"/spec/replicas","path":"/spec/x"}]`,
			want:  ErrUnsupported,
		},
		{
			name:  "not JSON",
			patch: `{"op":"replace"}`,
			want:  ErrInvalidPatch,
		},
		{
			name:  "no value",
			patch: `[{"op":"replace","path":"/spec/replicas"}]`,
			want:  ErrInvalidPatch,
		},
		{
			name:  "bad pointer",
			patch: `[{"op":"replace","path":"spec/replicas","value":1}]`,
			want:  ErrInvalidPatch,
		},
		{
			name:  "document index out of range",
			patch: `[{"op":"replace","path":"/spec/replicas","value":1}]`,
			loc:   Location{Index: 2},
			want:  ErrNotFound,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := Apply([]byte(doc), tc.loc, []byte(tc.patch))
			g.Expect(err).To(HaveOccurred())
			g.Expect(errors.Is(err, tc.want)).To(BeTrue(), "error %v is not %v", err, tc.want)
			if tc.msg != "" {
				g.Expect(err.Error()).To(ContainSubstring(tc.msg))
			}
		})
	}
}
