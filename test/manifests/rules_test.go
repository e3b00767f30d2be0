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
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/internal/metrics"
)

// ruleFiles are the PrometheusRule manifests heal8s ships or documents.
var ruleFiles = []string{
	"config/prometheus/prometheusrule.yaml",
	"examples/prometheus/kubernetes-alerts.yaml",
}

// TestRuleFilesAreValidPrometheusRules checks every rule group with Prometheus's own rule file
// parser (what promtool check rules runs): expressions, durations, label and annotation
// templates, duplicate names.
func TestRuleFilesAreValidPrometheusRules(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(suite.root, "examples", "prometheus", "*.yaml"))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	for _, f := range files {
		rel, _ := filepath.Rel(suite.root, f)
		if !slices.Contains(ruleFiles, rel) {
			t.Errorf("%s is not in ruleFiles", rel)
		}
	}
	for _, f := range ruleFiles {
		t.Run(f, func(t *testing.T) {
			checkRuleGroups(t, readPrometheusRule(t, f))
		})
	}
	t.Run("helm", func(t *testing.T) {
		objs := helmTemplate(t, "heal8s", "heal8s-system", filepath.Join("test", "manifests", "testdata", "helm", "full.yaml"))
		rules := byKind(objs, "PrometheusRule")
		NewWithT(t).Expect(rules).To(HaveLen(1))
		checkRuleGroups(t, rules[0])
	})
}

// checkRuleGroups parses a PrometheusRule's spec with rulefmt and returns the groups.
func checkRuleGroups(t *testing.T, u *unstructured.Unstructured) *rulefmt.RuleGroups {
	t.Helper()
	g := NewWithT(t)
	spec, ok := u.Object["spec"]
	g.Expect(ok).To(BeTrue(), "PrometheusRule without spec")
	raw, err := yaml.Marshal(spec)
	g.Expect(err).NotTo(HaveOccurred())
	groups, errs := rulefmt.Parse(raw, false, model.UTF8Validation)
	g.Expect(errs).To(BeEmpty())
	g.Expect(groups.Groups).NotTo(BeEmpty())
	for _, grp := range groups.Groups {
		for _, r := range grp.Rules {
			if r.Alert != "" {
				g.Expect(r.Labels).To(HaveKey("severity"), "alert %s", r.Alert)
				g.Expect(r.Annotations).To(HaveKey("summary"), "alert %s", r.Alert)
			}
		}
	}
	return groups
}

// TestHeal8sAlertsUseRealMetrics shows heal8s's own alerts cover what issue 6 asks (failure
// rate, no alerts while policies exist, slow remediations, operator down) and only use heal8s_*
// metrics and labels the manager registers.
func TestHeal8sAlertsUseRealMetrics(t *testing.T) {
	g := NewWithT(t)
	groups := checkRuleGroups(t, readPrometheusRule(t, "config/prometheus/prometheusrule.yaml"))
	known := heal8sMetrics(t)
	var alerts []string
	for _, grp := range groups.Groups {
		for _, r := range grp.Rules {
			alerts = append(alerts, r.Alert)
			g.Expect(r.Annotations).To(HaveKeyWithValue("runbook_url", ContainSubstring("docs/operations.md#"+strings.ToLower(r.Alert))))
			checkHeal8sSelectors(t, r.Expr, known)
		}
	}
	g.Expect(alerts).To(ContainElements("Heal8sOperatorDown", "Heal8sRemediationFailureRateHigh",
		"Heal8sNoAlertsReceived", "Heal8sRemediationsSlow"))

	doc, err := os.ReadFile(filepath.Join(suite.root, "docs", "operations.md"))
	g.Expect(err).NotTo(HaveOccurred())
	for _, a := range alerts {
		g.Expect(string(doc)).To(ContainSubstring("### "+a), "docs/operations.md has no runbook for %s", a)
	}
}

// TestKubernetesAlertsCarryTheLabelsTheReceiverReads shows the example alerts exist and keep
// namespace, the target's label and, for container fixes, container through every aggregation.
func TestKubernetesAlertsCarryTheLabelsTheReceiverReads(t *testing.T) {
	g := NewWithT(t)
	groups := checkRuleGroups(t, readPrometheusRule(t, "examples/prometheus/kubernetes-alerts.yaml"))
	want := map[string][]string{
		"KubePodOOMKilled":         {"namespace", "pod", "container"},
		"ContainerMemoryNearLimit": {"namespace", "pod", "container"},
		"ContainerCPUThrottling":   {"namespace", "pod", "container"},
		"KubeHpaMaxedOut":          {"namespace", "horizontalpodautoscaler"},
		"KubePodCrashLooping":      {"namespace", "pod", "container", "reason"},
	}
	seen := map[string]bool{}
	for _, grp := range groups.Groups {
		for _, r := range grp.Rules {
			labels, ok := want[r.Alert]
			if !ok {
				continue
			}
			seen[r.Alert] = true
			expr, err := parser.ParseExpr(r.Expr)
			g.Expect(err).NotTo(HaveOccurred())
			out := outputLabels(expr)
			g.Expect(out).NotTo(BeNil(), "%s: the expression's labels are not bounded by an aggregation", r.Alert)
			g.Expect(out.UnsortedList()).To(ContainElements(labels), "%s drops a label the receiver reads", r.Alert)
		}
	}
	g.Expect(seen).To(HaveLen(len(want)))
}

// outputLabels returns the labels an expression's result series are known to carry: those of
// the outermost aggregations, through functions and binary operators (whose result carries the
// left-hand side's labels). nil means "whatever the selected series carry".
func outputLabels(e parser.Expr) sets.Set[string] {
	switch n := e.(type) {
	case *parser.AggregateExpr:
		if n.Without {
			if in := outputLabels(n.Expr); in != nil {
				return in.Delete(n.Grouping...)
			}
			return nil
		}
		return sets.New(n.Grouping...)
	case *parser.ParenExpr:
		return outputLabels(n.Expr)
	case *parser.BinaryExpr:
		if n.LHS.Type() == parser.ValueTypeVector {
			return outputLabels(n.LHS)
		}
		return outputLabels(n.RHS)
	case *parser.Call:
		for _, a := range n.Args {
			if a.Type() == parser.ValueTypeVector || a.Type() == parser.ValueTypeMatrix {
				return outputLabels(a)
			}
		}
		return sets.New[string]()
	case *parser.MatrixSelector:
		return outputLabels(n.VectorSelector)
	case *parser.NumberLiteral:
		return sets.New[string]()
	default:
		return nil
	}
}

// TestGrafanaDashboard checks the dashboard is valid JSON whose every query parses and uses only
// heal8s_* metrics and labels the manager registers.
func TestGrafanaDashboard(t *testing.T) {
	g := NewWithT(t)
	raw, err := os.ReadFile(filepath.Join(suite.root, "examples", "grafana", "heal8s-dashboard.json"))
	g.Expect(err).NotTo(HaveOccurred())
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	g.Expect(json.Unmarshal(raw, &dash)).To(Succeed())
	g.Expect(dash.UID).NotTo(BeEmpty())
	known := heal8sMetrics(t)
	used := sets.New[string]()
	grafanaVars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$job", "heal8s")
	for _, p := range dash.Panels {
		g.Expect(p.Targets).NotTo(BeEmpty(), "panel %q", p.Title)
		for _, tgt := range p.Targets {
			used.Insert(checkHeal8sSelectors(t, grafanaVars.Replace(tgt.Expr), known)...)
		}
	}
	for name := range known {
		g.Expect(used.Has(name)).To(BeTrue(), "the dashboard does not show %s", name)
	}
}

// heal8sMetrics returns each metric the manager registers with its label names, by creating
// the Recorder on a Registerer that keeps the collectors.
func heal8sMetrics(t *testing.T) map[string]sets.Set[string] {
	t.Helper()
	reg := &recordingRegisterer{}
	metrics.NewRecorder(reg)
	out := map[string]sets.Set[string]{}
	descRE := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	for _, c := range reg.collectors {
		ch := make(chan *prometheus.Desc, 16)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := descRE.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot read %s", d)
			}
			out[m[1]] = sets.New(strings.FieldsFunc(m[2], func(r rune) bool { return r == ',' || r == ' ' })...)
		}
	}
	if len(out) < 7 {
		t.Fatalf("the Recorder registers %d metrics, want 7", len(out))
	}
	return out
}

// recordingRegisterer keeps what is registered on it.
type recordingRegisterer struct{ collectors []prometheus.Collector }

// Register keeps c.
func (r *recordingRegisterer) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return nil
}

// MustRegister keeps cs.
func (r *recordingRegisterer) MustRegister(cs ...prometheus.Collector) {
	r.collectors = append(r.collectors, cs...)
}

// Unregister is never needed here.
func (r *recordingRegisterer) Unregister(prometheus.Collector) bool { return false }

// checkHeal8sSelectors parses expr and fails on any heal8s_* metric the manager does not
// register, or a label on it that it does not have; it returns the heal8s metrics used.
func checkHeal8sSelectors(t *testing.T, expr string, known map[string]sets.Set[string]) []string {
	t.Helper()
	g := NewWithT(t)
	e, err := parser.ParseExpr(expr)
	g.Expect(err).NotTo(HaveOccurred(), expr)
	// Labels every scraped series has, and the histogram bucket label.
	scrape := sets.New("job", "instance", "namespace", "pod", "service", "endpoint", "container", "le")
	var used []string
	parser.Inspect(e, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			if !strings.HasPrefix(n.Name, "heal8s_") {
				return nil
			}
			base := n.Name
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if b, ok := strings.CutSuffix(n.Name, suffix); ok && known[b] != nil {
					base = b
				}
			}
			labels, ok := known[base]
			g.Expect(ok).To(BeTrue(), "%s is not a metric heal8s registers (in %s)", n.Name, expr)
			used = append(used, base)
			for _, m := range n.LabelMatchers {
				if m.Name != model.MetricNameLabel {
					g.Expect(labels.Has(m.Name) || scrape.Has(m.Name)).To(BeTrue(), "%s has no label %s", base, m.Name)
				}
			}
		case *parser.AggregateExpr:
			if !usesOnlyHeal8s(n.Expr) {
				return nil
			}
			var all sets.Set[string]
			parser.Inspect(n.Expr, func(inner parser.Node, _ []parser.Node) error {
				if vs, ok := inner.(*parser.VectorSelector); ok {
					base := strings.TrimSuffix(vs.Name, "_bucket")
					if all == nil {
						all = sets.New[string]()
					}
					all = all.Union(known[base])
				}
				return nil
			})
			for _, l := range n.Grouping {
				g.Expect(all.Has(l) || scrape.Has(l)).To(BeTrue(), "grouping by %s, which the metrics in %q do not have", l, expr)
			}
		}
		return nil
	})
	return used
}

// usesOnlyHeal8s reports whether every selector under e is a heal8s_* metric.
func usesOnlyHeal8s(e parser.Expr) bool {
	only := true
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok && !strings.HasPrefix(vs.Name, "heal8s_") {
			only = false
		}
		return nil
	})
	return only
}

// readPrometheusRule reads one PrometheusRule manifest.
func readPrometheusRule(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(suite.root, path))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeAll(data)
	if err != nil || len(objs) != 1 || objs[0].GetKind() != "PrometheusRule" {
		t.Fatalf("%s: want one PrometheusRule (err %v)", path, err)
	}
	return objs[0]
}

// TestPoliciesDocDocumentsEveryField fails when a RemediationPolicy v1beta1 field is missing
// from docs/policies.md's table, so a new field cannot ship undocumented.
func TestPoliciesDocDocumentsEveryField(t *testing.T) {
	g := NewWithT(t)
	raw, err := os.ReadFile(filepath.Join(suite.root, "config", "crd", "bases", "heal8s.io_remediationpolicies.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(yaml.Unmarshal(raw, crd)).To(Succeed())
	var spec apiextensionsv1.JSONSchemaProps
	for _, v := range crd.Spec.Versions {
		if v.Name == "v1beta1" {
			spec = v.Schema.OpenAPIV3Schema.Properties["spec"]
		}
	}
	doc, err := os.ReadFile(filepath.Join(suite.root, "docs", "policies.md"))
	g.Expect(err).NotTo(HaveOccurred())
	var missing []string
	var walk func(path string, s apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s apiextensionsv1.JSONSchemaProps) {
		if !strings.Contains(string(doc), "| `"+path+"` |") {
			missing = append(missing, path)
		}
		if strings.HasSuffix(path, "namespaceSelector") {
			return // a standard LabelSelector
		}
		if s.Items != nil && s.Items.Schema != nil && len(s.Items.Schema.Properties) > 0 {
			walk(path+"[]", *s.Items.Schema)
			return
		}
		for name, p := range s.Properties {
			walk(path+"."+name, p)
		}
	}
	walk("spec", spec)
	g.Expect(missing).To(BeEmpty(), "fields missing from docs/policies.md")
}
