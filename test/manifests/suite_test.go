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

// Package manifests tests the artefacts heal8s ships: the kustomize deployment (config/default),
// the Helm chart (charts/heal8s), the OLM bundle (bundle/), the Prometheus rule files and the
// image's build command. Each rendering is applied with a server-side dry run to one envtest API
// server shared by the package, so the API server's own validation (schemas, CRD structural
// rules, RBAC, admission) is what judges them.
package manifests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	olmcrds "github.com/operator-framework/api/crds"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	heal8siov1alpha1 "github.com/heal8s/heal8s/api/v1alpha1"
	heal8siov1beta1 "github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/test/utils"
)

// fieldOwner is the server-side apply field manager of every dry run.
const fieldOwner = "heal8s-manifests-test"

// env is the package's one envtest API server; TestMain starts and stops it.
type env struct {
	client client.Client
	scheme *k8sruntime.Scheme
	root   string
	// kubeconfig is a file with a cluster-admin kubeconfig of the API server, for helm.
	kubeconfig string
	// inputs reads the tools' inputs once, inside m.Run where go test records opened files.
	inputs sync.Once
}

// suite is set once by TestMain before any test runs and never changed after.
var suite *env

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "test/manifests: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// run starts envtest with the CRDs the rendered manifests need and runs the tests against it.
func run(m *testing.M) (int, error) {
	root, err := repoRoot()
	if err != nil {
		return 0, err
	}
	assets, err := utils.EnvtestAssets()
	if err != nil {
		return 0, err
	}
	scheme, err := newScheme()
	if err != nil {
		return 0, err
	}
	te := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		ErrorIfCRDPathMissing: true,
		// No Scheme: given one with convertible types, envtest would point the CRDs' conversion
		// at its own webhook URL, and the dry runs of the rendered CRDs (with a Service) would
		// then hold both a URL and a Service.
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: []string{
				filepath.Join(root, "config", "crd", "bases"),
				filepath.Join(root, "test", "manifests", "testdata", "crds"),
			},
			CRDs: []*apiextensionsv1.CustomResourceDefinition{olmcrds.ClusterServiceVersion()},
		},
	}
	cfg, err := te.Start()
	if err != nil {
		return 0, fmt.Errorf("starting envtest: %w", err)
	}
	defer func() { _ = te.Stop() }()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return 0, fmt.Errorf("creating client: %w", err)
	}
	kubeconfig, err := writeKubeconfig(te)
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(filepath.Dir(kubeconfig)) }()
	suite = &env{client: c, scheme: scheme, root: root, kubeconfig: kubeconfig}
	return m.Run(), nil
}

// writeKubeconfig writes a kubeconfig of a cluster-admin user of te's API server into a new
// temporary directory, for tools (helm) that run as other processes.
func writeKubeconfig(te *envtest.Environment) (string, error) {
	user, err := te.AddUser(envtest.User{Name: "heal8s-manifests-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("adding an admin user to envtest: %w", err)
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("writing the admin user's kubeconfig: %w", err)
	}
	dir, err := os.MkdirTemp("", "heal8s-manifests-")
	if err != nil {
		return "", fmt.Errorf("creating a directory for the kubeconfig: %w", err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return "", fmt.Errorf("writing the kubeconfig: %w", err)
	}
	return path, nil
}

// newScheme is the project's scheme (what cmd/main.go registers) plus the CRD type, so rendered
// objects of those kinds decode into their Go types.
func newScheme() (*k8sruntime.Scheme, error) {
	s := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{
		clientgoscheme.AddToScheme, heal8siov1beta1.AddToScheme, heal8siov1alpha1.AddToScheme,
		apiextensionsv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building scheme: %w", err)
		}
	}
	return s, nil
}

// repoRoot is the module root, two directories above this file.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("locating test/manifests")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

// tool returns the path of a tool that make builds into bin/ ($HELM, $KUSTOMIZE override it). A
// missing tool fails the test: `make test` builds them first.
func tool(t *testing.T, name, envVar string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p := filepath.Join(suite.root, "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found at %s: run 'make %s' (make test builds it)", name, p, name)
	}
	return p
}

// runTool runs a command in the repository root and returns its standard output; a non-zero
// exit fails the test with standard error.
func runTool(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := execTool(t, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// execTool runs a command in the repository root; the error carries standard error.
func execTool(t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	suite.inputs.Do(func() {
		if err := readInputs(suite.root); err != nil {
			t.Fatal(err)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = suite.root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %v: %w\n%s", filepath.Base(name), args, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// utilsK8sVersion is the Kubernetes version charts are rendered for: the envtest API server's.
func utilsK8sVersion() string {
	return utils.EnvtestK8sVersion
}

// decodeAll splits a multi-document YAML stream into objects, dropping empty documents.
func decodeAll(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decoding document %d: %w", len(out)+1, err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// typed converts an object into its Go type with the project's scheme. Kinds outside the scheme
// (cert-manager's, the Prometheus Operator's) are returned as they are; a known kind that does not
// convert is an error.
func typed(u *unstructured.Unstructured) (k8sruntime.Object, error) {
	gvk := u.GroupVersionKind()
	if !suite.scheme.Recognizes(gvk) {
		return u, nil
	}
	obj, err := suite.scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", gvk, err)
	}
	if err := k8sruntime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, obj, true); err != nil {
		return nil, fmt.Errorf("decoding %s %s strictly: %w", gvk.Kind, u.GetName(), err)
	}
	return obj, nil
}

// dryRunApply applies every object with a server-side dry run. Namespaces the objects live in
// are created for real first, as the API server refuses objects in a namespace that does not
// exist.
func dryRunApply(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := t.Context()
	for _, u := range objs {
		ns := u.GetNamespace()
		if u.GetKind() == "Namespace" {
			ns = u.GetName()
		}
		if ns == "" {
			continue
		}
		err := suite.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}
	for _, u := range objs {
		err := suite.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()),
			client.DryRunAll, client.FieldOwner(fieldOwner), client.ForceOwnership)
		if err != nil {
			t.Errorf("server-side dry run of %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
}

// byKind returns the objects of one kind.
func byKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// readInputs reads every file kustomize, helm and go build read for these tests. go test caches
// a passing result until a file the test process opened (while m.Run runs) changes; the tools
// run in other processes, so without this an edit to, say, config/manager/manager.yaml would
// not rerun them.
func readInputs(root string) error {
	for _, dir := range []string{"config", "charts", "bundle", "examples", "hack/bundle", "cmd", "api", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			_, err = os.ReadFile(path)
			return err
		})
		if err != nil {
			return fmt.Errorf("reading test inputs: %w", err)
		}
	}
	for _, f := range []string{"Dockerfile", "bundle.Dockerfile", "go.mod", "go.sum", "Makefile"} {
		if _, err := os.ReadFile(filepath.Join(root, f)); err != nil {
			return fmt.Errorf("reading test inputs: %w", err)
		}
	}
	return nil
}
