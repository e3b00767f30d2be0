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

package manifests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// quickStartDocs are the pages a newcomer follows to install heal8s; their commands are checked
// for drift against the Makefile, the chart's values and the repository's files.
var quickStartDocs = []string{"docs/quick-start.md", "charts/heal8s/README.md", "docs/github-app.md"}

var (
	makeTargetRe = regexp.MustCompile("(?m)(?:^|`)make ((?:[a-z][a-z0-9-]*[ \t]*)+)")
	setFlagRe    = regexp.MustCompile(`--set(?:-string)? ([A-Za-z0-9_.]+)=`)
	applyFileRe  = regexp.MustCompile("kubectl apply(?: -n \\S+)? -f ((?:examples|config|charts)/[^\\s`)]+)")
	helmChartRe  = regexp.MustCompile("helm (?:install|upgrade|template) \\S+ (charts/[^\\s`)]+)")
)

// TestQuickStartCommandsExist: every `make` target, every `--set` value of the chart, and every
// file `kubectl apply -f` or `helm install` names in the install docs exists, so a renamed
// target, value or file cannot leave the docs behind.
func TestQuickStartCommandsExist(t *testing.T) {
	makefile := string(read(t, "Makefile"))
	var values map[string]any
	if err := yaml.Unmarshal(read(t, "charts/heal8s/values.yaml"), &values); err != nil {
		t.Fatalf("charts/heal8s/values.yaml: %v", err)
	}
	for _, doc := range quickStartDocs {
		text := joinContinuations(string(read(t, doc)))
		checked := 0
		for _, m := range makeTargetRe.FindAllStringSubmatch(text, -1) {
			for target := range strings.FieldsSeq(m[1]) {
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).MatchString(makefile) {
					t.Errorf("%s: `make %s`: the Makefile has no target %s", doc, target, target)
				}
				checked++
			}
		}
		for _, m := range setFlagRe.FindAllStringSubmatch(text, -1) {
			if !hasValue(values, strings.Split(m[1], ".")) {
				t.Errorf("%s: --set %s: charts/heal8s/values.yaml has no such value", doc, m[1])
			}
			checked++
		}
		for _, re := range []*regexp.Regexp{applyFileRe, helmChartRe} {
			for _, m := range re.FindAllStringSubmatch(text, -1) {
				if _, err := os.Stat(filepath.Join(suite.root, m[1])); err != nil {
					t.Errorf("%s: %q names %s, which does not exist", doc, m[0], m[1])
				}
				checked++
			}
		}
		if doc == "docs/quick-start.md" && checked < 5 {
			t.Errorf("%s: only %d commands recognised; has the page's form changed?", doc, checked)
		}
	}
}

func read(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(suite.root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// joinContinuations joins shell lines ending in a backslash.
func joinContinuations(s string) string {
	return regexp.MustCompile(`\\\n\s*`).ReplaceAllString(s, " ")
}

// hasValue reports whether the values tree has the dotted path; a path below a map value that
// the chart leaves empty by default (labels, annotations) counts as present.
func hasValue(values map[string]any, path []string) bool {
	cur := any(values)
	for i, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		v, ok := m[k]
		if !ok {
			return false
		}
		if sub, ok := v.(map[string]any); ok && len(sub) == 0 && i < len(path)-1 {
			return true
		}
		cur = v
	}
	return true
}
