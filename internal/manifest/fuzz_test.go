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
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	yaml "sigs.k8s.io/kustomize/kyaml/yaml"

	heal8sv1beta1 "github.com/heal8s/heal8s/api/v1beta1"
)

// FuzzApply feeds arbitrary files, patches and locations to Apply and Locate. Neither may panic;
// a successful Apply must leave a file that parses, and a patch of only test operations must
// leave the file untouched.
func FuzzApply(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*", "input.yaml"))
	for _, in := range inputs {
		content, err1 := os.ReadFile(in)
		patch, err2 := os.ReadFile(filepath.Join(filepath.Dir(in), "patch.json"))
		if err1 != nil || err2 != nil {
			f.Fatalf("reading seed %s: %v %v", in, err1, err2)
		}
		f.Add(content, patch, 0, "")
		f.Add(content, patch, 1, "/items/1")
	}
	f.Add([]byte("a: &x 1\nb: *x\nc: !!str 2\nd:\n"), []byte(`[{"op":"replace","path":"/c","value":"3"},{"op":"add","path":"/d","value":[1]}]`), 0, "")
	f.Add([]byte("- [a, 'b', \"c\"]\n- {x: y}\n"), []byte(`[{"op":"add","path":"/0/1","value":"z"},{"op":"remove","path":"/1/x"}]`), 0, "")
	f.Add([]byte("k: \"a\\\n  b\"\n"), []byte(`[{"op":"test","path":"/k","value":"ab"}]`), 0, "")

	f.Fuzz(func(t *testing.T, content, patch []byte, index int, pointer string) {
		out, err := Apply(content, Location{Path: "f.yaml", Index: index, Pointer: pointer}, patch)
		if err == nil {
			if _, perr := parseFile(out); perr != nil {
				t.Fatalf("Apply returned a file that does not parse: %v\n%s", perr, out)
			}
			var ops []map[string]any
			if json.Unmarshal(patch, &ops) == nil && onlyTests(ops) && !bytes.Equal(out, content) {
				t.Fatalf("a patch of test operations changed the file:\n%s\n->\n%s", content, out)
			}
		}

		obj := Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web",
			Annotations: map[string]string{heal8sv1beta1.AnnotationSourcePath: pointer}}
		repo := memRepo{"f.yaml": string(content), pointer: string(content)}
		_, _ = Locate(context.Background(), repo, obj, Hints{PathTemplate: string(patch)})
		obj.Annotations = nil
		_, _ = Locate(context.Background(), repo, obj, Hints{NamespacelessMatches: index%2 == 0})
	})
}

func onlyTests(ops []map[string]any) bool {
	for _, op := range ops {
		if op["op"] != "test" {
			return false
		}
	}
	return true
}

// TestFuzzSeedsParse keeps the hand-written seeds meaningful: each one must be valid YAML.
func TestFuzzSeedsParse(t *testing.T) {
	for _, s := range []string{"a: &x 1\nb: *x\nc: !!str 2\nd:\n", "- [a, 'b', \"c\"]\n- {x: y}\n"} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(s), &n); err != nil {
			t.Fatalf("seed %q: %v", s, err)
		}
	}
}
