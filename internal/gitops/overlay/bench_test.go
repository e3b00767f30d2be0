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

package overlay

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkPropose measures one proof on a repository of n environments sharing one base: the
// overlay is rendered, then every other kustomization, for each candidate tried (dev has no
// patch, so the shared base is tried and refused before the new patch proves).
func BenchmarkPropose(b *testing.B) {
	for _, n := range []int{3, 30} {
		b.Run(fmt.Sprintf("environments=%d", n), func(b *testing.B) {
			repo := mapRepo{}
			base := fixtureB(b, "base-overlays")
			for k, v := range base {
				if k == "base/kustomization.yaml" || k == "base/deployment.yaml" || k == "base/service.yaml" {
					repo[k] = v
				}
			}
			for i := range n {
				repo[fmt.Sprintf("overlays/env%d/kustomization.yaml", i)] = []byte(fmt.Sprintf("namespace: env%d\nresources:\n- ../../base\n", i))
			}
			target := Target{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "env0", Name: "web"}
			patch := []byte(`[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":4}]`)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Propose(context.Background(), repo, "overlays/env0", target, "", patch, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
