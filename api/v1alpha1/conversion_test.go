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
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/randfill"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// objectsPerDirection is how many random objects each round-trip test converts each way.
const objectsPerDirection = 1000

var actionNames = []string{"IncreaseMemory", "IncreaseCPU", "ScaleUp", "RollbackImage", "Reboot", ""}
var paramKeys = []string{ParamPercent, ParamMinIncrease, ParamRoundTo, ParamMax, ParamMaxReplicas, ParamMaxRevisions, "color"}
var quantityForms = []string{"%dMi", "%dGi", "%dm", "%d", "%dk", "%dM", "%dKi"}

// filler makes random objects shaped like real ones often enough to reach every conversion path:
// known action names and parameter keys, parsable and unparsable values, matchers the seed's
// shape can and cannot hold.
func filler(f *randfill.Filler) *randfill.Filler {
	return f.NilChance(0.2).NumElements(0, 3).MaxDepth(8).Funcs(
		func(m *metav1.ObjectMeta, c randfill.Continue) {
			m.Name = c.String(12)
			m.Namespace = c.String(8)
			c.Fill(&m.Labels)
			c.Fill(&m.Annotations)
		},
		func(tm *metav1.TypeMeta, _ randfill.Continue) {},
		func(t *metav1.Time, c randfill.Continue) {
			*t = metav1.NewTime(time.Unix(c.Int63n(4e9), 0).UTC())
		},
		func(d *metav1.Duration, c randfill.Continue) {
			d.Duration = time.Duration(c.Int63n(1e6)) * time.Second
		},
		func(q *resource.Quantity, c randfill.Continue) {
			*q = resource.MustParse(fmt.Sprintf(quantityForms[c.Intn(len(quantityForms))], c.Intn(100000)))
		},
		func(p *map[string]string, c randfill.Continue) {
			if c.Intn(5) == 0 {
				return
			}
			*p = map[string]string{}
			for i := c.Intn(4); i > 0; i-- {
				k := paramKeys[c.Intn(len(paramKeys))]
				switch c.Intn(3) {
				case 0:
					(*p)[k] = fmt.Sprint(c.Intn(2000) - 500)
				case 1:
					(*p)[k] = fmt.Sprintf(quantityForms[c.Intn(len(quantityForms))], c.Intn(100000))
				default:
					(*p)[k] = c.String(6)
				}
			}
		},
		func(r *Rule, c randfill.Continue) {
			c.FillNoCustom(r)
			r.Action = actionNames[c.Intn(len(actionNames))]
			c.Fill(&r.Params)
		},
		func(s *RemediationSpec, c randfill.Continue) {
			c.FillNoCustom(s)
			s.Action = actionNames[c.Intn(len(actionNames))]
			c.Fill(&s.Params)
			s.AlertLabels = nil
			c.Fill(&s.AlertLabels)
		},
		func(r *v1beta1.Rule, c randfill.Continue) {
			c.FillNoCustom(r)
			if c.Bool() {
				r.Matchers = []string{alertNameMatcher(c.String(10))}
			}
		},
	)
}

// viaJSON stores and reads back obj the way the API server does between two conversions.
func viaJSON[T any](g Gomega, obj *T) *T {
	raw, err := json.Marshal(obj)
	g.Expect(err).NotTo(HaveOccurred())
	out := new(T)
	g.Expect(json.Unmarshal(raw, out)).To(Succeed())
	return out
}

func expectSemanticallyEqual(g Gomega, got, want any) {
	g.Expect(apiequality.Semantic.DeepEqual(got, want)).To(BeTrue(), "round trip changed the object:\n%s", cmp.Diff(want, got))
}

func TestRemediationConversionRoundTrip(t *testing.T) {
	g := NewWithT(t)
	f := filler(randfill.NewWithSeed(rand.Int63()))
	for range objectsPerDirection {
		spoke := &Remediation{}
		f.Fill(spoke)
		roundTripRemediationSpoke(g, spoke)

		hub := &v1beta1.Remediation{}
		f.Fill(hub)
		roundTripRemediationHub(g, hub)
	}
}

func TestRemediationPolicyConversionRoundTrip(t *testing.T) {
	g := NewWithT(t)
	f := filler(randfill.NewWithSeed(rand.Int63()))
	for range objectsPerDirection {
		spoke := &RemediationPolicy{}
		f.Fill(spoke)
		roundTripPolicySpoke(g, spoke)

		hub := &v1beta1.RemediationPolicy{}
		f.Fill(hub)
		roundTripPolicyHub(g, hub)
	}
}

func roundTripRemediationSpoke(g Gomega, spoke *Remediation) {
	hub := &v1beta1.Remediation{}
	g.Expect(spoke.DeepCopy().ConvertTo(hub)).To(Succeed())
	back := &Remediation{}
	g.Expect(back.ConvertFrom(viaJSON(g, hub))).To(Succeed())
	expectSemanticallyEqual(g, back, spoke)
}

// roundTripRemediationHub checks a hub's spec and metadata survive v1alpha1; its status comes
// back as far as v1alpha1 carries it, since status never rides in an annotation.
func roundTripRemediationHub(g Gomega, hub *v1beta1.Remediation) {
	spoke := &Remediation{}
	g.Expect(spoke.ConvertFrom(hub.DeepCopy())).To(Succeed())
	back := &v1beta1.Remediation{}
	g.Expect(viaJSON(g, spoke).ConvertTo(back)).To(Succeed())
	want := hub.DeepCopy()
	want.Status = remediationToHub(remediationFromHub(remediationHubFields{Spec: hub.Spec, Status: hub.Status})).Status
	expectSemanticallyEqual(g, back, want)
}

func roundTripPolicySpoke(g Gomega, spoke *RemediationPolicy) {
	hub := &v1beta1.RemediationPolicy{}
	g.Expect(spoke.DeepCopy().ConvertTo(hub)).To(Succeed())
	back := &RemediationPolicy{}
	g.Expect(back.ConvertFrom(viaJSON(g, hub))).To(Succeed())
	expectSemanticallyEqual(g, back, spoke)
}

func roundTripPolicyHub(g Gomega, hub *v1beta1.RemediationPolicy) {
	spoke := &RemediationPolicy{}
	g.Expect(spoke.ConvertFrom(hub.DeepCopy())).To(Succeed())
	back := &v1beta1.RemediationPolicy{}
	g.Expect(viaJSON(g, spoke).ConvertTo(back)).To(Succeed())
	want := hub.DeepCopy()
	want.Status = policyToHub(policyFromHub(policyHubFields{Spec: hub.Spec, Status: hub.Status})).Status
	expectSemanticallyEqual(g, back, want)
}

// FuzzConversionRoundTrip drives the same round trips from Go's fuzzer: `make fuzz` runs it for
// longer; plain `go test` runs the seed corpus.
func FuzzConversionRoundTrip(f *testing.F) {
	for _, seed := range []string{"", "heal8s", "\x00\x01\x02\x03\x04\x05\x06\x07", "IncreaseMemory percent=25"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := NewWithT(t)
		fill := filler(randfill.NewFromGoFuzz(data))
		var (
			rs  Remediation
			rh  v1beta1.Remediation
			ps  RemediationPolicy
			phb v1beta1.RemediationPolicy
		)
		fill.Fill(&rs)
		fill.Fill(&rh)
		fill.Fill(&ps)
		fill.Fill(&phb)
		roundTripRemediationSpoke(g, &rs)
		roundTripRemediationHub(g, &rh)
		roundTripPolicySpoke(g, &ps)
		roundTripPolicyHub(g, &phb)
	})
}

func TestConversionCarriesTheSeedShape(t *testing.T) {
	g := NewWithT(t)
	spoke := &RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team-a"},
		Spec: RemediationPolicySpec{
			Rules: []Rule{{Name: "oom", AlertName: "KubePodOOMKilled", Action: "IncreaseMemory",
				Params: map[string]string{"percent": "50", "max": "4Gi"}}},
			Repository: "acme/deploy", SecretName: "github",
		},
	}
	hub := &v1beta1.RemediationPolicy{}
	g.Expect(spoke.ConvertTo(hub)).To(Succeed())
	g.Expect(hub.Annotations).NotTo(HaveKey(AnnotationSpokeData), "nothing was lost, so nothing rides along")
	g.Expect(hub.Spec.Rules[0].Matchers).To(Equal([]string{`alertname="KubePodOOMKilled"`}))
	g.Expect(*hub.Spec.Rules[0].Action.IncreaseMemory.Percent).To(BeEquivalentTo(50))
	g.Expect(hub.Spec.Rules[0].Action.IncreaseMemory.Max.String()).To(Equal("4Gi"))
	g.Expect(hub.Spec.Git.Repository).To(Equal("acme/deploy"))
	g.Expect(hub.Spec.Git.SecretRef.Name).To(Equal("github"))
}

func TestConversionKeepsWhatTheSpokeCannotHold(t *testing.T) {
	g := NewWithT(t)
	hub := &v1beta1.RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team-a"},
		Spec: v1beta1.RemediationPolicySpec{Rules: []v1beta1.Rule{{
			Name:     "oom",
			Matchers: []string{`alertname="KubePodOOMKilled"`, `severity=~"warning|critical"`},
			Action:   v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}},
		}}},
	}
	spoke := &RemediationPolicy{}
	g.Expect(spoke.ConvertFrom(hub)).To(Succeed())
	g.Expect(spoke.Spec.Rules[0].AlertName).To(BeEmpty(), "two matchers do not fit the seed's alertName")
	g.Expect(spoke.Annotations).To(HaveKey(AnnotationHubData))

	back := &v1beta1.RemediationPolicy{}
	g.Expect(spoke.ConvertTo(back)).To(Succeed())
	g.Expect(back.Spec.Rules[0].Matchers).To(HaveLen(2))
	g.Expect(back.Annotations).To(BeEmpty())
}

func TestConversionLetsAnEditInTheSpokeWin(t *testing.T) {
	g := NewWithT(t)
	hub := &v1beta1.Remediation{
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "team-a"},
		Spec: v1beta1.RemediationSpec{
			Alert:  v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "abc", GeneratorURL: "http://prom/graph"},
			Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{MaxReplicas: ptr(int32(10))}},
		},
	}
	spoke := &Remediation{}
	g.Expect(spoke.ConvertFrom(hub)).To(Succeed())
	g.Expect(spoke.Annotations).To(HaveKey(AnnotationHubData), "generatorURL does not fit the spoke")

	spoke.Spec.Params[ParamMaxReplicas] = "20"
	back := &v1beta1.Remediation{}
	g.Expect(spoke.ConvertTo(back)).To(Succeed())
	g.Expect(*back.Spec.Action.ScaleUp.MaxReplicas).To(BeEquivalentTo(20), "the edit wins over the stored original")
}

func ptr[T any](v T) *T { return &v }

// TestConversionNeverRestoresStatusFromAnAnnotation is the forged-status attack: a user who may
// update Remediations (not their status) writes v1alpha1 with a heal8s.io/v1beta1-data
// annotation carrying a plan, a merged pull request and a Succeeded phase. None of it reaches the
// v1beta1 status the engine reads.
func TestConversionNeverRestoresStatusFromAnAnnotation(t *testing.T) {
	g := NewWithT(t)
	forged := `{"spec":{"policyRef":{"name":"p"},"rule":"r","alert":{"name":"A","fingerprint":"f"},` +
		`"target":{"apiVersion":"apps/v1","kind":"Deployment","name":"web","namespace":"shop"},` +
		`"action":{"rollbackImage":{}},"strategy":"Direct"},` +
		`"status":{"phase":"Proposed","plan":{"patch":"[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"evil:1\"}]"},` +
		`"pullRequest":{"number":7,"state":"merged","merged":true}}}`
	spoke := &Remediation{
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "shop", Annotations: map[string]string{AnnotationHubData: forged}},
		Spec: RemediationSpec{Policy: "p", Rule: "r", AlertName: "A", Fingerprint: "f", Action: "RollbackImage", Strategy: "Direct",
			Target: Target{Kind: "Deployment", Name: "web", Namespace: "shop"}},
		Status: RemediationStatus{Phase: "Proposed"},
	}
	hub := &v1beta1.Remediation{}
	g.Expect(spoke.ConvertTo(hub)).To(Succeed())
	g.Expect(hub.Status.Plan).To(BeNil(), "a plan never comes from an annotation")
	g.Expect(hub.Status.PullRequest).To(BeNil(), "nor a pull request")
	g.Expect(hub.Status.Phase).To(Equal(v1beta1.PhaseProposed), "the v1alpha1 status itself converts field by field")
	g.Expect(hub.Annotations).NotTo(HaveKey(AnnotationHubData))
	g.Expect(hub.Spec.Action.RollbackImage).NotTo(BeNil(), "the spec is restored from a consistent annotation")
}
