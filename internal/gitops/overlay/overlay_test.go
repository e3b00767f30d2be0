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
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/actions"
)

// mapRepo is a repository held in memory.
type mapRepo map[string][]byte

func (m mapRepo) ListFiles(context.Context) ([]string, error) {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

func (m mapRepo) ReadFile(_ context.Context, p string) ([]byte, error) {
	b, ok := m[p]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return b, nil
}

// fixture reads testdata/<name> (see testdata/README.md for what each models).
func fixture(t *testing.T, name string) mapRepo {
	t.Helper()
	return fixtureB(t, name)
}

func fixtureB(t testing.TB, name string) mapRepo {
	t.Helper()
	root := filepath.Join("testdata", name)
	repo := mapRepo{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		repo[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

type action string

const (
	memory   action = "IncreaseMemory"
	scaleUp  action = "ScaleUp"
	rollback action = "RollbackImage"
)

// livePlan plans action on the live object the way the controller does: the live Deployment is
// what the GitOps tool applied (the rendered target, in its namespace), planned by
// internal/actions; a rollback goes to the image of an earlier ReplicaSet.
func livePlan(t *testing.T, renderedYAML, namespace, container string, a action, previousImage string) actions.Plan {
	t.Helper()
	var d appsv1.Deployment
	if err := yaml.Unmarshal([]byte(renderedYAML), &d); err != nil {
		t.Fatal(err)
	}
	d.Namespace, d.UID = namespace, "uid-1"
	var (
		plan actions.Plan
		err  error
	)
	switch a {
	case memory:
		plan, err = actions.PlanIncreaseMemory(&d, container, &v1beta1.IncreaseMemoryAction{Percent: ptr.To[int32](50)})
	case scaleUp:
		plan, err = actions.PlanScaleUp(&d, &v1beta1.ScaleUpAction{Percent: ptr.To[int32](100), MaxReplicas: ptr.To[int32](10)})
	case rollback:
		d.Annotations = map[string]string{actions.RevisionAnnotation: "2"}
		rs := func(rev, image string) appsv1.ReplicaSet {
			r := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-" + rev, Namespace: namespace,
				Annotations:     map[string]string{actions.RevisionAnnotation: rev},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr.To(true)}}}}
			r.Spec.Template = *d.Spec.Template.DeepCopy()
			r.Spec.Template.Spec.Containers[0].Image = image
			return r
		}
		plan, err = actions.PlanRollbackDeployment(&d, []appsv1.ReplicaSet{rs("1", previousImage), rs("2", d.Spec.Template.Spec.Containers[0].Image)},
			container, &v1beta1.RollbackImageAction{})
	}
	if err != nil {
		t.Fatalf("planning %s: %v", a, err)
	}
	return plan
}

func TestProposeRendersExactlyThePlannedChange(t *testing.T) {
	for _, tc := range []struct {
		fixture, dir, namespace, name, container string
		appliedNamespace                         string
		action                                   action
		previousImage                            string
		wantPath                                 string
		wantLayer                                string
		wantText                                 []string // lines the edited file must contain
	}{
		// fluxcd/flux2-kustomize-helm-example layout: apps/base, apps/staging, apps/production.
		{fixture: "flux-kustomize-helm", dir: "apps/production", namespace: "podinfo", name: "podinfo", container: "podinfod",
			action: memory, wantPath: "apps/production/podinfo-patch.yaml", wantLayer: "overlay's",
			wantText: []string{"              memory: 384Mi # production traffic"}},
		{fixture: "flux-kustomize-helm", dir: "apps/production", namespace: "podinfo", name: "podinfo",
			action: scaleUp, wantPath: "apps/production/podinfo-patch.yaml", wantText: []string{"  replicas: 6"}},
		{fixture: "flux-kustomize-helm", dir: "apps/production", namespace: "podinfo", name: "podinfo", container: "podinfod",
			action: rollback, previousImage: "ghcr.io/stefanprodan/podinfo:6.7.0", wantPath: "apps/production/kustomization.yaml",
			wantLayer: "images transformer", wantText: []string{"    newTag: 6.7.0 # promoted from staging"}},
		{fixture: "flux-kustomize-helm", dir: "apps/staging", namespace: "podinfo", name: "podinfo", container: "podinfod",
			action: memory, wantPath: "apps/staging/podinfo-patch.yaml", wantText: []string{"  # staging runs a single replica", "memory: 192Mi"}},
		{fixture: "flux-kustomize-helm", dir: "apps/staging", namespace: "podinfo", name: "podinfo",
			action: scaleUp, wantPath: "apps/staging/podinfo-patch.yaml", wantText: []string{"  replicas: 2"}},
		{fixture: "flux-kustomize-helm", dir: "apps/staging", namespace: "podinfo", name: "podinfo", container: "podinfod",
			action: rollback, previousImage: "ghcr.io/stefanprodan/podinfo:6.6.9", wantPath: "apps/staging/kustomization.yaml",
			wantLayer: "new images transformer entry", wantText: []string{"newTag: 6.6.9"}},

		// argoproj/argocd-example-apps kustomize-guestbook: one kustomization with a namePrefix,
		// namespaceless manifests applied to the Application's destination namespace.
		{fixture: "argocd-example-apps", dir: "kustomize-guestbook", namespace: "guestbook", appliedNamespace: "guestbook",
			name: "kustomize-guestbook-ui", container: "guestbook-ui", action: memory, wantPath: "kustomize-guestbook/guestbook-ui-deployment.yaml"},
		{fixture: "argocd-example-apps", dir: "kustomize-guestbook", namespace: "guestbook", appliedNamespace: "guestbook",
			name: "kustomize-guestbook-ui", action: scaleUp, wantPath: "kustomize-guestbook/guestbook-ui-deployment.yaml",
			wantText: []string{"  replicas: 2"}},
		{fixture: "argocd-example-apps", dir: "kustomize-guestbook", namespace: "guestbook", appliedNamespace: "guestbook",
			name: "kustomize-guestbook-ui", container: "guestbook-ui", action: rollback, previousImage: "gcr.io/google-samples/gb-frontend:v4",
			wantPath: "kustomize-guestbook/guestbook-ui-deployment.yaml", wantText: []string{"        - image: gcr.io/google-samples/gb-frontend:v4"}},

		// A base shared by dev, staging and prod overlays.
		{fixture: "base-overlays", dir: "overlays/dev", namespace: "shop-dev", name: "web", container: "web",
			action: memory, wantPath: "overlays/dev/kustomization.yaml", wantLayer: "new strategic-merge patch"},
		{fixture: "base-overlays", dir: "overlays/dev", namespace: "shop-dev", name: "web",
			action: scaleUp, wantPath: "overlays/dev/kustomization.yaml", wantLayer: "new strategic-merge patch"},
		{fixture: "base-overlays", dir: "overlays/dev", namespace: "shop-dev", name: "web", container: "web",
			action: rollback, previousImage: "registry.example.com/shop/web:1.4.1", wantPath: "overlays/dev/kustomization.yaml",
			wantLayer: "new images transformer entry"},
		{fixture: "base-overlays", dir: "overlays/staging", namespace: "shop-staging", name: "web", container: "web",
			action: memory, wantPath: "overlays/staging/replicas.yaml"},
		{fixture: "base-overlays", dir: "overlays/staging", namespace: "shop-staging", name: "web",
			action: scaleUp, wantPath: "overlays/staging/replicas.yaml", wantText: []string{"  replicas: 2"}},
		{fixture: "base-overlays", dir: "overlays/staging", namespace: "shop-staging", name: "web", container: "web",
			action: rollback, previousImage: "registry.example.com/shop/web:1.4.2", wantPath: "overlays/staging/kustomization.yaml",
			wantLayer: "images transformer entry", wantText: []string{`  newTag: "1.4.2"`}},
		{fixture: "base-overlays", dir: "overlays/prod", namespace: "shop-prod", name: "web", container: "web",
			action: memory, wantPath: "overlays/prod/memory.yaml", wantLayer: "JSON patch", wantText: []string{"  value: 1536Mi"}},
		{fixture: "base-overlays", dir: "overlays/prod", namespace: "shop-prod", name: "web",
			action: scaleUp, wantPath: "overlays/prod/kustomization.yaml", wantLayer: "new strategic-merge patch"},
		{fixture: "base-overlays", dir: "overlays/prod", namespace: "shop-prod", name: "web", container: "web",
			action: rollback, previousImage: "registry.example.com/shop/web:1.4.1", wantPath: "overlays/prod/kustomization.yaml",
			wantLayer: "new images transformer entry"},
	} {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.fixture, tc.dir, tc.action), func(t *testing.T) {
			repo := fixture(t, tc.fixture)
			target := Target{APIVersion: "apps/v1", Kind: "Deployment", Namespace: tc.namespace, Name: tc.name}

			// The live object: what the GitOps tool applied.
			before, err := render(repo, tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			id, err := findTarget(before, target, tc.appliedNamespace)
			if err != nil {
				t.Fatal(err)
			}
			plan := livePlan(t, before.objects[id], tc.namespace, tc.container, tc.action, tc.previousImage)

			res, err := Propose(context.Background(), repo, tc.dir, target, tc.appliedNamespace, plan.Patch, Options{})
			if err != nil {
				t.Fatalf("Propose: %v", err)
			}
			t.Logf("%s\n%s\n%s", res.Layer, res.Content, res.Diff)
			if res.Path != tc.wantPath || !strings.Contains(res.Layer, tc.wantLayer) {
				t.Errorf("edited %s (%s), want %s (%s)", res.Path, res.Layer, tc.wantPath, tc.wantLayer)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(string(res.Content), w) {
					t.Errorf("%s lacks %q:\n%s", res.Path, w, res.Content)
				}
			}
			// Every comment of the file is kept.
			for line := range strings.SplitSeq(string(repo[res.Path]), "\n") {
				if i := strings.Index(line, "#"); i >= 0 && !strings.Contains(string(res.Content), line[i:]) {
					t.Errorf("comment %q was lost", line[i:])
				}
			}
			if res.Diff == "" || res.Unverified != "" {
				t.Errorf("diff %q, unverified %q", res.Diff, res.Unverified)
			}

			// Independently of Propose: in the target environment the target renders to the live
			// object with the plan applied, and nothing else in any kustomization changes.
			edited := mapRepo{}
			maps.Copy(edited, repo)
			edited[res.Path] = res.Content
			after, err := render(edited, tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			liveJSON, err := yaml.YAMLToJSON([]byte(before.objects[id]))
			if err != nil {
				t.Fatal(err)
			}
			// The plan's tests guard the live object's API defaults (resources: {}), which Git
			// leaves out; its writes are what must show in the render.
			var ops []map[string]any
			if err := json.Unmarshal(plan.Patch, &ops); err != nil {
				t.Fatal(err)
			}
			writes := slices.DeleteFunc(ops, func(o map[string]any) bool { return o["op"] == "test" })
			wb, _ := json.Marshal(writes)
			jp, err := jsonpatch.DecodePatch(wb)
			if err != nil {
				t.Fatal(err)
			}
			want, err := jp.ApplyWithOptions(liveJSON, &jsonpatch.ApplyOptions{EnsurePathExistsOnAdd: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := yaml.YAMLToJSON([]byte(after.objects[id]))
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(got, want) {
				t.Errorf("target renders to\n%s\nwant\n%s", got, want)
			}
			for _, d := range kustomizationDirs(repo) {
				b, errB := render(repo, d)
				a, errA := render(edited, d)
				if errB != nil || errA != nil {
					t.Fatalf("rendering %s: %v %v", d, errB, errA)
				}
				except := ""
				if d == tc.dir {
					except = id
				}
				if why := sameExcept(b, a, except); why != "" {
					t.Errorf("%s: %s", d, why)
				}
			}
		})
	}
}

func kustomizationDirs(repo mapRepo) []string {
	var out []string
	for p := range repo {
		if isKustomizationFile(p) {
			out = append(out, dirOf(p))
		}
	}
	slices.Sort(out)
	return out
}

func TestProposeRefusesWhatItCannotProve(t *testing.T) {
	repo := fixture(t, "base-overlays")
	target := Target{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop-dev", Name: "web"}
	ctx := context.Background()

	// The live object does not hold what Git renders: a conflict, not a guess.
	stale := []byte(`[{"op":"test","path":"/spec/replicas","value":7},{"op":"replace","path":"/spec/replicas","value":8}]`)
	if _, err := Propose(ctx, repo, "overlays/dev", target, "", stale, Options{}); !errors.Is(err, ErrConflict) {
		t.Errorf("stale plan: err = %v, want ErrConflict", err)
	}
	// A directory without a kustomization.
	if _, err := Propose(ctx, repo, "base/nope", target, "", stale, Options{}); !errors.Is(err, ErrNoKustomization) {
		t.Errorf("err = %v, want ErrNoKustomization", err)
	}
	// A target the overlay does not render.
	other := target
	other.Name = "api"
	if _, err := Propose(ctx, repo, "overlays/dev", other, "", stale, Options{}); !errors.Is(err, ErrTargetNotRendered) {
		t.Errorf("err = %v, want ErrTargetNotRendered", err)
	}
}

func TestRemoteReferencesAreNeverFetched(t *testing.T) {
	for _, ref := range []string{
		"github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v5.0.0",
		"https://raw.githubusercontent.com/org/repo/main/deploy.yaml",
		"git@github.com:org/repo.git",
		"../../../outside",
		"/etc",
	} {
		repo := fixture(t, "base-overlays")
		repo["overlays/dev/kustomization.yaml"] = []byte("resources:\n- ../../base\n- " + ref + "\n")
		_, err := render(repo, "overlays/dev")
		if !errors.Is(err, ErrNotRenderable) || !errors.Is(err, errOutside) {
			t.Errorf("%s: err = %v, want ErrNotRenderable refused before kustomize ran", ref, err)
		}
	}
	repo := fixture(t, "base-overlays")
	repo["overlays/dev/kustomization.yaml"] = []byte("resources:\n- ../../base\nhelmCharts:\n- name: redis\n  repo: https://charts.example.com\n")
	if _, err := render(repo, "overlays/dev"); !errors.Is(err, ErrNotRenderable) || !errors.Is(err, errOutside) {
		t.Errorf("helmCharts: err = %v, want ErrNotRenderable refused before kustomize ran", err)
	}
}
