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

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const policy = `apiVersion: heal8s.io/v1beta1
kind: RemediationPolicy
metadata:
  name: kube-prometheus-stack
  namespace: heal8s-system
spec:
  strategy: DryRun
  namespaceSelector:
    matchLabels: {heal8s.io/remediate: "true"}
  rules:
  - name: crash-looping
    matchers: ['alertname="KubePodCrashLooping"']
    action: {rollbackImage: {maxRevisions: 5}}
  - name: hpa-maxed
    matchers: ['alertname="KubeHpaMaxedOut"']
    action: {scaleUp: {percent: 50, maxReplicas: 20}}
`

const payload = `{"version":"4","status":"firing","receiver":"heal8s","groupKey":"{}:{}","alerts":[
 {"status":"firing","labels":{"alertname":"KubeHpaMaxedOut","namespace":"shop","horizontalpodautoscaler":"checkout",
  "pod":"kube-prometheus-stack-kube-state-metrics-6f8d9c7b5-w7xqz","container":"kube-state-metrics"},
  "startsAt":"2026-03-15T10:47:30.303Z","fingerprint":"dc1beeb8db595e5f"},
 {"status":"resolved","labels":{"alertname":"KubeHpaMaxedOut","namespace":"shop","horizontalpodautoscaler":"web"},
  "startsAt":"2026-03-15T10:00:00Z","endsAt":"2026-03-15T11:00:00Z","fingerprint":"0123456789abcdef"}]}`

// execute runs the command line with no kubeconfig around, so nothing reaches a cluster.
func execute(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent-kubeconfig"))
	t.Setenv("HOME", t.TempDir())
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func files(t *testing.T) (policyFile, payloadFile string) {
	t.Helper()
	dir := t.TempDir()
	policyFile, payloadFile = filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "payload.json")
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(payloadFile, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	return policyFile, payloadFile
}

func TestRouteTestCommand(t *testing.T) {
	pol, pay := files(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		wantErr    []string
		notWantOut []string
	}{
		{
			name: "labels: a crash-looping pod, offline",
			args: []string{"route", "test", "-f", pol, "alertname=KubePodCrashLooping", "namespace=shop",
				"pod=checkout-5f7b8c9d4-abcde", "container=app"},
			wantOut: []string{"KubePodCrashLooping (firing, from label arguments, fingerprint ",
				"result:      match, not fully checked offline", "rule:        crash-looping",
				"target:      pod shop/checkout-5f7b8c9d4-abcde (owner not resolved)", "container:   app",
				"owner of pod shop/checkout-5f7b8c9d4-abcde not resolved"},
		},
		{
			name: "flags after the labels, as kubectl takes them",
			args: []string{"route", "test", "alertname=KubePodCrashLooping", "namespace=kube-system",
				"pod=coredns-674b8bbfcf-8xqvt", "-f", pol},
			wantOut: []string{"result:      skip: protected_namespace"},
		},
		{
			name: "--cluster-name skips another cluster's alert",
			args: []string{"route", "test", "-f", pol, "--cluster-name", "prod-eu-1", "alertname=KubePodCrashLooping",
				"namespace=shop", "pod=checkout-5f7b8c9d4-abcde", "cluster=prod-us-1"},
			wantOut: []string{"result:      skip: other_cluster"},
		},
		{
			name: "--protected-namespaces",
			args: []string{"route", "test", "-f", pol, "--protected-namespaces", "kube-*,shop",
				"alertname=KubePodCrashLooping", "namespace=shop", "pod=checkout-5f7b8c9d4-abcde"},
			wantOut: []string{"result:      skip: protected_namespace"},
		},
		{
			name: "--operator-namespace: the policy is no longer cluster-wide",
			args: []string{"route", "test", "-f", pol, "--operator-namespace", "elsewhere", "alertname=KubePodCrashLooping",
				"namespace=shop", "pod=checkout-5f7b8c9d4-abcde"},
			wantOut: []string{"skip: namespace_out_of_scope"},
			wantErr: []string{"would be refused by heal8s's validating webhook", "namespaceSelector"},
		},
		{
			name: "a payload: the HPA target without kube-state-metrics' container; the resolved alert is not routed",
			args: []string{"route", "test", "-f", pol, "--alert", pay},
			wantOut: []string{"KubeHpaMaxedOut (firing, from " + pay + " alerts[0], fingerprint dc1beeb8db595e5f)",
				"target:      HorizontalPodAutoscaler shop/checkout", "container:   (none)", "remediation: shop/hpa-maxed-",
				"KubeHpaMaxedOut (resolved, from " + pay + " alerts[1]", "result:      resolved"},
			notWantOut: []string{"container:   kube-state-metrics"},
		},
		{
			name:    "no alert",
			args:    []string{"route", "test", "-f", pol},
			wantErr: []string{"error: no alert to route"}, wantCode: 1,
		},
		{
			name:    "no policies offline",
			args:    []string{"route", "test", "alertname=X"},
			wantErr: []string{"error: no policies: give -f"}, wantCode: 1,
		},
		{
			name:    "a matcher instead of a label",
			args:    []string{"route", "test", "-f", pol, "alertname=~Kube.*"},
			wantErr: []string{"a matcher, not a label"}, wantCode: 1,
		},
		{
			name:    "not label=value",
			args:    []string{"route", "test", "-f", pol, "KubePodCrashLooping"},
			wantErr: []string{`bad label argument "KubePodCrashLooping": want label=value`}, wantCode: 1,
		},
		{
			name:    "a missing policy file",
			args:    []string{"route", "test", "-f", pol + ".absent", "alertname=X"},
			wantErr: []string{"reading policies", "no such file"}, wantCode: 1,
		},
		{
			name:    "a payload the receiver would refuse",
			args:    []string{"route", "test", "-f", pol, "--alert", pol},
			wantErr: []string{"reading alerts from " + pol, "bad payload: malformed JSON"}, wantCode: 1,
		},
		{
			name:    "an unknown output format",
			args:    []string{"route", "test", "-f", pol, "-o", "wide", "alertname=X"},
			wantErr: []string{`unknown output format "wide"`}, wantCode: 1,
		},
		{
			name:    "an unknown flag",
			args:    []string{"route", "test", "--bogus"},
			wantErr: []string{"unknown flag: --bogus", "See 'kubectl heal8s route test --help'"}, wantCode: 1,
		},
		{
			name:    "stdin twice",
			args:    []string{"route", "test", "-f", "-", "--alert", "-"},
			wantErr: []string{"standard input (-) can be read only once"}, wantCode: 1,
		},
		{
			name:    "--cluster without a kubeconfig",
			args:    []string{"route", "test", "--cluster", "alertname=X"},
			wantErr: []string{"error: loading the kubeconfig"}, wantCode: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := execute(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWantOut {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

func TestRouteTestJSON(t *testing.T) {
	pol, pay := files(t)
	code, out, errOut := execute(t, "route", "test", "-f", pol, "--alert", pay, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var results []struct {
		Alert struct {
			Fingerprint string `json:"fingerprint"`
			Status      string `json:"status"`
		} `json:"alert"`
		Decision *struct {
			Rule   string `json:"rule"`
			Target struct {
				Kind      string `json:"kind"`
				Name      string `json:"name"`
				Container string `json:"container"`
			} `json:"target"`
			Unresolved bool `json:"unresolved"`
		} `json:"decision"`
		Remediation struct{ Namespace, Name string } `json:"remediation"`
		Resolution  string                           `json:"resolution"`
		Outcome     string                           `json:"outcome"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("stdout is not json: %v\n%s", err, out)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	r := results[0]
	if r.Decision == nil || r.Decision.Rule != "hpa-maxed" || r.Decision.Target.Kind != "HorizontalPodAutoscaler" ||
		r.Decision.Target.Container != "" || !r.Decision.Unresolved || r.Outcome != "unresolved" ||
		!strings.HasPrefix(r.Remediation.Name, "hpa-maxed-") {
		t.Errorf("firing result = %+v", r)
	}
	if r := results[1]; r.Decision != nil || r.Alert.Status != "resolved" || r.Resolution == "" ||
		r.Outcome != "resolved" {
		t.Errorf("resolved result = %+v", r)
	}
}

func TestExplainCommandArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no name", []string{"explain"}, "explain takes one Remediation name, got 0 arguments"},
		{"two names", []string{"explain", "a", "b"}, "got 2 arguments"},
		{"another kind", []string{"explain", "pod/x"}, `acts on Remediations, not "pod"`},
		{"empty name", []string{"explain", "rem/"}, "is not a Remediation name"},
		{"bad output", []string{"explain", "x", "-o", "table"}, `unknown output format "table"`},
		{"negative events", []string{"explain", "x", "--events", "-1"}, "--events must be 0 or more"},
		{"no kubeconfig", []string{"explain", "remediation/x", "-n", "shop"}, "loading the kubeconfig"},
		{"a kubeconfig that is not there", []string{"explain", "x", "--kubeconfig", "/nonexistent/kubeconfig"},
			"loading the kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := execute(t, tt.args...)
			if code != 1 || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, tt.wantErr)
			}
		})
	}
}

func TestRemediationName(t *testing.T) {
	for in, want := range map[string]string{"x": "x", "rem/x": "x", "remediation/x": "x", "Remediations/x": "x",
		"remediation.heal8s.io/x": "x"} {
		if got, err := remediationName(in); err != nil || got != want {
			t.Errorf("remediationName(%q) = %q, %v", in, got, err)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := execute(t)
	if code != 0 || !strings.Contains(out, "kubectl heal8s [command]") || !strings.Contains(out, "route") ||
		!strings.Contains(out, "explain") {
		t.Errorf("no arguments: exit %d, help:\n%s", code, out)
	}
	code, out, _ = execute(t, "route", "test", "--help")
	if code != 0 || !strings.Contains(out, "kubectl heal8s route test") ||
		!strings.Contains(out, "--operator-namespace") || !strings.Contains(out, "-n, --namespace") {
		t.Errorf("route test --help: exit %d:\n%s", code, out)
	}
	code, out, _ = execute(t, "version")
	if code != 0 || !strings.HasPrefix(out, "kubectl-heal8s dev (go") {
		t.Errorf("version: exit %d, %q", code, out)
	}
	code, _, errOut := execute(t, "bogus")
	if code != 1 || !strings.Contains(errOut, `unknown command "bogus"`) {
		t.Errorf("bogus: exit %d, %q", code, errOut)
	}
	code, _, errOut = execute(t, "route", "bogus")
	if code != 1 || !strings.Contains(errOut, `unknown command "bogus"`) {
		t.Errorf("route bogus: exit %d, %q", code, errOut)
	}
}

// TestKrewManifest checks hack/krew/heal8s.yaml: one platform per released os/arch, each
// pointing at the archive a release publishes and installing this binary.
func TestKrewManifest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "krew", "heal8s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Version          string `json:"version"`
			Homepage         string `json:"homepage"`
			ShortDescription string `json:"shortDescription"`
			Description      string `json:"description"`
			Caveats          string `json:"caveats"`
			Platforms        []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				URI    string `json:"uri"`
				Sha256 string `json:"sha256"`
				Bin    string `json:"bin"`
				Files  []struct{ From, To string }
			} `json:"platforms"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" ||
		m.Metadata.Name != "heal8s" {
		t.Errorf("header = %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(m.Spec.Version) || m.Spec.Homepage == "" ||
		m.Spec.ShortDescription == "" || len(m.Spec.ShortDescription) > 50 || m.Spec.Description == "" {
		t.Errorf("spec = %+v", m.Spec)
	}
	want := map[string]bool{"linux/amd64": true, "linux/arm64": true, "darwin/amd64": true, "darwin/arm64": true}
	for _, p := range m.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		if !want[goos+"/"+arch] {
			t.Errorf("platform %s/%s unexpected or twice", goos, arch)
		}
		delete(want, goos+"/"+arch)
		uri := "https://github.com/heal8s/heal8s/releases/download/" + m.Spec.Version +
			"/kubectl-heal8s_" + goos + "_" + arch + ".tar.gz"
		if p.URI != uri {
			t.Errorf("%s/%s uri = %s, want %s", goos, arch, p.URI, uri)
		}
		if p.Sha256 != "RELEASE_SHA256_"+strings.ToUpper(goos+"_"+arch) {
			t.Errorf("%s/%s sha256 = %s, want the release workflow's placeholder", goos, arch, p.Sha256)
		}
		if p.Bin != "kubectl-heal8s" || len(p.Files) != 1 || p.Files[0].From != "kubectl-heal8s" {
			t.Errorf("%s/%s bin %s files %+v", goos, arch, p.Bin, p.Files)
		}
	}
	if len(want) > 0 {
		t.Errorf("platforms missing: %v", want)
	}
}

func TestActionCommandArguments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"approve without a name", []string{"approve"}, "approve takes one name, got 0 arguments"},
		{"reject of another kind", []string{"reject", "pod/x"}, `acts on Remediations, not "pod"`},
		{"retry with two names", []string{"retry", "a", "b"}, "retry takes one name, got 2 arguments"},
		{"pause without --name", []string{"pause", "memory"}, "--name is required"},
		{"resume of another kind", []string{"resume", "deployment/web", "--name", "x"},
			`RemediationPolicies, not "deployment"`},
		{"list with a bad output", []string{"list", "-o", "table"}, `unknown output format "table"`},
		{"list with arguments", []string{"list", "x"}, "unknown command"},
		{"approve needs a cluster", []string{"approve", "x", "-n", "shop"}, "loading the kubeconfig"},
		{"pause needs a cluster", []string{"pause", "rempol/memory", "--name", "maintenance"}, "loading the kubeconfig"},
		{"list needs a cluster", []string{"list", "--pending", "-A", "-o", "wide"}, "loading the kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := execute(t, tt.args...)
			if code != 1 || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, tt.wantErr)
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh"} {
		code, out, errOut := execute(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "kubectl-heal8s") {
			t.Errorf("completion %s: exit %d, stderr %q", shell, code, errOut)
		}
	}
	// Without a cluster, completing a name offers nothing and no files.
	code, out, _ := execute(t, "__complete", "approve", "")
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), ":4") {
		t.Errorf("__complete approve: exit %d, %q", code, out)
	}
}
