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
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"
)

// dockerfiles are the repository's Dockerfiles (the bundle's is written by make bundle).
var dockerfiles = []string{"Dockerfile", "bundle.Dockerfile", "examples/memory-leak/Dockerfile"}

// pinnedImage is image:tag@sha256:<digest>: the tag says what is meant, the digest what is built.
var pinnedImage = regexp.MustCompile(`^[a-z0-9.\-/]+:[A-Za-z0-9._\-]+@sha256:[0-9a-f]{64}$`)

// TestBaseImagesArePinned holds that every base image is pinned by digest with its tag kept
// beside it, written literally in FROM (Dependabot reads no ARG there), and that Dependabot
// watches every directory with a Dockerfile.
func TestBaseImagesArePinned(t *testing.T) {
	g := NewWithT(t)
	raw, err := os.ReadFile(filepath.Join(suite.root, ".github", "dependabot.yml"))
	g.Expect(err).NotTo(HaveOccurred())
	var cfg struct {
		Updates []struct {
			Ecosystem string `json:"package-ecosystem"`
			Directory string `json:"directory"`
		} `json:"updates"`
	}
	g.Expect(yaml.Unmarshal(raw, &cfg)).To(Succeed())
	watched := map[string]bool{}
	for _, u := range cfg.Updates {
		if u.Ecosystem == "docker" {
			watched[strings.TrimSuffix(u.Directory, "/")] = true
		}
	}

	for _, name := range dockerfiles {
		content, err := os.ReadFile(filepath.Join(suite.root, name))
		g.Expect(err).NotTo(HaveOccurred())
		stages := map[string]bool{}
		images := 0
		for line := range strings.SplitSeq(string(content), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || !strings.EqualFold(fields[0], "FROM") {
				continue
			}
			args := fields[1:]
			for len(args) > 0 && strings.HasPrefix(args[0], "--") {
				args = args[1:]
			}
			g.Expect(args).NotTo(BeEmpty(), "%s: %q", name, line)
			image := args[0]
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				stages[args[2]] = true
			}
			if image == "scratch" || stages[image] {
				continue
			}
			images++
			g.Expect(image).NotTo(ContainSubstring("$"), "%s: %q comes from an ARG, which Dependabot cannot update", name, line)
			g.Expect(image).To(MatchRegexp(pinnedImage.String()), "%s: %q is not pinned as image:tag@sha256:digest", name, line)
		}
		if images > 0 {
			dir := "/" + filepath.ToSlash(filepath.Dir(name))
			dir = strings.TrimSuffix(strings.TrimSuffix(dir, "."), "/")
			g.Expect(watched).To(HaveKey(dir), "%s: Dependabot does not watch %q for docker", name, dir+"/")
		}
	}
}
