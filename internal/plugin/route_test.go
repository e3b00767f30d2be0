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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/alertmanager"
	"github.com/heal8s/heal8s/internal/routing"
)

// kpsPolicy is a cut-down examples/policies/kube-prometheus-stack.yaml, so these tests do not
// depend on the examples.
const kpsPolicy = `apiVersion: heal8s.io/v1beta1
kind: RemediationPolicy
metadata:
  name: kube-prometheus-stack
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
  - name: cpu-throttling
    matchers: ['alertname="CPUThrottlingHigh"']
    action:
      increaseCPU: {percent: 25, max: "2"}
`

// ksmScrape are the labels kube-prometheus-stack's scrape of kube-state-metrics adds to every
// series: the exporter's own pod and container among them.
var ksmScrape = map[string]string{
	"container": "kube-state-metrics", "endpoint": "http", "instance": "10.244.1.17:8080", "job": "kube-state-metrics",
	"namespace": "monitoring", "pod": "kube-prometheus-stack-kube-state-metrics-6f8d9c7b5-w7xqz",
	"service": "kube-prometheus-stack-kube-state-metrics", "prometheus": "monitoring/kube-prometheus-stack-prometheus",
}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	maps.Copy(out, base)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func kpsTable(t *testing.T, opts routing.TableOptions) *routing.Table {
	t.Helper()
	if opts.OperatorNamespace == "" {
		opts.OperatorNamespace = "heal8s-system"
	}
	if opts.ProtectedNamespaces == nil {
		opts.ProtectedNamespaces = routing.DefaultProtectedNamespaces
	}
	table, _, err := BuildTable([]*v1beta1.RemediationPolicy{mustDecode(t, kpsPolicy)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return table
}

func firing(labels map[string]string) AlertInput {
	return AlertInput{Source: "test", Alert: alertmanager.Alert{Status: alertmanager.StatusFiring, Labels: labels,
		Fingerprint: Fingerprint(labels)}}
}

func TestRouteTestOffline(t *testing.T) {
	kps := types.NamespacedName{Namespace: "heal8s-system", Name: "kube-prometheus-stack"}
	tests := []struct {
		name        string
		opts        routing.TableOptions
		labels      map[string]string
		wantReason  routing.SkipReason
		wantRule    string
		wantTarget  routing.Target
		unresolved  bool
		wantDetails []string
	}{
		{
			name: "KubePodCrashLooping: the pod, its container; the owner is left to the cluster",
			labels: with(ksmScrape, "alertname", "KubePodCrashLooping", "namespace", "shop", "pod", "checkout-5f7b8c9d4-abcde",
				"container", "app", "reason", "CrashLoopBackOff"),
			wantRule: "crash-looping",
			wantTarget: routing.Target{Namespace: "shop", Pod: "checkout-5f7b8c9d4-abcde", Container: "app",
				Source: routing.SourcePodLabel, Instance: "10.244.1.17:8080"},
			unresolved: true,
			wantDetails: []string{"owner of pod shop/checkout-5f7b8c9d4-abcde not resolved",
				"not checked against the scrape target 10.244.1.17:8080", "namespace shop assumed selected"},
		},
		{
			name:        "KubeHpaMaxedOut: the HPA; kube-state-metrics' own pod and container are not the target",
			labels:      with(ksmScrape, "alertname", "KubeHpaMaxedOut", "namespace", "shop", "horizontalpodautoscaler", "checkout"),
			wantRule:    "hpa-maxed",
			wantTarget:  routing.Target{Kind: v1beta1.TargetKindHorizontalPodAutoscaler, Name: "checkout", Namespace: "shop", Source: routing.SourceWorkloadLabel},
			unresolved:  true,
			wantDetails: []string{"HorizontalPodAutoscaler shop/checkout not checked for a controller"},
		},
		{
			name: "exported_* labels: the series' own namespace, pod and container are read",
			labels: with(ksmScrape, "alertname", "KubePodCrashLooping", "exported_namespace", "shop",
				"exported_pod", "checkout-5f7b8c9d4-abcde", "exported_container", "app"),
			wantRule: "crash-looping",
			wantTarget: routing.Target{Namespace: "shop", Pod: "checkout-5f7b8c9d4-abcde", Container: "app",
				Source: routing.SourcePodLabel, Exported: true, Instance: "10.244.1.17:8080"},
			unresolved:  true,
			wantDetails: []string{"exported_* labels"},
		},
		{
			name: "kube-system is protected",
			labels: with(ksmScrape, "alertname", "KubePodCrashLooping", "namespace", "kube-system",
				"pod", "coredns-674b8bbfcf-8xqvt", "container", "coredns"),
			wantReason: routing.SkipProtectedNamespace,
			wantRule:   "crash-looping",
			wantTarget: routing.Target{Namespace: "kube-system", Pod: "coredns-674b8bbfcf-8xqvt", Container: "coredns",
				Source: routing.SourcePodLabel, Instance: "10.244.1.17:8080"},
			// Final offline too: a protected namespace needs no cluster to tell.
			wantDetails: []string{"namespace kube-system is protected"},
		},
		{
			name: "the operator's namespace is protected",
			labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "heal8s-system",
				"pod": "heal8s-controller-manager-5d9f7c8b6-abcde", "container": "manager"},
			wantReason:  routing.SkipProtectedNamespace,
			wantRule:    "crash-looping",
			wantTarget:  routing.Target{Namespace: "heal8s-system", Pod: "heal8s-controller-manager-5d9f7c8b6-abcde", Container: "manager", Source: routing.SourcePodLabel},
			wantDetails: []string{"namespace heal8s-system is protected"},
		},
		{
			name: "another cluster's alert with --cluster-name",
			opts: routing.TableOptions{ClusterName: "prod-eu-1"},
			labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-5f7b8c9d4-abcde",
				"cluster": "prod-us-1"},
			wantReason:  routing.SkipOtherCluster,
			wantDetails: []string{`cluster label is "prod-us-1" and this heal8s serves cluster "prod-eu-1"`},
		},
		{
			name: "this cluster's alert with --cluster-name and --cluster-label",
			opts: routing.TableOptions{ClusterName: "prod-eu-1", ClusterLabel: "k8s_cluster"},
			labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-5f7b8c9d4-abcde",
				"k8s_cluster": "prod-eu-1", "cluster": "ignored"},
			wantRule:   "crash-looping",
			wantTarget: routing.Target{Namespace: "shop", Pod: "checkout-5f7b8c9d4-abcde", Source: routing.SourcePodLabel},
			unresolved: true,
		},
		{
			name:        "no rule",
			labels:      map[string]string{"alertname": "KubeDeploymentReplicasMismatch", "namespace": "shop", "deployment": "cart"},
			wantReason:  routing.SkipNoRule,
			wantDetails: []string{"no rule"},
		},
		{
			name:        "no namespace",
			labels:      map[string]string{"alertname": "KubePodCrashLooping", "pod": "x"},
			wantReason:  routing.SkipNoTarget,
			wantDetails: []string{"no namespace label"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := kpsTable(t, tt.opts)
			results, err := RouteTest(context.Background(), table, []AlertInput{firing(tt.labels)}, nil)
			if err != nil {
				t.Fatalf("RouteTest: %v", err)
			}
			if len(results) != 1 {
				t.Fatalf("got %d results, want 1", len(results))
			}
			r := results[0]
			d := r.Decision
			// RouteTest is Decide: the same table and resolver give the same Decision.
			want, err := table.Decide(context.Background(), tt.labels, OfflineResolver{})
			if err != nil || !reflect.DeepEqual(d, want) {
				t.Errorf("RouteTest decision %+v differs from Table.Decide's %+v (%v)", d, want, err)
			}
			// Whether a skip is also marked unresolved is routing's detail; a match offline always is.
			if d.Reason != tt.wantReason || d.Rule != tt.wantRule || (tt.wantReason == "" && d.Unresolved != tt.unresolved) {
				t.Errorf("decision = reason %q rule %q unresolved %v, want %q %q %v (detail %q)",
					d.Reason, d.Rule, d.Unresolved, tt.wantReason, tt.wantRule, tt.unresolved, d.Detail)
			}
			if d.Target != tt.wantTarget {
				t.Errorf("target = %+v\nwant     %+v", d.Target, tt.wantTarget)
			}
			if tt.wantRule != "" && d.Policy != kps {
				t.Errorf("policy = %s, want %s", d.Policy, kps)
			}
			for _, w := range tt.wantDetails {
				if !strings.Contains(d.Detail, w) {
					t.Errorf("detail %q lacks %q", d.Detail, w)
				}
			}
			if r.AlertName != tt.labels["alertname"] || r.Status != alertmanager.StatusFiring || r.Fingerprint == "" {
				t.Errorf("result alert = %q %q %q", r.AlertName, r.Status, r.Fingerprint)
			}
		})
	}
}

func TestRouteTestResolvedAndRemediationName(t *testing.T) {
	table := kpsTable(t, routing.TableOptions{})
	labels := map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop", "horizontalpodautoscaler": "checkout"}
	start := time.Date(2026, 3, 15, 10, 47, 30, 0, time.UTC)
	alerts := []AlertInput{
		{Source: "p alerts[0]", Alert: alertmanager.Alert{Status: alertmanager.StatusFiring, Labels: labels,
			Fingerprint: "dc1beeb8db595e5f", StartsAt: start}},
		{Source: "p alerts[1]", Alert: alertmanager.Alert{Status: alertmanager.StatusResolved, Labels: labels,
			Fingerprint: "dc1beeb8db595e5f", StartsAt: start}},
		{Source: "p alerts[2]", Alert: alertmanager.Alert{Status: alertmanager.StatusResolved,
			Labels: map[string]string{"alertname": "Watchdog"}, Fingerprint: "0000000000000001"}},
	}
	results, err := RouteTest(context.Background(), table, alerts, nil)
	if err != nil {
		t.Fatal(err)
	}
	name := alertmanager.RemediationName(types.NamespacedName{Namespace: "heal8s-system", Name: "kube-prometheus-stack"},
		"hpa-maxed", "dc1beeb8db595e5f", start)
	if got := results[0].Remediation; got != (types.NamespacedName{Namespace: "shop", Name: name}) {
		t.Errorf("firing: remediation = %s, want shop/%s", got, name)
	}
	if !results[0].Matched() || results[0].Outcome() != "unresolved" {
		t.Errorf("firing: matched %v outcome %s", results[0].Matched(), results[0].Outcome())
	}
	r := results[1]
	if !r.Resolved() || r.Decision.Rule != "" || r.Outcome() != "resolved" ||
		!strings.Contains(r.Resolution, "records the resolution") || !strings.Contains(r.Resolution, "namespace shop") {
		t.Errorf("resolved: %+v", r)
	}
	if r.Remediation.Name != name {
		t.Errorf("resolved: remediation = %s, want shop/%s", r.Remediation, name)
	}
	if r := results[2]; !strings.Contains(r.Resolution, "no namespace") {
		t.Errorf("resolved without namespace: %q", r.Resolution)
	}
}

// clusterResolver answers like a cluster: pods have owners, namespaces have labels.
type clusterResolver struct {
	owners   map[string]string // namespace/pod -> Deployment name
	nsLabels map[string]map[string]string
	err      error
}

func (c clusterResolver) NamespaceLabels(_ context.Context, ns string) (map[string]string, bool, error) {
	l, ok := c.nsLabels[ns]
	return l, ok, nil
}

func (c clusterResolver) PodOwner(_ context.Context, ns, pod string) (v1beta1.TargetKind, string, error) {
	if c.err != nil {
		return "", "", c.err
	}
	if o, ok := c.owners[ns+"/"+pod]; ok {
		return v1beta1.TargetKindDeployment, o, nil
	}
	return "", "", routing.ErrTargetNotFound
}

func (clusterResolver) ScrapeTarget(context.Context, string, string, string) (bool, error) {
	return false, nil
}

func (clusterResolver) Controller(context.Context, v1beta1.TargetKind, string, string) (*metav1.OwnerReference, error) {
	return nil, nil
}

func TestRouteTestWithResolver(t *testing.T) {
	table := kpsTable(t, routing.TableOptions{})
	res := clusterResolver{
		owners:   map[string]string{"shop/checkout-5f7b8c9d4-abcde": "checkout"},
		nsLabels: map[string]map[string]string{"shop": {"heal8s.io/remediate": "true"}, "other": {}},
	}
	alerts := []AlertInput{
		firing(map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-5f7b8c9d4-abcde", "container": "app"}),
		firing(map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "gone-5f7b8c9d4-abcde"}),
		firing(map[string]string{"alertname": "KubePodCrashLooping", "namespace": "other", "pod": "x-5f7b8c9d4-abcde"}),
	}
	results, err := RouteTest(context.Background(), table, alerts, res)
	if err != nil {
		t.Fatal(err)
	}
	if d := results[0].Decision; d.Unresolved || d.Reason != "" || d.Target.Kind != v1beta1.TargetKindDeployment ||
		d.Target.Name != "checkout" || d.Target.Container != "app" || results[0].Outcome() != "match" {
		t.Errorf("resolved pod: %+v", d)
	}
	if d := results[1].Decision; d.Reason != routing.SkipTargetNotFound {
		t.Errorf("gone pod: reason %q, want target_not_found", d.Reason)
	}
	if d := results[2].Decision; d.Reason != routing.SkipNamespaceOutOfScope {
		t.Errorf("unselected namespace: reason %q, want namespace_out_of_scope", d.Reason)
	}

	// A failed read is reported on the alert and in the error, and the other alerts still route.
	boom := errors.New("connection refused")
	res.err = boom
	results, err = RouteTest(context.Background(), table, alerts[:1], res)
	if !errors.Is(err, boom) || len(results) != 1 || !errors.Is(results[0].Err, boom) || results[0].Outcome() != "error" {
		t.Errorf("failed read: err %v, results %+v", err, results)
	}
	if _, err := RouteTest(context.Background(), nil, alerts, nil); err == nil {
		t.Error("RouteTest without a table: no error")
	}
}

func TestRouteTestPolicyNotReady(t *testing.T) {
	broken := mustDecode(t, strings.Replace(kpsPolicy, `alertname="KubeHpaMaxedOut"`, `alertname=~"(`, 1))
	table, _, err := BuildTable([]*v1beta1.RemediationPolicy{broken}, routing.TableOptions{OperatorNamespace: "heal8s-system"})
	if err != nil {
		t.Fatal(err)
	}
	results, err := RouteTest(context.Background(), table,
		[]AlertInput{firing(map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop", "horizontalpodautoscaler": "x"})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := results[0].Decision; d.Reason != routing.SkipPolicyNotReady {
		t.Errorf("reason %q, want policy_not_ready (detail %q)", d.Reason, d.Detail)
	}
}

func TestPrintRouteResultsText(t *testing.T) {
	table := kpsTable(t, routing.TableOptions{ClusterName: "prod-eu-1"})
	alerts := []AlertInput{
		firing(with(ksmScrape, "alertname", "KubeHpaMaxedOut", "namespace", "shop", "horizontalpodautoscaler", "checkout")),
		firing(map[string]string{"alertname": "KubePodCrashLooping", "namespace": "kube-system", "pod": "coredns-674b8bbfcf-8xqvt"}),
		{Source: "p alerts[1]", Alert: alertmanager.Alert{Status: alertmanager.StatusResolved,
			Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop"}, Fingerprint: "abc"}},
	}
	results, err := RouteTest(context.Background(), table, alerts, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := PrintRouteResults(&b, results, FormatText); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"KubeHpaMaxedOut (firing, from test, fingerprint ",
		"result:      match, not fully checked offline",
		"policy:      heal8s-system/kube-prometheus-stack",
		"rule:        hpa-maxed",
		"action:      ScaleUp (percent 50, maxReplicas 20)",
		"target:      HorizontalPodAutoscaler shop/checkout [from the workload label]",
		"container:   (none)",
		"why:         rule hpa-maxed of policy heal8s-system/kube-prometheus-stack matches",
		"result:      skip: protected_namespace (protective",
		"why:         namespace kube-system is protected",
		"result:      resolved",
		"the receiver records the resolution",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestPrintRouteResultsJSONAndYAML(t *testing.T) {
	table := kpsTable(t, routing.TableOptions{})
	labels := with(ksmScrape, "alertname", "KubeHpaMaxedOut", "namespace", "shop", "horizontalpodautoscaler", "checkout")
	results, err := RouteTest(context.Background(), table, []AlertInput{firing(labels)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := PrintRouteResults(&b, results, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Source string `json:"source"`
		Alert  struct {
			Name   string            `json:"name"`
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alert"`
		Decision struct {
			Policy     struct{ Namespace, Name string } `json:"policy"`
			Rule       string                           `json:"rule"`
			ActionType string                           `json:"actionType"`
			Action     v1beta1.Action                   `json:"action"`
			Strategy   string                           `json:"strategy"`
			Target     map[string]any                   `json:"target"`
			Reason     string                           `json:"reason"`
			Detail     string                           `json:"detail"`
			Unresolved bool                             `json:"unresolved"`
		} `json:"decision"`
		Outcome string `json:"outcome"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, b.String())
	}
	if len(got) != 1 {
		t.Fatalf("json: %d results", len(got))
	}
	d := got[0].Decision
	if got[0].Alert.Name != "KubeHpaMaxedOut" || got[0].Alert.Labels["pod"] == "" || d.Policy.Name != "kube-prometheus-stack" ||
		d.Rule != "hpa-maxed" || d.ActionType != "ScaleUp" || d.Action.ScaleUp == nil || *d.Action.ScaleUp.MaxReplicas != 20 ||
		d.Strategy != "DryRun" || !d.Unresolved || d.Detail == "" || got[0].Outcome != "unresolved" {
		t.Errorf("json result = %+v", got[0])
	}
	if d.Target["kind"] != "HorizontalPodAutoscaler" || d.Target["name"] != "checkout" || d.Target["container"] != "" {
		t.Errorf("json target = %v, want the HPA with an empty container", d.Target)
	}

	b.Reset()
	if err := PrintRouteResults(&b, results, FormatYAML); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rule: hpa-maxed", "kind: HorizontalPodAutoscaler", `container: ""`, "unresolved: true"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("yaml output lacks %q:\n%s", want, b.String())
		}
	}
	if err := PrintRouteResults(&b, results, "xml"); err == nil {
		t.Error("format xml: no error")
	}
}

// TestDecisionViewIsComplete keeps -o json/yaml showing every field of routing.Decision: a
// field added there must be added to decisionView or targetView.
func TestDecisionViewIsComplete(t *testing.T) {
	have := map[string]bool{}
	for _, v := range []any{decisionView{}, targetView{}} {
		rt := reflect.TypeOf(v)
		for field := range rt.Fields() {
			have[strings.ToLower(field.Name)] = true
		}
	}
	var missing []string
	var walk func(rt reflect.Type)
	walk = func(rt reflect.Type) {
		for f := range rt.Fields() {
			if f.Anonymous || f.Type == reflect.TypeFor[routing.Target]() {
				walk(f.Type)
				if !f.Anonymous {
					have[strings.ToLower(f.Name)] = have["kind"] // the target itself
				}
				continue
			}
			if !have[strings.ToLower(f.Name)] {
				missing = append(missing, rt.Name()+"."+f.Name)
			}
		}
	}
	walk(reflect.TypeFor[routing.Decision]())
	if len(missing) > 0 {
		t.Errorf("-o json/yaml lacks routing fields %v", missing)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatText, "text": FormatText, "JSON": FormatJSON, "yaml": FormatYAML} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("wide"); err == nil {
		t.Error("ParseFormat(wide): no error")
	}
}

func TestDescribeAction(t *testing.T) {
	five := int32(5)
	for _, tt := range []struct {
		a    v1beta1.Action
		want string
	}{
		{v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{MaxRevisions: &five}}, "RollbackImage (maxRevisions 5)"},
		{v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}, "ScaleUp"},
		{v1beta1.Action{}, "(none)"},
	} {
		if got := DescribeAction(tt.a); got != tt.want {
			t.Errorf("DescribeAction = %q, want %q", got, tt.want)
		}
	}
}
