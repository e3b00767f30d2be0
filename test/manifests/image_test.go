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
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestImageBuildCommand runs the Dockerfile's own go build line (there is no container engine
// here) and checks what it produced: a static binary, built with -trimpath and CGO off, with
// the version stamped into main.version. It also checks the runtime stage is distroless and
// non-root.
func TestImageBuildCommand(t *testing.T) {
	g := NewWithT(t)
	dockerfile, err := os.ReadFile(filepath.Join(suite.root, "Dockerfile"))
	g.Expect(err).NotTo(HaveOccurred())

	build := dockerBuildCommand(t, string(dockerfile))
	const version = "v0.0.0-manifests-test"
	out := filepath.Join(t.TempDir(), "manager")
	build = strings.NewReplacer(
		"${TARGETOS:-linux}", "linux",
		"${TARGETARCH}", runtime.GOARCH,
		"${VERSION}", version,
		"-o manager", "-o "+out,
	).Replace(build)
	g.Expect(build).NotTo(ContainSubstring("${"), "unsubstituted build argument in %q", build)

	// Build in a copy of what the builder stage's COPY instructions put in the image, filtered
	// by .dockerignore, so a missing COPY or an over-eager ignore pattern fails here.
	cmd := exec.CommandContext(t.Context(), "sh", "-c", build)
	cmd.Dir = buildContext(t, string(dockerfile))
	combined, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "%s\n%s", build, combined)

	info, err := buildinfo.ReadFile(out)
	g.Expect(err).NotTo(HaveOccurred())
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	g.Expect(settings).To(HaveKeyWithValue("CGO_ENABLED", "0"))
	g.Expect(settings).To(HaveKeyWithValue("-trimpath", "true"))
	// -trimpath keeps -ldflags out of the build info, so the stamp is looked for in the binary.

	bin, err := os.ReadFile(out)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(bytes.Contains(bin, []byte(version))).To(BeTrue(),
		"the version string is not in the binary: is main.version still the variable cmd/main.go logs?")

	f, err := elf.Open(out)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		g.Expect(p.Type).NotTo(Equal(elf.PT_INTERP), "the binary is dynamically linked")
	}

	// Every flag the manager accepts is documented in docs/operations.md.
	help, _ := exec.CommandContext(t.Context(), out, "--help").CombinedOutput()
	doc, err := os.ReadFile(filepath.Join(suite.root, "docs", "operations.md"))
	g.Expect(err).NotTo(HaveOccurred())
	flags := map[string]bool{}
	for line := range strings.SplitSeq(string(help), "\n") {
		if name, ok := strings.CutPrefix(line, "  -"); ok {
			name = strings.Fields(name)[0]
			flags[name] = true
			g.Expect(string(doc)).To(ContainSubstring("`--"+name+"`"), "flag --%s is not documented in docs/operations.md", name)
		}
	}
	g.Expect(len(flags)).To(BeNumerically(">", 10), "could not read the manager's flags from --help:\n%s", help)
	checkDeployedArgsAreFlags(t, flags)

	final := lastStage(string(dockerfile))
	g.Expect(final).To(MatchRegexp(`(?m)^FROM gcr\.io/distroless/static(-debian\d+)?:nonroot`))
	g.Expect(final).To(MatchRegexp(`(?m)^USER 65532:65532`))
	g.Expect(final).To(MatchRegexp(`(?m)^ENTRYPOINT \["/manager"\]`))
}

// dockerBuildCommand returns the RUN instruction of the builder stage that runs go build, with
// its continuation lines joined.
func dockerBuildCommand(t *testing.T, dockerfile string) string {
	t.Helper()
	var run []string
	inRun := false
	sc := bufio.NewScanner(strings.NewReader(dockerfile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !inRun && strings.HasPrefix(line, "RUN ") && strings.Contains(dockerfile, "go build") {
			inRun = true
			run = run[:0]
			line = strings.TrimPrefix(line, "RUN ")
		}
		if !inRun {
			continue
		}
		cont := strings.HasSuffix(line, "\\")
		run = append(run, strings.TrimSpace(strings.TrimSuffix(line, "\\")))
		if !cont {
			inRun = false
			if cmd := strings.Join(run, " "); strings.Contains(cmd, "go build") {
				return cmd
			}
		}
	}
	t.Fatal("the Dockerfile has no RUN ... go build instruction")
	return ""
}

// lastStage returns the Dockerfile from its last FROM on: the image that ships.
func lastStage(dockerfile string) string {
	return dockerfile[strings.LastIndex(dockerfile, "\nFROM ")+1:]
}

// buildContext copies into a temporary directory what the builder stage's COPY instructions
// take from the build context, leaving out what .dockerignore excludes, and returns it.
func buildContext(t *testing.T, dockerfile string) string {
	t.Helper()
	ignore, err := os.ReadFile(filepath.Join(suite.root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.SplitSeq(string(ignore), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	dir := t.TempDir()
	builder := dockerfile[:strings.LastIndex(dockerfile, "\nFROM ")]
	for line := range strings.SplitSeq(builder, "\n") {
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[0] != "COPY" {
			continue
		}
		src := strings.TrimSuffix(fields[1], "/")
		err := filepath.WalkDir(filepath.Join(suite.root, src), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(suite.root, path)
			if err != nil || dockerIgnored(patterns, filepath.ToSlash(rel)) {
				return err
			}
			// "COPY x/ x/" and "COPY f f" both land at the same relative path.
			dst := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, data, 0o600)
		})
		if err != nil {
			t.Fatalf("copying %s into the build context: %v", src, err)
		}
	}
	return dir
}

// dockerIgnored applies .dockerignore patterns the way Docker does for the forms this
// repository uses: later patterns win, "!" re-includes, a pattern matching a directory covers
// everything under it, and "**/" matches at any depth.
func dockerIgnored(patterns []string, rel string) bool {
	parts := strings.Split(rel, "/")
	ignored := false
	for _, p := range patterns {
		include := strings.HasPrefix(p, "!")
		p = strings.TrimSuffix(strings.TrimPrefix(p, "!"), "/")
		matched := false
		for i := 1; i <= len(parts) && !matched; i++ {
			prefix := strings.Join(parts[:i], "/")
			if sub, ok := strings.CutPrefix(p, "**/"); ok {
				matched, _ = path.Match(sub, parts[i-1])
			} else {
				matched, _ = path.Match(p, prefix)
			}
		}
		if matched {
			ignored = !include
		}
	}
	return ignored
}

// checkDeployedArgsAreFlags shows every argument config/default, the Helm chart (each values
// file) and the OLM bundle pass to the manager is a flag the built manager accepts: an unknown
// flag would stop it at start.
func checkDeployedArgsAreFlags(t *testing.T, flags map[string]bool) {
	t.Helper()
	renderings := map[string][]*unstructured.Unstructured{
		"config/default": kustomizeDefault(t),
		"helm defaults":  helmTemplate(t, "heal8s", "heal8s-system"),
		"helm full":      helmTemplate(t, "heal8s", "heal8s-system", filepath.Join("test", "manifests", "testdata", "helm", "full.yaml")),
		"helm minimal":   helmTemplate(t, "heal8s", "heal8s-system", filepath.Join("test", "manifests", "testdata", "helm", "minimal.yaml")),
	}
	var args []string
	for name, objs := range renderings {
		d := deployment(t, objs)
		for _, a := range d.Spec.Template.Spec.Containers[0].Args {
			args = append(args, name+": "+a)
		}
	}
	csv := committedCSV(t)
	for _, a := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs[0].Spec.Template.Spec.Containers[0].Args {
		args = append(args, "bundle: "+a)
	}
	g := NewWithT(t)
	for _, a := range args {
		where, arg, _ := strings.Cut(a, ": ")
		name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		g.Expect(flags).To(HaveKey(name), "%s passes %s, which the manager does not accept", where, arg)
	}
}
