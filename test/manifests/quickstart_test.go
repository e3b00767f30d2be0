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
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

var (
	portForwardRe  = regexp.MustCompile(`kubectl -n heal8s-system port-forward svc/([a-z0-9-]+) (\d+)`)
	clusterRoleRe  = regexp.MustCompile(`--clusterrole=([a-z0-9-]+)`)
	createSecretRe = regexp.MustCompile(`kubectl -n heal8s-system create secret generic ([a-z0-9-]+)`)
	minKubeRe      = regexp.MustCompile(`Kubernetes 1\.(\d+) or later`)
	receiverURLRe  = regexp.MustCompile(`url: https://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)/webhook/alertmanager`)
)

// minorFor is the Kubernetes minor version that first serves an apiVersion and kind an install
// renders, for those newer than the oldest version heal8s has supported (1.28).
var minorFor = map[string]int{
	"admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy":        30,
	"admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding": 30,
}

// TestQuickStartNamesExist: the objects the install docs name (Services to port-forward to and
// their ports, ClusterRoles to bind, the Secrets they create, the receiver's address in the
// Alertmanager example) are what config/default and the chart's defaults install, and the
// Kubernetes version the quick start asks for serves every kind they install.
func TestQuickStartNamesExist(t *testing.T) {
	installs := map[string][]*unstructured.Unstructured{
		"config/default": kustomizeDefault(t),
		"the chart":      helmTemplate(t, "heal8s", operatorNamespace),
	}
	for _, doc := range quickStartDocs {
		checkDocNames(t, doc, installs)
	}
	quick := joinContinuations(string(read(t, "docs/quick-start.md")))
	checkReceiverTokenSecret(t, quick, installs["config/default"])
	checkReceiverAddress(t, installs)
	checkMinKubernetes(t, quick, installs)
}

// servicePorts returns the ports of the Service name in the operator namespace; nil when there
// is none.
func servicePorts(objs []*unstructured.Unstructured, name string) []string {
	for _, u := range byKind(objs, "Service") {
		if u.GetName() != name || u.GetNamespace() != operatorNamespace {
			continue
		}
		ports := []string{}
		list, _, _ := unstructured.NestedSlice(u.Object, "spec", "ports")
		for _, p := range list {
			ports = append(ports, fmt.Sprint(p.(map[string]any)["port"]))
		}
		return ports
	}
	return nil
}

// checkDocNames checks the Services, ports, ClusterRoles and Secrets one install doc names.
func checkDocNames(t *testing.T, doc string, installs map[string][]*unstructured.Unstructured) {
	t.Helper()
	text := joinContinuations(string(read(t, doc)))
	for _, m := range portForwardRe.FindAllStringSubmatch(text, -1) {
		for install, objs := range installs {
			ports := servicePorts(objs, m[1])
			if ports == nil {
				t.Errorf("%s: %q: %s installs no Service %s", doc, m[0], install, m[1])
			} else if !slices.Contains(ports, m[2]) {
				t.Errorf("%s: %q: %s's Service %s has ports %v", doc, m[0], install, m[1], ports)
			}
		}
	}
	clusterRoles := map[string]bool{}
	for _, objs := range installs {
		for _, u := range byKind(objs, "ClusterRole") {
			clusterRoles[u.GetName()] = true
		}
	}
	for _, m := range clusterRoleRe.FindAllStringSubmatch(text, -1) {
		if !clusterRoles[m[1]] {
			t.Errorf("%s: %q: no install has the ClusterRole %s", doc, m[0], m[1])
		}
	}
	valuesYAML := string(read(t, "charts/heal8s/values.yaml"))
	kustomized, err := yaml.Marshal(installs["config/default"])
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range createSecretRe.FindAllStringSubmatch(text, -1) {
		// A Secret the docs create is one an install refers to, a chart value names by
		// default, or one the same page hands to the chart with --set.
		name := m[1]
		if !strings.Contains(string(kustomized), ": "+name+"\n") && !strings.Contains(valuesYAML, ": "+name+"\n") &&
			!regexp.MustCompile(`--set \S+=`+regexp.QuoteMeta(name)+`\b`).MatchString(text) {
			t.Errorf("%s: %q: nothing installed uses the Secret %s", doc, m[0], name)
		}
	}
}

// checkReceiverTokenSecret: the receiver token Secret the quick start creates is the one
// config/default and the bundle mount, and the one its helm install passes to the chart.
func checkReceiverTokenSecret(t *testing.T, quick string, kustomized []*unstructured.Unstructured) {
	t.Helper()
	created := createSecretRe.FindStringSubmatch(quick)
	if created == nil {
		t.Fatal("docs/quick-start.md creates no Secret in heal8s-system")
	}
	vol := volumeNamed(deployment(t, kustomized).Spec.Template.Spec.Volumes, "receiver-token")
	if vol == nil || vol.Secret == nil || vol.Secret.SecretName != created[1] {
		t.Errorf("config/default does not mount the receiver token Secret %s that the quick start creates", created[1])
	}
	if !strings.Contains(quick, "receiver.token.existingSecret="+created[1]) {
		t.Errorf("docs/quick-start.md: helm install does not pass receiver.token.existingSecret=%s", created[1])
	}
	csv := string(read(t, "bundle/manifests/heal8s.clusterserviceversion.yaml"))
	if !strings.Contains(csv, "secretName: "+created[1]+"\n") {
		t.Errorf("the OLM bundle does not mount the receiver token Secret %s", created[1])
	}
}

// checkReceiverAddress: the Alertmanager example's receiver address is a Service and port of
// every install.
func checkReceiverAddress(t *testing.T, installs map[string][]*unstructured.Unstructured) {
	t.Helper()
	url := receiverURLRe.FindStringSubmatch(string(read(t, "examples/alertmanager/alertmanager.yaml")))
	if url == nil {
		t.Fatal("examples/alertmanager/alertmanager.yaml: no receiver url found")
	}
	if url[2] != operatorNamespace {
		t.Errorf("examples/alertmanager/alertmanager.yaml: the receiver is in %s, not %s", url[2], operatorNamespace)
	}
	for install, objs := range installs {
		if !slices.Contains(servicePorts(objs, url[1]), url[3]) {
			t.Errorf("examples/alertmanager/alertmanager.yaml: %s has no Service %s with port %s", install, url[1], url[3])
		}
	}
}

// checkMinKubernetes: the Kubernetes version the quick start asks for serves what the installs
// render.
func checkMinKubernetes(t *testing.T, quick string, installs map[string][]*unstructured.Unstructured) {
	t.Helper()
	m := minKubeRe.FindStringSubmatch(quick)
	if m == nil {
		t.Fatal("docs/quick-start.md: no \"Kubernetes 1.N or later\"")
	}
	stated, _ := strconv.Atoi(m[1])
	for install, objs := range installs {
		for _, u := range objs {
			if need := minorFor[u.GetAPIVersion()+"/"+u.GetKind()]; need > stated {
				t.Errorf("docs/quick-start.md asks for Kubernetes 1.%d, but %s installs %s %s (1.%d or later)",
					stated, install, u.GetAPIVersion(), u.GetKind(), need)
			}
		}
	}
}

// helmReleaseRe is a helm install or upgrade of a chart reference, with the rest of its line.
var helmReleaseRe = regexp.MustCompile(`helm (?:install|upgrade)(?: --install)? [a-z][a-z0-9-]* (\S+)([^\n` + "`" + `]*)`)

// TestQuickStartInstallsThePublishedChart: the install docs install and upgrade the chart a
// release publishes (the release workflow's CHART_REPO, at Chart.yaml's version), which a
// newcomer without a clone has, not charts/heal8s.
func TestQuickStartInstallsThePublishedChart(t *testing.T) {
	var chart struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := yaml.Unmarshal(read(t, "charts/heal8s/Chart.yaml"), &chart); err != nil {
		t.Fatal(err)
	}
	workflow := string(read(t, ".github/workflows/release.yml"))
	repo := regexp.MustCompile(`CHART_REPO: oci://ghcr\.io/\$\{\{ github\.repository_owner \}\}/(\S+)`).FindStringSubmatch(workflow)
	if repo == nil {
		t.Fatal(".github/workflows/release.yml: no CHART_REPO")
	}
	want := "oci://ghcr.io/heal8s/" + repo[1] + "/" + chart.Name
	found := 0
	for _, doc := range quickStartDocs {
		for _, m := range helmReleaseRe.FindAllStringSubmatch(joinContinuations(string(read(t, doc))), -1) {
			found++
			if m[1] != want {
				t.Errorf("%s: %q installs %s, not the published chart %s", doc, m[0], m[1], want)
			}
			if !strings.Contains(m[2], "--version "+chart.Version) {
				t.Errorf("%s: %q does not pin --version %s (Chart.yaml)", doc, m[0], chart.Version)
			}
		}
	}
	if found < 3 {
		t.Errorf("only %d helm install or upgrade commands found in %v", found, quickStartDocs)
	}
}
