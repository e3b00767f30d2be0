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

package v1beta1

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1alpha1"
	"github.com/heal8s/heal8s/api/v1beta1"
)

// The API server no longer serves heal8s.io/v1alpha1 (docs/api-versions.md), so nothing can
// write or read it through the API to exercise the conversion webhook. The webhook still
// matters: an API server reads objects an earlier install stored as v1alpha1 through it. These
// specs send it what a kube-apiserver sends, an apiextensions.k8s.io/v1 ConversionReview, over
// TLS to the suite manager's /convert.

// postConversionReview sends a ConversionReview asking for objs in desired to the suite's
// webhook server and returns its answer.
func postConversionReview(desired string, objs ...runtime.Object) *apiextensionsv1.ConversionResponse {
	GinkgoHelper()
	review := apiextensionsv1.ConversionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "ConversionReview"},
		Request:  &apiextensionsv1.ConversionRequest{UID: types.UID("review-" + desired), DesiredAPIVersion: desired},
	}
	for _, o := range objs {
		raw, err := json.Marshal(o)
		Expect(err).NotTo(HaveOccurred())
		review.Request.Objects = append(review.Request.Objects, runtime.RawExtension{Raw: raw})
	}
	body, err := json.Marshal(review)
	Expect(err).NotTo(HaveOccurred())

	opts := &testEnv.WebhookInstallOptions
	pool := x509.NewCertPool()
	Expect(pool.AppendCertsFromPEM(opts.LocalServingCAData)).To(BeTrue())
	httpClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	url := fmt.Sprintf("https://%s:%d/convert", opts.LocalServingHost, opts.LocalServingPort)
	resp, err := httpClient.Post(url, "application/json", bytes.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK), "body: %s", data)

	out := &apiextensionsv1.ConversionReview{}
	Expect(json.Unmarshal(data, out)).To(Succeed(), "body: %s", data)
	Expect(out.Response).NotTo(BeNil(), "body: %s", data)
	Expect(out.Response.UID).To(Equal(review.Request.UID), "the API server matches the answer by UID")
	return out.Response
}

// convertedInto decodes the i-th converted object of a successful response into into.
func convertedInto(resp *apiextensionsv1.ConversionResponse, i int, into runtime.Object) {
	GinkgoHelper()
	Expect(resp.Result.Status).To(Equal(metav1.StatusSuccess), "result: %+v", resp.Result)
	Expect(len(resp.ConvertedObjects)).To(BeNumerically(">", i))
	Expect(json.Unmarshal(resp.ConvertedObjects[i].Raw, into)).To(Succeed())
}

var _ = Describe("the conversion webhook (/convert)", func() {
	seedPolicy := func() *v1alpha1.RemediationPolicy {
		return &v1alpha1.RemediationPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "RemediationPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: "seed", Namespace: "team-a", UID: "1111", ResourceVersion: "7"},
			Spec: v1alpha1.RemediationPolicySpec{
				Strategy: "Direct",
				Rules: []v1alpha1.Rule{{Name: "oom", AlertName: "KubePodOOMKilled", Action: "IncreaseMemory",
					Params: map[string]string{"percent": "50", "max": "2Gi"}}},
			},
		}
	}

	It("converts a stored v1alpha1 RemediationPolicy to v1beta1, keeping its metadata", func() {
		hub := &v1beta1.RemediationPolicy{}
		convertedInto(postConversionReview(v1beta1.GroupVersion.String(), seedPolicy()), 0, hub)
		Expect(hub.APIVersion).To(Equal(v1beta1.GroupVersion.String()))
		Expect(hub.Kind).To(Equal("RemediationPolicy"))
		Expect(hub.Name).To(Equal("seed"))
		Expect(hub.Namespace).To(Equal("team-a"))
		Expect(hub.UID).To(BeEquivalentTo("1111"), "the API server rejects a conversion that changes the UID")
		Expect(hub.ResourceVersion).To(Equal("7"))
		Expect(hub.Spec.Strategy).To(Equal(v1beta1.StrategyDirect))
		Expect(hub.Spec.Rules).To(HaveLen(1))
		Expect(hub.Spec.Rules[0].Matchers).To(Equal([]string{`alertname="KubePodOOMKilled"`}))
		Expect(*hub.Spec.Rules[0].Action.IncreaseMemory.Percent).To(BeEquivalentTo(50))
		Expect(hub.Spec.Rules[0].Action.IncreaseMemory.Max.String()).To(Equal("2Gi"))
		Expect(hub.Annotations).NotTo(HaveKey(v1alpha1.AnnotationSpokeData), "everything fitted v1beta1")
	})

	It("converts a v1beta1 RemediationPolicy to v1alpha1 and back without losing what v1alpha1 cannot hold", func() {
		p := validPolicy()
		p.TypeMeta = metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "RemediationPolicy"}
		p.Spec.Rules[0].Action.IncreaseMemory.Percent = ptr.To[int32](40)

		spoke := &v1alpha1.RemediationPolicy{}
		convertedInto(postConversionReview(v1alpha1.GroupVersion.String(), p), 0, spoke)
		Expect(spoke.APIVersion).To(Equal(v1alpha1.GroupVersion.String()))
		Expect(spoke.Spec.Rules[0].AlertName).To(BeEmpty(), "two matchers are more than v1alpha1's alertName says")
		Expect(spoke.Spec.Rules[0].Action).To(Equal("IncreaseMemory"))
		Expect(spoke.Spec.Rules[0].Params).To(HaveKeyWithValue("percent", "40"))
		Expect(spoke.Annotations).To(HaveKey(v1alpha1.AnnotationHubData), "the severity matcher has no v1alpha1 field")

		back := &v1beta1.RemediationPolicy{}
		convertedInto(postConversionReview(v1beta1.GroupVersion.String(), spoke), 0, back)
		Expect(back.Spec.Rules[0].Matchers).To(Equal(p.Spec.Rules[0].Matchers), "the second matcher survives")
		Expect(back.Annotations).NotTo(HaveKey(v1alpha1.AnnotationHubData))
		Expect(back.Spec).To(Equal(p.Spec))
	})

	It("converts Remediations both ways, several in one review as the API server sends a list", func() {
		seed := &v1alpha1.Remediation{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Remediation"},
			ObjectMeta: metav1.ObjectMeta{Name: "seed", Namespace: "team-a", UID: "2222"},
			Spec: v1alpha1.RemediationSpec{
				Policy: "p", Rule: "hpa", AlertName: "KubeHpaMaxedOut", Fingerprint: "abc",
				Target: v1alpha1.Target{Kind: "HorizontalPodAutoscaler", Name: "web", Namespace: "team-a"},
				Action: "ScaleUp", Params: map[string]string{"maxReplicas": "7"}, Strategy: "DryRun",
			},
			Status: v1alpha1.RemediationStatus{Phase: "Pending", Message: "waiting"},
		}
		second := seed.DeepCopy()
		second.Name, second.UID = "second", "3333"
		second.Spec.Params = map[string]string{"maxReplicas": "9"}

		resp := postConversionReview(v1beta1.GroupVersion.String(), seed, second)
		Expect(resp.ConvertedObjects).To(HaveLen(2))
		hub := &v1beta1.Remediation{}
		convertedInto(resp, 0, hub)
		Expect(hub.Name).To(Equal("seed"))
		Expect(hub.Spec.PolicyRef.Name).To(Equal("p"))
		Expect(hub.Spec.Alert.Name).To(Equal("KubeHpaMaxedOut"))
		Expect(hub.Spec.Target.Kind).To(Equal(v1beta1.TargetKind("HorizontalPodAutoscaler")))
		Expect(*hub.Spec.Action.ScaleUp.MaxReplicas).To(BeEquivalentTo(7))
		Expect(hub.Spec.Strategy).To(Equal(v1beta1.StrategyDryRun))
		Expect(hub.Status.Phase).To(Equal(v1beta1.PhasePending))
		Expect(hub.Status.Message).To(Equal("waiting"))
		other := &v1beta1.Remediation{}
		convertedInto(resp, 1, other)
		Expect(other.Name).To(Equal("second"))
		Expect(*other.Spec.Action.ScaleUp.MaxReplicas).To(BeEquivalentTo(9))

		By("and a v1beta1 Remediation to v1alpha1 and back to the same spec")
		r := validRemediation()
		r.TypeMeta = metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "Remediation"}
		r.Spec.Action.ScaleUp.MaxReplicas = ptr.To[int32](10)
		r.Spec.Alert.GeneratorURL = "http://prometheus/graph"
		spoke := &v1alpha1.Remediation{}
		convertedInto(postConversionReview(v1alpha1.GroupVersion.String(), r), 0, spoke)
		Expect(spoke.Spec.Action).To(Equal("ScaleUp"))
		Expect(spoke.Spec.Params).To(HaveKeyWithValue("maxReplicas", "10"))
		Expect(spoke.Spec.Target.Name).To(Equal("web"))
		Expect(spoke.Annotations).To(HaveKey(v1alpha1.AnnotationHubData), "v1alpha1 has no generatorURL")
		back := &v1beta1.Remediation{}
		convertedInto(postConversionReview(v1beta1.GroupVersion.String(), spoke), 0, back)
		Expect(back.Spec).To(Equal(r.Spec))
	})

	It("answers a review for a version it does not know with a failure, not a converted object", func() {
		resp := postConversionReview("heal8s.io/v2", seedPolicy())
		Expect(resp.Result.Status).To(Equal(metav1.StatusFailure))
		Expect(resp.ConvertedObjects).To(BeEmpty())
	})
})

var _ = Describe("served versions", func() {
	It("serves v1beta1 only: v1alpha1 is not in discovery and a v1alpha1 create is NotFound", func() {
		ns := newNamespace()

		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
		_, err = dc.ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "got %v", err)
		beta, err := dc.ServerResourcesForGroupVersion(v1beta1.GroupVersion.String())
		Expect(err).NotTo(HaveOccurred())
		var names []string
		for _, r := range beta.APIResources {
			names = append(names, r.Name)
		}
		Expect(names).To(ContainElements("remediations", "remediationpolicies"))

		By("the typed client finds no mapping for v1alpha1")
		seed := &v1alpha1.RemediationPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "seed", Namespace: ns},
			Spec: v1alpha1.RemediationPolicySpec{Rules: []v1alpha1.Rule{{Name: "oom", AlertName: "KubePodOOMKilled",
				Action: "IncreaseMemory"}}},
		}
		err = k8sClient.Create(ctx, seed)
		Expect(meta.IsNoMatchError(err)).To(BeTrue(), "got %v", err)

		By("a request straight to the v1alpha1 path is NotFound, for both kinds")
		dyn, err := dynamic.NewForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
		for resource, kind := range map[string]string{"remediationpolicies": "RemediationPolicy", "remediations": "Remediation"} {
			gvr := schema.GroupVersionResource{Group: "heal8s.io", Version: "v1alpha1", Resource: resource}
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "heal8s.io/v1alpha1", "kind": kind,
				"metadata": map[string]any{"name": "seed", "namespace": ns},
			}}
			_, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "create %s: got %v", resource, err)
			_, err = dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "list %s: got %v", resource, err)
		}

		By("while v1beta1 works")
		p := validPolicy()
		p.Namespace = ns
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), &v1beta1.RemediationPolicy{})).To(Succeed())
		r := validRemediation()
		r.Namespace, r.Spec.PolicyRef.Namespace, r.Spec.Target.Namespace = ns, ns, ns
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(r), &v1beta1.Remediation{})).To(Succeed())
	})

	It("keeps v1alpha1 in the CRDs, unserved, with the conversion webhook to read what was stored as it", func() {
		for _, name := range []string{"remediations.heal8s.io", "remediationpolicies.heal8s.io"} {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, crd)).To(Succeed())
			served := map[string]bool{}
			storage := ""
			for _, v := range crd.Spec.Versions {
				served[v.Name] = v.Served
				if v.Storage {
					storage = v.Name
				}
			}
			Expect(served).To(Equal(map[string]bool{"v1beta1": true, "v1alpha1": false}), name)
			Expect(storage).To(Equal("v1beta1"), name)
			Expect(crd.Spec.Conversion.Strategy).To(Equal(apiextensionsv1.WebhookConverter), name)
		}
	})
})
