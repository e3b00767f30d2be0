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
	"fmt"
	"strings"

	yaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// renderInline renders v to replace old (nil for a new value) in place: a string keeps old's
// quoting style where that style can hold it, and a collection is written in flow style.
func renderInline(v, old *yaml.Node, flow bool) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return encodeNode(flowStyle(v), 2, false, true)
	}
	if v.Tag != "!!str" {
		return v.Value, nil
	}
	s := v.Value
	style := yaml.Style(0)
	if old != nil {
		style = old.Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
	}
	switch {
	case style == yaml.DoubleQuotedStyle:
		return doubleQuoted(s)
	case style == yaml.SingleQuotedStyle && singleQuotable(s):
		return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
	case style == yaml.SingleQuotedStyle:
		return doubleQuoted(s)
	}
	switch got, ok := plainReads(s, flow); {
	case ok && got == s:
		return s, nil
	case ok && old != nil && (old.Tag == "!!int" || old.Tag == "!!float") && isNumber(got):
		// The author wrote a bare number (cpu: 2); a quantity string that is also a number
		// stays bare rather than gaining quotes.
		return s, nil
	}
	return doubleQuoted(s)
}

// plainReads parses s written as a plain scalar value and returns what it reads as.
func plainReads(s string, flow bool) (any, bool) {
	if s == "" || strings.ContainsAny(s, "\r\n\u0085\u2028\u2029") || strings.TrimSpace(s) != s {
		return nil, false
	}
	doc := "k: " + s + "\n"
	if flow {
		doc = "{k: " + s + "}\n"
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil || len(m) != 1 {
		return nil, false
	}
	v, ok := m["k"]
	return v, ok
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, uint64, float64:
		return true
	}
	return false
}

func singleQuotable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			return false
		}
	}
	return true
}

// doubleQuoted renders s as a YAML double-quoted scalar (JSON string syntax is valid YAML).
func doubleQuoted(s string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// copyNode deep-copies n, setting every collection's style to style and letting the encoder
// choose how to quote each string.
func copyNode(n *yaml.Node, style yaml.Style) *yaml.Node {
	c := *n
	c.Content = nil
	c.Line, c.Column = 0, 0
	if n.Kind == yaml.ScalarNode {
		c.Style = 0
	} else {
		c.Style = style
	}
	for _, ch := range n.Content {
		c.Content = append(c.Content, copyNode(ch, style))
	}
	return &c
}

func flowStyle(n *yaml.Node) *yaml.Node  { return copyNode(n, yaml.FlowStyle) }
func blockStyle(n *yaml.Node) *yaml.Node { return copyNode(n, 0) }

// encodeNode renders n with the given indentation step and sequence style.
func encodeNode(n *yaml.Node, indent int, compact, trim bool) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(indent)
	if compact {
		enc.CompactSeqIndent()
	} else {
		enc.DefaultSeqIndent()
	}
	if err := enc.Encode(n); err != nil {
		return "", fmt.Errorf("rendering value: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("rendering value: %w", err)
	}
	out := b.String()
	if trim {
		out = strings.TrimSuffix(out, "\n")
	}
	return out, nil
}

// renderBlock renders n as block lines indented by indent spaces, in the document's own
// indentation step and sequence style, each line ending in the file's line break.
func (e *editor) renderBlock(n *yaml.Node, indent int, near layout) (string, error) {
	step, compact := layoutOf(e.doc.YNode())
	if near.step != 0 {
		step = near.step
	}
	if near.compactSet {
		compact = near.compact
	}
	out, err := encodeNode(n, step, compact, false)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for _, line := range strings.SplitAfter(out, "\n") {
		if line == "" {
			continue
		}
		if line != "\n" {
			b.WriteString(pad)
		}
		b.WriteString(strings.TrimSuffix(line, "\n"))
		b.WriteString("\n")
	}
	return strings.ReplaceAll(b.String(), "\n", e.f.eol), nil
}

// layoutOf learns the document's indentation step (a nested mapping's offset from its parent
// key) and whether sequences under a key are indentless ("compact"), so inserted lines look
// like their neighbours. It answers 2 and false when the document does not say.
func layoutOf(root *yaml.Node) (step int, compact bool) {
	step, compact = 0, false
	seenSeq := false
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Style&yaml.FlowStyle == 0 && v.Line > k.Line && len(v.Content) > 0 {
					switch v.Kind {
					case yaml.MappingNode:
						if step == 0 && v.Column > k.Column {
							step = v.Column - k.Column
						}
					case yaml.SequenceNode:
						if !seenSeq {
							seenSeq = true
							compact = v.Column == k.Column
						}
					default: // scalars and aliases carry no indentation
					}
				}
			}
		}
		for _, c := range n.Content {
			visit(c)
		}
	}
	visit(root)
	if step < 2 || step > 9 {
		step = 2
	}
	return step, compact
}
