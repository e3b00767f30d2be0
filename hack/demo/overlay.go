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

package main

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/test/harness"
)

const (
	// LayoutPlain is one manifest with heal8s's source-path annotation (hack/demo/repo).
	LayoutPlain = "plain"
	// LayoutOverlay is a kustomize base with staging and production overlays, applied by a Flux
	// Kustomization (hack/demo/overlay-repo): heal8s finds the source from Flux.
	LayoutOverlay = "overlay"

	fluxNamespace   = "flux-system"
	fluxName        = "demo"
	productionPath  = "overlays/production"
	fluxNameLabel   = "kustomize.toolkit.fluxcd.io/name"
	fluxNSLabel     = "kustomize.toolkit.fluxcd.io/namespace"
	renderedSection = "### Proof by rendering"
)

// layout is what differs between the demo's repositories: where the files come from, how "Flux"
// applies main, what the reviewer is shown before merging.
type layout struct {
	name string
	// files is the repository's first commit, then every path a merged pull request added.
	files map[string]string
	// deploy applies main to the cluster as the GitOps tool would.
	deploy func(ctx context.Context, st *harness.Stack) error
	// review shows the pull request to the reviewer, before the merge.
	review func(st *harness.Stack, rem *v1beta1.Remediation) error
	// discovered says the policy names no repository: heal8s finds it.
	discovered bool
}

func newLayout(root, name string) (*layout, error) {
	l := &layout{name: name}
	dir := "repo"
	if name == LayoutOverlay {
		dir = "overlay-repo"
	}
	files, err := harness.ReadRepoDir(filepath.Join(root, "hack", "demo", dir))
	if err != nil {
		return nil, err
	}
	l.files = files
	switch name {
	case LayoutPlain:
		l.deploy = func(ctx context.Context, st *harness.Stack) error { return st.FluxApply(ctx, "main", manifestPath) }
		l.review = func(st *harness.Stack, rem *v1beta1.Remediation) error {
			return showDiff(st, rem.Status.PullRequest, manifestPath)
		}
	case LayoutOverlay:
		l.discovered = true
		l.deploy = l.fluxBuildApply
		l.review = l.showRenderedProof
	default:
		return nil, fmt.Errorf("LAYOUT must be %s or %s, not %q", LayoutPlain, LayoutOverlay, name)
	}
	return l, nil
}

// installFlux installs Flux's CRDs (trimmed, test/fixtures/gitops-crds) and creates the
// GitRepository and the Kustomization of the production overlay, as `flux bootstrap` would.
func (l *layout) installFlux(ctx context.Context, st *harness.Stack, root string) error {
	if _, err := envtest.InstallCRDs(st.ControlPlane.Config, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(root, "test", "fixtures", "gitops-crds")}, ErrorIfPathMissing: true}); err != nil {
		return fmt.Errorf("installing Flux's CRDs: %w", err)
	}
	if err := st.ControlPlane.EnsureNamespace(ctx, fluxNamespace, nil); err != nil {
		return err
	}
	c := st.ControlPlane.Client
	url := strings.TrimSuffix(st.GitHub.URL(), "/") + "/" + repository + ".git"
	repo := object("source.toolkit.fluxcd.io/v1", "GitRepository", fluxName, map[string]any{
		"interval": "1m0s", "url": url, "ref": map[string]any{"branch": "main"}})
	if err := c.Create(ctx, repo); err != nil {
		return fmt.Errorf("creating the GitRepository: %w", err)
	}
	ks := object("kustomize.toolkit.fluxcd.io/v1", "Kustomization", fluxName, map[string]any{
		"interval": "10m0s", "path": "./" + productionPath, "prune": true,
		"sourceRef": map[string]any{"kind": "GitRepository", "name": fluxName}})
	if err := c.Create(ctx, ks); err != nil {
		return fmt.Errorf("creating the Kustomization: %w", err)
	}
	say("Flux GitRepository %s/%s  %s (branch main)", fluxNamespace, fluxName, url)
	say("Flux Kustomization %s/%s  path ./%s", fluxNamespace, fluxName, productionPath)
	return nil
}

func object(apiVersion, kind, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(fluxNamespace)
	u.SetName(name)
	return u
}

// fluxBuildApply plays kustomize-controller: it builds the production overlay from main, applies
// every object with Flux's labels and records them in the Kustomization's status.inventory.
func (l *layout) fluxBuildApply(ctx context.Context, st *harness.Stack) error {
	fs := filesys.MakeFsInMemory()
	for p := range l.files {
		content, err := st.GitHub.ReadFile(repository, "main", p)
		if err != nil {
			return fmt.Errorf("reading %s on main: %w", p, err)
		}
		if err := fs.MkdirAll("/" + path.Dir(p)); err != nil {
			return err
		}
		if err := fs.WriteFile("/"+p, []byte(content)); err != nil {
			return err
		}
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/"+productionPath)
	if err != nil {
		return fmt.Errorf("kustomize build %s: %w", productionPath, err)
	}
	c := st.ControlPlane.Client
	var entries []any
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{Object: obj}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[fluxNameLabel], labels[fluxNSLabel] = fluxName, fluxNamespace
		u.SetLabels(labels)
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(harness.GitOpsFieldManager),
			client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		gv := u.GroupVersionKind()
		entries = append(entries, map[string]any{"id": u.GetNamespace() + "_" + u.GetName() + "_" + gv.Group + "_" + gv.Kind, "v": gv.Version})
	}
	ks := &unstructured.Unstructured{}
	ks.SetAPIVersion("kustomize.toolkit.fluxcd.io/v1")
	ks.SetKind("Kustomization")
	if err := c.Get(ctx, client.ObjectKey{Namespace: fluxNamespace, Name: fluxName}, ks); err != nil {
		return fmt.Errorf("reading the Kustomization: %w", err)
	}
	if err := unstructured.SetNestedField(ks.Object, map[string]any{"entries": entries}, "status", "inventory"); err != nil {
		return err
	}
	if err := c.Status().Update(ctx, ks); err != nil {
		return fmt.Errorf("recording the Kustomization's inventory: %w", err)
	}
	return nil
}

// showRenderedProof prints how heal8s found the source, the edited file's diff and the pull
// request body's rendered-diff section.
func (l *layout) showRenderedProof(st *harness.Stack, rem *v1beta1.Remediation) error {
	pr := rem.Status.PullRequest
	if src := rem.Status.Source; src != nil {
		say("    found by:  %s", src.FoundBy)
		say("    edited:    %s (%s)", src.Path, src.Layer)
		say("    render:    %s %s", src.Render, src.RenderMessage)
	}
	diff, err := st.GitHub.Diff(repository, "main", pr.Branch)
	if err != nil {
		return fmt.Errorf("comparing %s with main: %w", pr.Branch, err)
	}
	slices.Sort(diff.Files)
	for _, f := range diff.Files {
		if _, ok := l.files[f]; !ok {
			l.files[f] = ""
		}
		if err := showDiff(st, pr, f); err != nil {
			return err
		}
	}
	prs, err := st.GitHub.PullRequests(repository)
	if err != nil {
		return err
	}
	for _, p := range prs {
		if p.Head != pr.Branch {
			continue
		}
		i := strings.Index(p.Body, renderedSection)
		if i < 0 {
			return fmt.Errorf("pull request #%d has no %q section", p.Number, renderedSection)
		}
		section := p.Body[i:]
		if j := strings.Index(section[len(renderedSection):], "\n### "); j >= 0 {
			section = section[:len(renderedSection)+j]
		}
		say("    the pull request's proof by rendering:")
		for line := range strings.SplitSeq(strings.TrimRight(section, "\n"), "\n") {
			say("      %s", line)
		}
	}
	return nil
}
