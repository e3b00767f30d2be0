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
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/internal/manifest"
)

// nameField names an object in its metadata and an item of a named list (containers, images).
const nameField = "name"

// candidate is one possible edit: a file's whole new content, or why it could not be written.
type candidate struct {
	path    string
	content []byte
	layer   string
	err     error
}

// candidates lists the edits to try, most specific layer first.
func candidates(tr *tree, dir, kfile string, t Target, before []byte, leaves []leaf) []candidate {
	var out []candidate
	var beforeDoc any
	_ = json.Unmarshal(before, &beforeDoc)

	if allImages(leaves) {
		out = append(out, imageCandidates(tr, kfile, beforeDoc, leaves)...)
	}

	// Files that declare or patch the target: the overlay's own first, then the rest. A file
	// may declare it under a shorter name (a namePrefix or nameSuffix adds to it later), and a
	// JSON 6902 patch does not name it at all; candidates may be too many, rendering decides.
	names := []string{t.Name}
	var files []string
	for p := range tr.files {
		if !isKustomizationFile(p) && isYAML(p) && (under(p, dir) || strings.Contains(string(tr.files[p]), t.Kind)) {
			files = append(files, p)
		}
	}
	slices.SortFunc(files, func(a, b string) int {
		if ua, ub := under(a, dir), under(b, dir); ua != ub {
			if ua {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, p := range files {
		docs, err := manifest.Documents(tr.files[p])
		if err != nil {
			continue
		}
		for i, d := range docs {
			var v any
			if json.Unmarshal(d, &v) != nil {
				continue
			}
			where := "the overlay's " + p
			if !under(p, dir) {
				where = p
			}
			switch doc := v.(type) {
			case map[string]any:
				name, ok := declares(doc, t)
				if !ok {
					continue
				}
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
				content, err := setLeaves(tr.files[p], p, i, leaves)
				out = append(out, candidate{path: p, content: content, err: err,
					layer: fmt.Sprintf("%s (document %d), which declares or patches the target", where, i)})
			case []any:
				content, err := setJSON6902(tr.files[p], p, i, doc, leaves)
				if err == nil {
					out = append(out, candidate{path: p, content: content,
						layer: fmt.Sprintf("%s, the JSON patch that sets the field", where)})
				}
			}
		}
	}

	for _, n := range names {
		named := t
		named.Name = n
		content, err := appendInlinePatch(tr.files[kfile], named, leaves)
		out = append(out, candidate{path: kfile, content: content, err: err,
			layer: fmt.Sprintf("a new strategic-merge patch in %s, the kustomization the GitOps tool applies", kfile)})
	}
	return out
}

func under(p, dir string) bool {
	return dir == "" || strings.HasPrefix(p, dir+"/")
}

// declares reports whether doc may be the target or a strategic-merge patch of it, and the name
// it has there: the target's, or a part of it that a namePrefix or nameSuffix completes.
func declares(doc map[string]any, t Target) (string, bool) {
	md, _ := doc["metadata"].(map[string]any)
	name, _ := md[nameField].(string)
	ns, _ := md["namespace"].(string)
	kind, _ := doc["kind"].(string)
	return name, kind == t.Kind && name != "" && strings.Contains(t.Name, name) && (ns == "" || ns == t.Namespace)
}

func allImages(leaves []leaf) bool {
	for _, l := range leaves {
		if len(l.tokens) == 0 || l.tokens[len(l.tokens)-1] != "image" {
			return false
		}
	}
	return len(leaves) > 0
}

// setLeaves writes every leaf into document idx of a file that declares or patches the target,
// addressing containers by name, through manifest.Apply so the file's layout is kept.
func setLeaves(content []byte, p string, idx int, leaves []leaf) ([]byte, error) {
	cur := content
	for _, l := range leaves {
		docs, err := manifest.Documents(cur)
		if err != nil {
			return nil, err
		}
		var doc any
		if err := json.Unmarshal(docs[idx], &doc); err != nil {
			return nil, err
		}
		o, err := opFor(doc, l)
		if err != nil {
			return nil, err
		}
		ops, _ := json.Marshal([]op{o})
		cur, err = manifest.Apply(cur, manifest.Location{Path: p, Index: idx}, ops)
		if err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// opFor is the operation that sets l in doc: replace where the field is, add where it is not
// (a container the file does not list is appended with its name).
func opFor(doc any, l leaf) (op, error) {
	cur := doc
	var path []string
	for i, tok := range l.tokens {
		if l.named[i] {
			list, ok := cur.([]any)
			if !ok {
				if cur == nil {
					break
				}
				return op{}, fmt.Errorf("%s is not a list", joinPointer(path))
			}
			found := -1
			for k, it := range list {
				if m, ok := it.(map[string]any); ok && m[nameField] == tok {
					found = k
				}
			}
			if found < 0 {
				v, err := namedItem(tok, l.tokens[i+1:], l.value)
				if err != nil {
					return op{}, err
				}
				return op{Op: "add", Path: joinPointer(append(path, "-")), Value: v}, nil
			}
			path = append(path, fmt.Sprint(found))
			cur = list[found]
			continue
		}
		path = append(path, tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return op{}, fmt.Errorf("%s is not a map", joinPointer(path[:len(path)-1]))
		}
		next, exists := m[tok]
		if !exists {
			if rest := l.tokens[i+1:]; hasNamed(l.named[i+1:]) {
				// The list that holds the container is missing too: add it with the container.
				v, err := nestedWithList(rest, l.named[i+1:], l.value)
				if err != nil {
					return op{}, err
				}
				return op{Op: "add", Path: joinPointer(path), Value: v}, nil
			}
			v, _ := json.Marshal(nest(l.tokens[i+1:], l.value))
			return op{Op: "add", Path: joinPointer(path), Value: v}, nil
		}
		cur = next
	}
	v, _ := json.Marshal(l.value)
	return op{Op: "replace", Path: joinPointer(path), Value: v}, nil
}

func hasNamed(named []bool) bool {
	for _, n := range named {
		if n {
			return true
		}
	}
	return false
}

// nestedWithList builds the value of rest (whose named token is a container) as JSON.
func nestedWithList(rest []string, named []bool, v any) (json.RawMessage, error) {
	if len(rest) == 0 {
		return json.Marshal(v)
	}
	if named[0] {
		item, err := namedItem(rest[0], rest[1:], v)
		if err != nil {
			return nil, err
		}
		return json.RawMessage("[" + string(item) + "]"), nil
	}
	inner, err := nestedWithList(rest[1:], named[1:], v)
	if err != nil {
		return nil, err
	}
	k, _ := json.Marshal(rest[0])
	return json.RawMessage("{" + string(k) + ":" + string(inner) + "}"), nil
}

// namedItem is a list item {"name": name, rest...: v}, name first as people write it.
func namedItem(name string, rest []string, v any) (json.RawMessage, error) {
	n, _ := json.Marshal(name)
	if len(rest) == 0 {
		return nil, fmt.Errorf("cannot set the container %s itself", name)
	}
	k, _ := json.Marshal(rest[0])
	inner, err := json.Marshal(nest(rest[1:], v))
	if err != nil {
		return nil, err
	}
	return json.RawMessage(`{"name":` + string(n) + "," + string(k) + ":" + string(inner) + "}"), nil
}

func nest(toks []string, v any) any {
	for _, tok := range slices.Backward(toks) {
		v = map[string]any{tok: v}
	}
	return v
}

// setJSON6902 edits a JSON 6902 patch file that sets at least one of the leaves' fields: the
// operations that set a field get the new value, and the leaves it does not set yet are appended
// as add operations (an add replaces an existing member), so the file stays the one place the
// overlay sets these fields.
func setJSON6902(content []byte, p string, idx int, ops []any, leaves []leaf) ([]byte, error) {
	var edits []op
	matched := 0
	for _, l := range leaves {
		found := -1
		for k, it := range ops {
			m, ok := it.(map[string]any)
			if ok && (m["op"] == "add" || m["op"] == "replace") && m["path"] == l.pointer {
				found = k
			}
		}
		v, _ := json.Marshal(l.value)
		if found < 0 {
			item, _ := json.Marshal(op{Op: "add", Path: l.pointer, Value: v})
			edits = append(edits, op{Op: "add", Path: "/-", Value: item})
			continue
		}
		matched++
		edits = append(edits, op{Op: "replace", Path: fmt.Sprintf("/%d/value", found), Value: v})
	}
	if matched == 0 {
		return nil, fmt.Errorf("no operation sets %s", leaves[0].pointer)
	}
	b, _ := json.Marshal(edits)
	return manifest.Apply(content, manifest.Location{Path: p, Index: idx}, b)
}

// imageCandidates edit the images transformer: an entry of a kustomization (the overlay's
// first) that names the image, or a new entry in the overlay where the repository uses the
// transformer elsewhere.
func imageCandidates(tr *tree, kfile string, before any, leaves []leaf) []candidate {
	if len(leaves) != 1 {
		return nil
	}
	old, _ := lookup(before, splitPointer(leaves[0].pointer))
	oldImage, _ := old.(string)
	newImage, _ := leaves[0].value.(string)
	oldRepo, _, _ := splitImage(oldImage)
	newRepo, tag, digest := splitImage(newImage)
	if oldRepo == "" || newRepo == "" {
		return nil
	}
	var out []candidate
	kfiles := []string{kfile}
	usesImages := false
	for _, d := range tr.kdirs {
		k, _ := tr.kustomizationIn(tr.files, d)
		if k != kfile {
			kfiles = append(kfiles, k)
		}
	}
	for _, k := range kfiles {
		var kd map[string]any
		if yaml.Unmarshal(tr.files[k], &kd) != nil {
			continue
		}
		images, _ := kd["images"].([]any)
		if len(images) > 0 {
			usesImages = true
		}
		for i, it := range images {
			e, _ := it.(map[string]any)
			name, _ := e[nameField].(string)
			effective, _ := e["newName"].(string)
			if effective == "" {
				effective = name
			}
			if name != oldRepo && effective != oldRepo {
				continue
			}
			var ops []op
			set := func(field string, v string) {
				b, _ := json.Marshal(v)
				o := "add"
				if _, ok := e[field]; ok {
					o = "replace"
				}
				ops = append(ops, op{Op: o, Path: fmt.Sprintf("/images/%d/%s", i, field), Value: b})
			}
			del := func(field string) {
				if _, ok := e[field]; ok {
					ops = append(ops, op{Op: "remove", Path: fmt.Sprintf("/images/%d/%s", i, field)})
				}
			}
			if newRepo != effective {
				set("newName", newRepo)
			}
			if digest != "" {
				set("digest", digest)
				del("newTag")
			} else {
				set("newTag", tag)
				del("digest")
			}
			b, _ := json.Marshal(ops)
			content, err := manifest.Apply(tr.files[k], manifest.Location{Path: k, Index: 0}, b)
			out = append(out, candidate{path: k, content: content, err: err,
				layer: fmt.Sprintf("the images transformer entry %q in %s", name, k)})
		}
	}
	if usesImages {
		entry := map[string]any{nameField: oldRepo}
		if newRepo != oldRepo {
			entry["newName"] = newRepo
		}
		if digest != "" {
			entry["digest"] = digest
		} else {
			entry["newTag"] = tag
		}
		var kd map[string]any
		_ = yaml.Unmarshal(tr.files[kfile], &kd)
		var o op
		if _, ok := kd["images"]; ok {
			v, _ := json.Marshal(entry)
			o = op{Op: "add", Path: "/images/-", Value: v}
		} else {
			v, _ := json.Marshal([]any{entry})
			o = op{Op: "add", Path: "/images", Value: v}
		}
		b, _ := json.Marshal([]op{o})
		content, err := manifest.Apply(tr.files[kfile], manifest.Location{Path: kfile, Index: 0}, b)
		out = append(out, candidate{path: kfile, content: content, err: err,
			layer: fmt.Sprintf("a new images transformer entry in %s, the overlay the GitOps tool applies", kfile)})
	}
	return out
}

// splitImage splits "repo[:tag][@digest]"; a port in the registry host is not a tag.
func splitImage(img string) (repo, tag, digest string) {
	if i := strings.IndexByte(img, '@'); i >= 0 {
		img, digest = img[:i], img[i+1:]
	}
	if i := strings.LastIndexByte(img, ':'); i >= 0 && !strings.Contains(img[i:], "/") {
		img, tag = img[:i], img[i+1:]
	}
	return img, tag, digest
}

// appendInlinePatch adds a strategic-merge patch of the leaves to the kustomization's patches
// list (creating the list at the end of the file when there is none), as
// `kustomize edit add patch` would, in the file's own list indentation.
func appendInlinePatch(content []byte, t Target, leaves []leaf) ([]byte, error) {
	group, version := "", t.APIVersion
	if i := strings.IndexByte(t.APIVersion, '/'); i >= 0 {
		group, version = t.APIVersion[:i], t.APIVersion[i+1:]
	}
	smp := map[string]any{"apiVersion": t.APIVersion, "kind": t.Kind, "metadata": map[string]any{nameField: t.Name}}
	for _, l := range leaves {
		putNamed(smp, l.tokens, l.named, l.value)
	}
	body, err := yaml.Marshal(smp)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("- target:\n")
	if group != "" {
		fmt.Fprintf(&b, "    group: %s\n", group)
	}
	fmt.Fprintf(&b, "    version: %s\n    kind: %s\n    name: %s\n", version, t.Kind, t.Name)
	b.WriteString("  patch: |-\n")
	for line := range strings.SplitSeq(strings.TrimRight(string(body), "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	entry := b.String()

	root, err := kyaml.Parse(string(content))
	if err != nil {
		return nil, err
	}
	text := string(content)
	eol := "\n"
	if strings.Contains(text, "\r\n") {
		eol = "\r\n"
	}
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	field := root.Field("patches")
	if field == nil {
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += eol
		}
		return []byte(text + strings.ReplaceAll("patches:\n"+entry, "\n", eol)), nil
	}
	seq := field.Value.YNode()
	if seq.Kind != kyaml.SequenceNode || seq.Style&kyaml.FlowStyle != 0 || len(seq.Content) == 0 {
		return nil, fmt.Errorf("the patches list is not a block list; heal8s does not reformat it")
	}
	first := lines[seq.Content[0].Line-1]
	indent := first[:len(first)-len(strings.TrimLeft(first, " "))]
	// The list ends before the next key at the patches key's column (or at the end of the file),
	// less trailing blank and comment lines.
	keyCol := field.Key.YNode().Column
	end := len(lines)
	for i := field.Key.YNode().Line; i < len(lines); i++ {
		l := lines[i]
		trim := strings.TrimLeft(l, " ")
		col := len(l) - len(trim) + 1
		if strings.TrimSpace(l) == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		if col <= keyCol && !strings.HasPrefix(trim, "-") {
			end = i
			break
		}
	}
	for end > 0 {
		s := strings.TrimSpace(lines[end-1])
		outdentedComment := strings.HasPrefix(s, "#") &&
			len(lines[end-1])-len(strings.TrimLeft(lines[end-1], " ")) < len(indent)+1
		if s != "" && !outdentedComment {
			break
		}
		end--
	}
	var add strings.Builder
	for _, line := range strings.SplitAfter(entry, "\n") {
		if line != "" {
			add.WriteString(indent + strings.TrimSuffix(line, "\n") + eol)
		}
	}
	if end > 0 && !strings.HasSuffix(lines[end-1], "\n") {
		lines[end-1] += eol
	}
	out := strings.Join(lines[:end], "") + add.String() + strings.Join(lines[end:], "")
	if _, err := kyaml.Parse(out); err != nil {
		return nil, fmt.Errorf("the kustomization with the new patch does not parse: %w", err)
	}
	return []byte(out), nil
}

// putNamed sets v at tokens in m, creating maps and named list items.
func putNamed(m map[string]any, tokens []string, named []bool, v any) {
	cur := m
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		last := i == len(tokens)-1
		if i+1 < len(tokens) && named[i+1] {
			list, _ := cur[tok].([]any)
			var item map[string]any
			for _, it := range list {
				if im, ok := it.(map[string]any); ok && im[nameField] == tokens[i+1] {
					item = im
				}
			}
			if item == nil {
				item = map[string]any{nameField: tokens[i+1]}
				list = append(list, item)
				cur[tok] = list
			}
			cur = item
			i++
			continue
		}
		if last {
			cur[tok] = v
			return
		}
		next, ok := cur[tok].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[tok] = next
		}
		cur = next
	}
}
