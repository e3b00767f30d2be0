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
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// chart is the Helm chart's directory relative to the repository root.
const chart = "charts/heal8s"

// helmTemplate renders the chart as release name in namespace with the given values files.
func helmTemplate(t *testing.T, name, namespace string, valuesFiles ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", name, chart, "--namespace", namespace, "--kube-version", utilsK8sVersion()}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	objs, err := decodeAll(runTool(t, tool(t, "helm", "HELM"), args...))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestChartFilesAreCopiesOfTheirSources keeps the chart from drifting from what controller-gen
// and config/ produce: the CRDs, the manager's RBAC, the webhooks and the PrometheusRule are
// byte-identical copies (make manifests copies them).
func TestChartFilesAreCopiesOfTheirSources(t *testing.T) {
	g := NewWithT(t)
	crds, err := filepath.Glob(filepath.Join(suite.root, "config", "crd", "bases", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(crds).NotTo(BeEmpty())
	pairs := map[string]string{
		"config/rbac/role.yaml":                 chart + "/files/rbac/role.yaml",
		"config/webhook/manifests.yaml":         chart + "/files/webhook/manifests.yaml",
		"config/prometheus/prometheusrule.yaml": chart + "/files/prometheus/prometheusrule.yaml",
	}
	for _, c := range crds {
		pairs["config/crd/bases/"+filepath.Base(c)] = chart + "/files/crds/" + filepath.Base(c)
	}
	pairs["config/rbac/direct_patch_role.yaml"] = chart + "/files/rbac/direct_patch_role.yaml"
	policies, err := filepath.Glob(filepath.Join(suite.root, "examples", "policies", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(policies).NotTo(BeEmpty())
	for _, p := range policies {
		pairs["examples/policies/"+filepath.Base(p)] = chart + "/files/policies/" + filepath.Base(p)
	}
	copies, err := filepath.Glob(filepath.Join(suite.root, chart, "files", "crds", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(copies).To(HaveLen(len(crds)), "charts/heal8s/files/crds has CRDs config/crd/bases does not; run 'make chart-files'")
	for src, dst := range pairs {
		want, err := os.ReadFile(filepath.Join(suite.root, src))
		g.Expect(err).NotTo(HaveOccurred())
		got, err := os.ReadFile(filepath.Join(suite.root, dst))
		g.Expect(err).NotTo(HaveOccurred(), "run 'make chart-files'")
		g.Expect(bytes.Equal(got, want)).To(BeTrue(), "%s differs from %s; run 'make chart-files'", dst, src)
	}
}

func TestHelmLint(t *testing.T) {
	for _, values := range []string{"", "testdata/helm/full.yaml", "testdata/helm/minimal.yaml"} {
		t.Run(filepath.Base(values), func(t *testing.T) {
			args := []string{"lint", "--strict", chart, "--kube-version", utilsK8sVersion()}
			if values != "" {
				args = append(args, "--values", filepath.Join("test", "manifests", values))
			}
			out := runTool(t, tool(t, "helm", "HELM"), args...)
			NewWithT(t).Expect(string(out)).To(ContainSubstring("0 chart(s) failed"))
		})
	}
}

func TestHelmTemplate(t *testing.T) {
	cases := []struct {
		name, release, namespace, values string
		check                            func(t *testing.T, objs []*unstructured.Unstructured)
	}{{
		name: "defaults", release: "heal8s", namespace: "heal8s-system",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			t.Helper()
			checkManagerDeployment(t, byKind(objs, "Deployment")[0])
			checkRBAC(t, objs, "heal8s-system", "heal8s-controller-manager")
			checkWebhooks(t, objs, "heal8s-system", "heal8s-system/heal8s-serving-cert")
			checkNetworkPolicies(t, objs, "heal8s-system", defaultExposure(false))
			checkEndpointsTLS(t, objs, "heal8s-system")
			checkDashboardRBAC(t, objs)
			g := NewWithT(t)
			g.Expect(byKind(objs, "ServiceMonitor")).To(BeEmpty())
			g.Expect(byKind(objs, "PrometheusRule")).To(BeEmpty())
			g.Expect(byKind(objs, "Issuer")).To(HaveLen(1))
			g.Expect(names(byKind(objs, "Certificate"))).To(ConsistOf("heal8s-serving-cert", "heal8s-endpoints-cert"))
			g.Expect(serviceFor(objs, "github-webhook")).To(BeNil(), "no GitHub webhook without its secret")
			g.Expect(serviceFor(objs, "gitlab-webhook")).To(BeNil(), "no GitLab webhook without its secret")
			// The chart generates the receiver token Secret the Deployment mounts.
			g.Expect(names(byKind(objs, "Secret"))).To(ContainElement("heal8s-receiver-token"))
			g.Expect(byKind(objs, "CustomResourceDefinition")[0].GetAnnotations()).To(
				HaveKeyWithValue("helm.sh/resource-policy", "keep"))
		},
	}, {
		name: "every option", release: "ops", namespace: "ops-tools", values: "testdata/helm/full.yaml",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			t.Helper()
			g := NewWithT(t)
			d := deployment(t, objs)
			checkManagerDeployment(t, byKind(objs, "Deployment")[0])
			checkRBAC(t, objs, "ops-tools", "heal8s-operator")
			checkWebhooks(t, objs, "ops-tools", "")
			checkSeparatePorts(t, objs)
			checkDashboardRBAC(t, objs)
			// Custom labels: Alertmanager's namespace by name, and no namespace for the dashboard;
			// other ports: the webhook on 10443, the dashboard on 8090.
			byName := peer{name: "the namespace named monitoring", namespace: "monitoring",
				nsLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}
			checkNetworkPolicies(t, objs, "ops-tools", map[int32][]peer{
				portReceiver: {byName}, portGitHubWebhook: everyone, portGitLabWebhook: everyone, 10443: everyone, 8090: nil, portMetrics: {fromPrometheus},
				portWebhooks: nil, portDashboard: nil,
			})
			g.Expect(admits(t, objs, "ops-tools", managerPodLabels(t, objs), portReceiver, fromMonitoring)).To(BeFalse(),
				"heal8s-receiver=enabled is not what full.yaml asks for")
			pod := d.Spec.Template.Spec
			g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(3))
			g.Expect(pod.NodeSelector).To(HaveKeyWithValue("kubernetes.io/os", "linux"))
			g.Expect(pod.Tolerations).To(HaveLen(1))
			g.Expect(pod.Affinity.NodeAffinity).NotTo(BeNil())
			g.Expect(pod.TopologySpreadConstraints).To(HaveLen(1))
			g.Expect(pod.PriorityClassName).To(Equal("system-cluster-critical"))
			g.Expect(pod.ImagePullSecrets).To(ConsistOf(corev1.LocalObjectReference{Name: "registry-credentials"}))
			g.Expect(d.Spec.Template.Annotations).To(HaveKeyWithValue("example.com/team", "platform"))
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue("example.com/tier", "ops"))
			c := pod.Containers[0]
			g.Expect(c.Image).To(HavePrefix("registry.example.com/heal8s/heal8s@sha256:"))
			g.Expect(c.Resources.Limits.Memory().String()).To(Equal("512Mi"))
			g.Expect(c.Args).To(ContainElements("--enable-http2", "--metrics-secure=false", "--zap-log-level=debug",
				"--webhook-port=10443", "--dashboard-bind-address=:8090",
				"--receiver-cert-dir=/etc/heal8s/receiver-tls",
				"--github-webhook-secret-file=/etc/heal8s/github-webhook/secret", "--github-webhook-bind-address=:9096",
				"--gitlab-webhook-secret-file=/etc/heal8s/gitlab-webhook/secret", "--gitlab-webhook-bind-address=:9097"))
			g.Expect(c.Args).NotTo(ContainElements(HavePrefix("--dashboard-cert-dir"), HavePrefix("--github-webhook-cert-dir"),
				HavePrefix("--gitlab-webhook-cert-dir")),
				"without cert-manager only the receiver's own tlsSecret serves TLS")
			gh := serviceFor(objs, "github-webhook")
			g.Expect(gh.Spec.Type).To(Equal(corev1.ServiceTypeLoadBalancer))
			g.Expect(gh.Annotations).To(HaveKeyWithValue("example.com/public", "true"))
			gl := serviceFor(objs, "gitlab-webhook")
			g.Expect(gl.Spec.Type).To(Equal(corev1.ServiceTypeNodePort))
			g.Expect(volumeNamed(pod.Volumes, "gitlab-webhook").Secret.SecretName).To(Equal("gitlab-webhook-token"))
			g.Expect(volumeNamed(pod.Volumes, "gitlab-webhook").Secret.Items[0].Key).To(Equal("token"))
			g.Expect(c.Args).To(ContainElements("--protected-namespaces=kube-*,monitoring", "--cluster-name=prod-eu-1",
				"--default-service-account=heal8s-fixer", "--git-hosts=github.com,ghe.example.com"))
			for _, s := range byKind(objs, "Secret") {
				if s.GetName() == "heal8s-github" {
					g.Expect(s.GetAnnotations()).To(And(HaveKeyWithValue("heal8s.io/git-host", "ghe.example.com"),
						HaveKeyWithValue("heal8s.io/allowed-namespaces", "team-a,team-b"),
						HaveKeyWithValue("heal8s.io/allowed-repositories", "acme/team-*")))
				}
			}
			g.Expect(c.Env).To(ContainElement(HaveField("Name", "GODEBUG")))
			g.Expect(c.VolumeMounts).To(ContainElement(HaveField("MountPath", "/etc/ssl/extra")))
			g.Expect(volumeNamed(pod.Volumes, "receiver-token").Secret.SecretName).To(Equal("alertmanager-token"))
			g.Expect(volumeNamed(pod.Volumes, "receiver-token").Secret.Items[0].Key).To(Equal("bearer"))

			secrets := names(byKind(objs, "Secret"))
			g.Expect(secrets).To(ContainElements("heal8s-github", "h8s-github-webhook", "h8s-webhook-server-cert"))
			g.Expect(secrets).NotTo(ContainElement("h8s-receiver-token"), "an existing Secret is used")
			g.Expect(byKind(objs, "Certificate")).To(BeEmpty())
			g.Expect(byKind(objs, "ServiceMonitor")).To(HaveLen(1))
			g.Expect(byKind(objs, "PrometheusRule")).To(HaveLen(1))
			dashboards := byKind(objs, "ConfigMap")
			g.Expect(dashboards).To(HaveLen(1))
			g.Expect(dashboards[0].GetLabels()).To(HaveKeyWithValue("grafana_dashboard", "1"))
			dashboard, _, _ := unstructured.NestedString(dashboards[0].Object, "data", "heal8s-dashboard.json")
			source, err := os.ReadFile(filepath.Join(suite.root, "examples", "grafana", "heal8s-dashboard.json"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(dashboard).To(Equal(strings.TrimRight(string(source), "\n")))
			rule, _, _ := unstructured.NestedSlice(byKind(objs, "PrometheusRule")[0].Object, "spec", "groups")
			g.Expect(rule).NotTo(BeEmpty())
			body, err := yaml.Marshal(rule)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(body)).To(ContainSubstring(`job="h8s-controller-manager-metrics-service"`))
			g.Expect(string(body)).NotTo(ContainSubstring(`job="heal8s-controller-manager-metrics-service"`))
			for _, u := range byKind(objs, "CustomResourceDefinition") {
				g.Expect(u.GetAnnotations()).NotTo(HaveKey("helm.sh/resource-policy"))
			}
			policies := byKind(objs, "RemediationPolicy")
			g.Expect(policies).To(HaveLen(1), "policies.install installs the chosen example policy")
			p := policies[0]
			g.Expect(p.GetNamespace()).To(Equal("ops-tools"), "in the operator namespace, so it may act cluster-wide")
			g.Expect(p.GetName()).To(Equal("kube-prometheus-stack"))
			field := func(path ...string) string { v, _, _ := unstructured.NestedString(p.Object, path...); return v }
			g.Expect(field("spec", "strategy")).To(Equal("GitOps"))
			g.Expect(field("spec", "git", "repository")).To(Equal("acme/deploy"))
			g.Expect(field("spec", "git", "secretRef", "name")).To(Equal("heal8s-github"))
			g.Expect(field("spec", "namespaceSelector", "matchLabels", "team")).To(Equal("shop"))
			rules, _, _ := unstructured.NestedSlice(p.Object, "spec", "rules")
			g.Expect(rules).To(HaveLen(5), "the example's rules, unchanged")
			for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
				hooks, _, _ := unstructured.NestedSlice(byKind(objs, kind)[0].Object, "webhooks")
				for _, h := range hooks {
					g.Expect(h).To(HaveKeyWithValue("failurePolicy", "Ignore"))
				}
			}
		},
	}, {
		name: "minimal", release: "heal8s", namespace: "heal8s-minimal", values: "testdata/helm/minimal.yaml",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			t.Helper()
			g := NewWithT(t)
			d := deployment(t, objs)
			c := d.Spec.Template.Spec.Containers[0]
			g.Expect(c.Args).To(ContainElements("--receiver-insecure", "--metrics-bind-address=0", "--dashboard-bind-address=0"))
			g.Expect(c.Args).NotTo(ContainElement("--leader-elect"))
			g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "ENABLE_WEBHOOKS", Value: "false"}))
			for _, kind := range []string{"CustomResourceDefinition", "MutatingWebhookConfiguration",
				"ValidatingWebhookConfiguration", "Certificate", "Issuer", "PodDisruptionBudget", "Secret"} {
				g.Expect(byKind(objs, kind)).To(BeEmpty(), kind)
			}
			g.Expect(names(byKind(objs, "Service"))).To(ConsistOf("heal8s-receiver"))
			g.Expect(byKind(objs, "NetworkPolicy")).To(BeEmpty())
			g.Expect(c.Args).NotTo(ContainElement(HavePrefix("--receiver-cert-dir")))
			g.Expect(c.Args).To(ContainElement("--default-service-account=heal8s-fixer"))
			g.Expect(canPatchWorkloads(t, objs)).To(BeFalse(), "lock-down: no role lets heal8s patch workloads itself")
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			var values []string
			if tc.values != "" {
				values = append(values, filepath.Join("test", "manifests", tc.values))
			}
			objs := helmTemplate(t, tc.release, tc.namespace, values...)
			for _, u := range objs {
				_, err := typed(u)
				g.Expect(err).NotTo(HaveOccurred())
				if u.GetNamespace() != "" {
					g.Expect(u.GetNamespace()).To(Equal(tc.namespace), "%s %s", u.GetKind(), u.GetName())
				}
			}
			checkCRDsMatchBases(t, objs)
			tc.check(t, objs)
			dryRunApply(t, objs)
		})
	}
}

// TestHelmTemplateRejectsUnsafeValues shows the chart refuses values that would break heal8s.
func TestHelmTemplateRejectsUnsafeValues(t *testing.T) {
	cases := map[string][]string{
		"several replicas without leader election": {"--set", "replicaCount=2", "--set", "leaderElection.enabled=false"},
		"operator namespace outside the release":   {"--set", "operatorNamespace=elsewhere"},
		"GitHub Secret without credentials":        {"--set", "github.createSecret=true"},
		"a misspelt value (values.schema.json)":    {"--set", "replicaCont=2"},
		"an unknown failure policy":                {"--set", "webhook.failurePolicy=Maybe"},
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"template", "heal8s", chart, "--namespace", "heal8s-system",
				"--kube-version", utilsK8sVersion()}, set...)
			out, err := execTool(t, tool(t, "helm", "HELM"), args...)
			NewWithT(t).Expect(err).To(HaveOccurred(), "rendered:\n%s", out)
		})
	}
}

// TestChartREADMEDocumentsEveryValue fails when a value in values.yaml is missing from the
// chart's README table.
func TestChartREADMEDocumentsEveryValue(t *testing.T) {
	g := NewWithT(t)
	raw, err := os.ReadFile(filepath.Join(suite.root, chart, "values.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var values map[string]any
	g.Expect(yaml.Unmarshal(raw, &values)).To(Succeed())
	readme, err := os.ReadFile(filepath.Join(suite.root, chart, "README.md"))
	g.Expect(err).NotTo(HaveOccurred())
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = true
	}
	var missing []string
	for _, key := range leafKeys("", values) {
		if !documented[key] {
			missing = append(missing, key)
		}
	}
	slices.Sort(missing)
	g.Expect(missing).To(BeEmpty(), "values not documented in charts/heal8s/README.md")
}

// leafKeys lists the dotted paths of a values tree down to scalars, lists and empty maps.
func leafKeys(prefix string, m map[string]any) []string {
	var out []string
	for k, v := range m {
		path := strings.TrimPrefix(prefix+"."+k, ".")
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 && !slices.Contains(freeFormValues, path) {
			out = append(out, leafKeys(path, sub)...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// freeFormValues are maps passed through to Kubernetes as a whole, documented as one value.
var freeFormValues = []string{"podSecurityContext", "securityContext", "resources", "grafanaDashboard.labels",
	"networkPolicy.receiverNamespaceLabels", "networkPolicy.metricsNamespaceLabels", "networkPolicy.dashboardNamespaceLabels"}

// checkCRDsMatchBases shows the chart's CRDs are config/crd/bases's, with only conversion,
// annotations and labels added.
func checkCRDsMatchBases(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	g := NewWithT(t)
	for _, u := range byKind(objs, "CustomResourceDefinition") {
		obj, err := typed(u)
		g.Expect(err).NotTo(HaveOccurred())
		got := obj.(*apiextensionsv1.CustomResourceDefinition)
		raw, err := os.ReadFile(filepath.Join(suite.root, "config", "crd", "bases", "heal8s.io_"+got.Spec.Names.Plural+".yaml"))
		g.Expect(err).NotTo(HaveOccurred())
		want := &apiextensionsv1.CustomResourceDefinition{}
		g.Expect(yaml.UnmarshalStrict(raw, want)).To(Succeed())
		gotSpec := got.Spec.DeepCopy()
		gotSpec.Conversion = want.Spec.Conversion
		g.Expect(equality.Semantic.DeepEqual(*gotSpec, want.Spec)).To(BeTrue(), "the chart's %s differs from config/crd/bases", got.Name)
	}
}

// deployment returns the one Deployment as its Go type.
func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	ds := byKind(objs, "Deployment")
	if len(ds) != 1 {
		t.Fatalf("rendered %d Deployments, want 1", len(ds))
	}
	obj, err := typed(ds[0])
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*appsv1.Deployment)
}

// names lists the objects' names.
func names(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, u := range objs {
		out = append(out, u.GetName())
	}
	return out
}

// TestManagerSkipsItsOwnAdmission checks that the Remediation webhooks leave out exactly the
// manager's own ServiceAccount (which defaults and validates in process), in both installs: the
// kustomize one names heal8s-system/heal8s-controller-manager, the chart its release's.
func TestManagerSkipsItsOwnAdmission(t *testing.T) {
	check := func(t *testing.T, objs []*unstructured.Unstructured, namespace string) {
		t.Helper()
		var sa string
		for _, o := range objs {
			if o.GetKind() == "Deployment" {
				sa, _, _ = unstructured.NestedString(o.Object, "spec", "template", "spec", "serviceAccountName")
			}
		}
		if sa == "" {
			t.Fatal("no manager Deployment with a serviceAccountName")
		}
		want := fmt.Sprintf("request.userInfo.username != 'system:serviceaccount:%s:%s'", namespace, sa)
		seen := 0
		for _, o := range objs {
			if o.GetKind() != "MutatingWebhookConfiguration" && o.GetKind() != "ValidatingWebhookConfiguration" {
				continue
			}
			hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
			for _, h := range hooks {
				hook := h.(map[string]any)
				conds, _, _ := unstructured.NestedSlice(hook, "matchConditions")
				if !strings.HasPrefix(hook["name"].(string), "mremediation-") && !strings.HasPrefix(hook["name"].(string), "vremediation-") {
					if len(conds) != 0 {
						t.Errorf("%s: only the Remediation webhooks skip the manager, found %v", hook["name"], conds)
					}
					continue
				}
				seen++
				if len(conds) != 1 || conds[0].(map[string]any)["expression"] != want {
					t.Errorf("%s: matchConditions %v, want one with %q", hook["name"], conds, want)
				}
			}
		}
		if seen != 2 {
			t.Errorf("found %d Remediation webhooks, want the mutating and the validating one", seen)
		}
	}
	t.Run("kustomize", func(t *testing.T) { check(t, kustomizeDefault(t), "heal8s-system") })
	t.Run("chart", func(t *testing.T) { check(t, helmTemplate(t, "x", "ops"), "ops") })
}
