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

package actions

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// operation is one RFC 6902 operation. Value is always present for the ops heal8s emits.
type operation struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// patchBuilder collects the test operations (against the object as read) and the changes
// (against the object as changed so far), so that a write into a missing field becomes an "add"
// of the smallest enclosing object, guarded by a test of the nearest field that does exist.
type patchBuilder struct {
	raw    []byte // the object's JSON as read
	orig   any    // raw, decoded
	work   any    // orig with the changes applied so far
	tests  []operation
	tested map[string]bool
	writes []operation
}

// newPatchBuilder decodes obj's JSON twice: once to test against and once to track the changes.
func newPatchBuilder(obj any) (*patchBuilder, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding the object: %w", err)
	}
	b := &patchBuilder{raw: raw, tested: map[string]bool{}}
	if err := json.Unmarshal(raw, &b.orig); err != nil {
		return nil, fmt.Errorf("decoding the object: %w", err)
	}
	if err := json.Unmarshal(raw, &b.work); err != nil {
		return nil, fmt.Errorf("decoding the object: %w", err)
	}
	return b, nil
}

// test guards the value at path in the object as read. The path must exist.
func (b *patchBuilder) test(path []string) error {
	op, err := b.testOp(path)
	if err != nil {
		return err
	}
	b.addTest(op)
	return nil
}

// testOp builds the test operation for the value at path in the object as read.
func (b *patchBuilder) testOp(path []string) (operation, error) {
	ptr := pointer(path)
	v, ok := lookup(b.orig, path)
	if !ok {
		return operation{}, fmt.Errorf("testing %s: the field does not exist", ptr)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return operation{}, fmt.Errorf("testing %s: %w", ptr, err)
	}
	return operation{Op: "test", Path: ptr, Value: raw}, nil
}

// addTest records a test operation once per path.
func (b *patchBuilder) addTest(op operation) {
	if !b.tested[op.Path] {
		b.tested[op.Path] = true
		b.tests = append(b.tests, op)
	}
}

// set writes value at path. When the field exists it is tested and replaced; when it does not,
// the nearest existing ancestor is tested (so a concurrent addition makes the patch fail rather
// than be overwritten) and the missing part is added as one nested object. A failed set leaves
// the builder unchanged.
func (b *patchBuilder) set(path []string, value any) error {
	// The deepest prefix that exists in the object as read is what the test guards.
	i := len(path)
	for ; i > 0; i-- {
		if _, ok := lookup(b.orig, path[:i]); ok {
			break
		}
	}
	guard, err := b.testOp(path[:i])
	if err != nil {
		return err
	}
	// The deepest prefix that exists once earlier writes are applied is where this one goes.
	j := len(path)
	for ; j > 0; j-- {
		if _, ok := lookup(b.work, path[:j]); ok {
			break
		}
	}
	nested := value
	for k := len(path) - 1; k > j; k-- {
		nested = map[string]any{path[k]: nested}
	}
	op := "replace"
	at := path
	if j < len(path) {
		op = "add"
		at = path[:j+1]
	}
	raw, err := json.Marshal(nested)
	if err != nil {
		return fmt.Errorf("writing %s: %w", pointer(at), err)
	}
	if err := put(b.work, at, nested); err != nil {
		return fmt.Errorf("writing %s: %w", pointer(at), err)
	}
	b.addTest(guard)
	b.writes = append(b.writes, operation{Op: op, Path: pointer(at), Value: raw})
	return nil
}

// build encodes the patch and proves it applies to the object as read.
func (b *patchBuilder) build() ([]byte, error) {
	if len(b.writes) == 0 {
		return nil, ErrNoChange
	}
	ops := make([]operation, 0, len(b.tests)+len(b.writes))
	ops = append(ops, b.tests...)
	ops = append(ops, b.writes...)
	out, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encoding the patch: %w", err)
	}
	p, err := jsonpatch.DecodePatch(out)
	if err != nil {
		return nil, fmt.Errorf("checking the patch: %w", err)
	}
	if _, err := p.Apply(b.raw); err != nil {
		return nil, fmt.Errorf("checking the patch against the object: %w", err)
	}
	return out, nil
}

// pointer renders path as an RFC 6901 JSON pointer.
func pointer(path []string) string {
	var sb strings.Builder
	for _, s := range path {
		sb.WriteByte('/')
		sb.WriteString(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
	}
	return sb.String()
}

// lookup finds the value at path in a decoded JSON document.
func lookup(doc any, path []string) (any, bool) {
	cur := doc
	for _, s := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[s]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// put sets the value at path in a decoded JSON document whose parent of path exists.
func put(doc any, path []string, value any) error {
	if len(path) == 0 {
		return errors.New("cannot replace the whole document")
	}
	parent, ok := lookup(doc, path[:len(path)-1])
	if !ok {
		return errors.New("parent does not exist")
	}
	last := path[len(path)-1]
	switch p := parent.(type) {
	case map[string]any:
		p[last] = value
		return nil
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(p) {
			return fmt.Errorf("index %q out of range", last)
		}
		p[i] = value
		return nil
	}
	return errors.New("parent is neither an object nor an array")
}
