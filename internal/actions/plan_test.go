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

package actions

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func TestPlanForDispatchesAndAPICopies(t *testing.T) {
	d := deployment(ctr("sidecar", nil, nil), ctr("app", mem("512Mi"), cpu("500m")))
	d.Spec.Template.Spec.Containers[1].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("1")
	tests := []struct {
		name   string
		action v1beta1.Action
		after  map[string]string
	}{
		{"memory", v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}, map[string]string{appLimitMem: "640Mi"}},
		{"cpu", v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{}}, map[string]string{appLimitCPU: "1250m", appRequestCPU: "625m"}},
		{"scale", v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}, map[string]string{"spec.replicas": "5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p, err := PlanFor(tt.action, Inputs{Object: d, Container: "app"})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.After).To(Equal(tt.after))
			g.Expect(p.Target.Name).To(Equal("web"))

			api := p.API()
			g.Expect(api.Patch).To(Equal(string(p.Patch)))
			g.Expect(api.Reason).To(Equal(p.Reason))
			g.Expect(api.After).To(Equal(p.After))
			g.Expect(api.Before).To(Equal(p.Before))
			api.After["x"] = "y"
			g.Expect(p.After).NotTo(HaveKey("x"))
		})
	}
}

func TestPointerEscapes(t *testing.T) {
	g := NewWithT(t)
	g.Expect(pointer([]string{"metadata", "annotations", "heal8s.io/source-path"})).To(Equal("/metadata/annotations/heal8s.io~1source-path"))
	g.Expect(pointer([]string{"a~b"})).To(Equal("/a~0b"))
	g.Expect(pointer(nil)).To(Equal(""))
}

func TestPatchBuilderNestedAdds(t *testing.T) {
	g := NewWithT(t)
	obj := map[string]any{"spec": map[string]any{"list": []any{map[string]any{"name": "a"}}}}
	b, err := newPatchBuilder(obj)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(b.set([]string{"spec", "list", "0", "x", "y", "z"}, "1")).To(Succeed())
	g.Expect(b.set([]string{"spec", "list", "0", "x", "w"}, "2")).To(Succeed())
	g.Expect(b.set([]string{"spec", "list", "5", "x"}, "3")).NotTo(Succeed())
	out, err := b.build()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(MatchJSON(`[
		{"op":"test","path":"/spec/list/0","value":{"name":"a"}},
		{"op":"add","path":"/spec/list/0/x","value":{"y":{"z":"1"}}},
		{"op":"add","path":"/spec/list/0/x/w","value":"2"}
	]`))

	empty, err := newPatchBuilder(obj)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = empty.build()
	g.Expect(err).To(MatchError(ErrNoChange))
}
