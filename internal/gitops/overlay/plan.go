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

// Package overlay edits the kustomize layer that sets a value for one environment and proves the
// edit by rendering: the kustomization the GitOps tool applies is built with kustomize's Go API
// before and after the edit, and so is every other kustomization in the repository; the edit is
// kept only if the one rendered difference is the planned change on the target object.
//
// The layer is not guessed from file names. Candidate edits are tried in order (the images
// transformer for an image; a file in the overlay that already declares or patches the target;
// the file elsewhere that declares it; a new patch in the overlay's kustomization) and rendering
// decides: an edit of a base another overlay shares changes that overlay's output and is refused,
// an edit the overlay's own patch overrides changes nothing and is refused.
//
// The package is pure: it reads the repository through manifest.Repo and never lets kustomize
// reach the network, run Git or execute plugins (see checkLocal).
package overlay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/heal8s/heal8s/internal/manifest"
)

var (
	// ErrNoKustomization means the directory has no kustomization file: plain manifests, found
	// by internal/manifest's search instead.
	ErrNoKustomization = errors.New("no kustomization file in the directory")
	// ErrTargetNotRendered means the kustomization does not produce the target object.
	ErrTargetNotRendered = errors.New("the kustomization does not render the target")
	// ErrConflict means the rendered target does not hold what the plan read from the live object.
	ErrConflict = errors.New("rendered manifest differs from the live object")
	// ErrNoProvenEdit means no candidate edit rendered to exactly the planned change.
	ErrNoProvenEdit = errors.New("no edit renders to exactly the planned change")
)

// Target is the live object.
type Target struct {
	APIVersion, Kind, Namespace, Name string
}

func (t Target) String() string {
	return fmt.Sprintf("%s %s %s/%s", t.APIVersion, t.Kind, t.Namespace, t.Name)
}

// Result is the proven edit.
type Result struct {
	// Path and Content are the one file changed and its whole new content.
	Path    string
	Content []byte
	// Layer says which layer was edited and why, for the pull request and the status.
	Layer string
	// Diff is the unified diff of the target object as rendered before and after.
	Diff string
	// Checked are the other kustomizations rendered before and after, unchanged.
	Checked []string
	// Unverified is non-empty when part of the proof could not be made (a kustomization that
	// does not render here, the search bounds); the pull request says so and is labelled.
	Unverified string
}

// Propose finds and proves the edit that carries patch (an RFC 6902 patch planned on the live
// object) into the kustomization at dir. appliedNamespace is the namespace the GitOps tool applies
// namespaceless objects to (Flux targetNamespace, Argo CD destination.namespace), "" if none.
func Propose(ctx context.Context, repo manifest.Repo, dir string, t Target, appliedNamespace string, patch []byte, o Options) (Result, error) {
	dir = strings.Trim(dir, "/")
	tr, err := loadTree(ctx, repo, o)
	if err != nil {
		return Result{}, err
	}
	kfile, ok := tr.kustomizationIn(tr.files, dir)
	if !ok {
		return Result{}, fmt.Errorf("%w: %s", ErrNoKustomization, displayDir(dir))
	}
	before, err := render(tr.files, dir)
	if err != nil {
		return Result{}, err
	}
	id, err := findTarget(before, t, appliedNamespace)
	if err != nil {
		return Result{}, err
	}
	beforeJSON, err := yamlToJSON(before.objects[id])
	if err != nil {
		return Result{}, err
	}
	planned, leaves, err := applyPlan(beforeJSON, patch)
	if err != nil {
		return Result{}, err
	}
	p := &prover{tree: tr, dir: dir, id: id, before: before, planned: planned, others: map[string]rendered{}}
	for _, d := range tr.kdirs {
		if d == dir {
			continue
		}
		r, err := render(tr.files, d)
		if err != nil {
			p.notRendered = append(p.notRendered, fmt.Sprintf("%s (%v)", displayDir(d), err))
			continue
		}
		p.others[d] = r
	}
	var tried []string
	for _, c := range candidates(tr, dir, kfile, t, beforeJSON, leaves) {
		if c.err != nil {
			tried = append(tried, c.layer+": "+c.err.Error())
			continue
		}
		after, why := p.prove(c.path, c.content)
		if why != "" {
			tried = append(tried, c.layer+": "+why)
			continue
		}
		res := Result{Path: c.path, Content: c.content, Layer: c.layer, Diff: unifiedDiff(id, before.objects[id], after)}
		for d := range p.others {
			res.Checked = append(res.Checked, displayDir(d))
		}
		slices.Sort(res.Checked)
		var gaps []string
		if len(p.notRendered) > 0 {
			gaps = append(gaps, "these kustomizations could not be rendered, so a change to their output is not excluded: "+strings.Join(p.notRendered, "; "))
		}
		gaps = append(gaps, tr.limits...)
		res.Unverified = strings.Join(gaps, "; ")
		return res, nil
	}
	return Result{}, fmt.Errorf("%w for %s in %s: tried %s", ErrNoProvenEdit, t, displayDir(dir), strings.Join(tried, "; "))
}

// findTarget returns the rendered id of t: with its namespace, or without one when the GitOps
// tool applies the kustomization's namespaceless output to t's namespace.
func findTarget(r rendered, t Target, appliedNamespace string) (string, error) {
	id := objectID(t.APIVersion, t.Kind, t.Namespace, t.Name)
	if _, ok := r.objects[id]; ok {
		return id, nil
	}
	if appliedNamespace != "" && appliedNamespace == t.Namespace {
		id = objectID(t.APIVersion, t.Kind, "", t.Name)
		if _, ok := r.objects[id]; ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("%w: %s renders %d objects, not %s", ErrTargetNotRendered, "the kustomization", len(r.objects), t)
}

// leaf is one value the plan writes, with the containers it goes through named (not indexed),
// as strategic-merge patches and other files address them.
type leaf struct {
	tokens []string // JSON pointer tokens; a container index is replaced by its name
	named  []bool   // named[i] says tokens[i] is a container name
	value  any
	// pointer is the original pointer on the rendered object.
	pointer string
}

type op struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value,omitempty"`
}

// applyPlan checks the patch's tests against the rendered object (resource quantities compared
// by value), applies its writes, and returns the planned object and the leaves written.
func applyPlan(obj []byte, patch []byte) ([]byte, []leaf, error) {
	var ops []op
	if err := json.Unmarshal(patch, &ops); err != nil {
		return nil, nil, fmt.Errorf("decoding the plan's patch: %w", err)
	}
	var doc any
	if err := json.Unmarshal(obj, &doc); err != nil {
		return nil, nil, err
	}
	var writes []op
	for _, o := range ops {
		switch o.Op {
		case "test":
			var want any
			if err := json.Unmarshal(o.Value, &want); err != nil {
				return nil, nil, err
			}
			got, ok := lookup(doc, splitPointer(o.Path))
			if !ok && !isEmpty(want) {
				return nil, nil, fmt.Errorf("%w: %s is not in the rendered object", ErrConflict, o.Path)
			}
			if ok && !looseEqual(got, want) {
				g, _ := json.Marshal(got)
				return nil, nil, fmt.Errorf("%w: %s is %s in Git, %s live", ErrConflict, o.Path, g, o.Value)
			}
		case "add", "replace":
			writes = append(writes, o)
		default:
			return nil, nil, fmt.Errorf("the plan's patch has a %s operation, which overlays cannot carry", o.Op)
		}
	}
	wb, _ := json.Marshal(writes)
	jp, err := jsonpatch.DecodePatch(wb)
	if err != nil {
		return nil, nil, err
	}
	planned, err := jp.ApplyWithOptions(obj, &jsonpatch.ApplyOptions{EnsurePathExistsOnAdd: true})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: applying the plan to the rendered object: %w", ErrConflict, err)
	}
	var leaves []leaf
	for _, w := range writes {
		var v any
		if err := json.Unmarshal(w.Value, &v); err != nil {
			return nil, nil, err
		}
		toks := splitPointer(w.Path)
		for _, l := range flatten(toks, v) {
			named, err := nameContainers(doc, l)
			if err != nil {
				return nil, nil, err
			}
			leaves = append(leaves, named)
		}
	}
	return planned, leaves, nil
}

// flatten turns a write of an object into writes of its scalar leaves.
func flatten(toks []string, v any) []leaf {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return []leaf{{tokens: toks, value: v, pointer: joinPointer(toks)}}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []leaf
	for _, k := range keys {
		out = append(out, flatten(append(append([]string{}, toks...), k), m[k])...)
	}
	return out
}

// nameContainers replaces container indexes in l's path by the containers' names in doc.
func nameContainers(doc any, l leaf) (leaf, error) {
	l.named = make([]bool, len(l.tokens))
	cur := doc
	for i, tok := range l.tokens {
		if i > 0 && (l.tokens[i-1] == "containers" || l.tokens[i-1] == "initContainers") {
			if list, ok := cur.([]any); ok {
				var idx int
				if _, err := fmt.Sscanf(tok, "%d", &idx); err == nil && idx >= 0 && idx < len(list) {
					c, _ := list[idx].(map[string]any)
					name, _ := c[nameField].(string)
					if name == "" {
						return leaf{}, fmt.Errorf("container %d of the rendered object has no name", idx)
					}
					l.tokens = append([]string{}, l.tokens...)
					l.tokens[i], l.named[i] = name, true
					cur = list[idx]
					continue
				}
			}
		}
		next, ok := lookup(cur, []string{tok})
		if !ok {
			return l, nil
		}
		cur = next
	}
	return l, nil
}

// prover renders candidates.
type prover struct {
	tree        *tree
	dir, id     string
	before      rendered
	planned     []byte
	others      map[string]rendered
	notRendered []string
}

// prove renders dir and every other kustomization with the file changed; it returns the
// target's rendered YAML after, or why the edit is refused.
func (p *prover) prove(path string, content []byte) (string, string) {
	files := p.tree.with(map[string][]byte{path: content})
	after, err := render(files, p.dir)
	if err != nil {
		return "", err.Error()
	}
	if why := sameExcept(p.before, after, p.id); why != "" {
		return "", why
	}
	got, err := yamlToJSON(after.objects[p.id])
	if err != nil {
		return "", err.Error()
	}
	if !jsonEqual(got, p.planned) {
		return "", "the target renders to " + string(got) + ", not the planned " + string(p.planned)
	}
	dirs := make([]string, 0, len(p.others))
	for d := range p.others {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	for _, d := range dirs {
		r, err := render(files, d)
		if err != nil {
			return "", fmt.Sprintf("%s no longer renders: %v", displayDir(d), err)
		}
		if why := sameExcept(p.others[d], r, ""); why != "" {
			return "", fmt.Sprintf("it changes %s too: %s", displayDir(d), why)
		}
	}
	return after.objects[p.id], ""
}

// sameExcept reports how a and b differ apart from the object except.
func sameExcept(a, b rendered, except string) string {
	if len(a.objects) != len(b.objects) {
		return fmt.Sprintf("it renders %d objects instead of %d", len(b.objects), len(a.objects))
	}
	for id, y := range a.objects {
		if id == except {
			if _, ok := b.objects[id]; !ok {
				return "the target is no longer rendered"
			}
			continue
		}
		if b.objects[id] != y {
			return fmt.Sprintf("%s changes", id)
		}
	}
	return ""
}

func unifiedDiff(id, a, b string) string {
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b), FromFile: id + " (rendered, before)", ToFile: id + " (rendered, after)", Context: 3,
	})
	if err != nil {
		return ""
	}
	return d
}

func yamlToJSON(y string) ([]byte, error) {
	docs, err := manifest.Documents([]byte(y))
	if err != nil || len(docs) != 1 {
		return nil, fmt.Errorf("reading a rendered object: %v", err)
	}
	return docs[0], nil
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// looseEqual compares a value read from Git with one read live: resource quantities by value
// ("1Gi" and "1024Mi"), numbers and their strings alike.
func looseEqual(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	as, bs := fmt.Sprint(a), fmt.Sprint(b)
	if as == bs {
		return true
	}
	qa, errA := resource.ParseQuantity(as)
	qb, errB := resource.ParseQuantity(bs)
	return errA == nil && errB == nil && qa.Cmp(qb) == 0
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

func splitPointer(p string) []string {
	if p == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts
}

func joinPointer(toks []string) string {
	var b bytes.Buffer
	for _, t := range toks {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

func lookup(doc any, toks []string) (any, bool) {
	cur := doc
	for _, t := range toks {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[t]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			var i int
			if _, err := fmt.Sscanf(t, "%d", &i); err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
