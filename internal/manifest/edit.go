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
	"strings"

	yaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// editor applies one operation to one document of a parsed file by splicing bytes.
type editor struct {
	f   *file
	doc *yaml.RNode
}

// step is where a reference token led: the parent collection, and the entry in it.
type step struct {
	parent *yaml.Node
	flow   bool // parent is inside a flow collection
	key    *yaml.Node
	index  int // sequence index, or -1
	target *yaml.Node
	// parentKey is the mapping key whose value is parent, nil when parent is a list item or
	// the document.
	parentKey *yaml.Node
	// layout is the indentation seen on the way down, nearest first, for inserted lines.
	layout layout
}

// layout is how a part of a document is indented.
type layout struct {
	step       int  // a nested mapping's offset from its key; 0 when unknown
	compact    bool // sequences under a key sit at the key's column
	compactSet bool
}

// walk follows tokens to the parent of the last token and looks the last one up in it. It
// uses kyaml's RNode lookups for mappings so keys compare as kyaml compares them.
func (e *editor) walk(tokens []string, forAdd bool) (step, error) {
	n := e.doc.YNode()
	flow := false
	var lay layout
	var parentKey *yaml.Node
	for i, tok := range tokens {
		if n.Kind == yaml.AliasNode {
			return step{}, fmt.Errorf("%w: %s goes through an alias", ErrUnsupported, formatPointer(tokens[:i]))
		}
		if n.Style&yaml.FlowStyle != 0 {
			flow = true
		}
		last := i == len(tokens)-1
		s := step{parent: n, flow: flow, index: -1, layout: lay, parentKey: parentKey}
		switch n.Kind {
		case yaml.MappingNode:
			if tok == "<<" {
				return step{}, fmt.Errorf("%w: merge keys", ErrUnsupported)
			}
			if mn := yaml.NewRNode(n).Field(tok); mn != nil {
				s.key, s.target = mn.Key.YNode(), mn.Value.YNode()
			}
		case yaml.SequenceNode:
			limit := len(n.Content)
			if last && forAdd {
				limit++
				if tok == "-" {
					tok = fmt.Sprint(len(n.Content))
				}
			}
			idx, err := arrayIndex(tok, limit)
			if err != nil {
				return step{}, fmt.Errorf("%w: %s: %w", ErrConflict, formatPointer(tokens[:i+1]), err)
			}
			s.index = idx
			if idx < len(n.Content) {
				s.target = n.Content[idx]
			}
		default:
			if i > 0 && isNull(n) {
				return step{}, &missingError{tokens: tokens, at: i - 1, null: true}
			}
			return step{}, fmt.Errorf("%w: %s is a scalar in the manifest, not a map or list", ErrConflict, formatPointer(tokens[:i]))
		}
		if last {
			return s, nil
		}
		if s.target == nil {
			if n.Kind == yaml.MappingNode {
				return step{}, &missingError{tokens: tokens, at: i}
			}
			return step{}, fmt.Errorf("%w: %s is not in the manifest", ErrConflict, formatPointer(tokens[:i+1]))
		}
		lay = e.learn(lay, s)
		parentKey = s.key
		n = s.target
	}
	return step{}, fmt.Errorf("%w: empty path", ErrUnsupported)
}

// missingError says that a path goes through a mapping key the manifest does not have (or
// has with an empty value): the live object holds an empty object there that the author left
// out, which an add may create and a test of an empty value accepts.
type missingError struct {
	tokens []string
	at     int  // tokens[at] is the missing key
	null   bool // the key is present with a null value
}

func (m *missingError) Error() string {
	return fmt.Sprintf("%s: %s is not in the manifest", ErrConflict, formatPointer(m.tokens[:m.at+1]))
}

func (m *missingError) Unwrap() error { return ErrConflict }

// isEmpty reports whether a patch value is null, {} or [].
func isEmpty(n *yaml.Node) bool {
	return isNull(n) || ((n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && len(n.Content) == 0)
}

// isNull reports whether n is an empty or null scalar ("key:" or "key: null").
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// resolveAdd turns an add whose path goes through keys the manifest lacks into an add (or, over
// a null value, a replace) of the smallest enclosing object, as the API server's empty structs
// are often not written in Git: add /resources/limits {memory} on a container without
// resources becomes add /resources {limits: {memory}}.
func (e *editor) resolveAdd(op operation) operation {
	_, err := e.walk(op.tokens, true)
	var m *missingError
	if !errors.As(err, &m) {
		return op
	}
	v := op.value
	for k := len(op.tokens) - 1; k > m.at; k-- {
		v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: op.tokens[k]}, v,
		}}
	}
	op.tokens, op.value = op.tokens[:m.at+1], v
	op.Path = formatPointer(op.tokens)
	if m.null {
		op.Op = "replace"
	}
	return op
}

// learn updates l with how s.target is indented relative to its key, when it is a block
// collection on its own lines.
func (e *editor) learn(l layout, s step) layout {
	t := s.target
	if s.key == nil || t.Style&yaml.FlowStyle != 0 || t.Line <= s.key.Line || len(t.Content) == 0 {
		return l
	}
	switch t.Kind {
	case yaml.MappingNode:
		if d := t.Column - s.key.Column; d >= 2 && d <= 9 {
			l.step = d
		}
	case yaml.SequenceNode:
		ko, err1 := e.f.nodeOffset(s.key)
		io, err2 := e.f.nodeOffset(t.Content[0])
		if err1 != nil || err2 != nil {
			return l
		}
		if d, ok := e.f.dashBefore(io); ok {
			l.compact, l.compactSet = e.f.column0(d) == e.f.column0(ko), true
		}
	default: // a scalar has no layout to learn
	}
	return l
}

// apply runs op and returns the new file content and the operation as it was carried out.
func (e *editor) apply(op operation) ([]byte, operation, error) {
	if op.Op == "test" {
		return e.f.content, op, e.test(op)
	}
	if op.Op == "add" {
		op = e.resolveAdd(op)
	}
	out, err := e.change(op)
	return out, op, err
}

// change runs an add, replace or remove.
func (e *editor) change(op operation) ([]byte, error) {
	s, err := e.walk(op.tokens, op.Op == "add")
	if err != nil {
		return nil, err
	}
	switch op.Op {
	case "replace":
		if s.target == nil {
			return nil, fmt.Errorf("%w: %s is not in the manifest", ErrConflict, op.Path)
		}
		return e.replace(s, op.value)
	case "add":
		if s.target != nil && s.parent.Kind == yaml.MappingNode {
			return e.replace(s, op.value)
		}
		return e.add(s, op.tokens[len(op.tokens)-1], op.value)
	case "remove":
		if s.target == nil {
			return nil, fmt.Errorf("%w: %s is not in the manifest", ErrConflict, op.Path)
		}
		return e.remove(s)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, op.Op)
}

// test compares the manifest's value at op's path with op's value.
func (e *editor) test(op operation) error {
	var found *yaml.Node
	if len(op.tokens) == 0 {
		found = e.doc.YNode()
	} else {
		s, err := e.walk(op.tokens, false)
		var m *missingError
		switch {
		case errors.As(err, &m) || (err == nil && s.target == nil && s.parent.Kind == yaml.MappingNode):
			if isEmpty(op.value) {
				return nil // the live object's empty value, left out of the manifest
			}
			return fmt.Errorf("%w: %s is not in the manifest, the live object had %s", ErrConflict, op.Path, nodeJSON(op.value))
		case err != nil:
			return err
		case s.target == nil:
			return fmt.Errorf("%w: %s is not in the manifest, the live object had %s", ErrConflict, op.Path, nodeJSON(op.value))
		}
		found = s.target
	}
	want, got := nodeJSON(op.value), nodeJSON(found)
	wv, err1 := decodeJSON([]byte(want))
	gv, err2 := decodeJSON([]byte(got))
	if err1 != nil || err2 != nil || !manifestMatches(wv, gv, isQuantityPath(op.tokens)) {
		return fmt.Errorf("%w: at %s the manifest has %s, the live object had %s", ErrConflict, op.Path, got, want)
	}
	return nil
}

// nodeJSON renders a node as JSON for messages and comparison.
func nodeJSON(n *yaml.Node) string {
	var v any
	if err := n.Decode(&v); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	b, err := json.Marshal(normalize(v))
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// splice returns content with [start, end) replaced by text.
func (e *editor) splice(start, end int, text string) []byte {
	c := e.f.content
	out := make([]byte, 0, len(c)-(end-start)+len(text))
	out = append(out, c[:start]...)
	out = append(out, text...)
	return append(out, c[end:]...)
}

// replace swaps the value of s.target for v.
func (e *editor) replace(s step, v *yaml.Node) ([]byte, error) {
	t := s.target
	flow := s.flow || s.parent.Style&yaml.FlowStyle != 0
	switch {
	case t.Kind == yaml.ScalarNode:
		start, end, err := e.f.scalarSpan(t, flow)
		if err != nil {
			return nil, err
		}
		text, err := renderInline(v, t, flow)
		if err != nil {
			return nil, err
		}
		if start > 0 && end == start && !isSpace(e.f.content[start-1]) {
			text = " " + text
		}
		return e.splice(start, end, text), nil
	case t.Style&yaml.FlowStyle != 0:
		start, err := e.f.nodeOffset(t)
		if err != nil {
			return nil, err
		}
		end, err := e.f.flowEnd(start)
		if err != nil {
			return nil, err
		}
		text, err := renderInline(v, nil, true)
		if err != nil {
			return nil, err
		}
		return e.splice(start, end, text), nil
	}
	return nil, fmt.Errorf("%w: replacing a block %s", ErrUnsupported, kindName(t))
}

// add inserts v under key (a mapping key or a sequence index) into s.parent.
func (e *editor) add(s step, key string, v *yaml.Node) ([]byte, error) {
	p := s.parent
	if p.Style&yaml.FlowStyle != 0 {
		return e.addFlow(s, key, v)
	}
	switch p.Kind {
	case yaml.MappingNode:
		if len(p.Content) < 2 {
			return nil, fmt.Errorf("%w: empty block mapping", ErrUnsupported)
		}
		lastKey := p.Content[len(p.Content)-2]
		ko, err := e.f.nodeOffset(lastKey)
		if err != nil {
			return nil, err
		}
		indent := e.f.column0(ko)
		if !e.f.onlySpacesBefore(ko) && !e.f.afterDash(ko) {
			return nil, fmt.Errorf("%w: mapping laid out on one line", ErrUnsupported)
		}
		at := e.f.blockEnd(e.f.lineOf(ko), indent, true)
		m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, blockStyle(v),
		}}
		text, err := e.renderBlock(m, indent, s.layout)
		if err != nil {
			return nil, err
		}
		return e.insertLines(at, text), nil
	case yaml.SequenceNode:
		first, err := e.f.nodeOffset(p.Content[0])
		if err != nil {
			return nil, err
		}
		dash, ok := e.f.dashBefore(first)
		if !ok || !e.f.onlySpacesBefore(dash) {
			return nil, fmt.Errorf("%w: sequence items not one per line", ErrUnsupported)
		}
		indent := e.f.column0(dash)
		seq := &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{blockStyle(v)}}
		text, err := e.renderBlock(seq, indent, s.layout)
		if err != nil {
			return nil, err
		}
		if s.index < len(p.Content) {
			o, err := e.f.nodeOffset(p.Content[s.index])
			if err != nil {
				return nil, err
			}
			d, ok := e.f.dashBefore(o)
			if !ok || !e.f.onlySpacesBefore(d) {
				return nil, fmt.Errorf("%w: sequence items not one per line", ErrUnsupported)
			}
			return e.splice(e.f.lineStarts[e.f.lineOf(d)], e.f.lineStarts[e.f.lineOf(d)], text), nil
		}
		lo, err := e.f.nodeOffset(p.Content[len(p.Content)-1])
		if err != nil {
			return nil, err
		}
		ld, ok := e.f.dashBefore(lo)
		if !ok {
			return nil, fmt.Errorf("%w: sequence item without a dash", ErrUnsupported)
		}
		return e.insertLines(e.f.blockEnd(e.f.lineOf(ld), indent, false), text), nil
	default:
		return nil, fmt.Errorf("%w: cannot add to a %s", ErrConflict, kindName(p))
	}
}

// insertLines inserts rendered lines (each ending in the file's line break) at offset at, the
// start of a line or the end of a file that may lack its final line break.
func (e *editor) insertLines(at int, text string) []byte {
	c := e.f.content
	if at == len(c) && len(c) > 0 && breakWidthBefore(c, at) == 0 {
		text = e.f.eol + strings.TrimSuffix(text, e.f.eol)
	}
	return e.splice(at, at, text)
}

// breakWidthBefore reports whether content[:at] ends in a line break.
func breakWidthBefore(c []byte, at int) int {
	if at > 0 && (c[at-1] == '\n' || c[at-1] == '\r') {
		return 1
	}
	if bytes.HasSuffix(c[:at], []byte("\u0085")) || bytes.HasSuffix(c[:at], []byte("\u2028")) || bytes.HasSuffix(c[:at], []byte("\u2029")) {
		return 1
	}
	return 0
}

// addFlow inserts into a flow mapping or sequence.
func (e *editor) addFlow(s step, key string, v *yaml.Node) ([]byte, error) {
	p := s.parent
	text, err := renderInline(v, nil, true)
	if err != nil {
		return nil, err
	}
	if p.Kind == yaml.MappingNode {
		k, err := renderInline(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, nil, true)
		if err != nil {
			return nil, err
		}
		text = k + ": " + text
	}
	start, err := e.f.nodeOffset(p)
	if err != nil {
		return nil, err
	}
	if len(p.Content) == 0 {
		return e.splice(start+1, start+1, text), nil
	}
	if p.Kind == yaml.SequenceNode && s.index < len(p.Content) {
		o, err := e.f.valueStart(p.Content[s.index])
		if err != nil {
			return nil, err
		}
		return e.splice(o, o, text+", "), nil
	}
	end, err := e.f.valueEnd(p.Content[len(p.Content)-1])
	if err != nil {
		return nil, err
	}
	return e.splice(end, end, ", "+text), nil
}

// remove deletes s.target (and its key) from s.parent.
func (e *editor) remove(s step) ([]byte, error) {
	p := s.parent
	first := s.target
	if s.key != nil {
		first = s.key
	}
	if p.Style&yaml.FlowStyle != 0 {
		return e.removeFlow(s, first)
	}
	o, err := e.f.valueStart(first)
	if err != nil {
		return nil, err
	}
	if len(p.Content) == 1 || (p.Kind == yaml.MappingNode && len(p.Content) == 2) {
		return e.removeLast(s, o)
	}
	if p.Kind == yaml.SequenceNode {
		d, ok := e.f.dashBefore(o)
		if !ok || !e.f.onlySpacesBefore(d) {
			return nil, fmt.Errorf("%w: sequence items not one per line", ErrUnsupported)
		}
		line := e.f.lineOf(d)
		return e.splice(e.f.lineStarts[line], e.f.blockEnd(line, e.f.column0(d), false), ""), nil
	}
	line := e.f.lineOf(o)
	if e.f.onlySpacesBefore(o) {
		return e.splice(e.f.lineStarts[line], e.f.blockEnd(line, e.f.column0(o), true), ""), nil
	}
	// The key shares its line with a sequence dash: pull the next key up in its place.
	for i := 0; i+2 < len(p.Content); i += 2 {
		if p.Content[i] == s.key {
			next, err := e.f.nodeOffset(p.Content[i+2])
			if err != nil {
				return nil, err
			}
			return e.splice(o, next, ""), nil
		}
	}
	return nil, fmt.Errorf("%w: removing the only key of a list item", ErrUnsupported)
}

// removeLast deletes the only entry of a block collection written under its key, leaving the
// key with an empty flow collection ("limits: {}"), which is what the JSON result holds.
func (e *editor) removeLast(s step, o int) ([]byte, error) {
	if s.parentKey == nil {
		return nil, fmt.Errorf("%w: removing the only entry of a list item or document", ErrUnsupported)
	}
	start := o
	if s.parent.Kind == yaml.SequenceNode {
		d, ok := e.f.dashBefore(o)
		if !ok {
			return nil, fmt.Errorf("%w: sequence item without a dash", ErrUnsupported)
		}
		start = d
	}
	if !e.f.onlySpacesBefore(start) {
		return nil, fmt.Errorf("%w: entry shares its line", ErrUnsupported)
	}
	line := e.f.lineOf(start)
	end := e.f.blockEnd(line, e.f.column0(start), s.parent.Kind == yaml.MappingNode)
	colon, err := e.f.keyEnd(s.parentKey)
	if err != nil {
		return nil, err
	}
	for colon < len(e.f.content) && isSpace(e.f.content[colon]) {
		colon++
	}
	if colon >= e.f.lineStarts[line] || e.f.content[colon] != ':' {
		return nil, fmt.Errorf("%w: cannot find the colon after %q", ErrUnsupported, s.parentKey.Value)
	}
	empty := " {}"
	if s.parent.Kind == yaml.SequenceNode {
		empty = " []"
	}
	c := e.f.content
	out := make([]byte, 0, len(c)+len(empty))
	out = append(out, c[:colon+1]...)
	out = append(out, empty...)
	out = append(out, c[colon+1:e.f.lineStarts[line]]...)
	return append(out, c[end:]...), nil
}

// removeFlow deletes an entry of a flow collection with its separating comma.
func (e *editor) removeFlow(s step, first *yaml.Node) ([]byte, error) {
	p := s.parent
	stride := 1
	if p.Kind == yaml.MappingNode {
		stride = 2
	}
	pos := -1
	for i := 0; i < len(p.Content); i += stride {
		if p.Content[i] == first {
			pos = i
		}
	}
	if pos < 0 {
		return nil, fmt.Errorf("%w: entry not found in its parent", ErrUnsupported)
	}
	start, err := e.f.valueStart(first)
	if err != nil {
		return nil, err
	}
	end, err := e.f.valueEnd(p.Content[pos+stride-1])
	if err != nil {
		return nil, err
	}
	switch {
	case pos+stride < len(p.Content):
		if end, err = e.f.valueStart(p.Content[pos+stride]); err != nil {
			return nil, err
		}
	case pos > 0:
		if start, err = e.f.valueEnd(p.Content[pos-1]); err != nil {
			return nil, err
		}
	}
	return e.splice(start, end, ""), nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	default:
		return "node"
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }
