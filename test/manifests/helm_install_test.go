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
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// These tests run real Helm actions (install, upgrade, uninstall) against the envtest API server:
// unlike helm template, they exercise the chart's lookups of what is already in the cluster. The
// API server has no kubelet, so the Deployment never runs; the objects are stored as a cluster
// would store them.

// installValues keep a test release from disturbing the package's other tests on the shared API
// server: the CRDs are envtest's (not the release's), and the release's admission webhooks, which
// no pod serves, are ignored when unreachable.
var installValues = []string{
	"--set", "crds.install=false",
	"--set", "webhook.failurePolicy=Ignore",
	"--set", "approval.admissionPolicy=false",
	"--set", "webhook.certManager.enabled=false",
}

// helmUpgradeInstall installs the chart as release into namespace, or upgrades it, with values
// on top of installValues, and uninstalls it when the test ends.
func helmUpgradeInstall(t *testing.T, release, namespace string, values ...string) {
	t.Helper()
	args := append([]string{
		"upgrade", "--install", release, "charts/heal8s", "--namespace", namespace,
		"--kubeconfig", suite.kubeconfig, "--timeout", "1m",
	}, installValues...)
	runTool(t, tool(t, "helm", "HELM"), append(args, values...)...)
	helm := tool(t, "helm", "HELM")
	t.Cleanup(func() {
		// t.Context() is already cancelled here.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, helm, "uninstall", release, "--namespace", namespace,
			"--kubeconfig", suite.kubeconfig, "--ignore-not-found")
		cmd.Dir = suite.root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("helm uninstall %s: %v\n%s", release, err, out)
		}
	})
}

// createNamespace creates a namespace for one test's releases; envtest has no namespace
// controller to delete it again, so every test uses its own name.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	err := suite.client.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

func getSecret(t *testing.T, namespace, name string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := suite.client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, s); err != nil {
		t.Fatalf("reading Secret %s/%s: %v", namespace, name, err)
	}
	return s
}

// webhookCABundles returns the caBundle of every admission webhook of a release.
func webhookCABundles(t *testing.T, release string) [][]byte {
	t.Helper()
	sel := client.MatchingLabels{"app.kubernetes.io/instance": release}
	var out [][]byte
	var mutating admissionregistrationv1.MutatingWebhookConfigurationList
	if err := suite.client.List(t.Context(), &mutating, sel); err != nil {
		t.Fatalf("listing MutatingWebhookConfigurations: %v", err)
	}
	for _, c := range mutating.Items {
		for _, w := range c.Webhooks {
			out = append(out, w.ClientConfig.CABundle)
		}
	}
	var validating admissionregistrationv1.ValidatingWebhookConfigurationList
	if err := suite.client.List(t.Context(), &validating, sel); err != nil {
		t.Fatalf("listing ValidatingWebhookConfigurations: %v", err)
	}
	for _, c := range validating.Items {
		for _, w := range c.Webhooks {
			out = append(out, w.ClientConfig.CABundle)
		}
	}
	return out
}

// TestHelmUpgradeKeepsGeneratedWebhookCA holds that, without cert-manager, the chart generates
// the webhooks' CA once and later upgrades keep it (Helm lookup), so the API server goes on
// trusting the running pods; deleting the Secret is how a new CA is asked for.
func TestHelmUpgradeKeepsGeneratedWebhookCA(t *testing.T) {
	g := NewWithT(t)
	const ns, release = "helm-webhook-ca", "keep"
	secretName := release + "-heal8s-webhook-server-cert"
	createNamespace(t, ns)

	helmUpgradeInstall(t, release, ns)
	first := getSecret(t, ns, secretName)
	g.Expect(first.Type).To(Equal(corev1.SecretTypeTLS))
	g.Expect(first.Data).To(HaveKey("ca.crt"))
	g.Expect(first.Data).To(HaveKey("tls.crt"))
	g.Expect(first.Data).To(HaveKey("tls.key"))
	bundles := webhookCABundles(t, release)
	g.Expect(bundles).NotTo(BeEmpty(), "the release installed no admission webhooks")
	for _, b := range bundles {
		g.Expect(b).To(Equal(first.Data["ca.crt"]), "a webhook's caBundle is not the Secret's CA")
	}

	helmUpgradeInstall(t, release, ns, "--set", "logging.level=debug")
	second := getSecret(t, ns, secretName)
	g.Expect(second.Data).To(Equal(first.Data), "the upgrade replaced the webhooks' CA or certificate")
	for _, b := range webhookCABundles(t, release) {
		g.Expect(b).To(Equal(first.Data["ca.crt"]), "the upgrade changed a webhook's caBundle")
	}

	// A deleted Secret is generated anew, CA and all.
	g.Expect(suite.client.Delete(t.Context(), second)).To(Succeed())
	helmUpgradeInstall(t, release, ns)
	third := getSecret(t, ns, secretName)
	g.Expect(third.Data["ca.crt"]).NotTo(Equal(first.Data["ca.crt"]))
	for _, b := range webhookCABundles(t, release) {
		g.Expect(b).To(Equal(third.Data["ca.crt"]))
	}
}

// TestHelmInstallReceiverToken holds that the chart never takes over a receiver token Secret
// made out of band (receiver.token.existingSecret, or the quick start's Secret of the chart's own
// name), and keeps a token it generated across upgrades.
func TestHelmInstallReceiverToken(t *testing.T) {
	const ns = "helm-receiver-token"
	createNamespace(t, ns)
	userSecret := func(t *testing.T, name string) *corev1.Secret {
		t.Helper()
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			StringData: map[string]string{"token": "made-out-of-band-" + name},
		}
		NewWithT(t).Expect(suite.client.Create(t.Context(), s)).To(Succeed())
		return getSecret(t, ns, name)
	}
	// untouched holds that the release left the user's Secret as it was: same data, no Helm
	// ownership, not even a write.
	untouched := func(t *testing.T, before *corev1.Secret) {
		t.Helper()
		g := NewWithT(t)
		after := getSecret(t, ns, before.Name)
		g.Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "the release wrote the user's Secret")
		g.Expect(after.Data).To(Equal(before.Data))
		g.Expect(after.Annotations).NotTo(HaveKey("meta.helm.sh/release-name"))
		g.Expect(after.Labels).NotTo(HaveKey("app.kubernetes.io/managed-by"))
	}
	tokenVolume := func(t *testing.T, release string) string {
		t.Helper()
		d := &appsv1.Deployment{}
		key := client.ObjectKey{Namespace: ns, Name: release + "-heal8s-controller-manager"}
		NewWithT(t).Expect(suite.client.Get(t.Context(), key, d)).To(Succeed())
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == "receiver-token" && v.Secret != nil {
				return v.Secret.SecretName
			}
		}
		t.Fatalf("the Deployment mounts no receiver-token Secret")
		return ""
	}

	t.Run("existingSecret", func(t *testing.T) {
		g := NewWithT(t)
		const release = "existing"
		before := userSecret(t, "alertmanager-bearer")
		values := []string{"--set", "receiver.token.existingSecret=alertmanager-bearer"}
		helmUpgradeInstall(t, release, ns, values...)
		helmUpgradeInstall(t, release, ns, values...)
		untouched(t, before)
		g.Expect(tokenVolume(t, release)).To(Equal("alertmanager-bearer"))
		err := suite.client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: release + "-heal8s-receiver-token"}, &corev1.Secret{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the chart created its own token Secret too: %v", err)
	})

	t.Run("the quick start's Secret of the chart's name", func(t *testing.T) {
		g := NewWithT(t)
		const release = "quick"
		before := userSecret(t, release+"-heal8s-receiver-token")
		helmUpgradeInstall(t, release, ns)
		helmUpgradeInstall(t, release, ns)
		untouched(t, before)
		g.Expect(tokenVolume(t, release)).To(Equal(before.Name))
	})

	t.Run("generated", func(t *testing.T) {
		g := NewWithT(t)
		const release = "generated"
		helmUpgradeInstall(t, release, ns)
		first := getSecret(t, ns, release+"-heal8s-receiver-token")
		g.Expect(first.Data["token"]).To(HaveLen(48))
		g.Expect(first.Annotations).To(HaveKeyWithValue("meta.helm.sh/release-name", release))
		helmUpgradeInstall(t, release, ns)
		g.Expect(getSecret(t, ns, first.Name).Data).To(Equal(first.Data), "the upgrade changed the generated token")
	})
}

// TestHelmTemplateExistingWebhookCert holds that webhook.existingCertSecret with
// webhook.caBundle renders the same manifests every time (what Argo CD's helm template needs
// without cert-manager), with the user's Secret mounted and the CA in every webhook.
func TestHelmTemplateExistingWebhookCert(t *testing.T) {
	g := NewWithT(t)
	caPEM := testCAPEM(t)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	g.Expect(os.WriteFile(caFile, []byte(caPEM), 0o600)).To(Succeed())
	helm := tool(t, "helm", "HELM")
	args := []string{
		"template", "heal8s", "charts/heal8s", "--namespace", "heal8s-system", "--kube-version", utilsK8sVersion(),
		"--set", "webhook.certManager.enabled=false",
		"--set", "webhook.existingCertSecret=heal8s-webhook-tls",
		"--set-file", "webhook.caBundle=" + caFile,
		// The rest of the GitOps values (charts/heal8s/README.md): no token generated per render.
		"--set", "receiver.token.existingSecret=heal8s-receiver-token",
	}
	first := runTool(t, helm, args...)
	g.Expect(string(runTool(t, helm, args...))).To(Equal(string(first)), "two renders differ")

	objs, err := decodeAll(first)
	g.Expect(err).NotTo(HaveOccurred())
	for _, s := range byKind(objs, "Secret") {
		g.Expect(s.Object["type"]).NotTo(Equal("kubernetes.io/tls"), "the chart rendered a TLS Secret %s", s.GetName())
	}
	d := deployment(t, objs)
	g.Expect(volumeNamed(d.Spec.Template.Spec.Volumes, "webhook-certs").Secret.SecretName).To(Equal("heal8s-webhook-tls"))
	want := base64.StdEncoding.EncodeToString([]byte(caPEM))
	var bundles int
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		for _, u := range byKind(objs, kind) {
			hooks, _, _ := unstructured.NestedSlice(u.Object, "webhooks")
			for _, h := range hooks {
				ca, _ := h.(map[string]any)["clientConfig"].(map[string]any)["caBundle"].(string)
				g.Expect(ca).To(Equal(want), "%s %s", kind, u.GetName())
				bundles++
			}
		}
	}
	for _, u := range byKind(objs, "CustomResourceDefinition") {
		if conv, ok := u.Object["spec"].(map[string]any)["conversion"].(map[string]any); ok {
			ca, _ := conv["webhook"].(map[string]any)["clientConfig"].(map[string]any)["caBundle"].(string)
			g.Expect(ca).To(Equal(want), "CRD %s", u.GetName())
			bundles++
		}
	}
	g.Expect(bundles).To(BeNumerically(">", 2))
	dryRunApply(t, objs)

	out, err := execTool(t, helm, args[:len(args)-4]...)
	g.Expect(err).To(HaveOccurred(), "existingCertSecret without caBundle rendered:\n%s", out)
	g.Expect(err.Error()).To(ContainSubstring("webhook.caBundle"))
}

// testCAPEM is a fresh self-signed CA certificate in PEM.
func testCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "heal8s-test-webhook-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
