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
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// The manager's ports, as config/manager and the chart's defaults declare them.
const (
	portDashboard     = 8082
	portMetrics       = 8443
	portReceiver      = 9095
	portGitHubWebhook = 9096
	portGitLabWebhook = 9097
	portWebhooks      = 9443
)

// peer is where a connection comes from: a pod in a namespace with these labels, or (external)
// an address outside the cluster.
type peer struct {
	name      string
	nsLabels  map[string]string
	namespace string
	external  string
}

var (
	fromMonitoring = peer{name: "Alertmanager's namespace", namespace: "monitoring", nsLabels: map[string]string{"heal8s-receiver": "enabled"}}
	fromPrometheus = peer{name: "a metrics=enabled namespace", namespace: "prometheus", nsLabels: map[string]string{"metrics": "enabled"}}
	fromIngress    = peer{name: "a heal8s-dashboard=enabled namespace", namespace: "ingress", nsLabels: map[string]string{"heal8s-dashboard": "enabled"}}
	fromOtherPod   = peer{name: "a pod in an unlabelled namespace", namespace: "shop", nsLabels: map[string]string{"team": "shop"}}
	fromInternet   = peer{name: "outside the cluster (GitHub)", external: "140.82.112.1"}
)

// admits reports whether the NetworkPolicies in objs let p reach port on the pods labelled
// podLabels in namespace, as an enforcing CNI would: a pod selected by any Ingress policy is
// isolated and admits only what some rule of those policies allows.
func admits(t *testing.T, objs []*unstructured.Unstructured, namespace string, podLabels map[string]string, port int32, p peer) bool {
	t.Helper()
	isolated, allowed := false, false
	for _, u := range byKind(objs, "NetworkPolicy") {
		obj, err := typed(u)
		if err != nil {
			t.Fatal(err)
		}
		np := obj.(*networkingv1.NetworkPolicy)
		if np.Namespace != namespace || !selects(t, &np.Spec.PodSelector, podLabels) {
			continue
		}
		if len(np.Spec.PolicyTypes) > 0 && !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			continue
		}
		isolated = true
		for _, rule := range np.Spec.Ingress {
			if portMatches(rule.Ports, port) && peerMatches(t, rule.From, namespace, p) {
				allowed = true
			}
		}
	}
	return !isolated || allowed
}

func selects(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return s.Matches(labels.Set(l))
}

func portMatches(ports []networkingv1.NetworkPolicyPort, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Port == nil || (p.Port.IntValue() == int(port) && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP)) {
			return true
		}
	}
	return false
}

func peerMatches(t *testing.T, from []networkingv1.NetworkPolicyPeer, namespace string, p peer) bool {
	t.Helper()
	if len(from) == 0 {
		return true // every source
	}
	for _, f := range from {
		switch {
		case f.IPBlock != nil:
			_, cidr, err := net.ParseCIDR(f.IPBlock.CIDR)
			if err != nil {
				t.Fatal(err)
			}
			if p.external != "" && cidr.Contains(net.ParseIP(p.external)) {
				return true
			}
		case p.external != "":
		case f.NamespaceSelector != nil:
			if selects(t, f.NamespaceSelector, p.nsLabels) && (f.PodSelector == nil || selects(t, f.PodSelector, nil)) {
				return true
			}
		case f.PodSelector != nil:
			if p.namespace == namespace && selects(t, f.PodSelector, nil) {
				return true
			}
		}
	}
	return false
}

// managerPodLabels are the labels of the manager Deployment's pods.
func managerPodLabels(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	deploys := byKind(objs, "Deployment")
	if len(deploys) != 1 {
		t.Fatalf("rendered %d Deployments, want 1", len(deploys))
	}
	l, _, _ := unstructured.NestedStringMap(deploys[0].Object, "spec", "template", "metadata", "labels")
	return l
}

// everyone is every peer the checks try.
var everyone = []peer{fromMonitoring, fromPrometheus, fromIngress, fromOtherPod, fromInternet}

// defaultExposure is the exposure docs/security.md promises: Alertmanager's namespace reaches
// the receiver and nothing else does; anyone reaches GitHub's and GitLab's webhooks (when gitHooks:
// served) and the admission webhooks; the dashboard only from a namespace labelled for it; metrics
// only from a metrics=enabled namespace.
func defaultExposure(gitHooks bool) map[int32][]peer {
	want := map[int32][]peer{
		portReceiver:      {fromMonitoring},
		portGitHubWebhook: everyone,
		portGitLabWebhook: everyone,
		portWebhooks:      everyone,
		portDashboard:     {fromIngress},
		portMetrics:       {fromPrometheus},
	}
	if !gitHooks {
		want[portGitHubWebhook] = nil
		want[portGitLabWebhook] = nil
	}
	return want
}

// checkNetworkPolicies holds that the NetworkPolicies admit exactly the peers want lists, per port.
func checkNetworkPolicies(t *testing.T, objs []*unstructured.Unstructured, namespace string, want map[int32][]peer) {
	t.Helper()
	NewWithT(t).Expect(byKind(objs, "NetworkPolicy")).NotTo(BeEmpty(), "no NetworkPolicy")
	pod := managerPodLabels(t, objs)
	for port, allowed := range want {
		for _, p := range everyone {
			got := admits(t, objs, namespace, pod, port, p)
			want := slices.ContainsFunc(allowed, func(a peer) bool { return a.name == p.name })
			NewWithT(t).Expect(got).To(Equal(want), "port %d from %s", port, p.name)
		}
	}
	// Nothing else is open, e.g. a port a future server forgets to declare.
	NewWithT(t).Expect(admits(t, objs, namespace, pod, 12345, fromOtherPod)).To(BeFalse())
}

// serviceFor returns the Service that sends port to the container port named targetPort.
func serviceFor(objs []*unstructured.Unstructured, targetPort string) *corev1.Service {
	for _, u := range byKind(objs, "Service") {
		obj, err := typed(u)
		if err != nil {
			continue
		}
		svc := obj.(*corev1.Service)
		for _, p := range svc.Spec.Ports {
			if p.TargetPort.String() == targetPort {
				return svc
			}
		}
	}
	return nil
}

// checkSeparatePorts holds that Alertmanager's receiver, GitHub's webhook and GitLab's webhook
// are three Services on three container ports, so each can be exposed (or not) on its own.
func checkSeparatePorts(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	g := NewWithT(t)
	d := deployment(t, objs)
	c := d.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	g.Expect(ports).To(HaveKeyWithValue("receiver", BeEquivalentTo(portReceiver)))
	g.Expect(ports).To(HaveKeyWithValue("github-webhook", BeEquivalentTo(portGitHubWebhook)))
	g.Expect(ports).To(HaveKeyWithValue("gitlab-webhook", BeEquivalentTo(portGitLabWebhook)))
	g.Expect(flagValue(c.Args, "--github-webhook-bind-address")).To(Equal(":" + strconv.Itoa(portGitHubWebhook)))
	g.Expect(flagValue(c.Args, "--gitlab-webhook-bind-address")).To(Equal(":" + strconv.Itoa(portGitLabWebhook)))
	receiver, github, gitlab := serviceFor(objs, "receiver"), serviceFor(objs, "github-webhook"), serviceFor(objs, "gitlab-webhook")
	g.Expect(receiver).NotTo(BeNil(), "no Service for the receiver")
	g.Expect(github).NotTo(BeNil(), "no Service for GitHub's webhook")
	g.Expect(gitlab).NotTo(BeNil(), "no Service for GitLab's webhook")
	g.Expect([]string{receiver.Name, github.Name, gitlab.Name}).To(HaveLen(3))
	g.Expect(receiver.Name).NotTo(BeElementOf(github.Name, gitlab.Name))
	g.Expect(github.Name).NotTo(Equal(gitlab.Name))
	for _, p := range gitlab.Spec.Ports {
		g.Expect(p.TargetPort.String()).To(Equal("gitlab-webhook"), "GitLab's Service exposes only GitLab's webhook")
	}
	for _, p := range receiver.Spec.Ports {
		g.Expect(p.TargetPort.String()).To(Equal("receiver"), "the receiver's Service exposes only the receiver")
	}
}

// checkEndpointsTLS holds that the receiver, GitHub's and GitLab's webhooks and the dashboard serve HTTPS from a
// Secret that a cert-manager Certificate (certSecret's) issues for their Services' names.
func checkEndpointsTLS(t *testing.T, objs []*unstructured.Unstructured, namespace string) {
	t.Helper()
	g := NewWithT(t)
	d := deployment(t, objs)
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	secrets := map[string]bool{}
	targets := []string{}
	for flag, target := range map[string]string{
		"--receiver-cert-dir": "receiver", "--github-webhook-cert-dir": "github-webhook",
		"--gitlab-webhook-cert-dir": "gitlab-webhook", "--dashboard-cert-dir": "dashboard",
	} {
		if serviceFor(objs, target) == nil {
			g.Expect(flagValue(c.Args, flag)).To(BeEmpty(), "%s without a %s Service", flag, target)
			continue
		}
		targets = append(targets, target)
		dir := flagValue(c.Args, flag)
		g.Expect(dir).NotTo(BeEmpty(), "%s is not set: the endpoint serves plain HTTP", flag)
		mount := mountFor(c.VolumeMounts, dir+"/tls.crt")
		g.Expect(mount).NotTo(BeNil(), "%s=%s is not a mounted volume", flag, dir)
		vol := volumeNamed(pod.Volumes, mount.Name)
		g.Expect(vol.Secret).NotTo(BeNil(), "%s is not a Secret", flag)
		secrets[vol.Secret.SecretName] = true
	}
	for secret := range secrets {
		var dns []string
		for _, u := range byKind(objs, "Certificate") {
			if name, _, _ := unstructured.NestedString(u.Object, "spec", "secretName"); name == secret {
				dns, _, _ = unstructured.NestedStringSlice(u.Object, "spec", "dnsNames")
			}
		}
		g.Expect(dns).NotTo(BeEmpty(), "no Certificate issues the Secret %s", secret)
		for _, target := range targets {
			svc := serviceFor(objs, target)
			g.Expect(svc).NotTo(BeNil(), target)
			g.Expect(dns).To(ContainElement(svc.Name+"."+namespace+".svc"), "the certificate does not name the %s Service", target)
		}
		g.Expect(dns).To(ContainElement("localhost"), "kubectl port-forward to the dashboard")
	}
}

func TestKustomizeDefaultExposure(t *testing.T) {
	objs := kustomizeDefault(t)
	t.Run("NetworkPolicies", func(t *testing.T) { checkNetworkPolicies(t, objs, operatorNamespace, defaultExposure(true)) })
	t.Run("separate ports", func(t *testing.T) { checkSeparatePorts(t, objs) })
	t.Run("TLS", func(t *testing.T) { checkEndpointsTLS(t, objs, operatorNamespace) })
	t.Run("the manager may review tokens and access", func(t *testing.T) { checkDashboardRBAC(t, objs) })
}

// checkDashboardRBAC holds that the manager's own role lets the dashboard (and the metrics
// endpoint) ask the API server about tokens and access, whether or not metrics are protected.
func checkDashboardRBAC(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var rules []string
	for _, u := range byKind(objs, "ClusterRole") {
		if !strings.HasSuffix(u.GetName(), "manager-role") {
			continue
		}
		list, _, _ := unstructured.NestedSlice(u.Object, "rules")
		for _, r := range list {
			m := r.(map[string]any)
			for _, res := range m["resources"].([]any) {
				for _, v := range m["verbs"].([]any) {
					rules = append(rules, res.(string)+":"+v.(string))
				}
			}
		}
	}
	NewWithT(t).Expect(rules).To(ContainElements("tokenreviews:create", "subjectaccessreviews:create"))
}
