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

package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitops/discover"
	"github.com/heal8s/heal8s/internal/gitops/helmvalues"
	"github.com/heal8s/heal8s/internal/gitops/overlay"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/manifest"
	"github.com/heal8s/heal8s/internal/remediation"
)

// Discovery reads Flux's and Argo CD's objects with get only, around the cache (their CRDs may
// not be installed, and heal8s should not hold informers on them).
// +kubebuilder:rbac:groups=kustomize.toolkit.fluxcd.io,resources=kustomizations,verbs=get
// +kubebuilder:rbac:groups=helm.toolkit.fluxcd.io,resources=helmreleases,verbs=get
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=gitrepositories,verbs=get
// +kubebuilder:rbac:groups=argoproj.io,resources=applications,verbs=get

// DefaultArgoCDNamespaces are where Argo CD Applications are read from when
// RemediationReconciler.ArgoCDNamespaces is empty.
var DefaultArgoCDNamespaces = []string{"argocd"}

// apiGetter reads Flux and Argo CD objects as unstructured data.
type apiGetter struct{ r client.Reader }

func (g apiGetter) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err := g.r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u)
	switch {
	case apierrors.IsNotFound(err), meta.IsNoMatchError(err):
		// No such object, or the tool (or this API version of it) is not installed.
		return nil, fmt.Errorf("%s %s/%s: %w", gvk.Kind, namespace, name, discover.ErrObjectNotFound)
	case err != nil:
		return nil, fmt.Errorf("reading %s %s/%s: %w", gvk.Kind, namespace, name, err)
	}
	return u, nil
}

// gitSource is where a GitOps remediation proposes its change.
type gitSource struct {
	// Repository and BaseBranch are where the pull request goes.
	Repository, BaseBranch string
	// Discovered is set when Flux or Argo CD told where the target comes from.
	Discovered *discover.Source
	// FoundBy says how, for the status and the pull request.
	FoundBy string
}

// resolveSource decides the repository, branch and (when discovered) directory of the
// target's manifests. The policy's spec.git.path or the heal8s.io/source-path annotation name the
// file explicitly and skip discovery; otherwise the target's Flux or Argo CD metadata is followed
// (discover.Discover checks that the named object claims the target). A discovered repository
// must be on the host the policy's credentials go to and, when the policy names a repository,
// be that one; the Secret's allowed-repositories are checked afterwards by r.provider, as for
// any repository.
func (r *RemediationReconciler) resolveSource(ctx context.Context, s *scope, target client.Object, gvk schema.GroupVersionKind) (gitSource, *remediation.Outcome, error) {
	git := s.policy.Spec.Git
	fromPolicy := gitSource{Repository: git.Repository, BaseBranch: baseBranchOr(git.BaseBranch, ""), FoundBy: "the policy's spec.git.repository"}
	refuse := func(format string, args ...any) (gitSource, *remediation.Outcome, error) {
		return gitSource{}, &remediation.Outcome{Reason: remediation.GitSourceRefusedReason, Message: fmt.Sprintf(format, args...)}, nil
	}
	if git.Path != "" || target.GetAnnotations()[v1beta1.AnnotationSourcePath] != "" {
		if git.Repository == "" {
			return refuse("spec.git.path or the %s annotation names a file, but the policy names no spec.git.repository", v1beta1.AnnotationSourcePath)
		}
		return fromPolicy, nil, nil
	}
	namespaces := r.ArgoCDNamespaces
	if len(namespaces) == 0 {
		namespaces = DefaultArgoCDNamespaces
	}
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	src, err := discover.Discover(ctx, apiGetter{r: reader}, discover.Target{Group: gvk.Group, Kind: gvk.Kind,
		Namespace: target.GetNamespace(), Name: target.GetName(), Labels: target.GetLabels(), Annotations: target.GetAnnotations()},
		discover.Options{ArgoCDNamespaces: namespaces})
	switch {
	case err == nil:
	case errors.Is(err, discover.ErrNoHint), errors.Is(err, discover.ErrNotClaimed), errors.Is(err, discover.ErrUnsupported),
		errors.Is(err, discover.ErrObjectNotFound):
		if git.Repository == "" {
			return refuse("no repository: the policy names no spec.git.repository and discovery found none: %v", err)
		}
		if !errors.Is(err, discover.ErrNoHint) {
			fromPolicy.FoundBy += fmt.Sprintf(" (discovery from Flux or Argo CD did not apply: %v)", err)
		}
		return fromPolicy, nil, nil
	default:
		return gitSource{}, nil, fmt.Errorf("discovering the Git source of %s: %w", client.ObjectKeyFromObject(target), err)
	}

	ep, _, err := gitaccess.ParseBaseURL(git.BaseURL)
	if err != nil {
		return gitSource{}, &remediation.Outcome{Reason: remediation.GitAccessDeniedReason, Message: err.Error()}, nil
	}
	host, err := gitaccess.CanonicalHost(src.Host)
	if err != nil || host != ep.Host {
		return refuse("%s names repository %s on host %s, but this policy's credentials go to %s; heal8s proposes only there",
			src.Via, src.Repository, src.Host, ep.Host)
	}
	if git.Repository != "" && !strings.EqualFold(git.Repository, src.Repository) {
		return refuse("%s names repository %s, not the policy's spec.git.repository %s", src.Via, src.Repository, git.Repository)
	}
	if strings.Count(src.Repository, "/") != 1 {
		return refuse("%s names repository %s, which is not owner/name", src.Via, src.Repository)
	}
	return gitSource{Repository: src.Repository, BaseBranch: baseBranchOr(src.Branch, git.BaseBranch), Discovered: &src, FoundBy: src.Via}, nil, nil
}

func baseBranchOr(branch, fallback string) string {
	switch {
	case branch != "":
		return branch
	case fallback != "":
		return fallback
	}
	return "main"
}

// editManifest computes the change in the repository at the base commit and what it proved:
// for a discovered kustomization, the layer that wins, proved by rendering (internal/gitops/
// overlay); otherwise the one document that declares the target (internal/manifest), searched
// under the discovered directory and namespace when there is one, and marked unverified.
func editManifest(ctx context.Context, repo gitprovider.Repo, src gitSource, obj manifest.Object, live []byte, pathTemplate string,
	patch []byte) (string, []byte, *gitprovider.Evidence, error) {
	ev := &gitprovider.Evidence{Source: src.FoundBy}
	hints := manifest.Hints{PathTemplate: pathTemplate}
	ev.Unverified = "the manifest was edited where it is declared; heal8s rendered nothing"
	if d := src.Discovered; d != nil {
		hints.Under = d.Path
		// A document without metadata.namespace is the target's when the tool applies the
		// directory to the target's namespace.
		hints.NamespacelessMatches = d.Namespace != "" && d.Namespace == obj.Namespace
		switch d.Render {
		case discover.RenderKustomize:
			res, err := overlay.Propose(ctx, repo, d.Path, overlay.Target{APIVersion: obj.APIVersion, Kind: obj.Kind,
				Namespace: obj.Namespace, Name: obj.Name}, d.Namespace, patch, overlay.Options{})
			switch {
			case err == nil:
				ev.Layer, ev.RenderedDiff, ev.Checked, ev.Unverified = res.Layer, res.Diff, res.Checked, res.Unverified
				return res.Path, res.Content, ev, nil
			case errors.Is(err, overlay.ErrNoKustomization):
				ev.Unverified = fmt.Sprintf("%s has no kustomization file (plain manifests); the declaring document was edited, nothing was rendered", d.Path)
			case errors.Is(err, overlay.ErrNotRenderable):
				ev.Unverified = err.Error()
			default:
				return "", nil, nil, err
			}
		case discover.RenderHelmValues:
			return editHelmValues(ctx, repo, d, ev, live, patch)
		case discover.RenderHelm:
			ev.Unverified = fmt.Sprintf("the target is rendered from the Helm chart %s, which heal8s does not render; the chart's values were not edited", d.Path)
		}
	}
	loc, why, err := manifest.LocateWhy(ctx, repo, obj, hints)
	if err != nil {
		return "", nil, nil, fmt.Errorf("locating the manifest of %s: %w", obj, err)
	}
	content, err := repo.ReadFile(ctx, loc.Path)
	if err != nil {
		return "", nil, nil, fmt.Errorf("reading %s: %w", loc.Path, err)
	}
	out, err := manifest.Apply(content, loc, patch)
	if err != nil {
		return "", nil, nil, fmt.Errorf("patching %s: %w", loc, err)
	}
	ev.Layer = why
	return loc.Path, out, ev, nil
}

// editHelmValues carries the plan into the values of the Flux HelmRelease that renders the
// target (internal/gitops/helmvalues, refusing to guess), edits the layer of the Kustomization
// that applies the HelmRelease and proves it on the rendered HelmRelease. The chart itself is not
// rendered, so the evidence is always unverified.
func editHelmValues(ctx context.Context, repo gitprovider.Repo, d *discover.Source, ev *gitprovider.Evidence, live, patch []byte) (string, []byte, *gitprovider.Evidence, error) {
	valuesPatch, mappings, err := helmvalues.Map(patch, live, d.Values)
	if err != nil {
		return "", nil, nil, fmt.Errorf("carrying the plan into the values of HelmRelease %s: %w", d.HelmRelease, err)
	}
	hrNS, hrName, _ := strings.Cut(d.HelmRelease, "/")
	res, err := overlay.Propose(ctx, repo, d.Path, overlay.Target{APIVersion: d.HelmReleaseAPIVersion, Kind: discover.HelmReleaseGVK.Kind,
		Namespace: hrNS, Name: hrName}, d.Namespace, valuesPatch, overlay.Options{})
	if err != nil {
		return "", nil, nil, err
	}
	keys := make([]string, len(mappings))
	for i, m := range mappings {
		keys[i] = fmt.Sprintf("values.%s (%s → %s) for %s", m.Key, m.Before, m.After, m.Field)
	}
	ev.Layer = res.Layer + "; " + strings.Join(keys, ", ")
	ev.RenderedDiff, ev.Checked = res.Diff, res.Checked
	ev.Unverified = fmt.Sprintf("the HelmRelease %s was rendered and changes only in %s; the chart was not rendered, and that these keys set the fields is the common chart convention",
		d.HelmRelease, strings.Join(keys, ", "))
	if res.Unverified != "" {
		ev.Unverified += "; " + res.Unverified
	}
	return res.Path, res.Content, ev, nil
}

// sourceStatus is the status' record of where the change went and what was proved.
func sourceStatus(src gitSource, path string, ev *gitprovider.Evidence) *v1beta1.GitSourceStatus {
	st := &v1beta1.GitSourceStatus{Repository: src.Repository, Branch: src.BaseBranch, Path: truncate(path, 1024),
		FoundBy: truncate(src.FoundBy, 2048), Render: v1beta1.RenderVerified}
	if ev != nil {
		st.Layer = truncate(ev.Layer, 2048)
		if ev.Unverified != "" {
			st.Render, st.RenderMessage = v1beta1.RenderUnverified, truncate(ev.Unverified, 4096)
		}
	}
	return st
}
