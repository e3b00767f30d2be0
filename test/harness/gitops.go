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

package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// GitOpsFieldManager is the field manager FluxApply applies with, as a GitOps tool would.
const GitOpsFieldManager = "flux-harness"

// FluxApply applies every document of path on branch of the stack's repository to the cluster
// with server-side apply, as Flux or Argo CD would after a merge.
func (st *Stack) FluxApply(ctx context.Context, branch, path string) error {
	return st.FluxApplyFrom(ctx, st.Git(), branch, path)
}

// FluxApplyFrom is FluxApply from the given Git host's copy of the repository.
func (st *Stack) FluxApplyFrom(ctx context.Context, host GitHost, branch, path string) error {
	raw, err := host.ReadFile(st.Options.Repository, branch, path)
	if err != nil {
		return fmt.Errorf("reading %s on %s: %w", path, branch, err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(raw), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("decoding %s: %w", path, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		ac := client.ApplyConfigurationFromUnstructured(obj)
		if err := st.ControlPlane.Client.Apply(ctx, ac, client.FieldOwner(GitOpsFieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s from %s: %w", obj.GetKind(), obj.GetName(), path, err)
		}
	}
}

// ReadRepoDir reads a directory of manifests into the files of a repository's first commit,
// keyed by their slash-separated path below dir.
func ReadRepoDir(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(raw)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the repository in %s: %w", dir, err)
	}
	return files, nil
}
