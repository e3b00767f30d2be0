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
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	yaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// file is a YAML stream with what is needed to map node positions back to bytes.
type file struct {
	content []byte
	// lineStarts[i] is the byte offset where line i+1 starts.
	lineStarts []int
	// docs are the non-empty documents, in order; their index is the one Location.Index names.
	docs []*yaml.RNode
	// eol is the line ending the file uses ("\r\n" or "\n").
	eol string
}

// parseFile decodes every document of content. Empty documents (a bare "---", comments only)
// are skipped, as kio does, so document indexes match what a reader counts.
func parseFile(content []byte) (*file, error) {
	f := &file{content: content, eol: detectEOL(content)}
	f.lineStarts = lineStarts(content)
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parsing YAML: %w", err)
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
			continue
		}
		c := n.Content[0]
		if c.Kind == yaml.ScalarNode && c.Tag == "!!null" {
			continue
		}
		f.docs = append(f.docs, yaml.NewRNode(c))
	}
	return f, nil
}

// detectEOL returns the line ending of the first line break in content.
func detectEOL(content []byte) string {
	i := bytes.IndexByte(content, '\n')
	if i > 0 && content[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

const bom = "\ufeff"

// lineStarts returns the byte offset of the start of each line, with line breaks as libyaml
// counts them: CR LF, CR, LF, NEL, LS and PS. A leading byte order mark is not part of line 1.
func lineStarts(content []byte) []int {
	start := 0
	if bytes.HasPrefix(content, []byte(bom)) {
		start = len(bom)
	}
	starts := []int{start}
	for i := start; i < len(content); {
		if w := breakWidth(content, i); w > 0 {
			i += w
			starts = append(starts, i)
			continue
		}
		i++
	}
	return starts
}

// breakWidth returns the length of the line break at content[i:], or 0 if there is none.
func breakWidth(content []byte, i int) int {
	switch {
	case content[i] == '\r' && i+1 < len(content) && content[i+1] == '\n':
		return 2
	case content[i] == '\r' || content[i] == '\n':
		return 1
	case bytes.HasPrefix(content[i:], []byte("\u0085")):
		return 2
	case bytes.HasPrefix(content[i:], []byte("\u2028")), bytes.HasPrefix(content[i:], []byte("\u2029")):
		return 3
	}
	return 0
}

// offset converts a node's 1-based line and column (counted in characters, as libyaml does) to
// a byte offset in content.
func (f *file) offset(line, column int) (int, error) {
	if line < 1 || line > len(f.lineStarts) || column < 1 {
		return 0, fmt.Errorf("position %d:%d is outside the file", line, column)
	}
	o := f.lineStarts[line-1]
	for c := 1; c < column; c++ {
		if o >= len(f.content) || breakWidth(f.content, o) > 0 {
			return 0, fmt.Errorf("position %d:%d is past the end of its line", line, column)
		}
		_, w := utf8.DecodeRune(f.content[o:])
		o += w
	}
	return o, nil
}

// nodeOffset is the byte offset of n's first character.
func (f *file) nodeOffset(n *yaml.Node) (int, error) {
	return f.offset(n.Line, n.Column)
}

// lineOf returns the 0-based line index holding byte offset o.
func (f *file) lineOf(o int) int {
	lo, hi := 0, len(f.lineStarts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if f.lineStarts[mid] <= o {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// lineEnd returns the offset just past line i's break (or the end of content).
func (f *file) lineEnd(i int) int {
	if i+1 < len(f.lineStarts) {
		return f.lineStarts[i+1]
	}
	return len(f.content)
}

// lineIndent returns the number of leading spaces of line i and whether the line holds content
// (something other than blanks and a comment).
func (f *file) lineIndent(i int) (int, bool) {
	start, end := f.lineStarts[i], f.lineEnd(i)
	n := 0
	for start+n < end && f.content[start+n] == ' ' {
		n++
	}
	rest := f.content[start+n : end]
	rest = bytes.TrimLeft(rest, " \t")
	if len(rest) == 0 || rest[0] == '#' || breakWidth(rest, 0) > 0 {
		return n, false
	}
	return n, true
}

// blockEnd returns the offset just past the last content line of the block that starts on line
// first and whose entries sit at indent columns: the block goes on while lines are blank,
// comments, or indented deeper than indent. With dashes, a line at indent that starts a
// sequence item also continues it (a mapping value written as an indentless sequence).
func (f *file) blockEnd(first, indent int, dashes bool) int {
	end := f.lineEnd(first)
	for i := first + 1; i < len(f.lineStarts); i++ {
		if f.lineStarts[i] >= len(f.content) {
			break
		}
		n, content := f.lineIndent(i)
		if !content {
			continue
		}
		if n < indent || (n == indent && (!dashes || !f.dashAt(f.lineStarts[i]+n))) {
			break
		}
		end = f.lineEnd(i)
	}
	return end
}

// dashAt reports whether a sequence entry indicator ("-" then a blank or line break) is at o.
func (f *file) dashAt(o int) bool {
	if o >= len(f.content) || f.content[o] != '-' {
		return false
	}
	return o+1 == len(f.content) || isSpace(f.content[o+1]) || breakWidth(f.content, o+1) > 0
}

// onlySpacesBefore reports whether o is the first non-blank character of its line.
func (f *file) onlySpacesBefore(o int) bool {
	for i := f.lineStarts[f.lineOf(o)]; i < o; i++ {
		if f.content[i] != ' ' {
			return false
		}
	}
	return true
}

// dashBefore finds the sequence dash that introduces the item starting at o on the same line.
func (f *file) dashBefore(o int) (int, bool) {
	start := f.lineStarts[f.lineOf(o)]
	i := o - 1
	for i >= start && isSpace(f.content[i]) {
		i--
	}
	if i >= start && f.dashAt(i) {
		return i, true
	}
	return 0, false
}

// afterDash reports whether o follows a sequence dash on its line (an item's first key).
func (f *file) afterDash(o int) bool {
	d, ok := f.dashBefore(o)
	return ok && f.onlySpacesBefore(d)
}

// skipProperties moves o past a node's tag and anchor ("!!str &a ").
func (f *file) skipProperties(o int) int {
	c := f.content
	for o < len(c) && (c[o] == '!' || c[o] == '&') {
		for o < len(c) && !isSpace(c[o]) && breakWidth(c, o) == 0 {
			o++
		}
		for o < len(c) && isSpace(c[o]) {
			o++
		}
	}
	return o
}

// valueStart is the offset of n's first character, properties included.
func (f *file) valueStart(n *yaml.Node) (int, error) {
	return f.nodeOffset(n)
}

// valueEnd is the offset just past a node written inline: a scalar, alias or flow collection.
func (f *file) valueEnd(n *yaml.Node) (int, error) {
	switch {
	case n.Kind == yaml.ScalarNode:
		_, end, err := f.scalarSpan(n, true)
		return end, err
	case n.Kind == yaml.AliasNode:
		o, err := f.nodeOffset(n)
		if err != nil {
			return 0, err
		}
		for o < len(f.content) && !isSpace(f.content[o]) && breakWidth(f.content, o) == 0 && !bytes.ContainsRune([]byte(",]}"), rune(f.content[o])) {
			o++
		}
		return o, nil
	case n.Style&yaml.FlowStyle != 0:
		o, err := f.nodeOffset(n)
		if err != nil {
			return 0, err
		}
		return f.flowEnd(f.skipProperties(o))
	}
	return 0, fmt.Errorf("%w: a block %s inside a flow collection", ErrUnsupported, kindName(n))
}

// flowEnd returns the offset just past the bracket that closes the flow collection opening at o.
func (f *file) flowEnd(o int) (int, error) {
	c := f.content
	if o >= len(c) || (c[o] != '[' && c[o] != '{') {
		return 0, fmt.Errorf("%w: flow collection does not start with a bracket", ErrUnsupported)
	}
	depth := 0
	atStart := true
	for i := o; i < len(c); i++ {
		switch ch := c[i]; {
		case (ch == '"' || ch == '\'') && atStart:
			end, err := quotedEnd(c, i)
			if err != nil {
				return 0, err
			}
			i = end - 1
			atStart = false
		case ch == '#' && i > 0 && (isSpace(c[i-1]) || breakWidth(c, i-1) > 0 || c[i-1] == '\n'):
			for i < len(c) && breakWidth(c, i) == 0 {
				i++
			}
		case ch == '[' || ch == '{':
			depth++
			atStart = true
		case ch == ']' || ch == '}':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
			atStart = false
		case ch == ',' || ch == ':':
			atStart = true
		case isSpace(ch) || ch == '\r' || ch == '\n':
		default:
			atStart = false
		}
	}
	return 0, fmt.Errorf("%w: unterminated flow collection", ErrUnsupported)
}

// quotedEnd returns the offset just past the quoted scalar that opens at o.
func quotedEnd(c []byte, o int) (int, error) {
	q := c[o]
	for i := o + 1; i < len(c); i++ {
		switch {
		case q == '"' && c[i] == '\\':
			i++
		case c[i] == q && q == '\'' && i+1 < len(c) && c[i+1] == '\'':
			i++
		case c[i] == q:
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("%w: unterminated quoted scalar", ErrUnsupported)
}

// keyEnd returns the offset just past a block mapping key's text, where the ":" may follow.
func (f *file) keyEnd(n *yaml.Node) (int, error) {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		_, end, err := f.scalarSpan(n, false)
		return end, err
	}
	o, err := f.nodeOffset(n)
	if err != nil {
		return 0, err
	}
	c := f.content
	for end := o; end < len(c) && breakWidth(c, end) == 0; end++ {
		if c[end] == ':' && (end+1 == len(c) || isSpace(c[end+1]) || breakWidth(c, end+1) > 0) {
			for end > o && isSpace(c[end-1]) {
				end--
			}
			if string(c[o:end]) != n.Value {
				break
			}
			return end, nil
		}
	}
	return 0, fmt.Errorf("%w: key %q is not a simple key", ErrUnsupported, n.Value)
}

// scalarSpan returns the byte range of scalar n's text (after any tag or anchor) and checks it
// reads back as n's value, so a scalar the scanner misjudges is refused, never mangled.
func (f *file) scalarSpan(n *yaml.Node, flow bool) (int, int, error) {
	o, err := f.nodeOffset(n)
	if err != nil {
		return 0, 0, err
	}
	c := f.content
	o = f.skipProperties(o)
	var end int
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, fmt.Errorf("%w: block scalar (| or >)", ErrUnsupported)
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		if end, err = quotedEnd(c, o); err != nil {
			return 0, 0, err
		}
		var v string
		if err := yaml.Unmarshal(c[o:end], &v); err != nil || v != n.Value {
			return 0, 0, fmt.Errorf("%w: quoted scalar at %d:%d spans lines", ErrUnsupported, n.Line, n.Column)
		}
		return o, end, nil
	}
	end = o
	for end < len(c) && breakWidth(c, end) == 0 {
		ch := c[end]
		if ch == '#' && end > o && isSpace(c[end-1]) {
			break
		}
		if flow && (ch == ',' || ch == ']' || ch == '}' || ch == '[' || ch == '{') {
			break
		}
		end++
	}
	for end > o && isSpace(c[end-1]) {
		end--
	}
	if string(c[o:end]) != n.Value {
		return 0, 0, fmt.Errorf("%w: plain scalar at %d:%d spans lines", ErrUnsupported, n.Line, n.Column)
	}
	return o, end, nil
}

// column0 returns the 0-based character column of byte offset o on its line.
func (f *file) column0(o int) int {
	start := f.lineStarts[f.lineOf(o)]
	return utf8.RuneCount(f.content[start:o])
}
