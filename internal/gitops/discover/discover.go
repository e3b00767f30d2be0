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

// Package discover finds where a live object comes from in Git by following what Flux and Argo
// CD write on the objects they apply: Flux's kustomize-controller and helm-controller labels lead
// to the Kustomization or HelmRelease and from there to the GitRepository; Argo CD's tracking
// annotation (or its instance label) leads to the Application.
//
// Labels and annotations on the live object are written by whoever may edit it, a namespace
// tenant included, so they are only a hint: a source is returned only when the Flux or Argo CD
// object they name claims the target itself (the Kustomization's inventory lists it, the
// Application's status.resources lists it, the HelmRelease releases into the target's
// namespace). The caller still checks the repository against its allow-list.
//
// The package is pure: it reads Flux and Argo CD objects as unstructured data through the
// Getter, so heal8s needs neither tool's Go modules, and is table-tested without a cluster.
package discover

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Labels and annotations Flux and Argo CD write on the objects they apply.
const (
	FluxKustomizeNameLabel      = "kustomize.toolkit.fluxcd.io/name"
	FluxKustomizeNamespaceLabel = "kustomize.toolkit.fluxcd.io/namespace"
	FluxHelmNameLabel           = "helm.toolkit.fluxcd.io/name"
	FluxHelmNamespaceLabel      = "helm.toolkit.fluxcd.io/namespace"
	ArgoTrackingIDAnnotation    = "argocd.argoproj.io/tracking-id"
	ArgoInstanceLabel           = "app.kubernetes.io/instance"
)

// Kinds read through the Getter.
var (
	KustomizationGVK = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}
	HelmReleaseGVK   = schema.GroupVersionKind{Group: "helm.toolkit.fluxcd.io", Version: "v2", Kind: "HelmRelease"}
	GitRepositoryGVK = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}
	ApplicationGVK   = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}
)

var (
	// ErrNoHint means the object carries no Flux or Argo CD label or annotation: it was not
	// applied by either (or they were removed), so discovery has nothing to follow.
	ErrNoHint = errors.New("no Flux or Argo CD label or annotation on the object")
	// ErrNotClaimed means the Flux or Argo CD object the labels name does not claim the target:
	// the labels were copied or forged, and heal8s will not propose against that source.
	ErrNotClaimed = errors.New("the GitOps object named by the labels does not manage the target")
	// ErrUnsupported means the source exists but is of a kind heal8s cannot edit (an OCI or
	// Helm repository, several sources, a tag or commit pin).
	ErrUnsupported = errors.New("unsupported GitOps source")
)

// Getter reads one object; a missing object is an error wrapping ErrObjectNotFound.
type Getter interface {
	Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error)
}

// Target is the live object whose source is wanted.
type Target struct {
	// Group is the API group ("apps"); Kind the kind ("Deployment").
	Group, Kind         string
	Namespace, Name     string
	Labels, Annotations map[string]string
}

func (t Target) String() string {
	g := t.Group
	if g == "" {
		g = "core"
	}
	return fmt.Sprintf("%s/%s %s/%s", g, t.Kind, t.Namespace, t.Name)
}

// Options are the platform's settings.
type Options struct {
	// ArgoCDNamespaces are the namespaces Applications are read from (default "argocd"); an
	// Application elsewhere is never looked up.
	ArgoCDNamespaces []string
}

// Render says how the files at Path become objects.
type Render string

const (
	// RenderKustomize: Path is a kustomization directory (or plain manifests kustomize would
	// read, as Flux and Argo CD do when there is no kustomization.yaml).
	RenderKustomize Render = "kustomize"
	// RenderHelm: Path is a Helm chart; values come from HelmRelease or the Application.
	RenderHelm Render = "helm"
	// RenderHelmValues: the target is rendered by a Flux HelmRelease whose YAML a Flux
	// Kustomization applies from Path: the change goes into the HelmRelease's values there.
	RenderHelmValues Render = "helm-values"
)

// Source is where the target's manifests live.
type Source struct {
	// URL is the Git URL as the GitOps tool has it; Host and Repository ("owner/name") are
	// parsed from it.
	URL, Host, Repository string
	// Branch is the branch the tool follows (empty when it follows the default branch, HEAD).
	Branch string
	// Path is the directory inside the repository, cleaned, "" for the root.
	Path string
	// Render says whether Path is a kustomization or a chart.
	Render Render
	// Namespace is the namespace the tool applies namespaceless manifests to (Kustomization
	// spec.targetNamespace, Application destination.namespace), "" when it does not say.
	Namespace string
	// HelmRelease names the Flux HelmRelease ("namespace/name") that renders the target, and
	// ValuesFrom the file in Git that declares it (found by the caller; empty here).
	HelmRelease string
	// ValueFiles are the Application's helm.valueFiles, relative to Path.
	ValueFiles []string
	// HasInlineValues is true when the HelmRelease or Application sets values inline.
	HasInlineValues bool
	// HelmReleaseAPIVersion and Values are the HelmRelease's apiVersion and spec.values as
	// applied (RenderHelmValues).
	HelmReleaseAPIVersion string
	Values                map[string]any
	// Via says how the source was found, for the Remediation's status.
	Via string
}

// Discover follows the target's Flux or Argo CD metadata to its source. It returns ErrNoHint
// when there is nothing to follow, ErrNotClaimed when what the labels name does not manage the
// target, and ErrUnsupported for sources heal8s cannot edit.
func Discover(ctx context.Context, g Getter, t Target, opts Options) (Source, error) {
	switch {
	case t.Labels[FluxHelmNameLabel] != "":
		return fromHelmRelease(ctx, g, t)
	case t.Labels[FluxKustomizeNameLabel] != "":
		return fromKustomization(ctx, g, t)
	case t.Annotations[ArgoTrackingIDAnnotation] != "" || t.Labels[ArgoInstanceLabel] != "":
		return fromApplication(ctx, g, t, opts)
	}
	return Source{}, ErrNoHint
}

// fluxRef reads the name/namespace label pair (the namespace defaults to the target's).
func fluxRef(t Target, nameLabel, nsLabel string) (string, string) {
	ns := t.Labels[nsLabel]
	if ns == "" {
		ns = t.Namespace
	}
	return ns, t.Labels[nameLabel]
}

func fromKustomization(ctx context.Context, g Getter, t Target) (Source, error) {
	ns, name := fluxRef(t, FluxKustomizeNameLabel, FluxKustomizeNamespaceLabel)
	ks, err := g.Get(ctx, KustomizationGVK, ns, name)
	if err != nil {
		return Source{}, fmt.Errorf("reading Flux Kustomization %s/%s named by the labels of %s: %w", ns, name, t, err)
	}
	if !inventoryLists(ks, t) {
		return Source{}, fmt.Errorf("%w: Flux Kustomization %s/%s does not list %s in status.inventory", ErrNotClaimed, ns, name, t)
	}
	src, err := gitRepositoryOf(ctx, g, ks, "Kustomization")
	if err != nil {
		return Source{}, err
	}
	if set := overrides(ks.Object, []string{"spec"}, "patches", "images", "namePrefix", "nameSuffix", "postBuild", "components"); len(set) > 0 {
		return Source{}, fmt.Errorf("%w: Flux Kustomization %s/%s sets %s on top of the repository, which heal8s does not render",
			ErrUnsupported, ns, name, strings.Join(set, ", "))
	}
	p, _, _ := unstructured.NestedString(ks.Object, "spec", "path")
	src.Path = cleanPath(p)
	src.Render = RenderKustomize
	src.Namespace, _, _ = unstructured.NestedString(ks.Object, "spec", "targetNamespace")
	src.Via = fmt.Sprintf("Flux Kustomization %s/%s (labels %s, inventory lists the target) → GitRepository %s, path %q",
		ns, name, FluxKustomizeNameLabel, src.Via, src.Path)
	return src, nil
}

// inventoryLists reports whether a Kustomization's status.inventory has an entry for t. Flux
// writes entry ids as <namespace>_<name>_<group>_<kind> (an empty namespace or group stays
// empty between the underscores).
func inventoryLists(ks *unstructured.Unstructured, t Target) bool {
	entries, _, _ := unstructured.NestedSlice(ks.Object, "status", "inventory", "entries")
	want := t.Namespace + "_" + t.Name + "_" + t.Group + "_" + t.Kind
	for _, e := range entries {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if id, _ := m["id"].(string); id == want {
			return true
		}
	}
	return false
}

func fromHelmRelease(ctx context.Context, g Getter, t Target) (Source, error) {
	ns, name := fluxRef(t, FluxHelmNameLabel, FluxHelmNamespaceLabel)
	hr, err := g.Get(ctx, HelmReleaseGVK, ns, name)
	if err != nil {
		return Source{}, fmt.Errorf("reading Flux HelmRelease %s/%s named by the labels of %s: %w", ns, name, t, err)
	}
	// A Helm release has no inventory in the HelmRelease; what the HelmRelease itself decides is
	// the namespace it installs into, and a tenant cannot claim another namespace's release.
	releaseNS, _, _ := unstructured.NestedString(hr.Object, "spec", "targetNamespace")
	if releaseNS == "" {
		releaseNS = hr.GetNamespace()
	}
	if releaseNS != t.Namespace {
		return Source{}, fmt.Errorf("%w: Flux HelmRelease %s/%s installs into namespace %q, not %q", ErrNotClaimed, ns, name, releaseNS, t.Namespace)
	}
	if hr.GetLabels()[FluxKustomizeNameLabel] != "" {
		// The HelmRelease is itself applied by a Flux Kustomization (the common layout): its
		// values are edited where that Kustomization's overlay sets them. The Kustomization must
		// claim the HelmRelease as it would the workload.
		src, err := fromKustomization(ctx, g, Target{Group: HelmReleaseGVK.Group, Kind: HelmReleaseGVK.Kind,
			Namespace: hr.GetNamespace(), Name: hr.GetName(), Labels: hr.GetLabels()})
		if err != nil {
			return Source{}, fmt.Errorf("following Flux HelmRelease %s/%s to the Kustomization that applies it: %w", ns, name, err)
		}
		src.Render = RenderHelmValues
		src.HelmRelease = ns + "/" + name
		src.HelmReleaseAPIVersion = hr.GetAPIVersion()
		src.Values, src.HasInlineValues, _ = unstructured.NestedMap(hr.Object, "spec", "values")
		src.Via = fmt.Sprintf("Flux HelmRelease %s/%s (labels %s, releases into %s), applied by %s", ns, name, FluxHelmNameLabel, releaseNS, src.Via)
		return src, nil
	}
	kind, _, _ := unstructured.NestedString(hr.Object, "spec", "chart", "spec", "sourceRef", "kind")
	if kind != GitRepositoryGVK.Kind {
		return Source{}, fmt.Errorf("%w: Flux HelmRelease %s/%s takes its chart from a %s, not from Git; its values are in the HelmRelease, "+
			"which Flux applies from Git: set the heal8s.io/source-path annotation or spec.git on the policy", ErrUnsupported, ns, name, kindOrNone(kind))
	}
	src, err := gitRepositoryOfRef(ctx, g, hr, []string{"spec", "chart", "spec", "sourceRef"}, "HelmRelease")
	if err != nil {
		return Source{}, err
	}
	chart, _, _ := unstructured.NestedString(hr.Object, "spec", "chart", "spec", "chart")
	src.Path = cleanPath(chart)
	src.Render = RenderHelm
	src.Namespace = releaseNS
	src.HelmRelease = ns + "/" + name
	_, src.HasInlineValues, _ = unstructured.NestedMap(hr.Object, "spec", "values")
	src.Via = fmt.Sprintf("Flux HelmRelease %s/%s (labels %s, releases into %s) → GitRepository %s, chart %q",
		ns, name, FluxHelmNameLabel, releaseNS, src.Via, src.Path)
	return src, nil
}

func kindOrNone(k string) string {
	if k == "" {
		return "source of no kind"
	}
	return k
}

func gitRepositoryOf(ctx context.Context, g Getter, owner *unstructured.Unstructured, what string) (Source, error) {
	return gitRepositoryOfRef(ctx, g, owner, []string{"spec", "sourceRef"}, what)
}

// gitRepositoryOfRef follows a Flux sourceRef to its GitRepository. Via is set to the
// GitRepository's namespace/name.
func gitRepositoryOfRef(ctx context.Context, g Getter, owner *unstructured.Unstructured, field []string, what string) (Source, error) {
	ref, _, _ := unstructured.NestedStringMap(owner.Object, field...)
	if ref["kind"] != GitRepositoryGVK.Kind {
		return Source{}, fmt.Errorf("%w: Flux %s %s/%s reads from a %s, not a GitRepository", ErrUnsupported, what, owner.GetNamespace(), owner.GetName(), kindOrNone(ref["kind"]))
	}
	ns := ref["namespace"]
	if ns == "" {
		ns = owner.GetNamespace()
	}
	repo, err := g.Get(ctx, GitRepositoryGVK, ns, ref["name"])
	if err != nil {
		return Source{}, fmt.Errorf("reading Flux GitRepository %s/%s of %s %s/%s: %w", ns, ref["name"], what, owner.GetNamespace(), owner.GetName(), err)
	}
	u, _, _ := unstructured.NestedString(repo.Object, "spec", "url")
	host, repository, err := ParseRepoURL(u)
	if err != nil {
		return Source{}, fmt.Errorf("%w: Flux GitRepository %s/%s: %w", ErrUnsupported, ns, ref["name"], err)
	}
	gitRef, _, _ := unstructured.NestedStringMap(repo.Object, "spec", "ref")
	for _, pin := range []string{"commit", "tag", "semver", "name"} {
		if gitRef[pin] != "" {
			return Source{}, fmt.Errorf("%w: Flux GitRepository %s/%s follows %s %q, not a branch: a pull request would not reach the cluster",
				ErrUnsupported, ns, ref["name"], pin, gitRef[pin])
		}
	}
	return Source{URL: u, Host: host, Repository: repository, Branch: gitRef["branch"], Via: ns + "/" + ref["name"]}, nil
}

// ParseTrackingID splits Argo CD's tracking id "<app>:<group>/<kind>:<namespace>/<name>". The
// app may be "<namespace>_<app>" when Applications live outside Argo CD's namespace.
func ParseTrackingID(id string) (app, group, kind, namespace, name string, err error) {
	parts := strings.Split(id, ":")
	if len(parts) != 3 {
		return "", "", "", "", "", fmt.Errorf("tracking id %q is not <app>:<group>/<kind>:<namespace>/<name>", id)
	}
	gk := strings.SplitN(parts[1], "/", 2)
	nn := strings.SplitN(parts[2], "/", 2)
	if parts[0] == "" || len(gk) != 2 || len(nn) != 2 || gk[1] == "" || nn[1] == "" {
		return "", "", "", "", "", fmt.Errorf("tracking id %q is not <app>:<group>/<kind>:<namespace>/<name>", id)
	}
	return parts[0], gk[0], gk[1], nn[0], nn[1], nil
}

func fromApplication(ctx context.Context, g Getter, t Target, opts Options) (Source, error) {
	namespaces := opts.ArgoCDNamespaces
	if len(namespaces) == 0 {
		namespaces = []string{"argocd"}
	}
	appName, how := t.Labels[ArgoInstanceLabel], "label "+ArgoInstanceLabel
	if id := t.Annotations[ArgoTrackingIDAnnotation]; id != "" {
		app, group, kind, ns, name, err := ParseTrackingID(id)
		if err != nil {
			return Source{}, fmt.Errorf("%w: %s: %w", ErrNotClaimed, ArgoTrackingIDAnnotation, err)
		}
		if group != t.Group || kind != t.Kind || ns != t.Namespace || name != t.Name {
			return Source{}, fmt.Errorf("%w: %s %q names another object than %s (copied from another resource?)", ErrNotClaimed, ArgoTrackingIDAnnotation, id, t)
		}
		appName, how = app, "annotation "+ArgoTrackingIDAnnotation
	}
	appNS := ""
	if i := strings.IndexByte(appName, '_'); i > 0 {
		appNS, appName = appName[:i], appName[i+1:]
	}
	var app *unstructured.Unstructured
	for _, ns := range namespaces {
		if appNS != "" && ns != appNS {
			continue
		}
		a, err := g.Get(ctx, ApplicationGVK, ns, appName)
		if err != nil {
			if IsNotFound(err) {
				continue
			}
			return Source{}, fmt.Errorf("reading Argo CD Application %s/%s named by the %s of %s: %w", ns, appName, how, t, err)
		}
		app = a
		break
	}
	if app == nil {
		return Source{}, fmt.Errorf("%w: no Argo CD Application %q in the namespaces heal8s reads Applications from (%s)",
			ErrNotClaimed, appName, strings.Join(namespaces, ", "))
	}
	if !statusResourcesList(app, t) {
		return Source{}, fmt.Errorf("%w: Argo CD Application %s/%s does not list %s in status.resources", ErrNotClaimed, app.GetNamespace(), app.GetName(), t)
	}
	source, found, _ := unstructured.NestedMap(app.Object, "spec", "source")
	if !found {
		sources, _, _ := unstructured.NestedSlice(app.Object, "spec", "sources")
		if len(sources) != 1 {
			return Source{}, fmt.Errorf("%w: Argo CD Application %s/%s has %d sources; heal8s edits applications with one source",
				ErrUnsupported, app.GetNamespace(), app.GetName(), len(sources))
		}
		source, _ = sources[0].(map[string]any)
	}
	repoURL, _, _ := unstructured.NestedString(source, "repoURL")
	if chart, _, _ := unstructured.NestedString(source, "chart"); chart != "" {
		return Source{}, fmt.Errorf("%w: Argo CD Application %s/%s installs chart %q from a Helm repository, not from Git",
			ErrUnsupported, app.GetNamespace(), app.GetName(), chart)
	}
	host, repository, err := ParseRepoURL(repoURL)
	if err != nil {
		return Source{}, fmt.Errorf("%w: Argo CD Application %s/%s: %w", ErrUnsupported, app.GetNamespace(), app.GetName(), err)
	}
	rev, _, _ := unstructured.NestedString(source, "targetRevision")
	if rev == "HEAD" {
		rev = ""
	}
	p, _, _ := unstructured.NestedString(source, "path")
	src := Source{URL: repoURL, Host: host, Repository: repository, Branch: rev, Path: cleanPath(p), Render: RenderKustomize}
	src.Namespace, _, _ = unstructured.NestedString(app.Object, "spec", "destination", "namespace")
	if set := overrides(source, []string{"kustomize"}, "images", "namePrefix", "nameSuffix", "patches", "replicas", "namespace",
		"commonLabels", "components"); len(set) > 0 {
		return Source{}, fmt.Errorf("%w: Argo CD Application %s/%s sets kustomize %s on top of the repository, which heal8s does not render",
			ErrUnsupported, app.GetNamespace(), app.GetName(), strings.Join(set, ", "))
	}
	if helm, ok, _ := unstructured.NestedMap(source, "helm"); ok {
		src.Render = RenderHelm
		src.ValueFiles, _, _ = unstructured.NestedStringSlice(helm, "valueFiles")
		v, _, _ := unstructured.NestedString(helm, "values")
		_, obj, _ := unstructured.NestedMap(helm, "valuesObject")
		src.HasInlineValues = v != "" || obj
	}
	src.Via = fmt.Sprintf("Argo CD Application %s/%s (%s, status.resources lists the target), path %q",
		app.GetNamespace(), app.GetName(), how, src.Path)
	return src, nil
}

// overrides lists which of fields are set under fieldPath in obj: changes the GitOps tool makes
// on top of the repository, so rendering the repository alone would not give what is live.
func overrides(obj map[string]any, fieldPath []string, fields ...string) []string {
	m, ok, _ := unstructured.NestedMap(obj, fieldPath...)
	if !ok {
		return nil
	}
	var set []string
	for _, f := range fields {
		if v, ok := m[f]; ok && v != nil && v != "" {
			set = append(set, f)
		}
	}
	return set
}

// statusResourcesList reports whether an Application's status.resources has t.
func statusResourcesList(app *unstructured.Unstructured, t Target) bool {
	res, _, _ := unstructured.NestedSlice(app.Object, "status", "resources")
	for _, r := range res {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		s := func(k string) string { v, _ := m[k].(string); return v }
		if s("group") == t.Group && s("kind") == t.Kind && s("namespace") == t.Namespace && s("name") == t.Name {
			return true
		}
	}
	return false
}

// cleanPath turns "./apps/production" or "/apps/production/" into "apps/production", "" for the
// root; a path leaving the repository is kept as "..", which no file matches.
func cleanPath(p string) string {
	c := path.Clean("/" + strings.TrimSpace(p))
	return strings.TrimPrefix(c, "/")
}

// ParseRepoURL reads the host and "owner/name" of a Git URL in the forms Flux and Argo CD
// accept: https://host/owner/name(.git), ssh://git@host/owner/name, git@host:owner/name.git.
// Nested groups (GitLab's group/subgroup/name) are kept whole.
func ParseRepoURL(raw string) (host, repository string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", "", errors.New("no repository URL")
	}
	var p string
	if !strings.Contains(s, "://") {
		// scp-like: [user@]host:path
		at := strings.IndexByte(s, '@')
		colon := strings.IndexByte(s, ':')
		if colon < 0 || colon < at {
			return "", "", fmt.Errorf("repository URL %q is not a Git URL", raw)
		}
		host, p = s[at+1:colon], s[colon+1:]
	} else {
		u, perr := url.Parse(s)
		if perr != nil {
			return "", "", fmt.Errorf("repository URL %q: %w", raw, perr)
		}
		switch u.Scheme {
		case "https", "http", "ssh":
		default:
			return "", "", fmt.Errorf("repository URL %q: scheme %q is not https or ssh", raw, u.Scheme)
		}
		host, p = u.Host, u.Path
		if u.Scheme == "ssh" {
			host = u.Hostname() // the ssh port is not the API's
		}
	}
	host = strings.ToLower(host)
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	parts := strings.Split(p, "/")
	if host == "" || len(parts) < 2 {
		return "", "", fmt.Errorf("repository URL %q does not name host/owner/repository", raw)
	}
	for _, part := range parts {
		if part == "" || part == "." || part == ".." {
			return "", "", fmt.Errorf("repository URL %q does not name host/owner/repository", raw)
		}
	}
	return host, p, nil
}

// ErrObjectNotFound is what a Getter wraps when the object does not exist.
var ErrObjectNotFound = errors.New("object not found")

// IsNotFound reports whether err says an object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrObjectNotFound) }
