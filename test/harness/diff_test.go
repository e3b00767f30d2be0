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

package harness

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestUnifiedDiffShowsOnlyChangedLinesWithContext(t *testing.T) {
	g := NewWithT(t)
	before := strings.Join([]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, "\n")
	after := strings.Replace(before, "e", "E", 1)
	got := UnifiedDiff("x.yaml", before, after)
	g.Expect(got).To(Equal("--- a/x.yaml\n+++ b/x.yaml\n@@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"))
	g.Expect(UnifiedDiff("x.yaml", before, before)).To(Equal("--- a/x.yaml\n+++ b/x.yaml\n"))
}
