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
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	jsonpatch "github.com/evanphx/json-patch/v5"
	yaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

var (
	// ErrConflict means the manifest in Git does not hold what the plan read from the live
	// object (a test op failed, or a path the plan changes is missing), so the change cannot be
	// proposed against it without a human looking.
	ErrConflict = errors.New("manifest differs from the live object")
	// ErrInvalidPatch means the plan is not a well-formed RFC 6902 patch.
	ErrInvalidPatch = errors.New("invalid JSON patch")
	// ErrUnsupported means the change is valid but cannot be written while keeping the file's
	// layout byte for byte (a block scalar, an alias, a move), so heal8s refuses rather than
	// reformatting the author's file.
	ErrUnsupported = errors.New("change cannot be written without reformatting the file")
)

// operation is one RFC 6902 operation.
type operation struct {
	Op       string
	Path     string
	tokens   []string
	value    *yaml.Node
	hasValue bool
}

// decodePatch reads an RFC 6902 patch. move and copy are refused: plans never produce them and
// they cannot keep comments attached to the right place.
func decodePatch(patch []byte) ([]operation, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(patch, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPatch, err)
	}
	ops := make([]operation, 0, len(raw))
	for i, r := range raw {
		var op operation
		if err := json.Unmarshal(r["op"], &op.Op); err != nil {
			return nil, fmt.Errorf("%w: operation %d has no op", ErrInvalidPatch, i)
		}
		if err := json.Unmarshal(r["path"], &op.Path); err != nil {
			return nil, fmt.Errorf("%w: operation %d has no path", ErrInvalidPatch, i)
		}
		toks, err := parsePointer(op.Path)
		if err != nil {
			return nil, fmt.Errorf("operation %d: %w", i, err)
		}
		op.tokens = toks
		switch op.Op {
		case "test", "add", "replace":
			v, ok := r["value"]
			if !ok {
				return nil, fmt.Errorf("%w: operation %d (%s %s) has no value", ErrInvalidPatch, i, op.Op, op.Path)
			}
			n, err := jsonToNode(v)
			if err != nil {
				return nil, fmt.Errorf("%w: operation %d value: %w", ErrInvalidPatch, i, err)
			}
			op.value, op.hasValue = n, true
		case "remove":
		case "move", "copy":
			return nil, fmt.Errorf("%w: operation %d: %s is not supported", ErrUnsupported, i, op.Op)
		default:
			return nil, fmt.Errorf("%w: operation %d: unknown op %q", ErrInvalidPatch, i, op.Op)
		}
		if len(op.tokens) == 0 && op.Op != "test" {
			return nil, fmt.Errorf("%w: operation %d: %s of the whole document", ErrUnsupported, i, op.Op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// jsonToNode parses a JSON value into a YAML node, keeping object key order.
func jsonToNode(raw json.RawMessage) (*yaml.Node, error) {
	if !json.Valid(raw) {
		return nil, errors.New("not valid JSON")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("not a single JSON value")
	}
	return doc.Content[0], nil
}

// Apply applies an RFC 6902 patch to the document at loc in content and returns the new file.
// Paths in the patch are relative to the object (loc.Pointer is prepended). test operations
// compare semantically (resource quantities by value) and fail with ErrConflict; add, replace and
// remove are spliced into the original bytes so that everything else in the file is unchanged.
// The result is re-parsed and checked against the patch applied to the document's JSON form.
func Apply(content []byte, loc Location, patch []byte) ([]byte, error) {
	ops, err := decodePatch(patch)
	if err != nil {
		return nil, err
	}
	prefix, err := parsePointer(loc.Pointer)
	if err != nil {
		return nil, fmt.Errorf("location %s: %w", loc, err)
	}
	f, err := parseFile(content)
	if err != nil {
		return nil, err
	}
	if loc.Index < 0 || loc.Index >= len(f.docs) {
		return nil, fmt.Errorf("%w: %s has %d documents, no document %d", ErrNotFound, loc.Path, len(f.docs), loc.Index)
	}
	before, err := docsJSON(f)
	if err != nil {
		return nil, err
	}

	out := content
	var changes []map[string]any
	for i, op := range ops {
		op.tokens = append(append([]string(nil), prefix...), op.tokens...)
		if i > 0 {
			if f, err = parseFile(out); err != nil {
				return nil, fmt.Errorf("re-parsing after operation %d: %w", i-1, err)
			}
		}
		e := editor{f: f, doc: f.docs[loc.Index]}
		out, op, err = e.apply(op)
		if err != nil {
			return nil, fmt.Errorf("operation %d (%s %s): %w", i, op.Op, op.Path, err)
		}
		if op.Op != "test" {
			c := map[string]any{"op": op.Op, "path": formatPointer(op.tokens)}
			if op.hasValue {
				var v any
				if err := op.value.Decode(&v); err != nil {
					return nil, fmt.Errorf("operation %d value: %w", i, err)
				}
				c["value"] = normalize(v)
			}
			changes = append(changes, c)
		}
	}
	if err := verify(before, out, loc.Index, changes); err != nil {
		return nil, err
	}
	return out, nil
}

// verify checks that out holds the same documents as before, except that the one at index
// has exactly the changes applied, so a splice that went wrong is an error and never a PR.
func verify(before [][]byte, out []byte, index int, changes []map[string]any) error {
	f, err := parseFile(out)
	if err != nil {
		return fmt.Errorf("%w: the edited file does not parse: %w", ErrUnsupported, err)
	}
	after, err := docsJSON(f)
	if err != nil {
		return err
	}
	if len(after) != len(before) {
		return fmt.Errorf("%w: the edited file has %d documents instead of %d", ErrUnsupported, len(after), len(before))
	}
	want := before[index]
	if len(changes) > 0 {
		pb, err := json.Marshal(changes)
		if err != nil {
			return fmt.Errorf("encoding the patch: %w", err)
		}
		p, err := jsonpatch.DecodePatch(pb)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidPatch, err)
		}
		if want, err = p.Apply(want); err != nil {
			return fmt.Errorf("%w: applying the patch to the document: %w", ErrConflict, err)
		}
	}
	for i := range after {
		w := before[i]
		if i == index {
			w = want
		}
		if !jsonEqual(w, after[i]) {
			return fmt.Errorf("%w: the edited document %d reads back as %s, want %s", ErrUnsupported, i, after[i], w)
		}
	}
	return nil
}

// docsJSON returns each document's JSON form.
func docsJSON(f *file) ([][]byte, error) {
	out := make([][]byte, len(f.docs))
	for i, d := range f.docs {
		var v any
		if err := d.YNode().Decode(&v); err != nil {
			return nil, fmt.Errorf("decoding document %d: %w", i, err)
		}
		b, err := json.Marshal(normalize(v))
		if err != nil {
			return nil, fmt.Errorf("document %d as JSON: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}

// normalize turns YAML-decoded maps with non-string keys into JSON-encodable ones.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	}
	return v
}

// jsonEqual compares two JSON texts as values; a number and a string holding the same
// quantity compare equal, since a quantity may be written either way.
func jsonEqual(a, b []byte) bool {
	va, err1 := decodeJSON(a)
	vb, err2 := decodeJSON(b)
	if err1 != nil || err2 != nil {
		return bytes.Equal(a, b)
	}
	return looseEqual(va, vb, true)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// looseEqual compares decoded JSON values; with quantities, scalars that parse as resource
// quantities compare by value.
func looseEqual(a, b any, quantities bool) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !looseEqual(v, w, quantities) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !looseEqual(x[i], y[i], quantities) {
				return false
			}
		}
		return true
	}
	if reflect.DeepEqual(a, b) {
		return true
	}
	return scalarEqual(a, b, quantities)
}
