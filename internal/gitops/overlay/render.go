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
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	yaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/heal8s/heal8s/internal/manifest"
)

// Default bounds of what is read and rendered.
const (
	DefaultMaxFiles          = 2000
	DefaultMaxFileBytes      = 1 << 20
	DefaultMaxKustomizations = 200
)

// ErrNotRenderable means a kustomization cannot be rendered here: it refers to something outside
// the repository (a remote base, a URL, a Helm chart) or kustomize failed on it. heal8s never
// lets kustomize fetch anything: the manager would be the one sending the requests.
var ErrNotRenderable = errors.New("kustomization cannot be rendered from the repository alone")

// errOutside marks the refusals of checkLocal: a reference that would make kustomize reach
// outside the repository (and the manager send a request, clone or run something).
var errOutside = errors.New("refers outside the repository")

// kustomizationNames are the file names kustomize reads in a directory.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// tree is the repository's text files, read once at the base commit.
type tree struct {
	files map[string][]byte
	// kdirs are the directories holding a kustomization file, sorted.
	kdirs []string
	// limits says what the bounds left out; non-empty means the proof is incomplete.
	limits []string
}

func loadTree(ctx context.Context, repo manifest.Repo, o Options) (*tree, error) {
	all, err := repo.ListFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing repository files: %w", err)
	}
	slices.Sort(all)
	t := &tree{files: map[string][]byte{}}
	var wanted []string
	for _, p := range all {
		if isKustomizationFile(p) || isYAML(p) || isEnvLike(p) {
			wanted = append(wanted, p)
		}
	}
	if len(wanted) > o.maxFiles() {
		t.limits = append(t.limits, fmt.Sprintf("read %d of %d YAML files", o.maxFiles(), len(wanted)))
		wanted = wanted[:o.maxFiles()]
	}
	for _, p := range wanted {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := repo.ReadFile(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		if len(b) > o.maxFileBytes() {
			t.limits = append(t.limits, fmt.Sprintf("skipped %s (%d bytes)", p, len(b)))
			continue
		}
		t.files[p] = b
		if isKustomizationFile(p) {
			t.kdirs = append(t.kdirs, dirOf(p))
		}
	}
	if len(t.kdirs) > o.maxKustomizations() {
		t.limits = append(t.limits, fmt.Sprintf("rendered %d of %d kustomizations", o.maxKustomizations(), len(t.kdirs)))
		t.kdirs = t.kdirs[:o.maxKustomizations()]
	}
	return t, nil
}

func isKustomizationFile(p string) bool {
	return slices.Contains(kustomizationNames, path.Base(p))
}

func isYAML(p string) bool {
	e := strings.ToLower(path.Ext(p))
	return e == ".yaml" || e == ".yml" || e == ".json"
}

// isEnvLike are the other files generators commonly read (configMapGenerator envs and files).
func isEnvLike(p string) bool {
	e := strings.ToLower(path.Ext(p))
	return e == ".env" || e == ".properties" || e == ".conf" || e == ".txt" || e == ".ini" || e == ".toml"
}

// dirOf is the directory of p, "" for the root.
func dirOf(p string) string {
	d := path.Dir(p)
	if d == "." {
		return ""
	}
	return d
}

// kustomizationIn returns the path of dir's kustomization file.
func (t *tree) kustomizationIn(files map[string][]byte, dir string) (string, bool) {
	for _, n := range kustomizationNames {
		p := path.Join(dir, n)
		if _, ok := files[p]; ok {
			return p, true
		}
	}
	return "", false
}

// with returns the files with overrides applied.
func (t *tree) with(overrides map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(t.files)+len(overrides))
	maps.Copy(out, t.files)
	maps.Copy(out, overrides)
	return out
}

// rendered is one kustomization's output: each object's YAML by its id.
type rendered struct {
	objects map[string]string
	order   []string
}

// render builds dir with kustomize over an in-memory copy of files, after checking that every
// reference of every kustomization file is a local path (no remote base, URL, Helm chart), so
// kustomize neither clones, downloads nor executes anything.
func render(files map[string][]byte, dir string) (out rendered, err error) {
	// kustomize and kyaml panic on some malformed input; a repository writer must not be able to
	// crash the manager's worker with a file.
	defer func() {
		if p := recover(); p != nil {
			out, err = rendered{}, fmt.Errorf("%w: kustomize build %s panicked: %v", ErrNotRenderable, displayDir(dir), p)
		}
	}()
	if err := checkLocal(files); err != nil {
		return rendered{}, err
	}
	fs := filesys.MakeFsInMemory()
	for p, b := range files {
		if err := fs.MkdirAll("/" + dirOf(p)); err != nil {
			return rendered{}, err
		}
		if err := fs.WriteFile("/"+p, b); err != nil {
			return rendered{}, err
		}
	}
	opts := krusty.MakeDefaultOptions()
	m, err := krusty.MakeKustomizer(opts).Run(fs, "/"+dir)
	if err != nil {
		return rendered{}, fmt.Errorf("%w: kustomize build %s: %w", ErrNotRenderable, displayDir(dir), err)
	}
	out = rendered{objects: map[string]string{}}
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return rendered{}, fmt.Errorf("encoding %s: %w", r.CurId(), err)
		}
		id := objectID(r.GetApiVersion(), r.GetKind(), r.GetNamespace(), r.GetName())
		out.objects[id] = string(y)
		out.order = append(out.order, id)
	}
	return out, nil
}

func displayDir(dir string) string {
	if dir == "" {
		return "/"
	}
	return dir
}

func objectID(apiVersion, kind, namespace, name string) string {
	return apiVersion + " " + kind + " " + namespace + "/" + name
}

// referenceFields are the fields of a kustomization that name files or directories.
var referenceFields = []string{"resources", "bases", "components", "crds", "configurations", "patchesStrategicMerge",
	"generators", "transformers", "validators"}

// checkLocal refuses kustomization files that reach outside the repository.
func checkLocal(files map[string][]byte) error {
	for p, b := range files {
		if !isKustomizationFile(p) {
			continue
		}
		k, err := yaml.Parse(string(b))
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNotRenderable, p, err)
		}
		for _, f := range []string{"helmCharts", "helmChartInflationGenerator", "helmGlobals"} {
			if k.Field(f) != nil {
				return fmt.Errorf("%w: %s %w: it inflates Helm charts (%s)", ErrNotRenderable, p, errOutside, f)
			}
		}
		var refs []string
		for _, f := range referenceFields {
			refs = append(refs, stringsOf(k.Field(f))...)
		}
		for _, f := range []string{"patches", "patchesJson6902", "replacements"} {
			if n := k.Field(f); n != nil && n.Value.YNode().Kind == yaml.SequenceNode {
				for _, it := range n.Value.YNode().Content {
					if it.Kind == yaml.MappingNode {
						refs = append(refs, stringsOf(yaml.NewRNode(it).Field("path"))...)
					}
				}
			}
		}
		if n := k.Field("openapi"); n != nil {
			refs = append(refs, stringsOf(n.Value.Field("path"))...)
		}
		for _, g := range []string{"configMapGenerator", "secretGenerator"} {
			if n := k.Field(g); n != nil && n.Value.YNode().Kind == yaml.SequenceNode {
				for _, it := range n.Value.YNode().Content {
					if it.Kind != yaml.MappingNode {
						continue
					}
					r := yaml.NewRNode(it)
					for _, fp := range stringsOf(r.Field("files")) {
						if i := strings.IndexByte(fp, '='); i >= 0 {
							fp = fp[i+1:]
						}
						refs = append(refs, fp)
					}
					refs = append(refs, stringsOf(r.Field("envs"))...)
					refs = append(refs, stringsOf(r.Field("env"))...)
				}
			}
		}
		for _, ref := range refs {
			if strings.Contains(ref, "\n") {
				continue // an inline patch, not a reference
			}
			if err := localRef(files, dirOf(p), ref); err != nil {
				return fmt.Errorf("%w: %s %w: %w", ErrNotRenderable, p, errOutside, err)
			}
		}
	}
	return nil
}

// localRef accepts ref only when it is a relative path to a file or directory present in files
// that no reader could take for a URL or a Git repository.
func localRef(files map[string][]byte, dir, ref string) error {
	r := strings.TrimSpace(ref)
	if r == "" || strings.ContainsAny(r, "?@:\\") || strings.HasPrefix(r, "/") {
		return fmt.Errorf("%q is not a path inside the repository", ref)
	}
	// kustomize takes "github.com/org/repo//dir" for a Git repository before it looks on disk.
	if parts := strings.Split(r, "/"); len(parts) > 1 && parts[0] != "." && parts[0] != ".." && strings.Contains(parts[0], ".") {
		return fmt.Errorf("%q starts like a host name (remote bases are not rendered)", ref)
	}
	full := path.Join(dir, r)
	if full == ".." || strings.HasPrefix(full, "../") {
		return fmt.Errorf("%q leaves the repository", ref)
	}
	if full == "." {
		full = ""
	}
	if _, ok := files[full]; ok {
		return nil
	}
	prefix := full + "/"
	if full == "" {
		prefix = ""
	}
	for p := range files {
		if strings.HasPrefix(p, prefix) {
			return nil
		}
	}
	return fmt.Errorf("%q is not in the repository", ref)
}

// stringsOf returns the scalar strings of a field's value (a scalar or a sequence of scalars).
func stringsOf(f *yaml.MapNode) []string {
	if f == nil {
		return nil
	}
	n := f.Value.YNode()
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}
	case yaml.SequenceNode:
		var out []string
		for _, it := range n.Content {
			if it.Kind == yaml.ScalarNode {
				out = append(out, it.Value)
			}
		}
		return out
	default: // a mapping, a document or an alias: no scalar strings of its own
		return nil
	}
}
