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

package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	yaml "sigs.k8s.io/kustomize/kyaml/yaml"

	heal8sv1beta1 "github.com/heal8s/heal8s/api/v1beta1"
)

var (
	// ErrNotFound means no document in the repository declares the object, so there is nothing
	// to open a pull request against.
	ErrNotFound = errors.New("manifest not found")
	// ErrAmbiguous means several documents declare the object and heal8s will not guess which
	// one Flux or Argo CD applies; the heal8s.io/source-path annotation settles it.
	ErrAmbiguous = errors.New("manifest is ambiguous")
	// ErrSearchLimit means the repository search stopped at its bounds, so a unique match
	// cannot be trusted and no match may be a false negative.
	ErrSearchLimit = errors.New("repository search limit reached")
	// ErrPathTemplate means the policy's path template uses more than the plain placeholders
	// {{ .Namespace }}, {{ .Name }}, {{ .Kind }}, or expands to nothing.
	ErrPathTemplate = errors.New("invalid path template")
)

// Default search bounds, sized for a GitOps repository read through the GitHub API.
const (
	DefaultMaxFiles     = 2000
	DefaultMaxFileBytes = 1 << 20
)

// Repo is the read side of the Git repository that holds the manifests: the Git provider
// implements it over its API at the base branch, tests over a map. ReadFile on a missing path
// returns an error wrapping fs.ErrNotExist (gitprovider.ErrNotFound is one); any other error is
// taken as transient.
type Repo interface {
	// ListFiles returns every file path in the repository, slash-separated, relative to its root.
	ListFiles(ctx context.Context) ([]string, error)
	// ReadFile returns a file's content.
	ReadFile(ctx context.Context, name string) ([]byte, error)
}

// Object identifies the live object whose manifest is wanted.
type Object struct {
	APIVersion  string
	Kind        string
	Namespace   string
	Name        string
	Annotations map[string]string
}

// String names the object for messages.
func (o Object) String() string {
	return fmt.Sprintf("%s %s %s/%s", o.APIVersion, o.Kind, o.Namespace, o.Name)
}

// Hints carries what the policy says about where manifests live, and the search's bounds.
type Hints struct {
	// PathTemplate is the policy's spec.git.path: "file.yaml" or "file.yaml#n" with the
	// placeholders {{ .Namespace }}, {{ .Name }} and {{ .Kind }} (see ExpandPath).
	PathTemplate string
	// NamespacelessMatches lets a document without metadata.namespace match an object in any
	// namespace during the search (manifests applied with a default namespace, kustomize
	// bases); files named by the annotation or template always allow it.
	NamespacelessMatches bool
	// Under restricts the search to files under this directory (the directory a Flux
	// Kustomization or Argo CD Application applies); "" searches the whole repository.
	Under string
	// MaxFiles bounds how many YAML files the search reads; 0 means DefaultMaxFiles.
	MaxFiles int
	// MaxFileBytes bounds the size of a file the search parses; 0 means DefaultMaxFileBytes.
	MaxFileBytes int
}

// Location is a document in the repository: the file, the document's index in the file (empty
// documents not counted), and a JSON pointer inside that document to the object ("" for the
// document itself, "/items/2" for an item of a kind: List).
type Location struct {
	Path    string
	Index   int
	Pointer string
}

// String renders the location as "path#index" plus the pointer, the annotation's syntax.
func (l Location) String() string {
	return l.Path + "#" + strconv.Itoa(l.Index) + l.Pointer
}

// Locate finds the document that declares obj: the heal8s.io/source-path annotation first, then
// the path template, then a bounded search of the repository for a document with the same
// apiVersion, kind, name and namespace.
func Locate(ctx context.Context, repo Repo, obj Object, hints Hints) (Location, error) {
	if ann := obj.Annotations[heal8sv1beta1.AnnotationSourcePath]; ann != "" {
		loc, err := locateIn(ctx, repo, obj, ann)
		if err != nil {
			return Location{}, fmt.Errorf("following annotation %s=%q: %w", heal8sv1beta1.AnnotationSourcePath, ann, err)
		}
		return loc, nil
	}
	if hints.PathTemplate != "" {
		p, err := ExpandPath(hints.PathTemplate, obj)
		if err != nil {
			return Location{}, err
		}
		loc, err := locateIn(ctx, repo, obj, p)
		if err != nil {
			return Location{}, fmt.Errorf("following path template %q (%s): %w", hints.PathTemplate, p, err)
		}
		return loc, nil
	}
	return search(ctx, repo, obj, hints)
}

// pathPlaceholders are the only placeholders a path template may use. A template is not a Go
// template: it is never executed, so a tenant's spec.git.path cannot loop, allocate or call
// functions in the leader's worker.
var pathPlaceholders = map[string]func(Object) string{
	"Namespace": func(o Object) string { return o.Namespace },
	"Name":      func(o Object) string { return o.Name },
	"Kind":      func(o Object) string { return o.Kind },
}

// MaxPathTemplate bounds a path template's length, as the CRD does (spec.git.path, 512).
const MaxPathTemplate = 512

// ValidatePathTemplate checks that tmpl is plain text with only the placeholders
// {{ .Namespace }}, {{ .Name }} and {{ .Kind }} (spaces inside the braces optional). The
// admission webhook and the controller both call it; errors wrap ErrPathTemplate.
func ValidatePathTemplate(tmpl string) error {
	_, err := expandPath(tmpl, nil)
	return err
}

// ExpandPath substitutes the placeholders of a path template for obj. It never runs a template
// engine: the work is one linear scan of at most MaxPathTemplate bytes.
func ExpandPath(tmpl string, obj Object) (string, error) {
	out, err := expandPath(tmpl, &obj)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(out) == "" {
		return "", fmt.Errorf("%w: %q expands to an empty path", ErrPathTemplate, tmpl)
	}
	return out, nil
}

// expandPath scans tmpl; with obj nil it only validates.
func expandPath(tmpl string, obj *Object) (string, error) {
	if len(tmpl) > MaxPathTemplate {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrPathTemplate, MaxPathTemplate)
	}
	var b strings.Builder
	rest := tmpl
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			if strings.Contains(rest, "}}") {
				return "", fmt.Errorf("%w: %q has a }} without {{", ErrPathTemplate, tmpl)
			}
			b.WriteString(rest)
			break
		}
		if strings.Contains(rest[:open], "}}") {
			return "", fmt.Errorf("%w: %q has a }} without {{", ErrPathTemplate, tmpl)
		}
		b.WriteString(rest[:open])
		rest = rest[open+2:]
		end := strings.Index(rest, "}}")
		if end < 0 {
			return "", fmt.Errorf("%w: %q has a {{ without }}", ErrPathTemplate, tmpl)
		}
		inner := strings.Trim(rest[:end], " \t")
		name, ok := strings.CutPrefix(inner, ".")
		value, known := pathPlaceholders[name]
		if !ok || !known {
			return "", fmt.Errorf("%w: {{%s}} in %q is not one of {{ .Namespace }}, {{ .Name }}, {{ .Kind }} (a path is not a Go template)",
				ErrPathTemplate, rest[:end], tmpl)
		}
		if obj != nil {
			b.WriteString(value(*obj))
		}
		rest = rest[end+2:]
	}
	return b.String(), nil
}

// ParseSourcePath splits "file.yaml" or "file.yaml#n" into a clean repository path and a
// document index (-1 when absent), refusing paths that leave the repository.
func ParseSourcePath(s string) (string, int, error) {
	p, idx := s, -1
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n < 0 || s[i+1:] != strconv.Itoa(n) {
			return "", 0, fmt.Errorf("%w: %q: the part after # is not a document index", ErrNotFound, s)
		}
		p, idx = s[:i], n
	}
	p = path.Clean(strings.TrimPrefix(strings.TrimSpace(p), "/"))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", 0, fmt.Errorf("%w: %q is not a file inside the repository", ErrNotFound, s)
	}
	return p, idx, nil
}

// locateIn finds obj in the file a person named (annotation or template).
func locateIn(ctx context.Context, repo Repo, obj Object, source string) (Location, error) {
	p, idx, err := ParseSourcePath(source)
	if err != nil {
		return Location{}, err
	}
	content, err := repo.ReadFile(ctx, p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Location{}, fmt.Errorf("%w: reading %s: %w", ErrNotFound, p, err)
	case err != nil:
		// A network error, a 5xx or a rate limit says nothing about the file: not ErrNotFound,
		// so the caller retries instead of giving up for good.
		return Location{}, fmt.Errorf("reading %s: %w", p, err)
	}
	f, err := parseFile(content)
	if err != nil {
		return Location{}, fmt.Errorf("%w: %s: %w", ErrNotFound, p, err)
	}
	if idx >= len(f.docs) {
		return Location{}, fmt.Errorf("%w: %s has %d documents, no document %d", ErrNotFound, p, len(f.docs), idx)
	}
	var found []Location
	for i, d := range f.docs {
		if idx >= 0 && i != idx {
			continue
		}
		for _, ptr := range matches(d, obj, true) {
			found = append(found, Location{Path: p, Index: i, Pointer: ptr})
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Location{}, fmt.Errorf("%w: no document in %s declares %s", ErrNotFound, source, obj)
	}
	return Location{}, fmt.Errorf("%w: %s declares %s %d times: %s", ErrAmbiguous, p, obj, len(found), joinLocations(found))
}

// matches returns the pointers within doc of declarations of obj: "" for the document itself,
// "/items/n" for items of a List.
func matches(doc *yaml.RNode, obj Object, namespaceless bool) []string {
	var out []string
	if isKind(doc, obj, namespaceless) {
		out = append(out, "")
	}
	if k := stringField(doc, "kind"); k == "List" || (strings.HasSuffix(k, "List") && k != obj.Kind) {
		items := doc.Field("items")
		if items != nil && items.Value.YNode().Kind == yaml.SequenceNode {
			for i, it := range items.Value.YNode().Content {
				if it.Kind == yaml.MappingNode && isKind(yaml.NewRNode(it), obj, namespaceless) {
					out = append(out, "/items/"+strconv.Itoa(i))
				}
			}
		}
	}
	return out
}

// isKind reports whether n declares obj.
func isKind(n *yaml.RNode, obj Object, namespaceless bool) bool {
	if n.YNode().Kind != yaml.MappingNode {
		return false
	}
	if stringField(n, "apiVersion") != obj.APIVersion || stringField(n, "kind") != obj.Kind {
		return false
	}
	if metadataField(n, "name") != obj.Name {
		return false
	}
	ns := metadataField(n, "namespace")
	return ns == obj.Namespace || (ns == "" && namespaceless)
}

// metadataField returns a scalar field of n's metadata, or "".
func metadataField(n *yaml.RNode, name string) string {
	if n.YNode().Kind != yaml.MappingNode {
		return ""
	}
	md := n.Field("metadata")
	if md == nil {
		return ""
	}
	return stringField(md.Value, name)
}

// stringField returns a scalar field's value, or "" when absent or not a scalar.
func stringField(n *yaml.RNode, name string) string {
	if n == nil || n.YNode().Kind != yaml.MappingNode {
		return ""
	}
	f := n.Field(name)
	if f == nil || f.Value.YNode().Kind != yaml.ScalarNode {
		return ""
	}
	return f.Value.YNode().Value
}

// search scans the repository's YAML files for obj within hints' bounds.
func search(ctx context.Context, repo Repo, obj Object, hints Hints) (Location, error) {
	maxFiles, maxBytes := hints.MaxFiles, hints.MaxFileBytes
	if maxFiles <= 0 {
		maxFiles = DefaultMaxFiles
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFileBytes
	}
	all, err := repo.ListFiles(ctx)
	if err != nil {
		return Location{}, fmt.Errorf("listing repository files: %w", err)
	}
	var files []string
	for _, p := range all {
		if under := strings.Trim(hints.Under, "/"); under != "" && !strings.HasPrefix(p, under+"/") {
			continue
		}
		if ext := strings.ToLower(path.Ext(p)); ext == ".yaml" || ext == ".yml" {
			files = append(files, p)
		}
	}
	slices.Sort(files)

	var found, near []Location
	var limits []string
	if len(files) > maxFiles {
		limits = append(limits, fmt.Sprintf("read %d of %d YAML files (max files %d)", maxFiles, len(files), maxFiles))
		files = files[:maxFiles]
	}
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return Location{}, fmt.Errorf("searching the repository: %w", err)
		}
		content, err := repo.ReadFile(ctx, p)
		if err != nil {
			return Location{}, fmt.Errorf("reading %s: %w", p, err)
		}
		if !bytes.Contains(content, []byte(obj.Name)) {
			continue
		}
		if len(content) > maxBytes {
			limits = append(limits, fmt.Sprintf("skipped %s (%d bytes, max %d) which mentions %s", p, len(content), maxBytes, obj.Name))
			continue
		}
		f, err := parseFile(content)
		if err != nil {
			continue // Helm templates and other non-YAML .yaml files are not manifests.
		}
		for i, d := range f.docs {
			ptrs := matches(d, obj, hints.NamespacelessMatches)
			for _, ptr := range ptrs {
				found = append(found, Location{Path: p, Index: i, Pointer: ptr})
			}
			if len(ptrs) == 0 && stringField(d, "kind") == obj.Kind && metadataField(d, "name") == obj.Name {
				near = append(near, Location{Path: p, Index: i})
			}
		}
	}
	others := ""
	if len(near) > 0 {
		others = "; same kind and name but another apiVersion or namespace: " + joinLocations(near)
	}

	bound := ""
	if len(limits) > 0 {
		bound = "; " + strings.Join(limits, "; ")
	}
	switch {
	case len(found) == 1 && bound == "":
		return found[0], nil
	case len(found) == 1:
		return Location{}, fmt.Errorf("%w: found only %s for %s, but the search was incomplete%s; set the %s annotation",
			ErrSearchLimit, found[0], obj, bound, heal8sv1beta1.AnnotationSourcePath)
	case len(found) == 0 && bound != "":
		return Location{}, fmt.Errorf("%w: %w: no document declares %s among %d YAML files%s%s",
			ErrNotFound, ErrSearchLimit, obj, len(files), others, bound)
	case len(found) == 0:
		return Location{}, fmt.Errorf("%w: no document declares %s among %d YAML files%s; set the %s annotation",
			ErrNotFound, obj, len(files), others, heal8sv1beta1.AnnotationSourcePath)
	}
	return Location{}, fmt.Errorf("%w: %d documents declare %s: %s%s; set the %s annotation",
		ErrAmbiguous, len(found), obj, joinLocations(found), bound, heal8sv1beta1.AnnotationSourcePath)
}

func joinLocations(locs []Location) string {
	s := make([]string, len(locs))
	for i, l := range locs {
		s[i] = l.String()
	}
	return strings.Join(s, ", ")
}
