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

package helmvalues

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/actions"
	"github.com/heal8s/heal8s/internal/gitops/overlay"
)

type mapRepo map[string][]byte

func (m mapRepo) ListFiles(context.Context) ([]string, error) {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	return out, nil
}

func (m mapRepo) ReadFile(_ context.Context, p string) ([]byte, error) {
	if b, ok := m[p]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
}

// fleet is internal/gitops/overlay/testdata/flux-kustomize-helm (see its README): the redis
// HelmRelease in apps/base/redis, with production's values patch apps/production/redis-values.yaml.
func fleet(t *testing.T) mapRepo {
	t.Helper()
	root := filepath.Join("..", "overlay", "testdata", "flux-kustomize-helm")
	repo := mapRepo{}
	if err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		repo[filepath.ToSlash(rel)] = b
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return repo
}

// chartDeployment is what the bitnami-style chart renders from production's values: one
// container, the image from image.repository:image.tag, replicas from replicaCount.
func chartDeployment() *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "redis", Name: "redis-master", UID: "u1",
		Annotations: map[string]string{actions.RevisionAnnotation: "2"}}}
	d.Spec.Replicas = ptr.To[int32](1)
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "redis", Image: "docker.io/bitnami/redis:7.2.4",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}}}
	return d
}

func TestValuesEditRendersExactlyTheMappedChange(t *testing.T) {
	repo := fleet(t)
	var release map[string]any
	if err := yaml.Unmarshal(repo["apps/base/redis/release.yaml"], &release); err != nil {
		t.Fatal(err)
	}
	values := release["spec"].(map[string]any)["values"].(map[string]any)
	// Production's values as Flux applies them: the overlay patch raised the limit to 1Gi.
	values["resources"] = map[string]any{"limits": map[string]any{"memory": "1Gi"}}

	for _, tc := range []struct {
		name, wantPath, wantText, wantKey string
		plan                              func(d *appsv1.Deployment) (actions.Plan, error)
	}{
		{name: "IncreaseMemory", wantPath: "apps/production/redis-values.yaml", wantText: "memory: 1536Mi # sized for production", wantKey: "resources.limits.memory",
			plan: func(d *appsv1.Deployment) (actions.Plan, error) {
				return actions.PlanIncreaseMemory(d, "redis", &v1beta1.IncreaseMemoryAction{Percent: ptr.To[int32](50)})
			}},
		{name: "ScaleUp", wantPath: "apps/production/redis-values.yaml", wantText: "replicaCount: 2", wantKey: "replicaCount",
			plan: func(d *appsv1.Deployment) (actions.Plan, error) {
				return actions.PlanScaleUp(d, &v1beta1.ScaleUpAction{Percent: ptr.To[int32](100), MaxReplicas: ptr.To[int32](5)})
			}},
		{name: "RollbackImage", wantPath: "apps/production/redis-values.yaml", wantText: "tag: 7.2.3", wantKey: "image.tag",
			plan: func(d *appsv1.Deployment) (actions.Plan, error) {
				rs := func(rev, image string) appsv1.ReplicaSet {
					r := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "redis-" + rev, Namespace: "redis",
						Annotations:     map[string]string{actions.RevisionAnnotation: rev},
						OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr.To(true)}}}}
					r.Spec.Template = *d.Spec.Template.DeepCopy()
					r.Spec.Template.Spec.Containers[0].Image = image
					return r
				}
				return actions.PlanRollbackDeployment(d, []appsv1.ReplicaSet{rs("1", "docker.io/bitnami/redis:7.2.3"), rs("2", "docker.io/bitnami/redis:7.2.4")},
					"redis", &v1beta1.RollbackImageAction{})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := chartDeployment()
			plan, err := tc.plan(d)
			if err != nil {
				t.Fatal(err)
			}
			live, _ := json.Marshal(d)
			patch, maps, err := Map(plan.Patch, live, values)
			if err != nil {
				t.Fatal(err)
			}
			if len(maps) == 0 || maps[0].Key != tc.wantKey {
				t.Errorf("mappings %+v, want key %s", maps, tc.wantKey)
			}
			res, err := overlay.Propose(context.Background(), repo, "apps/production",
				overlay.Target{APIVersion: "helm.toolkit.fluxcd.io/v2", Kind: "HelmRelease", Namespace: "redis", Name: "redis"}, "", patch, overlay.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Path != tc.wantPath || !strings.Contains(string(res.Content), tc.wantText) {
				t.Errorf("edited %s (%s):\n%s\nwant %s with %q", res.Path, res.Layer, res.Content, tc.wantPath, tc.wantText)
			}
			if !strings.Contains(res.Diff, "+") || res.Unverified != "" {
				t.Errorf("diff %q unverified %q", res.Diff, res.Unverified)
			}
		})
	}
}

func TestMapRefusesWhatItWouldGuess(t *testing.T) {
	d := chartDeployment()
	plan, err := actions.PlanIncreaseMemory(d, "redis", &v1beta1.IncreaseMemoryAction{Percent: ptr.To[int32](50)})
	if err != nil {
		t.Fatal(err)
	}
	live, _ := json.Marshal(d)
	for name, values := range map[string]map[string]any{
		"no resources key":                  {"replicaCount": 1},
		"values disagree with the workload": {"resources": map[string]any{"limits": map[string]any{"memory": "2Gi"}}},
	} {
		if _, _, err := Map(plan.Patch, live, values); !errors.Is(err, ErrNoMapping) {
			t.Errorf("%s: err = %v, want ErrNoMapping", name, err)
		}
	}
	two := chartDeployment()
	two.Spec.Template.Spec.Containers = append(two.Spec.Template.Spec.Containers, corev1.Container{Name: "metrics", Image: "exporter:1"})
	plan, err = actions.PlanIncreaseMemory(two, "redis", &v1beta1.IncreaseMemoryAction{Percent: ptr.To[int32](50)})
	if err != nil {
		t.Fatal(err)
	}
	live, _ = json.Marshal(two)
	if _, _, err := Map(plan.Patch, live, map[string]any{"resources": map[string]any{}}); !errors.Is(err, ErrNoMapping) || !strings.Contains(err.Error(), "2 containers") {
		t.Errorf("two containers: err = %v", err)
	}
}
