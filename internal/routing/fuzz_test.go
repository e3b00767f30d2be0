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

package routing

import (
	"errors"
	"testing"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// FuzzCompile feeds arbitrary matcher strings through Compile and Route: a bad matcher is a
// CompileError wrapping ErrInvalidMatcher, never a panic, and a compiled one routes safely.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{`alertname="KubePodOOMKilled"`, `severity=~"warning|critical"`, `a!="b"`, `a!~"x.*"`,
		`a=~"(("`, `a="x"y"`, `=`, ``, `a=\"`, "a=\"\xff\"", `{a="b"}`, `a = b`, `a=~".*"`} {
		f.Add(s, "KubePodOOMKilled")
	}
	f.Fuzz(func(t *testing.T, matcher, value string) {
		p := policy("ns", "p", rule("r", matcher))
		c, err := Compile(p)
		if err != nil {
			if !errors.Is(err, ErrInvalidMatcher) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		tbl := NewTable(TableOptions{})
		tbl.Set(c)
		labels := map[string]string{"alertname": value, "namespace": "ns", "deployment": "d"}
		m, reason, err := tbl.Route(labels, noNamespaces)
		if err != nil {
			t.Fatal(err)
		}
		if (reason == "") != c.Rules[0].Matches(labels) {
			t.Fatalf("route %q disagrees with the rule for %q", reason, matcher)
		}
		if reason == "" && m.Action.Type() != v1beta1.ActionIncreaseMemory {
			t.Fatalf("action %q", m.Action.Type())
		}
	})
}
