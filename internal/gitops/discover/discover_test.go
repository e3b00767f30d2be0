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

package discover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

type fakeGetter map[string]*unstructured.Unstructured

func (f fakeGetter) Get(_ context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	if o, ok := f[gvk.Kind+"/"+ns+"/"+name]; ok {
		return o, nil
	}
	return nil, fmt.Errorf("%s %s/%s: %w", gvk.Kind, ns, name, ErrObjectNotFound)
}

// objects parses YAML documents shaped as Flux and Argo CD write them (upstream sources cited beside each constant).
func objects(t *testing.T, docs ...string) fakeGetter {
	t.Helper()
	f := fakeGetter{}
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		f[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u
	}
	return f
}

// Modelled on fluxcd/flux2-kustomize-helm-example clusters/production/apps.yaml and
// infrastructure: the "apps" Kustomization applies ./apps/production from the flux-system
// GitRepository; its inventory ids are <namespace>_<name>_<group>_<kind>.
const fluxKustomization = `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m0s
  path: ./apps/production
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
status:
  inventory:
    entries:
    - {id: podinfo_podinfo_apps_Deployment, v: v1}
    - {id: _podinfo__Namespace, v: v1}
    - {id: redis_redis_helm.toolkit.fluxcd.io_HelmRelease, v: v2}
`

const fluxGitRepository = `
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m0s
  ref: {branch: main}
  url: ssh://git@github.com/example/fleet-infra
`

const fluxHelmRelease = `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: guestbook, namespace: apps}
spec:
  interval: 5m
  chart:
    spec:
      chart: ./charts/guestbook
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  values:
    replicaCount: 2
`

const fluxHelmReleaseFromHelmRepository = `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: podinfo}
spec:
  chart:
    spec:
      chart: podinfo
      version: ">=1.0.0"
      sourceRef: {kind: HelmRepository, name: podinfo}
`

// fluxHelmReleaseApplied is fluxcd/flux2-kustomize-helm-example's shape: the HelmRelease (chart
// from a HelmRepository, values inline) applied by the "apps" Kustomization, which lists it.
const fluxHelmReleaseApplied = `
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: redis
  namespace: redis
  labels: {kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}
spec:
  chart:
    spec:
      chart: redis
      sourceRef: {kind: HelmRepository, name: bitnami}
  values:
    replicaCount: 1
`

// Modelled on argoproj/argocd-example-apps (kustomize-guestbook) as an Application in argocd.
const argoApplication = `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: kustomize-guestbook, namespace: argocd}
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: kustomize-guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
status:
  resources:
  - {group: apps, kind: Deployment, namespace: guestbook, name: kustomize-guestbook-ui, version: v1}
`

const argoHelmApplication = `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: helm-guestbook, namespace: argocd}
spec:
  source:
    repoURL: git@github.com:argoproj/argocd-example-apps.git
    targetRevision: main
    path: helm-guestbook
    helm:
      valueFiles: [values-production.yaml]
  destination: {namespace: guestbook}
status:
  resources:
  - {group: apps, kind: Deployment, namespace: guestbook, name: helm-guestbook}
`

func TestDiscover(t *testing.T) {
	deploy := func(ns, name string, labels, annotations map[string]string) Target {
		return Target{Group: "apps", Kind: "Deployment", Namespace: ns, Name: name, Labels: labels, Annotations: annotations}
	}
	fluxLabels := map[string]string{FluxKustomizeNameLabel: "apps", FluxKustomizeNamespaceLabel: "flux-system"}
	all := objects(t, fluxKustomization, fluxGitRepository, fluxHelmRelease, fluxHelmReleaseFromHelmRepository, fluxHelmReleaseApplied,
		argoApplication, argoHelmApplication)
	for _, tc := range []struct {
		name    string
		target  Target
		want    Source
		wantErr error
		errHas  string
	}{{
		name:   "Flux Kustomization labels → inventory lists the target → GitRepository branch and path",
		target: deploy("podinfo", "podinfo", fluxLabels, nil),
		want: Source{URL: "ssh://git@github.com/example/fleet-infra", Host: "github.com", Repository: "example/fleet-infra",
			Branch: "main", Path: "apps/production", Render: RenderKustomize},
	}, {
		name:    "a tenant copies Flux labels onto an object the Kustomization does not apply",
		target:  deploy("team-a", "podinfo", fluxLabels, nil),
		wantErr: ErrNotClaimed, errHas: "status.inventory",
	}, {
		name:    "labels naming a Kustomization that does not exist",
		target:  deploy("podinfo", "podinfo", map[string]string{FluxKustomizeNameLabel: "nope", FluxKustomizeNamespaceLabel: "flux-system"}, nil),
		wantErr: ErrObjectNotFound,
	}, {
		name:   "Flux HelmRelease with a chart in Git",
		target: deploy("apps", "guestbook", map[string]string{FluxHelmNameLabel: "guestbook", FluxHelmNamespaceLabel: "apps"}, nil),
		want: Source{URL: "ssh://git@github.com/example/fleet-infra", Host: "github.com", Repository: "example/fleet-infra",
			Branch: "main", Path: "charts/guestbook", Render: RenderHelm, Namespace: "apps", HelmRelease: "apps/guestbook", HasInlineValues: true},
	}, {
		name:    "a HelmRelease of another namespace is not the tenant's",
		target:  deploy("team-a", "guestbook", map[string]string{FluxHelmNameLabel: "guestbook", FluxHelmNamespaceLabel: "apps"}, nil),
		wantErr: ErrNotClaimed,
	}, {
		name:    "a HelmRelease with its chart from a HelmRepository",
		target:  deploy("podinfo", "podinfo", map[string]string{FluxHelmNameLabel: "podinfo", FluxHelmNamespaceLabel: "podinfo"}, nil),
		wantErr: ErrUnsupported, errHas: "HelmRepository",
	}, {
		name:   "Flux HelmRelease applied by a Kustomization that lists it: values edited in that overlay",
		target: deploy("redis", "redis-master", map[string]string{FluxHelmNameLabel: "redis", FluxHelmNamespaceLabel: "redis"}, nil),
		want: Source{URL: "ssh://git@github.com/example/fleet-infra", Host: "github.com", Repository: "example/fleet-infra",
			Branch: "main", Path: "apps/production", Render: RenderHelmValues, HelmRelease: "redis/redis", HasInlineValues: true,
			HelmReleaseAPIVersion: "helm.toolkit.fluxcd.io/v2", Values: map[string]any{"replicaCount": int64(1)}},
	}, {
		name:   "Argo CD tracking annotation → Application lists the target",
		target: deploy("guestbook", "kustomize-guestbook-ui", nil, map[string]string{ArgoTrackingIDAnnotation: "kustomize-guestbook:apps/Deployment:guestbook/kustomize-guestbook-ui"}),
		want: Source{URL: "https://github.com/argoproj/argocd-example-apps.git", Host: "github.com", Repository: "argoproj/argocd-example-apps",
			Path: "kustomize-guestbook", Render: RenderKustomize, Namespace: "guestbook"},
	}, {
		name:    "a tracking id copied from another object",
		target:  deploy("guestbook", "evil", nil, map[string]string{ArgoTrackingIDAnnotation: "kustomize-guestbook:apps/Deployment:guestbook/kustomize-guestbook-ui"}),
		wantErr: ErrNotClaimed, errHas: "names another object",
	}, {
		name:    "a tracking id naming this object but an Application that does not list it",
		target:  deploy("guestbook", "evil", nil, map[string]string{ArgoTrackingIDAnnotation: "kustomize-guestbook:apps/Deployment:guestbook/evil"}),
		wantErr: ErrNotClaimed, errHas: "status.resources",
	}, {
		name:    "an Application outside the Argo CD namespaces is never read",
		target:  deploy("guestbook", "kustomize-guestbook-ui", nil, map[string]string{ArgoTrackingIDAnnotation: "team-a_kustomize-guestbook:apps/Deployment:guestbook/kustomize-guestbook-ui"}),
		wantErr: ErrNotClaimed, errHas: "no Argo CD Application",
	}, {
		name:   "Argo CD instance label and a Helm source with value files",
		target: deploy("guestbook", "helm-guestbook", map[string]string{ArgoInstanceLabel: "helm-guestbook"}, nil),
		want: Source{URL: "git@github.com:argoproj/argocd-example-apps.git", Host: "github.com", Repository: "argoproj/argocd-example-apps",
			Branch: "main", Path: "helm-guestbook", Render: RenderHelm, Namespace: "guestbook", ValueFiles: []string{"values-production.yaml"}},
	}, {
		name:    "no hint",
		target:  deploy("guestbook", "x", nil, nil),
		wantErr: ErrNoHint,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Discover(context.Background(), all, tc.target, Options{})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Via == "" {
				t.Errorf("Via is empty")
			}
			got.Via = ""
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestPinnedGitRepositoryIsUnsupported(t *testing.T) {
	g := objects(t, fluxKustomization, strings.Replace(fluxGitRepository, "ref: {branch: main}", "ref: {tag: v1.0.0}", 1))
	_, err := Discover(context.Background(), g, Target{Group: "apps", Kind: "Deployment", Namespace: "podinfo", Name: "podinfo",
		Labels: map[string]string{FluxKustomizeNameLabel: "apps", FluxKustomizeNamespaceLabel: "flux-system"}}, Options{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "tag") {
		t.Fatalf("err = %v", err)
	}
}

func TestOverridesOnTopOfTheRepositoryAreUnsupported(t *testing.T) {
	flux := objects(t, strings.Replace(fluxKustomization, "  prune: true", "  prune: true\n  images: [{name: podinfo, newTag: 6.7.2}]", 1), fluxGitRepository)
	_, err := Discover(context.Background(), flux, Target{Group: "apps", Kind: "Deployment", Namespace: "podinfo", Name: "podinfo",
		Labels: map[string]string{FluxKustomizeNameLabel: "apps", FluxKustomizeNamespaceLabel: "flux-system"}}, Options{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "images") {
		t.Errorf("Flux images: err = %v", err)
	}
	argo := objects(t, strings.Replace(argoApplication, "    path: kustomize-guestbook", "    path: kustomize-guestbook\n    kustomize: {namePrefix: prod-}", 1))
	_, err = Discover(context.Background(), argo, Target{Group: "apps", Kind: "Deployment", Namespace: "guestbook", Name: "kustomize-guestbook-ui",
		Annotations: map[string]string{ArgoTrackingIDAnnotation: "kustomize-guestbook:apps/Deployment:guestbook/kustomize-guestbook-ui"}}, Options{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "namePrefix") {
		t.Errorf("Argo CD namePrefix: err = %v", err)
	}
}

func TestParseRepoURL(t *testing.T) {
	for _, tc := range []struct{ in, host, repo string }{
		{"https://github.com/argoproj/argocd-example-apps.git", "github.com", "argoproj/argocd-example-apps"},
		{"https://github.com/fluxcd/flux2-kustomize-helm-example", "github.com", "fluxcd/flux2-kustomize-helm-example"},
		{"ssh://git@github.com/example/fleet-infra", "github.com", "example/fleet-infra"},
		{"ssh://git@gitlab.example.com:2222/group/sub/repo.git", "gitlab.example.com", "group/sub/repo"},
		{"git@github.com:argoproj/argocd-example-apps.git", "github.com", "argoproj/argocd-example-apps"},
		{"https://GHE.example.com:8443/a/b/", "ghe.example.com:8443", "a/b"},
		{"file:///tmp/repo", "", ""},
		{"https://github.com/onlyowner", "", ""},
		{"https://github.com/a/../b", "", ""},
		{"", "", ""},
	} {
		h, r, err := ParseRepoURL(tc.in)
		if tc.host == "" {
			if err == nil {
				t.Errorf("%q: got %s %s, want an error", tc.in, h, r)
			}
			continue
		}
		if err != nil || h != tc.host || r != tc.repo {
			t.Errorf("%q: got %q %q %v, want %q %q", tc.in, h, r, err, tc.host, tc.repo)
		}
	}
}

func TestParseTrackingID(t *testing.T) {
	app, g, k, ns, n, err := ParseTrackingID("my-app:apps/Deployment:default/my-deployment")
	if err != nil || app != "my-app" || g != "apps" || k != "Deployment" || ns != "default" || n != "my-deployment" {
		t.Fatalf("got %s %s %s %s %s %v", app, g, k, ns, n, err)
	}
	// Core-group, cluster-scoped: "<app>:/Namespace:/name".
	if _, g, k, ns, n, err := ParseTrackingID("app:/Namespace:/guestbook"); err != nil || g != "" || k != "Namespace" || ns != "" || n != "guestbook" {
		t.Fatalf("got %s %s %s %s %v", g, k, ns, n, err)
	}
	for _, bad := range []string{"", "app", "app:apps/Deployment", "app:Deployment:ns/name", ":apps/Deployment:ns/n", "a:b:c:d"} {
		if _, _, _, _, _, err := ParseTrackingID(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}
