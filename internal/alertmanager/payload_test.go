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

package alertmanager

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	. "github.com/onsi/gomega"
)

// TestPayloadBounds: one sender cannot make the receiver do or store unbounded work.
func TestPayloadBounds(t *testing.T) {
	alert := func(labels map[string]string) map[string]any {
		return map[string]any{"status": "firing", "labels": labels, "fingerprint": "0123456789abcdef"}
	}
	payload := func(alerts ...map[string]any) []byte {
		b, err := json.Marshal(map[string]any{"version": "4", "status": "firing", "alerts": alerts})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	many := make([]map[string]any, MaxAlertsPerPayload+1)
	for i := range many {
		many[i] = alert(map[string]string{"alertname": "A"})
	}
	wide := map[string]string{}
	for i := range MaxLabels + 1 {
		wide[fmt.Sprintf("l%d", i)] = "v"
	}
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"too many alerts", payload(many...), "at most 1000"},
		{"too many labels", payload(alert(wide)), "65 labels"},
		{"long label value", payload(alert(map[string]string{"alertname": strings.Repeat("x", MaxLabelValueLength+1)})), "label alertname is longer"},
		{"long label name", payload(alert(map[string]string{strings.Repeat("n", MaxLabelNameLength+1): "v"})), "label name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := Decode(tt.body)
			g.Expect(err).To(MatchError(ErrBadPayload))
			g.Expect(err.Error()).To(ContainSubstring(tt.want))
		})
	}
	NewWithT(t).Expect(Decode(payload(many[:MaxAlertsPerPayload]...))).NotTo(BeNil(), "the limit itself is allowed")
}

func TestBoundedAnnotations(t *testing.T) {
	g := NewWithT(t)
	in := map[string]string{}
	for i := range MaxAnnotations + 5 {
		in[fmt.Sprintf("a%02d", i)] = "short"
	}
	in["a00"] = strings.Repeat("é", MaxAnnotationLength) // two bytes a rune: cut on a boundary
	out := boundedAnnotations(in)
	g.Expect(out).To(HaveLen(MaxAnnotations))
	g.Expect(len(out["a00"])).To(BeNumerically("<=", MaxAnnotationLength))
	g.Expect(utf8.ValidString(out["a00"])).To(BeTrue())
	g.Expect(out["a00"]).To(HaveSuffix(truncatedMarker))
	g.Expect(out["a01"]).To(Equal("short"))
	g.Expect(boundedAnnotations(nil)).To(BeNil())
	g.Expect(boundedText("ok")).To(Equal("ok"))
}

func TestBoundedAnnotationsTotal(t *testing.T) {
	g := NewWithT(t)
	in := map[string]string{
		"aaa":         strings.Repeat("a", MaxAnnotationLength),
		"bbb":         strings.Repeat("b", MaxAnnotationLength),
		"description": strings.Repeat("d", 3*MaxAnnotationLength),
		"summary":     "Container app of web was OOMKilled",
		"runbook_url": "https://runbooks.example/oom",
		"zzz":         "tiny",
	}
	out := boundedAnnotations(in)
	total := 0
	for k, v := range out {
		total += len(k) + len(v)
	}
	g.Expect(total).To(BeNumerically("<=", MaxAnnotationsTotal))
	// What people read comes first and whole where it fits.
	g.Expect(out["summary"]).To(Equal(in["summary"]))
	g.Expect(out["runbook_url"]).To(Equal(in["runbook_url"]))
	g.Expect(out["description"]).To(HaveLen(MaxAnnotationLength))
	g.Expect(out["description"]).To(HaveSuffix(truncatedMarker))
	// The rest, by name, shares what is left: aaa is cut to it, bbb and zzz find no room.
	g.Expect(out["aaa"]).To(HaveSuffix(truncatedMarker))
	g.Expect(out).NotTo(HaveKey("bbb"))
	g.Expect(out).NotTo(HaveKey("zzz"))
	g.Expect(total).To(BeNumerically(">", MaxAnnotationsTotal-minAnnotationRoom), "the budget is used")
}
