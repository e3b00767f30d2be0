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

package gitprovider

import (
	"strings"
	"testing"
)

func TestAfterEdit(t *testing.T) {
	base := Proposal{Body: "body\n", Labels: []string{"heal8s", "increasememory"}}
	if got := base.AfterEdit(); got.Body != base.Body || len(got.Labels) != 2 {
		t.Fatalf("no evidence changed the proposal: %+v", got)
	}

	var ev *Evidence
	p := base
	p.Evidence = func() *Evidence { return ev }
	if got := p.AfterEdit(); got.Body != base.Body {
		t.Fatalf("nil evidence changed the body: %q", got.Body)
	}

	ev = &Evidence{Source: "Flux Kustomization flux-system/apps", Layer: "apps/production/podinfo-patch.yaml",
		RenderedDiff: "--- a\n+++ b\n-  replicas: 1\n+  replicas: 2\n```\n<script>", Checked: []string{"apps/staging"}}
	got := p.AfterEdit()
	for _, want := range []string{"### Proof by rendering", "```diff\n--- a", "+  replicas: 2", "`apps/staging`", "renders unchanged"} {
		if !strings.Contains(got.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, got.Body)
		}
	}
	// The diff is the repository's text: it cannot close the fence.
	if strings.Count(got.Body, "```") != 2 {
		t.Errorf("the diff closed the fence:\n%s", got.Body)
	}
	if len(got.Labels) != 2 {
		t.Errorf("a verified render added a label: %v", got.Labels)
	}

	ev = &Evidence{Unverified: "overlays/prod uses a remote base"}
	got = p.AfterEdit()
	if !strings.Contains(got.Body, "**Not verified by rendering**") || got.Labels[len(got.Labels)-1] != UnverifiedRenderLabel {
		t.Errorf("unverified: body %q labels %v", got.Body, got.Labels)
	}
	if len(base.Labels) != 2 {
		t.Errorf("AfterEdit changed the caller's labels: %v", base.Labels)
	}
	if again := got.AfterEdit(); strings.Count(strings.Join(again.Labels, ","), UnverifiedRenderLabel) != 1 {
		t.Errorf("label added twice: %v", again.Labels)
	}
}
