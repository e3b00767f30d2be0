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
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
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

	cmd := exec.CommandContext(t.Context(), "sh", "-c", build)
	cmd.Dir = suite.root
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
