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

package github_test

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/providertest"
)

// What the Edit proved reaches the pull request GitHub shows: the body's rendered proof, and the
// unverified-render label when the proof is incomplete.
func TestProposeCarriesTheEditsEvidence(t *testing.T) {
	g := NewWithT(t)
	e := newEnv(t)
	var ev *gitprovider.Evidence
	prop := providertest.NewProposal(repoName, "evidence")
	edit := prop.Edit
	prop.Edit = func(ctx context.Context, repo gitprovider.Repo) (string, []byte, error) {
		ev = &gitprovider.Evidence{Source: "Flux Kustomization flux-system/apps", Layer: "overlays/prod/kustomization.yaml",
			RenderedDiff: "-  replicas: 2\n+  replicas: 4", Unverified: "overlays/dev does not render here"}
		return edit(ctx, repo)
	}
	prop.Evidence = func() *gitprovider.Evidence { return ev }
	_, err := e.p.Propose(context.Background(), prop)
	g.Expect(err).NotTo(HaveOccurred())
	prs, err := e.srv.PullRequests(repoName)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(prs).To(HaveLen(1))
	g.Expect(prs[0].Body).To(HavePrefix(prop.Body))
	g.Expect(prs[0].Body).To(ContainSubstring("### Proof by rendering"))
	g.Expect(prs[0].Body).To(ContainSubstring("+  replicas: 4"))
	g.Expect(prs[0].Labels).To(ContainElement(gitprovider.UnverifiedRenderLabel))
}
