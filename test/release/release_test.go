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

// Package release runs the steps of the release workflow (.github/workflows/release.yml) that
// need no registry: `make release-files` for a made-up tag, and checks that every file it
// writes is there and carries the tag's version. The image build, the pushes and the signatures
// run only in the workflow.
package release

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	// tag is a made-up release tag with a pre-release part, the hardest form to substitute.
	tag     = "v9.8.7-rc.1"
	version = "9.8.7-rc.1"
	image   = "ghcr.io/example/heal8s"
)

// platforms are the manager's release platforms (RELEASE_PLATFORMS in the Makefile) and the
// ELF machine each binary must be built for. The kubectl plugin is built for the Linux ones here
// (its darwin builds differ only in GOOS).
var platforms = map[string]elf.Machine{
	"linux_amd64": elf.EM_X86_64,
	"linux_arm64": elf.EM_AARCH64,
}

func TestReleaseFiles(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	cmd := exec.Command("make", "--no-print-directory", "release-files",
		"RELEASE_TAG="+tag, "RELEASE_IMAGE="+image, "DIST="+dist,
		"PLUGIN_PLATFORMS=linux/amd64 linux/arm64")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release-files: %v\n%s", err, out)
	}

	t.Run("manager binaries", func(t *testing.T) { checkManagers(t, root, dist) })
	t.Run("kubectl-heal8s archives", func(t *testing.T) { checkPluginArchives(t, root, dist) })
	t.Run("krew manifest", func(t *testing.T) { checkKrewManifest(t, root, dist) })
	t.Run("install.yaml", func(t *testing.T) { checkInstallYAML(t, root, dist) })
	t.Run("chart", func(t *testing.T) { checkChart(t, root, dist) })
	t.Run("bundle", func(t *testing.T) { checkBundle(t, root, dist) })
	t.Run("checksums", func(t *testing.T) { checkChecksums(t, root, dist) })
}

func checkManagers(t *testing.T, root, dist string) {
	t.Helper()
	for plat, machine := range platforms {
		path := filepath.Join(dist, "manager_"+plat)
		checkELF(t, path, machine)
		checkContains(t, path, "main.version", tag)
	}
}

func checkPluginArchives(t *testing.T, root, dist string) {
	t.Helper()
	for plat, machine := range platforms {
		files := untar(t, filepath.Join(dist, "kubectl-heal8s_"+plat+".tar.gz"))
		bin, ok := files["kubectl-heal8s"]
		if !ok {
			t.Fatalf("%s: no kubectl-heal8s at the archive's root (krew's files: from: kubectl-heal8s)", plat)
		}
		if _, ok := files["LICENSE"]; !ok {
			t.Errorf("%s: no LICENSE in the archive", plat)
		}
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("%s: kubectl-heal8s is not an ELF binary: %v", plat, err)
		}
		if f.Machine != machine {
			t.Errorf("%s: kubectl-heal8s built for %v, want %v", plat, f.Machine, machine)
		}
		if !bytes.Contains(bin, []byte(tag)) {
			t.Errorf("%s: kubectl-heal8s does not carry the version %s", plat, tag)
		}
	}
}

func checkKrewManifest(t *testing.T, root, dist string) {
	t.Helper()
	raw := read(t, filepath.Join(dist, "heal8s.krew.yaml"))
	var plugin struct {
		Spec struct {
			Version   string `json:"version"`
			Platforms []struct {
				URI    string `json:"uri"`
				SHA256 string `json:"sha256"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &plugin); err != nil {
		t.Fatalf("heal8s.krew.yaml: %v", err)
	}
	if plugin.Spec.Version != tag {
		t.Errorf("krew spec.version = %q, want %q", plugin.Spec.Version, tag)
	}
	for plat := range platforms {
		archive := "kubectl-heal8s_" + plat + ".tar.gz"
		found := false
		for _, p := range plugin.Spec.Platforms {
			if !strings.HasSuffix(p.URI, "/"+archive) {
				continue
			}
			found = true
			if want := "https://github.com/heal8s/heal8s/releases/download/" + tag + "/" + archive; p.URI != want {
				t.Errorf("krew uri = %q, want %q", p.URI, want)
			}
			if want := sum(t, filepath.Join(dist, archive)); p.SHA256 != want {
				t.Errorf("krew sha256 of %s = %q, want %q", archive, p.SHA256, want)
			}
		}
		if !found {
			t.Errorf("krew manifest has no platform for %s", archive)
		}
	}
}

func checkInstallYAML(t *testing.T, root, dist string) {
	t.Helper()
	objs := decode(t, read(t, filepath.Join(dist, "install.yaml")))
	var crds, deployments int
	for _, o := range objs {
		switch o.GetKind() {
		case "CustomResourceDefinition":
			crds++
		case "Deployment":
			deployments++
			d := &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d); err != nil {
				t.Fatal(err)
			}
			if got := d.Spec.Template.Spec.Containers[0].Image; got != image+":"+tag {
				t.Errorf("install.yaml manager image = %q, want %q", got, image+":"+tag)
			}
		}
	}
	// Every CRD controller-gen writes, and the one manager.
	bases, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("listing config/crd/bases: %v (%d files)", err, len(bases))
	}
	if crds != len(bases) || deployments != 1 {
		t.Errorf("install.yaml has %d CRDs and %d Deployments, want %d and 1", crds, deployments, len(bases))
	}
}

func checkChart(t *testing.T, root, dist string) {
	t.Helper()
	pkg := filepath.Join(dist, "heal8s-"+version+".tgz")
	files := untar(t, pkg)
	var chart struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(files["heal8s/Chart.yaml"], &chart); err != nil {
		t.Fatalf("Chart.yaml in %s: %v", pkg, err)
	}
	if chart.Version != version || chart.AppVersion != version {
		t.Errorf("chart version %q appVersion %q, want both %q", chart.Version, chart.AppVersion, version)
	}
	// The packaged chart installs the tag's image by default.
	out, err := exec.Command(filepath.Join(root, "bin", "helm"), "template", "heal8s", pkg,
		"--namespace", "heal8s-system", "--kube-version", "1.37.2").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", pkg, err, out)
	}
	if want := "image: ghcr.io/heal8s/heal8s:" + tag; !strings.Contains(string(out), want) {
		t.Errorf("the packaged chart does not render %q", want)
	}
}

func checkBundle(t *testing.T, root, dist string) {
	t.Helper()
	files := untar(t, filepath.Join(dist, "heal8s-bundle-"+tag+".tar.gz"))
	var csv *unstructured.Unstructured
	for name, b := range files {
		if strings.HasSuffix(name, ".clusterserviceversion.yaml") {
			objs := decode(t, b)
			csv = objs[0]
		}
	}
	if csv == nil {
		t.Fatal("the bundle archive has no ClusterServiceVersion")
	}
	if _, ok := files["bundle/metadata/annotations.yaml"]; !ok {
		t.Error("the bundle archive has no metadata/annotations.yaml")
	}
	if _, ok := files["bundle.Dockerfile"]; !ok {
		t.Error("the bundle archive has no bundle.Dockerfile")
	}
	if got, want := csv.GetName(), "heal8s.v"+version; got != want {
		t.Errorf("CSV name = %q, want %q", got, want)
	}
	if got, _, _ := unstructured.NestedString(csv.Object, "spec", "version"); got != version {
		t.Errorf("CSV spec.version = %q, want %q", got, version)
	}
	if got := csv.GetAnnotations()["containerImage"]; got != image+":"+tag {
		t.Errorf("CSV containerImage = %q, want %q", got, image+":"+tag)
	}
}

func checkChecksums(t *testing.T, root, dist string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			t.Fatalf("checksums.txt line %q", sc.Text())
		}
		if got := sum(t, filepath.Join(dist, fields[1])); got != fields[0] {
			t.Errorf("checksums.txt: %s is %s, file is %s", fields[1], fields[0], got)
		}
		n++
	}
	// 2 managers, 2 plugin archives, install.yaml, the chart, the bundle, the krew manifest.
	if n != 8 {
		t.Errorf("checksums.txt lists %d files, want 8", n)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(t *testing.T, path string) string {
	t.Helper()
	h := sha256.Sum256(read(t, path))
	return hex.EncodeToString(h[:])
}

func checkELF(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer func() { _ = f.Close() }()
	if f.Machine != machine {
		t.Errorf("%s built for %v, want %v", path, f.Machine, machine)
	}
}

// checkContains looks for the version stamped with -X main.version in the binary's data.
func checkContains(t *testing.T, path, what, s string) {
	t.Helper()
	if !bytes.Contains(read(t, path), []byte(s)) {
		t.Errorf("%s: %s %q not found in the binary", path, what, s)
	}
}

func untar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", path, h.Name, err)
		}
		files[strings.TrimPrefix(h.Name, "./")] = b
	}
}

func decode(t *testing.T, raw []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		o := &unstructured.Unstructured{}
		if err := d.Decode(&o.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatal(err)
		}
		if len(o.Object) > 0 {
			objs = append(objs, o)
		}
	}
}
