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

package v1alpha1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// v1alpha1 is no longer served (docs/api-versions.md): what is left of it is reading objects an
// earlier install stored as v1alpha1, and kubectl heal8s reading v1alpha1 policy files. These
// tests start from such objects as JSON, the way the API server hands them to the conversion
// webhook.

// storedRemediation is the seed's Remediation sample (config/samples before v1alpha1 stopped
// being served) as etcd holds it once the controller has moved it on.
const storedRemediation = `{"apiVersion":"heal8s.io/v1alpha1","kind":"Remediation",
 "metadata":{"name":"seed-scaleup","namespace":"default","uid":"7c4e9f0e-1111-4a2b-9c3d-2e5f6a7b8c9d",
  "resourceVersion":"4711","generation":1,"creationTimestamp":"2026-11-01T10:00:00Z","labels":{"team":"web"}},
 "spec":{"policy":"seed","rule":"hpa-maxed","alertName":"KubeHpaMaxedOut","fingerprint":"9a8b7c6d5e4f3a2b",
  "alertLabels":{"alertname":"KubeHpaMaxedOut","namespace":"default","horizontalpodautoscaler":"web"},
  "target":{"kind":"HorizontalPodAutoscaler","name":"web","namespace":"default"},
  "action":"ScaleUp","params":{"maxReplicas":"10"},"strategy":"DryRun"},
 "status":{"phase":"Succeeded","message":"maxReplicas 5 -> 10","prURL":"https://github.com/acme/deploy/pull/12","prNumber":12}}`

func TestAStoredV1alpha1RemediationReadsAsV1beta1(t *testing.T) {
	g := NewWithT(t)
	spoke := &Remediation{}
	g.Expect(yaml.UnmarshalStrict([]byte(storedRemediation), spoke)).To(Succeed())
	hub := &v1beta1.Remediation{}
	g.Expect(spoke.ConvertTo(hub)).To(Succeed())

	g.Expect(hub.Name).To(Equal("seed-scaleup"))
	g.Expect(string(hub.UID)).To(Equal("7c4e9f0e-1111-4a2b-9c3d-2e5f6a7b8c9d"), "the API server refuses a conversion that changes it")
	g.Expect(hub.ResourceVersion).To(Equal("4711"))
	g.Expect(hub.Labels).To(Equal(map[string]string{"team": "web"}))
	g.Expect(hub.Annotations).NotTo(HaveKey(AnnotationSpokeData), "everything fits v1beta1")
	g.Expect(hub.Spec.PolicyRef.Name).To(Equal("seed"))
	g.Expect(hub.Spec.Rule).To(Equal("hpa-maxed"))
	g.Expect(hub.Spec.Alert.Name).To(Equal("KubeHpaMaxedOut"))
	g.Expect(hub.Spec.Alert.Fingerprint).To(Equal("9a8b7c6d5e4f3a2b"))
	g.Expect(hub.Spec.Alert.Labels).To(HaveKeyWithValue("horizontalpodautoscaler", "web"))
	g.Expect(hub.Spec.Target.Kind).To(Equal(v1beta1.TargetKind("HorizontalPodAutoscaler")))
	g.Expect(hub.Spec.Target.Name).To(Equal("web"))
	g.Expect(*hub.Spec.Action.ScaleUp.MaxReplicas).To(BeEquivalentTo(10))
	g.Expect(hub.Spec.Strategy).To(Equal(v1beta1.StrategyDryRun))
	g.Expect(hub.Status.Phase).To(Equal(v1beta1.PhaseSucceeded))
	g.Expect(hub.Status.Message).To(Equal("maxReplicas 5 -> 10"))
	g.Expect(hub.Status.PullRequest).NotTo(BeNil())
	g.Expect(hub.Status.PullRequest.URL).To(Equal("https://github.com/acme/deploy/pull/12"))
	g.Expect(hub.Status.PullRequest.Number).To(BeEquivalentTo(12))

	// A write through v1beta1 goes back to storage as v1beta1; an unchanged read back to the
	// stored version (as the API server's own round trip does) is the same object.
	again := &Remediation{}
	g.Expect(again.ConvertFrom(hub)).To(Succeed())
	g.Expect(apiequality.Semantic.DeepEqual(again.Spec, spoke.Spec)).To(BeTrue(), "spec %+v", again.Spec)
	g.Expect(again.Status).To(Equal(spoke.Status))
}

// TestTheMigrationExampleIsTheConversion keeps docs/api-versions.md's worked example true: its
// v1beta1 policy is what the conversion makes of its v1alpha1 one.
func TestTheMigrationExampleIsTheConversion(t *testing.T) {
	g := NewWithT(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "api-versions.md"))
	g.Expect(err).NotTo(HaveOccurred())
	section := string(raw)
	start := strings.Index(section, "## Migrating a v1alpha1 manifest")
	g.Expect(start).To(BeNumerically(">=", 0))
	section = section[start:]
	var blocks []string
	for _, part := range strings.Split(section, "```yaml\n")[1:] {
		end := strings.Index(part, "```")
		g.Expect(end).To(BeNumerically(">", 0))
		blocks = append(blocks, part[:end])
		if len(blocks) == 2 {
			break
		}
	}
	g.Expect(blocks).To(HaveLen(2), "the section shows a v1alpha1 policy and its v1beta1 form")

	old := &RemediationPolicy{}
	g.Expect(yaml.UnmarshalStrict([]byte(blocks[0]), old)).To(Succeed())
	g.Expect(old.APIVersion).To(Equal(GroupVersion.String()))
	want := &v1beta1.RemediationPolicy{}
	g.Expect(yaml.UnmarshalStrict([]byte(blocks[1]), want)).To(Succeed())
	g.Expect(want.APIVersion).To(Equal(v1beta1.GroupVersion.String()))

	got := &v1beta1.RemediationPolicy{}
	g.Expect(old.ConvertTo(got)).To(Succeed())
	g.Expect(got.Annotations).To(BeEmpty(), "the example converts without anything riding along")
	g.Expect(got.ObjectMeta).To(Equal(want.ObjectMeta))
	g.Expect(apiequality.Semantic.DeepEqual(got.Spec, want.Spec)).To(BeTrue(), "converted:\n%+v\ndocumented:\n%+v", got.Spec, want.Spec)
	g.Expect(got.Spec.Safety.Cooldown.Duration).To(Equal(30 * time.Minute))
}
