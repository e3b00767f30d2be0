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

package plugin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/routing"
)

const v1beta1Policy = `apiVersion: heal8s.io/v1beta1
kind: RemediationPolicy
metadata:
  name: kps
  namespace: heal8s-system
spec:
  strategy: DryRun
  namespaceSelector:
    matchLabels:
      heal8s.io/remediate: "true"
  rules:
  - name: crash-looping
    matchers: ['alertname="KubePodCrashLooping"']
    action:
      rollbackImage: {maxRevisions: 5}
  - name: hpa-maxed
    matchers: ['alertname="KubeHpaMaxedOut"']
    action:
      scaleUp: {percent: 50, maxReplicas: 20}
`

const v1alpha1Policy = `apiVersion: heal8s.io/v1alpha1
kind: RemediationPolicy
metadata:
  name: seed
  namespace: team-a
spec:
  strategy: Direct
  rules:
  - name: oom
    alertName: KubePodOOMKilled
    action: IncreaseMemory
    params:
      percent: "25"
      max: 2Gi
`

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop
spec: {}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func names(ps []*v1beta1.RemediationPolicy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, policyName(p))
	}
	return out
}

func TestLoadPolicies(t *testing.T) {
	dir := t.TempDir()
	multi := writeFile(t, dir, "multi.yaml", "# leading comment\n---\n"+v1beta1Policy+"---\n"+deployment+
		"---\n# only a comment\n---\n"+v1alpha1Policy+"---\n")
	list := writeFile(t, dir, "list.yaml", `apiVersion: v1
kind: List
items:
- apiVersion: heal8s.io/v1beta1
  kind: RemediationPolicy
  metadata: {name: from-list, namespace: team-b}
  spec:
    rules:
    - name: r
      matchers: ['alertname="X"']
      action: {increaseCPU: {}}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cm}
`)
	noNamespace := writeFile(t, dir, "nons.yml", `apiVersion: heal8s.io/v1beta1
kind: RemediationPolicy
metadata: {name: floating}
spec:
  rules:
  - name: r
    matchers: ['alertname="X"']
    action: {increaseCPU: {}}
`)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, sub, "a.yaml", v1beta1Policy)
	writeFile(t, sub, "b.yml", v1alpha1Policy)
	writeFile(t, sub, "README.md", "not yaml: [")
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		paths     []string
		want      []string
		wantNotes []string
	}{
		{
			name:  "multi-document file: v1beta1, v1alpha1 converted, other kinds and empty documents ignored",
			paths: []string{multi},
			want:  []string{"heal8s-system/kps", "team-a/seed"},
			wantNotes: []string{
				"document 3: Deployment checkout (apps/v1) is not a RemediationPolicy: ignored",
				"document 5: RemediationPolicy seed converted from heal8s.io/v1alpha1 to heal8s.io/v1beta1",
			},
		},
		{
			name:      "a List's items",
			paths:     []string{list},
			want:      []string{"team-b/from-list"},
			wantNotes: []string{"items[1]: ConfigMap cm (v1) is not a RemediationPolicy: ignored"},
		},
		{
			name:  "a policy without a namespace keeps none",
			paths: []string{noNamespace},
			want:  []string{"floating"},
		},
		{
			name:  "a directory: its *.yaml and *.yml, not README.md",
			paths: []string{sub},
			want:  []string{"heal8s-system/kps", "team-a/seed"},
		},
		{
			name:      "a policy read twice: the first wins",
			paths:     []string{multi, sub},
			want:      []string{"heal8s-system/kps", "team-a/seed"},
			wantNotes: []string{"RemediationPolicy heal8s-system/kps is already defined in " + multi},
		},
		{
			name:      "an empty directory",
			paths:     []string{empty},
			wantNotes: []string{"no *.yaml, *.yml or *.json file in the directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes, err := LoadPolicies(tt.paths)
			if err != nil {
				t.Fatalf("LoadPolicies: %v", err)
			}
			if g := strings.Join(names(got), ","); g != strings.Join(tt.want, ",") {
				t.Errorf("policies = %s, want %s", g, strings.Join(tt.want, ","))
			}
			for _, w := range tt.wantNotes {
				if !containsAny(notes, w) {
					t.Errorf("notes %q lack %q", notes, w)
				}
			}
			for _, p := range got {
				if p.APIVersion != "heal8s.io/v1beta1" || p.Kind != "RemediationPolicy" {
					t.Errorf("%s: type %s %s, want heal8s.io/v1beta1 RemediationPolicy", p.Name, p.APIVersion, p.Kind)
				}
			}
		})
	}
}

func TestLoadPoliciesConvertsV1alpha1(t *testing.T) {
	got, _, err := DecodePolicies("seed.yaml", strings.NewReader(v1alpha1Policy))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d policies, want 1", len(got))
	}
	p := got[0]
	if p.Spec.Strategy != v1beta1.StrategyDirect || len(p.Spec.Rules) != 1 {
		t.Fatalf("converted spec = %+v", p.Spec)
	}
	r := p.Spec.Rules[0]
	if len(r.Matchers) != 1 || r.Matchers[0] != `alertname="KubePodOOMKilled"` {
		t.Errorf("matchers = %q, want alertname=\"KubePodOOMKilled\"", r.Matchers)
	}
	if m := r.Action.IncreaseMemory; m == nil || m.Percent == nil || *m.Percent != 25 || m.Max.String() != "2Gi" {
		t.Errorf("action = %+v, want increaseMemory percent 25 max 2Gi", r.Action)
	}
}

func TestLoadPoliciesErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{
			name:    "bad YAML names the file and the document",
			content: v1beta1Policy + "---\nkind: [unclosed\n",
			want:    []string{"bad.yaml: document 2"},
		},
		{
			name:    "unknown field, as kubectl apply's strict validation",
			content: strings.Replace(v1beta1Policy, "matchers:", "matcher:", 1),
			want:    []string{"bad.yaml: document 1", "RemediationPolicy kps", `unknown field "spec.rules[0].matcher"`},
		},
		{
			name:    "a version kubectl heal8s does not read",
			content: strings.Replace(v1beta1Policy, "heal8s.io/v1beta1", "heal8s.io/v2", 1),
			want:    []string{"apiVersion heal8s.io/v2", "kubectl heal8s reads heal8s.io/v1beta1 and heal8s.io/v1alpha1"},
		},
		{
			name:    "no name",
			content: strings.Replace(v1beta1Policy, "name: kps", "labels: {}", 1),
			want:    []string{"without metadata.name"},
		},
		{
			name:    "a field of the wrong type",
			content: strings.Replace(v1beta1Policy, "maxRevisions: 5", "maxRevisions: five", 1),
			want:    []string{"bad.yaml: document 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, "bad.yaml", tt.content)
			_, _, err := LoadPolicies([]string{p})
			if err == nil {
				t.Fatal("LoadPolicies: no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("a missing file", func(t *testing.T) {
		_, _, err := LoadPolicies([]string{filepath.Join(dir, "absent.yaml")})
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error = %v, want one wrapping os.ErrNotExist", err)
		}
	})
}

func TestLoadPoliciesStdin(t *testing.T) {
	got, _, err := loadPolicies([]string{Stdin}, strings.NewReader(v1beta1Policy))
	if err != nil || len(got) != 1 || got[0].Name != "kps" {
		t.Fatalf("loadPolicies(-) = %v, %v", names(got), err)
	}
}

func TestLoadExamplePolicies(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "policies")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("examples/policies is absent")
	}
	got, notes, err := LoadPolicies([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatalf("no policy in %s (notes %q)", dir, notes)
	}
	_, reports, err := BuildTable(got, routing.TableOptions{OperatorNamespace: "heal8s-system"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.Reason == v1beta1.CompileFailedReason || len(r.Invalid) > 0 {
			t.Errorf("example policy %s: %s %s, invalid %v", r.Policy, r.Reason, r.Message, r.Invalid)
		}
	}
}

func TestSetDefaultNamespace(t *testing.T) {
	ps := []*v1beta1.RemediationPolicy{{}, {}}
	ps[0].Name, ps[1].Name, ps[1].Namespace = "a", "b", "team-b"
	notes := SetDefaultNamespace(ps, "team-a")
	if ps[0].Namespace != "team-a" || ps[1].Namespace != "team-b" {
		t.Errorf("namespaces = %s, %s", ps[0].Namespace, ps[1].Namespace)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "RemediationPolicy a has no namespace: taken as team-a") {
		t.Errorf("notes = %q", notes)
	}
}

func TestBuildTable(t *testing.T) {
	good := mustDecode(t, v1beta1Policy)
	broken := mustDecode(t, strings.Replace(strings.Replace(v1beta1Policy, "name: kps", "name: broken", 1),
		`alertname="KubeHpaMaxedOut"`, `alertname=~"(unclosed"`, 1))
	outside := mustDecode(t, strings.Replace(v1beta1Policy, "namespace: heal8s-system", "namespace: team-a", 1))
	suspended := mustDecode(t, strings.Replace(strings.Replace(v1beta1Policy, "name: kps", "name: paused", 1),
		"strategy: DryRun", "strategy: DryRun\n  safety: {suspend: true}", 1))

	table, reports, err := BuildTable([]*v1beta1.RemediationPolicy{good, broken, outside, suspended},
		routing.TableOptions{OperatorNamespace: "heal8s-system"})
	if err != nil {
		t.Fatal(err)
	}
	if table.Len() != 4 {
		t.Errorf("table holds %d policies, want 4 (a policy that does not compile is in it, not ready)", table.Len())
	}
	byName := map[string]PolicyReport{}
	for _, r := range reports {
		byName[r.Policy.String()] = r
	}

	r := byName["heal8s-system/kps"]
	if !r.Ready || r.Reason != v1beta1.CompiledReason || r.Rules != 2 || len(r.Invalid) != 0 {
		t.Errorf("kps report = %+v", r)
	}
	r = byName["heal8s-system/broken"]
	if r.Ready || r.Reason != v1beta1.CompileFailedReason || r.CompileError == nil || r.CompileError.Rule != "hpa-maxed" ||
		!errors.Is(r.CompileError, routing.ErrInvalidMatcher) {
		t.Errorf("broken report = %+v", r)
	}
	if c := r.ReadyCondition(); c.Status != "False" || c.Reason != v1beta1.CompileFailedReason || !strings.Contains(c.Message, "hpa-maxed") {
		t.Errorf("broken Ready condition = %+v", c)
	}
	if p, ok := table.Get(types.NamespacedName{Namespace: "heal8s-system", Name: "broken"}); !ok || p.Ready() {
		t.Errorf("broken in the table: %v, ready %v; want present and not ready", ok, ok && p.Ready())
	}
	r = byName["team-a/kps"]
	if len(r.Invalid) == 0 || !strings.Contains(r.Invalid.ToAggregate().Error(), "namespaceSelector") {
		t.Errorf("team-a/kps: invalid = %v, want the namespaceSelector refused outside the operator namespace", r.Invalid)
	}
	r = byName["heal8s-system/paused"]
	if r.Ready || r.Reason != v1beta1.SuspendedReason {
		t.Errorf("paused report = %+v", r)
	}

	if _, _, err := BuildTable([]*v1beta1.RemediationPolicy{{}}, routing.TableOptions{}); err == nil {
		t.Error("BuildTable of a policy without a name: no error")
	}
}

func mustDecode(t *testing.T, doc string) *v1beta1.RemediationPolicy {
	t.Helper()
	ps, _, err := DecodePolicies("test", strings.NewReader(doc))
	if err != nil || len(ps) != 1 {
		t.Fatalf("decoding: %d policies, %v", len(ps), err)
	}
	return ps[0]
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
