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

// Command bundle writes heal8s's OLM bundle (bundle/manifests, bundle/metadata and
// bundle.Dockerfile) without operator-sdk: it turns config/olm's rendered objects into a
// ClusterServiceVersion's install strategy, controller-gen's webhook configuration into its
// webhook definitions (plus the conversion webhook), and config/samples into alm-examples, on top
// of the hand-written config/manifests/bases CSV. `make bundle` runs it; its output is
// deterministic so test/manifests can check the committed bundle is current.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/operator-framework/api/pkg/lib/version"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// options are the command's flags.
type options struct {
	root           string
	operator       string
	samples        string
	createdAt      string
	version        string
	image          string
	packageName    string
	channels       string
	defaultChannel string
	replaces       string
	out            string
	dockerfile     string
}

func main() {
	var o options
	flag.StringVar(&o.root, "root", ".", "Repository root (config/ is read from here).")
	flag.StringVar(&o.operator, "operator", "", "File with `kustomize build config/olm`.")
	flag.StringVar(&o.samples, "samples", "", "File with `kustomize build config/samples`.")
	flag.StringVar(&o.version, "version", "0.1.0", "Bundle (operator) version, semver without v.")
	flag.StringVar(&o.image, "image", "", "Manager image the bundle installs.")
	flag.StringVar(&o.packageName, "package", "heal8s", "OLM package name.")
	flag.StringVar(&o.channels, "channels", "candidate", "Comma-separated channels.")
	flag.StringVar(&o.defaultChannel, "default-channel", "candidate", "Default channel.")
	flag.StringVar(&o.replaces, "replaces", "", "CSV name this version replaces, if any.")
	flag.StringVar(&o.createdAt, "created-at", "", "The CSV's createdAt annotation (RFC 3339), the release's date.")
	flag.StringVar(&o.out, "out", "bundle", "Bundle directory to (re)write.")
	flag.StringVar(&o.dockerfile, "dockerfile", "bundle.Dockerfile", "Path of the bundle image's Dockerfile to write.")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "bundle: %v\n", err)
		os.Exit(1)
	}
}

// run generates the bundle.
func run(o options) error {
	if o.operator == "" || o.samples == "" || o.image == "" {
		return errors.New("--operator, --samples and --image are required")
	}
	objs, err := readObjects(o.operator)
	if err != nil {
		return err
	}
	samples, err := readObjects(o.samples)
	if err != nil {
		return err
	}
	csv, err := readBaseCSV(filepath.Join(o.root, "config", "manifests", "bases", o.packageName+".clusterserviceversion.yaml"))
	if err != nil {
		return err
	}
	hooks, err := readObjects(filepath.Join(o.root, "config", "webhook", "manifests.yaml"))
	if err != nil {
		return err
	}
	crds, err := filepath.Glob(filepath.Join(o.root, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		return fmt.Errorf("listing CRDs: %w", err)
	}
	slices.Sort(crds)

	files := map[string][]byte{}
	extra, deploymentName, err := fillInstallStrategy(csv, objs, o.image)
	if err != nil {
		return err
	}
	crdNames := make([]string, 0, len(crds))
	for _, path := range crds {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading CRD: %w", err)
		}
		var crd unstructured.Unstructured
		if err := yaml.Unmarshal(data, &crd.Object); err != nil {
			return fmt.Errorf("parsing %s: %w", path, err)
		}
		// Only CRDs with several versions convert through the webhook (Notifier has one).
		if versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions"); len(versions) > 1 {
			crdNames = append(crdNames, crd.GetName())
		}
		files[filepath.Base(path)] = data
	}
	if err := fillWebhooks(csv, hooks, crdNames, deploymentName); err != nil {
		return err
	}
	if err := fillMetadata(csv, o, samples); err != nil {
		return err
	}
	data, err := marshalCSV(csv)
	if err != nil {
		return err
	}
	files[o.packageName+".clusterserviceversion.yaml"] = data
	for _, u := range extra {
		name, data, err := manifestFile(u)
		if err != nil {
			return err
		}
		files[name] = data
	}
	return writeBundle(o, files)
}

// readObjects reads a multi-document YAML file.
func readObjects(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decoding %s: %w", path, err)
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

// readBaseCSV reads the hand-written part of the CSV, strictly, so a misspelt field fails.
func readBaseCSV(path string) (*operatorsv1alpha1.ClusterServiceVersion, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading base CSV: %w", err)
	}
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := yaml.UnmarshalStrict(data, csv); err != nil {
		return nil, fmt.Errorf("parsing base CSV %s: %w", path, err)
	}
	return csv, nil
}

// fromUnstructured converts an object into its Go type.
func fromUnstructured(u *unstructured.Unstructured, into any) error {
	if err := k8sruntime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, into, true); err != nil {
		return fmt.Errorf("decoding %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// fillInstallStrategy moves the Deployment and the RBAC bound to its ServiceAccount into the
// CSV's install strategy and returns the objects the bundle carries as separate manifests.
// OLM creates the namespace and the ServiceAccount itself.
func fillInstallStrategy(csv *operatorsv1alpha1.ClusterServiceVersion, objs []*unstructured.Unstructured, image string) ([]*unstructured.Unstructured, string, error) {
	var deploy *appsv1.Deployment
	roles := map[string][]rbacv1.PolicyRule{}
	for _, u := range objs {
		switch u.GetKind() {
		case "Deployment":
			if deploy != nil {
				return nil, "", errors.New("config/olm renders more than one Deployment")
			}
			deploy = &appsv1.Deployment{}
			if err := fromUnstructured(u, deploy); err != nil {
				return nil, "", err
			}
		case "Role", "ClusterRole":
			var r rbacv1.ClusterRole
			if err := fromUnstructured(u, &r); err != nil {
				return nil, "", err
			}
			roles[u.GetKind()+"/"+u.GetName()] = r.Rules
		}
	}
	if deploy == nil {
		return nil, "", errors.New("config/olm renders no Deployment")
	}
	sa := deploy.Spec.Template.Spec.ServiceAccountName
	for i := range deploy.Spec.Template.Spec.Containers {
		if deploy.Spec.Template.Spec.Containers[i].Name == "manager" {
			deploy.Spec.Template.Spec.Containers[i].Image = image
		}
	}

	strategy := operatorsv1alpha1.StrategyDetailsDeployment{
		DeploymentSpecs: []operatorsv1alpha1.StrategyDeploymentSpec{{
			Name: deploy.Name, Spec: deploy.Spec, Label: deploy.Labels,
		}},
	}
	bound := map[string]bool{}
	var extra []*unstructured.Unstructured
	for _, u := range objs {
		switch u.GetKind() {
		case "RoleBinding", "ClusterRoleBinding":
			var b rbacv1.RoleBinding
			if err := fromUnstructured(u, &b); err != nil {
				return nil, "", err
			}
			if !slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool { return s.Kind == "ServiceAccount" && s.Name == sa }) {
				extra = append(extra, u)
				continue
			}
			key := b.RoleRef.Kind + "/" + b.RoleRef.Name
			rules, ok := roles[key]
			if !ok {
				// A binding to a role controller-gen has not generated (yet) grants nothing.
				fmt.Fprintf(os.Stderr, "bundle: warning: %s %s binds %s, which config/olm does not render; skipped\n",
					u.GetKind(), u.GetName(), key)
				continue
			}
			bound[key] = true
			perm := operatorsv1alpha1.StrategyDeploymentPermissions{ServiceAccountName: sa, Rules: rules}
			if u.GetKind() == "RoleBinding" && b.RoleRef.Kind == "Role" {
				strategy.Permissions = append(strategy.Permissions, perm)
			} else {
				strategy.ClusterPermissions = append(strategy.ClusterPermissions, perm)
			}
		}
	}
	for _, u := range objs {
		switch u.GetKind() {
		case "Deployment", "Namespace", "ServiceAccount", "RoleBinding", "ClusterRoleBinding":
		case "Role", "ClusterRole":
			if !bound[u.GetKind()+"/"+u.GetName()] {
				extra = append(extra, u)
			}
		default:
			extra = append(extra, u)
		}
	}
	csv.Spec.InstallStrategy = operatorsv1alpha1.NamedInstallStrategy{
		StrategyName: operatorsv1alpha1.InstallStrategyNameDeployment,
		StrategySpec: strategy,
	}
	return extra, deploy.Name, nil
}

// fillWebhooks turns controller-gen's webhook configurations into webhook definitions, and adds
// the conversion webhook for every CRD. OLM serves them with its own certificate.
func fillWebhooks(csv *operatorsv1alpha1.ClusterServiceVersion, configs []*unstructured.Unstructured, crds []string, deployment string) error {
	var defs []operatorsv1alpha1.WebhookDescription
	for _, u := range configs {
		var kind operatorsv1alpha1.WebhookAdmissionType
		var hooks []admissionregistrationv1.ValidatingWebhook
		switch u.GetKind() {
		case "MutatingWebhookConfiguration":
			kind = operatorsv1alpha1.MutatingAdmissionWebhook
			var m admissionregistrationv1.MutatingWebhookConfiguration
			if err := fromUnstructured(u, &m); err != nil {
				return err
			}
			for _, h := range m.Webhooks {
				hooks = append(hooks, admissionregistrationv1.ValidatingWebhook{
					Name: h.Name, ClientConfig: h.ClientConfig, Rules: h.Rules, FailurePolicy: h.FailurePolicy,
					SideEffects: h.SideEffects, TimeoutSeconds: h.TimeoutSeconds,
					AdmissionReviewVersions: h.AdmissionReviewVersions,
				})
			}
		case "ValidatingWebhookConfiguration":
			kind = operatorsv1alpha1.ValidatingAdmissionWebhook
			var v admissionregistrationv1.ValidatingWebhookConfiguration
			if err := fromUnstructured(u, &v); err != nil {
				return err
			}
			hooks = v.Webhooks
		default:
			return fmt.Errorf("unexpected %s in config/webhook/manifests.yaml", u.GetKind())
		}
		for _, h := range hooks {
			if h.ClientConfig.Service == nil || h.ClientConfig.Service.Path == nil {
				return fmt.Errorf("webhook %s has no service path", h.Name)
			}
			defs = append(defs, operatorsv1alpha1.WebhookDescription{
				GenerateName: h.Name, Type: kind, DeploymentName: deployment,
				ContainerPort: 443, TargetPort: ptr(intstr.FromInt32(9443)),
				Rules: h.Rules, FailurePolicy: h.FailurePolicy, SideEffects: h.SideEffects,
				TimeoutSeconds: h.TimeoutSeconds, AdmissionReviewVersions: h.AdmissionReviewVersions,
				WebhookPath: h.ClientConfig.Service.Path,
			})
		}
	}
	none := admissionregistrationv1.SideEffectClassNone
	defs = append(defs, operatorsv1alpha1.WebhookDescription{
		GenerateName: "cconversion.heal8s.io", Type: operatorsv1alpha1.ConversionWebhook,
		DeploymentName: deployment, ContainerPort: 443, TargetPort: ptr(intstr.FromInt32(9443)),
		SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
		WebhookPath: ptr("/convert"), ConversionCRDs: crds,
	})
	csv.Spec.WebhookDefinitions = defs
	return nil
}

// fillMetadata sets the version, name, image, createdAt, skipRange and alm-examples.
func fillMetadata(csv *operatorsv1alpha1.ClusterServiceVersion, o options, samples []*unstructured.Unstructured) error {
	v, err := parseVersion(o.version)
	if err != nil {
		return err
	}
	csv.Name = o.packageName + ".v" + o.version
	csv.Namespace = "placeholder"
	csv.Spec.Version = v
	csv.Spec.Replaces = o.replaces
	csv.Spec.RelatedImages = []operatorsv1alpha1.RelatedImage{{Name: "manager", Image: o.image}}
	if csv.Annotations == nil {
		csv.Annotations = map[string]string{}
	}
	csv.Annotations["containerImage"] = o.image
	if o.createdAt != "" {
		if _, err := time.Parse(time.RFC3339, o.createdAt); err != nil {
			return fmt.Errorf("--created-at: %w", err)
		}
		csv.Annotations["createdAt"] = o.createdAt
	}
	// Any earlier version upgrades straight to this one (no replaces chain to walk).
	csv.Annotations["olm.skipRange"] = "<" + o.version
	// alm-examples are what a user creates: v1beta1 RemediationPolicies and Notifiers. heal8s
	// creates the Remediations itself (internal-objects in the base CSV), and v1alpha1 is not
	// served (docs/api-versions.md).
	examples := make([]map[string]any, 0, len(samples))
	for _, s := range samples {
		if (s.GetKind() != "RemediationPolicy" && s.GetKind() != "Notifier") || s.GetAPIVersion() != "heal8s.io/v1beta1" {
			continue
		}
		s.SetNamespace("")
		examples = append(examples, s.Object)
	}
	if len(examples) == 0 {
		return errors.New("alm-examples: config/samples has no v1beta1 RemediationPolicy")
	}
	data, err := json.MarshalIndent(examples, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding alm-examples: %w", err)
	}
	csv.Annotations["alm-examples"] = string(data)
	return nil
}

// marshalCSV writes the CSV as YAML without its empty status or creation timestamps.
func marshalCSV(csv *operatorsv1alpha1.ClusterServiceVersion) ([]byte, error) {
	csv.APIVersion = operatorsv1alpha1.SchemeGroupVersion.String()
	csv.Kind = operatorsv1alpha1.ClusterServiceVersionKind
	raw, err := json.Marshal(csv)
	if err != nil {
		return nil, fmt.Errorf("encoding CSV: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding CSV: %w", err)
	}
	delete(m, "status")
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	deps, _, _ := unstructured.NestedSlice(m, "spec", "install", "spec", "deployments")
	for _, d := range deps {
		unstructured.RemoveNestedField(d.(map[string]any), "spec", "template", "metadata", "creationTimestamp")
	}
	if err := unstructured.SetNestedSlice(m, deps, "spec", "install", "spec", "deployments"); err != nil {
		return nil, fmt.Errorf("cleaning CSV: %w", err)
	}
	data, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding CSV: %w", err)
	}
	return data, nil
}

// parseVersion parses a semantic version the way OLM does.
func parseVersion(s string) (version.OperatorVersion, error) {
	var v version.OperatorVersion
	if err := v.UnmarshalJSON([]byte(strconv.Quote(s))); err != nil {
		return v, fmt.Errorf("parsing version %q: %w", s, err)
	}
	return v, nil
}

// manifestFile names an extra object operator-sdk's way, <name>_<group>_<version>_<kind>.yaml,
// and drops its namespace (OLM installs it into the operator's).
func manifestFile(u *unstructured.Unstructured) (string, []byte, error) {
	u = u.DeepCopy()
	u.SetNamespace("")
	gvk := u.GroupVersionKind()
	parts := []string{u.GetName()}
	if gvk.Group != "" {
		parts = append(parts, gvk.Group)
	}
	parts = append(parts, gvk.Version, strings.ToLower(gvk.Kind))
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		return "", nil, fmt.Errorf("encoding %s %s: %w", gvk.Kind, u.GetName(), err)
	}
	return strings.Join(parts, "_") + ".yaml", data, nil
}

// writeBundle replaces bundle/manifests, writes bundle/metadata/annotations.yaml and
// bundle.Dockerfile.
func writeBundle(o options, files map[string][]byte) error {
	manifests := filepath.Join(o.out, "manifests")
	metadata := filepath.Join(o.out, "metadata")
	if err := os.RemoveAll(manifests); err != nil {
		return fmt.Errorf("clearing %s: %w", manifests, err)
	}
	for _, dir := range []string{manifests, metadata} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(manifests, name), data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	labels := [][2]string{
		{"operators.operatorframework.io.bundle.mediatype.v1", "registry+v1"},
		{"operators.operatorframework.io.bundle.manifests.v1", "manifests/"},
		{"operators.operatorframework.io.bundle.metadata.v1", "metadata/"},
		{"operators.operatorframework.io.bundle.package.v1", o.packageName},
		{"operators.operatorframework.io.bundle.channels.v1", o.channels},
		{"operators.operatorframework.io.bundle.channel.default.v1", o.defaultChannel},
	}
	var ann, docker strings.Builder
	ann.WriteString("annotations:\n")
	docker.WriteString("# The OLM bundle image: make bundle writes this file, bundle/manifests and bundle/metadata;\n")
	docker.WriteString("# make bundle-build builds it.\nFROM scratch\n\n")
	for _, l := range labels {
		fmt.Fprintf(&ann, "  %s: %s\n", l[0], l[1])
		fmt.Fprintf(&docker, "LABEL %s=%s\n", l[0], l[1])
	}
	docker.WriteString("\nCOPY bundle/manifests /manifests/\nCOPY bundle/metadata /metadata/\n")
	if err := os.WriteFile(filepath.Join(metadata, "annotations.yaml"), []byte(ann.String()), 0o644); err != nil {
		return fmt.Errorf("writing annotations: %w", err)
	}
	if err := os.WriteFile(o.dockerfile, []byte(docker.String()), 0o644); err != nil {
		return fmt.Errorf("writing bundle.Dockerfile: %w", err)
	}
	return nil
}

// ptr returns a pointer to a copy of v, for optional API fields.
func ptr[T any](v T) *T { return &v }
