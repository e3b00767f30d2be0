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
	"fmt"
	"slices"
	"strings"
)

// UnverifiedRenderLabel marks a pull request whose change heal8s could not prove by rendering
// (a remote base, a Helm chart, a kustomization that does not render here): review it with care.
const UnverifiedRenderLabel = "heal8s-unverified-render"

// Evidence is what an Edit learned about its change that the reviewer must read: how the file was
// found, which layer was edited and why, and the rendered proof. It is known only once Edit ran
// against the base commit, so providers call Proposal.AfterEdit between Edit and opening the pull
// request.
type Evidence struct {
	// Source says how the repository and path were found (Flux, Argo CD, the policy).
	Source string
	// Layer says which file was edited and why that one.
	Layer string
	// RenderedDiff is the unified diff of the target object as rendered before and after.
	RenderedDiff string
	// Checked lists the other kustomizations rendered before and after, unchanged.
	Checked []string
	// Unverified is non-empty when the change could not be (fully) proved by rendering.
	Unverified string
}

// AfterEdit returns the proposal with the Evidence its Edit recorded (if any) appended to the body
// and, for an unverified render, the UnverifiedRenderLabel added. Providers call it right after
// Edit; it is a no-op for a proposal without Evidence.
func (p Proposal) AfterEdit() Proposal {
	if p.Evidence == nil {
		return p
	}
	ev := p.Evidence()
	if ev == nil {
		return p
	}
	p.Body += renderEvidence(*ev)
	if ev.Unverified != "" && !slices.Contains(p.Labels, UnverifiedRenderLabel) {
		p.Labels = append(append([]string{}, p.Labels...), UnverifiedRenderLabel)
	}
	return p
}

// renderEvidence is the body's "Proof by rendering" section. Paths and diffs come from the
// repository (tenant-writable): they are shown in code spans and fenced blocks only.
func renderEvidence(ev Evidence) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("\n### Where the change goes\n\n")
	if ev.Source != "" {
		w("Found through %s.\n", code(ev.Source))
	}
	if ev.Layer != "" {
		w("Edited layer: %s.\n", code(ev.Layer))
	}
	w("\n### Proof by rendering\n\n")
	switch {
	case ev.RenderedDiff == "" && ev.Unverified != "":
		w("**Not verified by rendering**: %s. Review the change against every environment that uses this file.\n", code(ev.Unverified))
		return b.String()
	case ev.Unverified != "":
		w("**Partly verified**: %s.\n\n", code(ev.Unverified))
	default:
		w("heal8s rendered the kustomization before and after this change: the only difference is the planned change on the target.\n\n")
	}
	if len(ev.Checked) > 0 {
		spans := make([]string, len(ev.Checked))
		for i, c := range ev.Checked {
			spans[i] = code(c)
		}
		w("Every other kustomization in the repository renders unchanged: %s.\n\n", strings.Join(spans, ", "))
	}
	if ev.RenderedDiff != "" {
		d := strings.ReplaceAll(strings.TrimRight(ev.RenderedDiff, "\n"), "`", graveLookalike)
		w("```diff\n%s\n```\n", d)
	}
	return b.String()
}
