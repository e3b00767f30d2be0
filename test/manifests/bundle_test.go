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
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/operator-framework/api/pkg/manifests"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/api/pkg/validation"
	"github.com/operator-framework/api/pkg/validation/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// TestBundleIsCurrent regenerates the bundle from config/ and compares it with the committed
// one, so `make bundle` has been run after every change to what it is made from.
func TestBundleIsCurrent(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	kustomize := tool(t, "kustomize", "KUSTOMIZE")
	for name, src := range map[string]string{"olm.yaml": "config/olm", "samples.yaml": "config/samples"} {
		g.Expect(os.WriteFile(filepath.Join(dir, name), runTool(t, kustomize, "build", src), 0o600)).To(Succeed())
	}
	csv := committedCSV(t)
	out := filepath.Join(dir, "bundle")
	runTool(t, "go", "run", "./hack/bundle", "--root", ".",
		"--operator", filepath.Join(dir, "olm.yaml"), "--samples", filepath.Join(dir, "samples.yaml"),
		"--version", csv.Spec.Version.String(), "--image", csv.Annotations["containerImage"],
		"--created-at", csv.Annotations["createdAt"],
		"--out", out, "--dockerfile", filepath.Join(dir, "bundle.Dockerfile"))

	want := readTree(t, out)
	got := readTree(t, filepath.Join(suite.root, "bundle"))
	g.Expect(sortedKeys(got)).To(Equal(sortedKeys(want)), "bundle/ has other files than make bundle writes; run 'make bundle'")
	for name, data := range want {
		g.Expect(got[name]).To(Equal(data), "bundle/%s is out of date; run 'make bundle'", name)
	}
	dockerfile, err := os.ReadFile(filepath.Join(suite.root, "bundle.Dockerfile"))
	g.Expect(err).NotTo(HaveOccurred())
	wantDockerfile, err := os.ReadFile(filepath.Join(dir, "bundle.Dockerfile"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(dockerfile)).To(Equal(string(wantDockerfile)), "bundle.Dockerfile is out of date; run 'make bundle'")

	// config/olm keeps copies of two config/default files (kustomize loads nothing outside a
	// kustomization's directory); they must not drift.
	for _, f := range []string{"metrics_service.yaml", "manager_metrics_patch.yaml"} {
		a, err := os.ReadFile(filepath.Join(suite.root, "config", "default", f))
		g.Expect(err).NotTo(HaveOccurred())
		b, err := os.ReadFile(filepath.Join(suite.root, "config", "olm", f))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(b)).To(Equal(string(a)), "config/olm/%s differs from config/default/%s", f, f)
	}
}

// TestBundleValidates runs the validators of operator-sdk's `bundle validate
// --select-optional suite=operatorframework` (the OperatorHub suite) on the committed bundle.
func TestBundleValidates(t *testing.T) {
	g := NewWithT(t)
	bundle, err := manifests.GetBundleFromDir(filepath.Join(suite.root, "bundle"))
	g.Expect(err).NotTo(HaveOccurred())

	validators := validation.DefaultBundleValidators.WithValidators(
		validation.OperatorHubV2Validator,
		validation.StandardCapabilitiesValidator,
		validation.StandardCategoriesValidator,
		validation.ObjectValidator,
		validation.GoodPracticesValidator,
		validation.AlphaDeprecatedAPIsValidator,
	)
	objs := append(bundle.ObjectsToValidate(), map[string]string{"k8s-version": utilsK8sVersion()})
	var problems []string
	for _, result := range validators.Validate(objs...) {
		for _, e := range result.Errors {
			problems = append(problems, e.Error())
		}
		for _, w := range result.Warnings {
			if w.Level == errors.LevelWarn && !knownFalseWarning(w.Error()) {
				problems = append(problems, "warning: "+w.Error())
			}
		}
	}
	g.Expect(problems).To(BeEmpty())
}

// TestBundleInstallsAndItsExamplesApply checks what OLM would create from the bundle: the CSV,
// the CRDs, the extra manifests, the Deployment from the install strategy and every
// alm-example, with server-side dry runs; and that the CSV carries the conversion webhook and
// the manager's install strategy.
func TestBundleInstallsAndItsExamplesApply(t *testing.T) {
	g := NewWithT(t)
	const ns = "heal8s-olm"
	csv := committedCSV(t)

	g.Expect(csv.Spec.InstallModes).To(ContainElement(operatorsv1alpha1.InstallMode{
		Type: operatorsv1alpha1.InstallModeTypeAllNamespaces, Supported: true}))
	var conversion *operatorsv1alpha1.WebhookDescription
	kinds := map[operatorsv1alpha1.WebhookAdmissionType]int{}
	for i, w := range csv.Spec.WebhookDefinitions {
		kinds[w.Type]++
		if w.Type == operatorsv1alpha1.ConversionWebhook {
			conversion = &csv.Spec.WebhookDefinitions[i]
		}
	}
	g.Expect(kinds).To(Equal(map[operatorsv1alpha1.WebhookAdmissionType]int{
		operatorsv1alpha1.MutatingAdmissionWebhook: 2, operatorsv1alpha1.ValidatingAdmissionWebhook: 2,
		operatorsv1alpha1.ConversionWebhook: 1}))
	g.Expect(conversion.ConversionCRDs).To(ConsistOf("remediations.heal8s.io", "remediationpolicies.heal8s.io"))
	g.Expect(*conversion.WebhookPath).To(Equal("/convert"))
	// OLM offers what the CSV owns; v1alpha1 is not served (docs/api-versions.md), so only v1beta1.
	var owned []string
	for _, o := range csv.Spec.CustomResourceDefinitions.Owned {
		owned = append(owned, o.Name+"/"+o.Version)
	}
	g.Expect(owned).To(ConsistOf("remediationpolicies.heal8s.io/v1beta1", "remediations.heal8s.io/v1beta1",
		"notifiers.heal8s.io/v1beta1"))
	g.Expect(csv.Spec.Icon).NotTo(BeEmpty())
	g.Expect(csv.Spec.Keywords).NotTo(BeEmpty())
	g.Expect(csv.Spec.Maintainers).NotTo(BeEmpty())
	g.Expect(csv.Spec.Links).NotTo(BeEmpty())

	deploys := csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs
	g.Expect(deploys).To(HaveLen(1))
	deploy := &unstructured.Unstructured{}
	spec, err := k8sruntime.DefaultUnstructuredConverter.ToUnstructured(&deploys[0].Spec)
	g.Expect(err).NotTo(HaveOccurred())
	deploy.Object = map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": deploys[0].Name, "namespace": ns}, "spec": spec}
	unstructured.RemoveNestedField(deploy.Object, "spec", "template", "metadata", "creationTimestamp")
	checkManagerDeployment(t, deploy)

	var objs []*unstructured.Unstructured
	entries, err := os.ReadDir(filepath.Join(suite.root, "bundle", "manifests"))
	g.Expect(err).NotTo(HaveOccurred())
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(suite.root, "bundle", "manifests", e.Name()))
		g.Expect(err).NotTo(HaveOccurred())
		docs, err := decodeAll(data)
		g.Expect(err).NotTo(HaveOccurred())
		for _, u := range docs {
			if u.GetKind() != "CustomResourceDefinition" && u.GetKind() != "ClusterRole" {
				u.SetNamespace(ns)
			}
			_, err := typed(u)
			g.Expect(err).NotTo(HaveOccurred())
			objs = append(objs, u)
		}
	}
	objs = append(objs, deploy)

	var examples []map[string]any
	g.Expect(json.Unmarshal([]byte(csv.Annotations["alm-examples"]), &examples)).To(Succeed())
	g.Expect(examples).NotTo(BeEmpty())
	for _, e := range examples {
		u := &unstructured.Unstructured{Object: e}
		u.SetNamespace(ns)
		_, err := typed(u)
		g.Expect(err).NotTo(HaveOccurred())
		objs = append(objs, u)
	}
	dryRunApply(t, objs)
}

// committedCSV reads bundle/manifests' ClusterServiceVersion.
func committedCSV(t *testing.T) *operatorsv1alpha1.ClusterServiceVersion {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(suite.root, "bundle", "manifests", "heal8s.clusterserviceversion.yaml"))
	if err != nil {
		t.Fatalf("reading the CSV (run 'make bundle'): %v", err)
	}
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := yaml.UnmarshalStrict(data, csv); err != nil {
		t.Fatalf("parsing the CSV: %v", err)
	}
	return csv
}

// readTree reads every file under dir, keyed by its slash-separated relative path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return out
}

// sortedKeys lists a map's keys in order.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// knownFalseWarning recognises the AlphaDeprecatedAPIsValidator's warning about RBAC for
// events.k8s.io: it flags the group, but the manager uses events.k8s.io/v1 (the Events API that
// replaced the removed v1beta1), which is not deprecated.
//
// It also accepts the OperatorHub validator's "should have an example" for exactly the APIs that
// deliberately have none: Remediation, which heal8s creates itself (the CSV lists it in
// operators.operatorframework.io/internal-objects, so OperatorHub offers no form for it; the
// validator does not read that annotation).
func knownFalseWarning(msg string) bool {
	if strings.Contains(msg, "provided API should have an example annotation") {
		return strings.Contains(msg, "Kind=Remediation:")
	}
	return strings.Contains(msg, "deprecated and removed in v1.25") && strings.Contains(msg, "Migrate the API(s) for events:") &&
		!strings.Contains(msg, "CustomResourceDefinition") && strings.Count(msg, "Rules[") == 1
}

// TestBundleMetadata holds what OperatorHub shows and expects of the CSV: examples only of what a
// user creates (v1beta1 RemediationPolicies), Remediations marked internal, the suggested
// namespace, createdAt, skipRange from the version, and the capability level heal8s meets.
func TestBundleMetadata(t *testing.T) {
	g := NewWithT(t)
	csv := committedCSV(t)
	a := csv.Annotations

	var examples []map[string]any
	g.Expect(json.Unmarshal([]byte(a["alm-examples"]), &examples)).To(Succeed())
	g.Expect(examples).NotTo(BeEmpty())
	kinds := map[any]int{}
	for _, e := range examples {
		g.Expect(e["apiVersion"]).To(Equal("heal8s.io/v1beta1"))
		g.Expect(e["kind"]).To(BeElementOf("RemediationPolicy", "Notifier"), "only what a user creates")
		kinds[e["kind"]]++
	}
	g.Expect(kinds).To(HaveKey("RemediationPolicy"))
	var internal []string
	g.Expect(json.Unmarshal([]byte(a["operators.operatorframework.io/internal-objects"]), &internal)).To(Succeed())
	g.Expect(internal).To(ConsistOf("remediations.heal8s.io"))
	g.Expect(a).To(HaveKeyWithValue("operatorframework.io/suggested-namespace", operatorNamespace))
	_, err := time.Parse(time.RFC3339, a["createdAt"])
	g.Expect(err).NotTo(HaveOccurred(), "createdAt %q", a["createdAt"])
	g.Expect(a).To(HaveKeyWithValue("olm.skipRange", "<"+csv.Spec.Version.String()))
	g.Expect(a).To(HaveKeyWithValue("capabilities", "Basic Install"))
}
