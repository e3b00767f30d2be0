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
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkApply(b *testing.B) {
	dir := filepath.Join("testdata", "multi-doc-add-memory")
	input, err1 := os.ReadFile(filepath.Join(dir, "input.yaml"))
	patch, err2 := os.ReadFile(filepath.Join(dir, "patch.json"))
	if err1 != nil || err2 != nil {
		b.Fatal(err1, err2)
	}
	loc := Location{Path: "input.yaml", Index: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Apply(input, loc, patch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocateSearch searches a repository of 1000 manifests, each naming its own object.
func BenchmarkLocateSearch(b *testing.B) {
	repo := memRepo{}
	for i := range 1000 {
		repo[fmt.Sprintf("apps/team-%d/app-%d.yaml", i%20, i)] = deployment(fmt.Sprintf("app-%d", i), "shop")
	}
	obj := Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "app-777"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Locate(context.Background(), repo, obj, Hints{}); err != nil {
			b.Fatal(err)
		}
	}
}
