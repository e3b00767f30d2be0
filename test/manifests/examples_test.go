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
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// policyAlertNames returns the alert names the rules of examples/policies match on
// (alertname="X" or alertname=~"X|Y" with plain names), the alerts the example Alertmanager
// route must pass.
func policyAlertNames(t *testing.T) []string {
	t.Helper()
	g := NewWithT(t)
	files, err := filepath.Glob(filepath.Join(suite.root, "examples", "policies", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).NotTo(BeEmpty())
	seen := map[string]bool{}
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		g.Expect(err).NotTo(HaveOccurred())
		p := &v1beta1.RemediationPolicy{}
		g.Expect(yaml.UnmarshalStrict(data, p)).To(Succeed(), f)
		for _, r := range p.Spec.Rules {
			for _, m := range r.Matchers {
				parsed, err := amlabels.ParseMatcher(m)
				g.Expect(err).NotTo(HaveOccurred(), m)
				if parsed.Name != "alertname" {
					continue
				}
				g.Expect(parsed.Type).To(BeElementOf(amlabels.MatchEqual, amlabels.MatchRegexp), "%s: rule %s", f, r.Name)
				for n := range strings.SplitSeq(parsed.Value, "|") {
					if !seen[n] {
						seen[n] = true
						names = append(names, n)
					}
				}
			}
		}
	}
	return names
}

// otherRealAlerts are alerts of the same rule sets that no example policy acts on: the example
// route must not send them to heal8s.
var otherRealAlerts = []string{"Watchdog", "InfoInhibitor", "KubeDeploymentReplicasMismatch", "KubeStatefulSetReplicasMismatch",
	"HostOomKillDetected", "ContainerHighMemoryUsage", "KubeMemoryOvercommit", "KubePodNotReady", "KubeJobFailed"}

// TestExampleManifestsApply dry-runs the example manifests a user applies: the memory-leak
// demo, the example alerts, the samples and the optional NetworkPolicies.
func TestExampleManifestsApply(t *testing.T) {
	var objs []*unstructured.Unstructured
	for path, ns := range map[string]string{
		"examples/memory-leak/manifest.yaml":               "demo",
		"examples/prometheus/kubernetes-alerts.yaml":       "monitoring",
		"examples/policies/kube-prometheus-stack.yaml":     "heal8s-system",
		"examples/policies/awesome-prometheus-alerts.yaml": "heal8s-system",
		"examples/policies/heal8s.yaml":                    "heal8s-system",
	} {
		data, err := os.ReadFile(filepath.Join(suite.root, path))
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		docs, err := decodeAll(data)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		for _, u := range docs {
			if u.GetNamespace() == "" {
				u.SetNamespace(ns)
			}
			_, err := typed(u)
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			objs = append(objs, u)
		}
	}
	objs = append(objs, renderKustomize(t, "config/samples")...)
	objs = append(objs, renderKustomize(t, "config/network-policy")...)
	dryRunApply(t, objs)
}

// TestAlertmanagerExampleRoutesToTheReceiver checks the Alertmanager example sends exactly the
// alerts the example policies act on, resolved ones included, to the receiver's path with the
// bearer token.
func TestAlertmanagerExampleRoutesToTheReceiver(t *testing.T) {
	g := NewWithT(t)
	raw, err := os.ReadFile(filepath.Join(suite.root, "examples", "alertmanager", "alertmanager.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	type route struct {
		Receiver string   `json:"receiver"`
		Matchers []string `json:"matchers"`
		Continue bool     `json:"continue"`
		Routes   []route  `json:"routes"`
	}
	var cfg struct {
		Route     route `json:"route"`
		Receivers []struct {
			Name           string `json:"name"`
			WebhookConfigs []struct {
				URL          string `json:"url"`
				SendResolved bool   `json:"send_resolved"`
				HTTPConfig   struct {
					Authorization struct {
						Type            string `json:"type"`
						CredentialsFile string `json:"credentials_file"`
					} `json:"authorization"`
					TLSConfig struct {
						CAFile             string `json:"ca_file"`
						InsecureSkipVerify bool   `json:"insecure_skip_verify"`
					} `json:"tls_config"`
				} `json:"http_config"`
			} `json:"webhook_configs"`
		} `json:"receivers"`
	}
	g.Expect(yaml.Unmarshal(raw, &cfg)).To(Succeed())

	var heal8s *route
	for i := range cfg.Route.Routes {
		if cfg.Route.Routes[i].Receiver == "heal8s" {
			heal8s = &cfg.Route.Routes[i]
		}
	}
	g.Expect(heal8s).NotTo(BeNil(), "no route to the heal8s receiver")
	g.Expect(heal8s.Continue).To(BeTrue(), "other receivers must still get the alerts")
	var matchers amlabels.Matchers
	for _, m := range heal8s.Matchers {
		parsed, err := amlabels.ParseMatchers(m)
		g.Expect(err).NotTo(HaveOccurred())
		matchers = append(matchers, parsed...)
	}
	names := policyAlertNames(t)
	g.Expect(len(names)).To(BeNumerically(">=", 12))
	for _, alert := range names {
		g.Expect(matchers.Matches(model.LabelSet{"alertname": model.LabelValue(alert), "namespace": "demo"})).To(BeTrue(), alert)
	}
	for _, alert := range otherRealAlerts {
		g.Expect(matchers.Matches(model.LabelSet{"alertname": model.LabelValue(alert), "namespace": "demo"})).To(BeFalse(), alert)
	}

	found := false
	for _, r := range cfg.Receivers {
		if r.Name != "heal8s" {
			continue
		}
		found = true
		g.Expect(r.WebhookConfigs).To(HaveLen(1))
		w := r.WebhookConfigs[0]
		u, err := url.Parse(w.URL)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(u.Path).To(Equal("/webhook/alertmanager"))
		g.Expect(u.Scheme).To(Equal("https"), "config/default serves the receiver over TLS")
		g.Expect(w.HTTPConfig.TLSConfig.CAFile).NotTo(BeEmpty(), "the receiver's certificate is checked against its CA")
		g.Expect(w.HTTPConfig.TLSConfig.InsecureSkipVerify).To(BeFalse())
		g.Expect(u.Port()).To(Equal("9095"))
		g.Expect(u.Hostname()).To(Equal("heal8s-receiver.heal8s-system.svc"), "the receiver Service config/default creates")
		g.Expect(w.SendResolved).To(BeTrue(), "heal8s verifies fixes by the resolved notification")
		g.Expect(w.HTTPConfig.Authorization.Type).To(Equal("Bearer"))
		g.Expect(w.HTTPConfig.Authorization.CredentialsFile).NotTo(BeEmpty())
	}
	g.Expect(found).To(BeTrue())
}

// TestGitHubActionsExample checks the workflow's shape: it runs on merged pull requests labelled
// heal8s, per environment in order, and applies, waits, annotates and comments.
func TestGitHubActionsExample(t *testing.T) {
	g := NewWithT(t)
	raw, err := os.ReadFile(filepath.Join(suite.root, "examples", "github-actions", "heal8s-apply.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var wf struct {
		On struct {
			PullRequest struct {
				Types []string `yaml:"types"`
			} `yaml:"pull_request"`
		} `yaml:"on"`
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]struct {
			If       string `yaml:"if"`
			Strategy struct {
				MaxParallel int `yaml:"max-parallel"`
				Matrix      struct {
					Environment []string `yaml:"environment"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []struct {
				Name string `yaml:"name"`
				Run  string `yaml:"run"`
				Uses string `yaml:"uses"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	// YAML 1.2, so the key "on" stays a string (YAML 1.1 reads it as true).
	g.Expect(yamlv3.Unmarshal(raw, &wf)).To(Succeed())
	g.Expect(wf.On.PullRequest.Types).To(Equal([]string{"closed"}))
	g.Expect(wf.Permissions).To(HaveKeyWithValue("pull-requests", "write"))
	g.Expect(wf.Jobs).To(HaveKey("apply"))
	job := wf.Jobs["apply"]
	g.Expect(job.If).To(ContainSubstring("merged == true"))
	g.Expect(job.If).To(ContainSubstring("'heal8s'"))
	g.Expect(job.Strategy.Matrix.Environment).To(Equal([]string{"dev", "staging", "prod"}))
	g.Expect(job.Strategy.MaxParallel).To(Equal(1))
	var script strings.Builder
	for _, s := range job.Steps {
		script.WriteString(s.Run)
	}
	for _, want := range []string{"kubectl apply", "rollout status", "annotate", "remediations.heal8s.io", "gh pr comment"} {
		g.Expect(script.String()).To(ContainSubstring(want))
	}
}

// TestMemoryLeakExample runs the demo application's own tests (it is a separate Go module so its
// image builds from its directory alone).
func TestMemoryLeakExample(t *testing.T) {
	runTool(t, "go", "-C", "examples/memory-leak", "vet", "./...")
	out := runTool(t, "go", "-C", "examples/memory-leak", "test", "-count=1", "./...")
	NewWithT(t).Expect(string(out)).To(ContainSubstring("ok"))
}

// renderKustomize renders a kustomization directory.
func renderKustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := decodeAll(runTool(t, tool(t, "kustomize", "KUSTOMIZE"), "build", dir))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}
