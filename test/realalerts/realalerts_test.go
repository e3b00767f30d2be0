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

// Package realalerts runs the alerts real clusters send (test/fixtures/alerts: kube-prometheus-
// stack, awesome-prometheus-alerts and heal8s's own rules, each with its sources) through the
// receiver against a real API server holding the fixture world, with the ready-made policies of
// examples/policies, and checks every firing and resolved notification's outcome.
package realalerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/alertmanager"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/plugin"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/internal/routing"
	"github.com/heal8s/heal8s/test/utils"
)

const fixtures = "../fixtures/alerts"

// caseFile is test/fixtures/alerts/cases.yaml.
type caseFile struct {
	ClusterName       string        `json:"clusterName"`
	OperatorNamespace string        `json:"operatorNamespace"`
	Cases             []fixtureCase `json:"cases"`
}

type fixtureCase struct {
	Name    string `json:"name"`
	RuleSet string `json:"ruleSet"`
	Alert   string `json:"alert"`
	Source  string `json:"source"`
	Scrape  string `json:"scrape"`
	Expect  struct {
		Rule   string `json:"rule"`
		Skip   string `json:"skip"`
		Target *struct {
			Kind      string `json:"kind"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
			Container string `json:"container"`
		} `json:"target"`
	} `json:"expect"`
}

var (
	suiteCtx  context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	cases     caseFile
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1beta1.AddToScheme(scheme))
}

func TestRealAlerts(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	RunSpecs(t, "Real alerts suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	suiteCtx, cancel = context.WithCancel(context.Background())
	assets, err := utils.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		Scheme:                scheme,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	raw, err := os.ReadFile(filepath.Join(fixtures, "cases.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.UnmarshalStrict(raw, &cases)).To(Succeed())
	Expect(cases.Cases).NotTo(BeEmpty())

	loadWorld(filepath.Join(fixtures, "cluster.yaml"))
})

var _ = AfterSuite(func() {
	cancel()
	Expect(testEnv.Stop()).To(Succeed())
})

// readPolicy reads a rule set's policy: the shipped one in examples/policies, or a test-only one
// beside the fixtures.
func readPolicy(ruleSet string) *v1beta1.RemediationPolicy {
	path := filepath.Join("..", "..", "examples", "policies", ruleSet+".yaml")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(fixtures, "policies", ruleSet+".yaml")
	}
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	p := &v1beta1.RemediationPolicy{}
	Expect(yaml.UnmarshalStrict(raw, p)).To(Succeed(), path)
	return p
}

// loadWorld creates the fixture world in the API server: owner uids are filled in by kind and
// name, status is written through the status subresource, existing namespaces are relabelled.
func loadWorld(path string) {
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	uids := map[string]types.UID{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			Expect(err.Error()).To(Equal("EOF"))
			break
		}
		if len(u.Object) == 0 {
			continue
		}
		refs := u.GetOwnerReferences()
		for i := range refs {
			if uid, ok := uids[refs[i].Kind+"/"+u.GetNamespace()+"/"+refs[i].Name]; ok {
				refs[i].UID = uid
			}
		}
		u.SetOwnerReferences(refs)
		status, hasStatus := u.Object["status"]
		err := k8sClient.Create(suiteCtx, u)
		if apierrors.IsAlreadyExists(err) && u.GetKind() == "Namespace" {
			existing := &unstructured.Unstructured{}
			existing.SetGroupVersionKind(u.GroupVersionKind())
			Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(u), existing)).To(Succeed())
			existing.SetLabels(u.GetLabels())
			Expect(k8sClient.Update(suiteCtx, existing)).To(Succeed())
			continue
		}
		Expect(err).NotTo(HaveOccurred(), "creating %s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
		uids[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u.GetUID()
		if hasStatus {
			u.Object["status"] = status
			Expect(k8sClient.Status().Update(suiteCtx, u)).To(Succeed(), "status of %s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
		}
	}
	Expect(uids).NotTo(BeEmpty())
}

// withReceiver installs a rule set's policy alone (as the policy controller would compile it)
// and runs a receiver for it until fn returns, its Events recorded by a real broadcaster.
func withReceiver(ruleSet string, fn func(url string, p *v1beta1.RemediationPolicy, table *routing.Table)) {
	p := readPolicy(ruleSet)
	Expect(k8sClient.Create(suiteCtx, p)).To(Succeed(), "policy %s", p.Name)
	defer func() { Expect(k8sClient.Delete(suiteCtx, p)).To(Succeed()) }()
	compiled, err := routing.Compile(p)
	Expect(err).NotTo(HaveOccurred(), "policy %s", p.Name)
	table := routing.NewTable(routing.TableOptions{
		OperatorNamespace:   cases.OperatorNamespace,
		ProtectedNamespaces: routing.DefaultProtectedNamespaces,
		ClusterName:         cases.ClusterName,
	})
	table.Set(compiled)

	cs, err := kubernetes.NewForConfig(testEnv.Config)
	Expect(err).NotTo(HaveOccurred())
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	ctx, stop := context.WithCancel(suiteCtx)
	broadcaster.StartRecordingToSink(ctx.Done())
	defer broadcaster.Shutdown()
	r, err := alertmanager.New(alertmanager.Options{
		BindAddress: "127.0.0.1:0", Insecure: true, Events: broadcaster.NewRecorder(scheme, "heal8s-receiver"),
	}, k8sClient, k8sClient, table, metrics.NewRecorder(prometheus.NewRegistry()))
	Expect(err).NotTo(HaveOccurred())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	defer func() { stop(); Eventually(done).Should(Receive(BeNil())) }()
	addr, err := r.Addr(ctx)
	Expect(err).NotTo(HaveOccurred())
	url := "http://" + addr.String() + alertmanager.Path
	// The receiver answers 503 until its table holds every policy.
	Eventually(func() int {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"version":"4","status":"firing","alerts":[]}`))
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}).Should(Equal(http.StatusOK))
	fn(url, p, table)
}

func post(url, file string) alertmanager.Result {
	raw, err := os.ReadFile(filepath.Join(fixtures, file))
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.Post(url, "application/json", bytes.NewReader(raw))
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK), "%s: %s", file, body)
	var res alertmanager.Result
	Expect(json.Unmarshal(body, &res)).To(Succeed())
	return res
}

func fingerprintOf(file string) string {
	raw, err := os.ReadFile(filepath.Join(fixtures, file))
	Expect(err).NotTo(HaveOccurred())
	var p struct {
		Alerts []struct {
			Fingerprint string `json:"fingerprint"`
		} `json:"alerts"`
	}
	Expect(json.Unmarshal(raw, &p)).To(Succeed())
	Expect(p.Alerts).To(HaveLen(1), "%s: one alert per fixture", file)
	return p.Alerts[0].Fingerprint
}

var _ = Describe("Real alerts through the receiver", func() {
	It("reaches the right workload or skips with the fixture's reason, and records the resolution", func() {
		var ruleSets []string
		byRuleSet := map[string][]fixtureCase{}
		for _, c := range cases.Cases {
			if _, ok := byRuleSet[c.RuleSet]; !ok {
				ruleSets = append(ruleSets, c.RuleSet)
			}
			byRuleSet[c.RuleSet] = append(byRuleSet[c.RuleSet], c)
		}
		for _, rs := range ruleSets {
			withReceiver(rs, func(url string, p *v1beta1.RemediationPolicy, table *routing.Table) {
				for _, c := range byRuleSet[rs] {
					By(fmt.Sprintf("%s (%s, %s)", c.Name, c.Alert, c.Source))
					plugin := pluginSays(table, c)
					checkCase(url, p, c, plugin)
				}
			})
		}
	})
})

// pluginSays is what `kubectl heal8s route test --alert <fixture>` answers with a kubeconfig for
// the same cluster and the same policy, before the receiver has seen the alert.
func pluginSays(table *routing.Table, c fixtureCase) plugin.RouteResult {
	alerts, err := plugin.LoadAlerts(filepath.Join(fixtures, c.Name+".firing.json"))
	Expect(err).NotTo(HaveOccurred())
	results, err := plugin.RouteTest(suiteCtx, table, alerts, plugin.NewClusterResolver(k8sClient))
	Expect(err).NotTo(HaveOccurred())
	Expect(results).To(HaveLen(1))
	Expect(results[0].Decision.Unresolved).To(BeFalse(), "%s: with a cluster everything is resolved", c.Name)

	// Offline (no kubeconfig) it never contradicts: the same final answer, or the same rule with
	// what is left to check.
	offline, err := plugin.RouteTest(suiteCtx, table, alerts, nil)
	Expect(err).NotTo(HaveOccurred())
	d := offline[0].Decision
	if d.Unresolved {
		Expect(d.Rule).To(Equal(c.Expect.Rule+ruleOfSkip(c)), "%s offline: %s", c.Name, d.Detail)
	} else {
		Expect(d.Reason).To(BeEquivalentTo(c.Expect.Skip), "%s offline: %s", c.Name, d.Detail)
	}
	return results[0]
}

// skipRules are the rules of the cases whose skip only the cluster can tell.
var skipRules = map[string]string{
	"kps-kube-hpa-maxed-out-keda":                "hpa-maxed",
	"kps-kube-pod-crash-looping-sandbox":         "crash-looping",
	"kps-kube-pod-crash-looping-replicaset-gone": "crash-looping",
	"broad-host-oom-kill-detected":               "any-oom",
}

// ruleOfSkip is the rule a skipped case matched, which offline routing reports as unresolved
// when the skip needs the cluster (the scrape target, the owner, the HPA's controller, the
// namespace's labels); "" for cases that matched.
func ruleOfSkip(c fixtureCase) string {
	if c.Expect.Skip == "" {
		return ""
	}
	return skipRules[c.Name]
}

func checkCase(url string, p *v1beta1.RemediationPolicy, c fixtureCase, says plugin.RouteResult) {
	res := post(url, c.Name+".firing.json")
	fp := fingerprintOf(c.Name + ".firing.json")
	if c.Expect.Skip != "" {
		Expect(res.Created).To(BeZero(), c.Name)
		Expect(res.Skipped).To(Equal(map[routing.SkipReason]int{routing.SkipReason(c.Expect.Skip): 1}), c.Name)
		Expect(says.Decision.Reason).To(BeEquivalentTo(c.Expect.Skip), "%s: kubectl heal8s route test agrees: %s", c.Name, says.Decision.Detail)
		list := &v1beta1.RemediationList{}
		Expect(k8sClient.List(suiteCtx, list, client.MatchingLabels{v1beta1.LabelFingerprint: fp})).To(Succeed())
		Expect(list.Items).To(BeEmpty(), "%s: no Remediation for a skipped alert", c.Name)
		if routing.SkipReason(c.Expect.Skip).Protective() {
			expectWarning(p, c.Name)
		}
		res = post(url, c.Name+".resolved.json")
		Expect(res.Resolved).To(BeZero(), c.Name)
		return
	}
	Expect(res.Created).To(Equal(1), "%s: %+v", c.Name, res)
	Expect(c.Expect.Target).NotTo(BeNil(), c.Name)
	list := &v1beta1.RemediationList{}
	Expect(k8sClient.List(suiteCtx, list, client.InNamespace(c.Expect.Target.Namespace),
		client.MatchingLabels{v1beta1.LabelFingerprint: fp})).To(Succeed())
	Expect(list.Items).To(HaveLen(1), c.Name)
	rem := list.Items[0]
	Expect(rem.Spec.Rule).To(Equal(c.Expect.Rule), c.Name)
	Expect(rem.Spec.Alert.Name).To(Equal(c.Alert), c.Name)
	Expect(rem.Spec.Target.Kind).To(BeEquivalentTo(c.Expect.Target.Kind), c.Name)
	Expect(rem.Spec.Target.Namespace).To(Equal(c.Expect.Target.Namespace), c.Name)
	Expect(rem.Spec.Target.Name).To(Equal(c.Expect.Target.Name), c.Name)
	Expect(rem.Spec.Target.Container).To(Equal(c.Expect.Target.Container), c.Name)
	Expect(isMonitoringPipeline(rem.Spec.Target)).To(BeFalse(), "%s: a Remediation may never target the pipeline that sent the alert", c.Name)

	// kubectl heal8s route test agrees, to the Remediation's name.
	Expect(says.Matched()).To(BeTrue(), "%s: %s", c.Name, says.Decision.Detail)
	Expect(says.Decision.Rule).To(Equal(rem.Spec.Rule), c.Name)
	Expect(says.Decision.Target.Kind).To(Equal(rem.Spec.Target.Kind), c.Name)
	Expect(says.Decision.Target.Namespace).To(Equal(rem.Spec.Target.Namespace), c.Name)
	Expect(says.Decision.Target.Name).To(Equal(rem.Spec.Target.Name), c.Name)
	Expect(says.Decision.Target.Container).To(Equal(rem.Spec.Target.Container), c.Name)
	Expect(says.Remediation).To(Equal(client.ObjectKeyFromObject(&rem)), c.Name)

	// A repeat is a repeat, and the resolution reaches the Remediation.
	res = post(url, c.Name+".firing.json")
	Expect(res.Existing).To(Equal(1), c.Name)
	res = post(url, c.Name+".resolved.json")
	Expect(res.Resolved).To(Equal(1), "%s: %+v", c.Name, res)
	Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(&rem), &rem)).To(Succeed())
	Expect(remediation.ReadSightings(rem.Annotations).ResolvedAt).NotTo(BeZero(), "%s: the receiver records the resolution for the controller to fold", c.Name)
}

// isMonitoringPipeline reports whether a target is one of the fixture world's exporters that
// scrape the alerts: kube-state-metrics, whose own pod and container ride on workload-level
// alerts. (node-exporter's DaemonSet is a legitimate target of CPUThrottlingHigh about itself.)
func isMonitoringPipeline(t v1beta1.TargetRef) bool {
	return strings.Contains(t.Name, "kube-state-metrics") || t.Container == "kube-state-metrics"
}

// expectWarning waits for the Warning Event the receiver records on the policy for a
// protective skip.
func expectWarning(p *v1beta1.RemediationPolicy, caseName string) {
	Eventually(func(g Gomega) {
		list := &eventsv1.EventList{}
		g.Expect(k8sClient.List(suiteCtx, list, client.InNamespace(p.Namespace))).To(Succeed())
		found := false
		for _, e := range list.Items {
			if e.Regarding.Name == p.Name && e.Regarding.Kind == "RemediationPolicy" && e.Type == "Warning" {
				found = true
			}
		}
		g.Expect(found).To(BeTrue(), "%s: a Warning Event on policy %s/%s", caseName, p.Namespace, p.Name)
	}).Should(Succeed())
}
