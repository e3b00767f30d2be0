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
	"slices"
	"strconv"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/heal8s/heal8s/internal/alertmanager"
)

// operatorNamespace is where config/default installs heal8s.
const operatorNamespace = "heal8s-system"

func TestKustomizeDefaultAppliesAndDecodes(t *testing.T) {
	g := NewWithT(t)
	out := runTool(t, tool(t, "kustomize", "KUSTOMIZE"), "build", "config/default")
	objs, err := decodeAll(out)
	g.Expect(err).NotTo(HaveOccurred())

	kinds := map[string]int{}
	for _, u := range objs {
		kinds[u.GetKind()]++
		_, err := typed(u)
		g.Expect(err).NotTo(HaveOccurred())
		if u.GetKind() != "Namespace" && u.GetNamespace() != "" {
			g.Expect(u.GetNamespace()).To(Equal(operatorNamespace), "%s %s", u.GetKind(), u.GetName())
		}
	}
	for _, kind := range []string{"Namespace", "CustomResourceDefinition", "Deployment", "ServiceAccount",
		"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "Certificate", "Issuer",
		"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
		"PodDisruptionBudget", "NetworkPolicy"} {
		g.Expect(kinds).To(HaveKey(kind), "config/default renders no %s", kind)
	}
	// make deploy works on a cluster without the Prometheus Operator's CRDs: its objects are
	// opt-in (config/monitoring, below).
	for _, u := range objs {
		g.Expect(u.GetAPIVersion()).NotTo(HavePrefix("monitoring.coreos.com/"),
			"config/default renders %s %s, which needs the Prometheus Operator's CRDs", u.GetKind(), u.GetName())
	}
	dryRunApply(t, objs)
}

// TestKustomizeMonitoring: config/monitoring adds the ServiceMonitor and PrometheusRule to a
// config/default install, named and placed as config/default's objects, the ServiceMonitor
// verifying the metrics certificate config/default issues.
func TestKustomizeMonitoring(t *testing.T) {
	g := NewWithT(t)
	out := runTool(t, tool(t, "kustomize", "KUSTOMIZE"), "build", "config/monitoring")
	objs, err := decodeAll(out)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(byKind(objs, "ServiceMonitor")).To(HaveLen(1))
	g.Expect(byKind(objs, "PrometheusRule")).To(HaveLen(1))
	g.Expect(objs).To(HaveLen(2))

	var metricsService *unstructured.Unstructured
	for _, u := range kustomizeDefault(t) {
		if u.GetKind() == "Service" && strings.HasSuffix(u.GetName(), "-metrics-service") {
			metricsService = u
		}
	}
	g.Expect(metricsService).NotTo(BeNil(), "config/default has no metrics Service")
	sm := byKind(objs, "ServiceMonitor")[0]
	g.Expect(sm.GetNamespace()).To(Equal(operatorNamespace))
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	g.Expect(endpoints).NotTo(BeEmpty())
	serverName, _, _ := unstructured.NestedString(endpoints[0].(map[string]any), "tlsConfig", "serverName")
	g.Expect(serverName).To(Equal(metricsService.GetName() + "." + operatorNamespace + ".svc"))
	selector, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, v := range selector {
		g.Expect(metricsService.GetLabels()).To(HaveKeyWithValue(k, v), "the ServiceMonitor selects the metrics Service")
	}
	g.Expect(byKind(objs, "PrometheusRule")[0].GetNamespace()).To(Equal(operatorNamespace))
	dryRunApply(t, objs)
}

func TestKustomizeDefaultDeployment(t *testing.T) {
	objs := kustomizeDefault(t)
	deploys := byKind(objs, "Deployment")
	NewWithT(t).Expect(deploys).To(HaveLen(1))
	checkManagerDeployment(t, deploys[0])
}

// checkManagerDeployment holds what issue 6 asks of the manager Deployment wherever it is
// rendered: two replicas with leader election, the restricted pod security profile, probes,
// resources, the receiver's token from a Secret and the operator namespace from the downward API.
func checkManagerDeployment(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	g := NewWithT(t)
	obj, err := typed(u)
	g.Expect(err).NotTo(HaveOccurred())
	d, ok := obj.(*appsv1.Deployment)
	g.Expect(ok).To(BeTrue())

	g.Expect(d.Spec.Replicas).NotTo(BeNil())
	g.Expect(*d.Spec.Replicas).To(BeNumerically(">=", 2))
	pod := d.Spec.Template.Spec
	g.Expect(pod.SecurityContext).NotTo(BeNil())
	g.Expect(pod.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
	g.Expect(pod.SecurityContext.SeccompProfile).NotTo(BeNil())
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	g.Expect(pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken).To(BeTrue(),
		"the manager talks to the API server")

	var mgr *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == "manager" {
			mgr = &pod.Containers[i]
		}
	}
	g.Expect(mgr).NotTo(BeNil(), "no container named manager")
	sc := mgr.SecurityContext
	g.Expect(sc).NotTo(BeNil())
	g.Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
	g.Expect(sc.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
	g.Expect(sc.Capabilities).NotTo(BeNil())
	g.Expect(sc.Capabilities.Drop).To(ContainElement(corev1.Capability("ALL")))
	g.Expect(mgr.LivenessProbe).NotTo(BeNil())
	g.Expect(mgr.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	g.Expect(mgr.ReadinessProbe).NotTo(BeNil())
	g.Expect(mgr.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz?exclude="+alertmanager.TokenCheckName),
		"the webhooks stay up without the receiver token")
	g.Expect(mgr.Resources.Requests).To(HaveKey(corev1.ResourceMemory))
	g.Expect(mgr.Resources.Limits).To(HaveKey(corev1.ResourceMemory))

	args := strings.Join(mgr.Args, " ")
	for _, want := range []string{"--leader-elect", "--health-probe-bind-address=:8081",
		"--metrics-bind-address=:8443", "--receiver-bind-address=:9095", "--receiver-token-file="} {
		g.Expect(args).To(ContainSubstring(want))
	}
	g.Expect(slices.ContainsFunc(mgr.Env, func(e corev1.EnvVar) bool {
		return e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
	})).To(BeTrue(), "POD_NAMESPACE from the downward API")

	// The token file flag points into a volume mounted from a Secret.
	tokenFile := flagValue(mgr.Args, "--receiver-token-file")
	mount := mountFor(mgr.VolumeMounts, tokenFile)
	g.Expect(mount).NotTo(BeNil(), "--receiver-token-file=%s is not on a mounted volume", tokenFile)
	vol := volumeNamed(pod.Volumes, mount.Name)
	g.Expect(vol).NotTo(BeNil())
	g.Expect(vol.Secret).NotTo(BeNil(), "the receiver token comes from a Secret")

	// Every port the manager listens on is declared.
	ports := map[string]bool{}
	for _, p := range mgr.Ports {
		ports[strconv.Itoa(int(p.ContainerPort))] = true
	}
	for _, flag := range []string{"--health-probe-bind-address", "--receiver-bind-address",
		"--github-webhook-bind-address", "--gitlab-webhook-bind-address", "--metrics-bind-address", "--webhook-port", "--dashboard-bind-address"} {
		port := strings.TrimPrefix(flagValue(mgr.Args, flag), ":")
		if port != "" && port != "0" {
			g.Expect(ports).To(HaveKey(port), "%s=%s is not a declared container port", flag, port)
		}
	}
	g.Expect(flagValue(mgr.Args, "--webhook-port")).NotTo(BeEmpty())
}

func TestKustomizeDefaultRBACIsLeastPrivilege(t *testing.T) {
	checkRBAC(t, kustomizeDefault(t), operatorNamespace, "heal8s-controller-manager")
}

// checkRBAC holds the manager to least privilege: no ClusterRole grants Secrets (they are read
// in the operator namespace only, through a Role there), and no role bound to the manager's
// ServiceAccount has a wildcard verb or resource.
func checkRBAC(t *testing.T, objs []*unstructured.Unstructured, namespace, serviceAccount string) {
	t.Helper()
	g := NewWithT(t)
	rules := map[string][]rbacv1.PolicyRule{}
	for _, u := range byKind(objs, "ClusterRole") {
		obj, err := typed(u)
		g.Expect(err).NotTo(HaveOccurred())
		rules["ClusterRole/"+u.GetName()] = obj.(*rbacv1.ClusterRole).Rules
		for _, r := range obj.(*rbacv1.ClusterRole).Rules {
			if slices.Contains(r.APIGroups, "") || slices.Contains(r.APIGroups, "*") {
				g.Expect(r.Resources).NotTo(ContainElement(BeElementOf("secrets", "*")),
					"ClusterRole %s grants Secrets cluster-wide; Secrets must be a Role in %s "+
						"(a +kubebuilder:rbac marker with namespace=%s)", u.GetName(), namespace, namespace)
			}
		}
	}
	for _, u := range byKind(objs, "Role") {
		g.Expect(u.GetNamespace()).To(Equal(namespace))
		obj, err := typed(u)
		g.Expect(err).NotTo(HaveOccurred())
		rules["Role/"+u.GetName()] = obj.(*rbacv1.Role).Rules
	}
	bound := 0
	for _, u := range append(byKind(objs, "RoleBinding"), byKind(objs, "ClusterRoleBinding")...) {
		subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
		forManager := false
		for _, s := range subjects {
			m := s.(map[string]any)
			if m["kind"] == "ServiceAccount" && m["name"] == serviceAccount && m["namespace"] == namespace {
				forManager = true
			}
		}
		if !forManager {
			continue
		}
		ref, _, _ := unstructured.NestedStringMap(u.Object, "roleRef")
		key := ref["kind"] + "/" + ref["name"]
		rs, ok := rules[key]
		if !ok {
			t.Logf("%s %s binds %s, which is not rendered (yet)", u.GetKind(), u.GetName(), key)
			continue
		}
		bound++
		for _, r := range rs {
			g.Expect(r.Verbs).NotTo(ContainElement("*"), "%s bound to the manager has a wildcard verb", key)
			g.Expect(r.Resources).NotTo(ContainElement("*"), "%s bound to the manager has a wildcard resource", key)
		}
	}
	g.Expect(bound).To(BeNumerically(">=", 2), "the manager role and leader election are bound")
	g.Expect(canPatchWorkloads(t, objs)).To(BeTrue(), "Direct policies without a ServiceAccount patch with heal8s's rights by default")
	for key, rs := range rules {
		if strings.Contains(key, "direct-patch") {
			continue
		}
		for _, r := range rs {
			if slices.Contains(r.APIGroups, "apps") && slices.Contains(r.Resources, "deployments") {
				g.Expect(r.Verbs).NotTo(ContainElement("patch"), "%s: workload patch lives in the direct-patch role only, so a lock-down install can drop it", key)
			}
		}
	}
}

// canPatchWorkloads reports whether a rendered ClusterRole lets its holder patch Deployments.
func canPatchWorkloads(t *testing.T, objs []*unstructured.Unstructured) bool {
	t.Helper()
	for _, u := range byKind(objs, "ClusterRole") {
		obj, err := typed(u)
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		for _, r := range obj.(*rbacv1.ClusterRole).Rules {
			if slices.Contains(r.APIGroups, "apps") && slices.Contains(r.Resources, "deployments") && slices.Contains(r.Verbs, "patch") {
				return true
			}
		}
	}
	return false
}

func TestKustomizeDefaultWebhooksAndConversion(t *testing.T) {
	checkWebhooks(t, kustomizeDefault(t), operatorNamespace, operatorNamespace+"/heal8s-serving-cert")
}

// checkWebhooks holds the webhook wiring: both CRDs convert through the webhook Service, every
// admission webhook calls that Service, and the CA reaches them all, injected by cert-manager
// from the Certificate injectFrom names or, when injectFrom is empty, set as a caBundle.
func checkWebhooks(t *testing.T, objs []*unstructured.Unstructured, namespace, injectFrom string) {
	t.Helper()
	g := NewWithT(t)

	var webhookSvc string
	for _, u := range byKind(objs, "Service") {
		ports, _, _ := unstructured.NestedSlice(u.Object, "spec", "ports")
		for _, p := range ports {
			if port, ok := p.(map[string]any)["port"]; ok && (port == int64(443) || port == float64(443)) {
				webhookSvc = u.GetName()
			}
		}
	}
	g.Expect(webhookSvc).NotTo(BeEmpty(), "no webhook Service on port 443")

	crds := byKind(objs, "CustomResourceDefinition")
	g.Expect(names(crds)).To(ConsistOf("remediations.heal8s.io", "remediationpolicies.heal8s.io", "notifiers.heal8s.io"))
	for _, u := range crds {
		obj, err := typed(u)
		g.Expect(err).NotTo(HaveOccurred())
		crd := obj.(*apiextensionsv1.CustomResourceDefinition)
		if len(crd.Spec.Versions) == 1 {
			// Notifier has one version: nothing to convert.
			g.Expect(crd.Spec.Conversion == nil || crd.Spec.Conversion.Strategy == apiextensionsv1.NoneConverter).To(BeTrue(), crd.Name)
			continue
		}
		g.Expect(crd.Spec.Conversion).NotTo(BeNil())
		g.Expect(crd.Spec.Conversion.Strategy).To(Equal(apiextensionsv1.WebhookConverter), crd.Name)
		cc := crd.Spec.Conversion.Webhook.ClientConfig
		g.Expect(cc.Service.Name).To(Equal(webhookSvc), crd.Name)
		g.Expect(cc.Service.Namespace).To(Equal(namespace), crd.Name)
		g.Expect(*cc.Service.Path).To(Equal("/convert"), crd.Name)
		if injectFrom != "" {
			g.Expect(crd.Annotations).To(HaveKeyWithValue("cert-manager.io/inject-ca-from", injectFrom), crd.Name)
		} else {
			g.Expect(cc.CABundle).NotTo(BeEmpty(), crd.Name)
		}
	}
	hooks := 0
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		cfgs := byKind(objs, kind)
		g.Expect(cfgs).To(HaveLen(1), kind)
		for _, u := range cfgs {
			if injectFrom != "" {
				g.Expect(u.GetAnnotations()).To(HaveKeyWithValue("cert-manager.io/inject-ca-from", injectFrom))
			}
			list, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
			for _, h := range list {
				hooks++
				cc, _, _ := unstructured.NestedMap(h.(map[string]any), "clientConfig")
				g.Expect(cc).To(HaveKeyWithValue("service", And(
					HaveKeyWithValue("name", webhookSvc), HaveKeyWithValue("namespace", namespace))))
				if injectFrom == "" {
					g.Expect(cc).To(HaveKeyWithValue("caBundle", Not(BeEmpty())))
				}
			}
		}
	}
	g.Expect(hooks).To(Equal(4), "defaulting and validation for both kinds")
	if injectFrom != "" {
		// The serving certificate names the webhook Service.
		certName := injectFrom[len(namespace)+1:]
		found := false
		for _, u := range byKind(objs, "Certificate") {
			if u.GetName() == certName {
				found = true
				dns, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "dnsNames")
				g.Expect(dns).To(ContainElement(webhookSvc + "." + namespace + ".svc"))
			}
		}
		g.Expect(found).To(BeTrue(), "no Certificate %s", certName)
	}
}

// kustomizeDefault renders config/default.
func kustomizeDefault(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	objs, err := decodeAll(runTool(t, tool(t, "kustomize", "KUSTOMIZE"), "build", "config/default"))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// flagValue returns the value of --name=value in args, or "".
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// mountFor returns the volume mount whose path contains file.
func mountFor(mounts []corev1.VolumeMount, file string) *corev1.VolumeMount {
	for i := range mounts {
		if file != "" && strings.HasPrefix(file, strings.TrimSuffix(mounts[i].MountPath, "/")+"/") {
			return &mounts[i]
		}
	}
	return nil
}

// volumeNamed returns the pod volume called name.
func volumeNamed(vols []corev1.Volume, name string) *corev1.Volume {
	for i := range vols {
		if vols[i].Name == name {
			return &vols[i]
		}
	}
	return nil
}
