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
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/heal8s/heal8s/api/v1beta1"
)

const (
	appLimitMem   = "spec.template.spec.containers[app].resources.limits.memory"
	appRequestMem = "spec.template.spec.containers[app].resources.requests.memory"
	appLimitCPU   = "spec.template.spec.containers[app].resources.limits.cpu"
	appRequestCPU = "spec.template.spec.containers[app].resources.requests.cpu"
)

func qp(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

// templateOf returns the pod spec of a decoded workload.
func templateOf(obj runtime.Object) *corev1.PodSpec {
	tmpl, err := podTemplate(obj)
	if err != nil {
		panic(err)
	}
	return &tmpl.Spec
}

func TestPlanIncreaseMemory(t *testing.T) {
	tests := []struct {
		name      string
		obj       runtime.Object
		container string
		params    *v1beta1.IncreaseMemoryAction
		before    map[string]string
		after     map[string]string
		reason    []string
		paths     []string
		err       error
	}{{
		name:   "defaults: +25% wins, request follows the factor",
		obj:    deployment(ctr("app", mem("512Mi"), mem("256Mi"))),
		before: map[string]string{appLimitMem: "512Mi", appRequestMem: "256Mi"},
		after:  map[string]string{appLimitMem: "640Mi", appRequestMem: "320Mi"},
		reason: []string{`from 512Mi to 640Mi`, `+25% of 512Mi is 640Mi`, `the larger is the percentage`, `x1.25`, `from 256Mi to 320Mi`},
		paths: []string{
			"test /spec/template/spec/containers/0/name",
			"test /spec/template/spec/containers/0/resources/limits/memory",
			"test /spec/template/spec/containers/0/resources/requests/memory",
			"replace /spec/template/spec/containers/0/resources/limits/memory",
			"replace /spec/template/spec/containers/0/resources/requests/memory",
		},
	}, {
		name:   "small limit: the minimum increase wins, request rounds up to 64Mi",
		obj:    deployment(ctr("app", mem("128Mi"), mem("64Mi"))),
		before: map[string]string{appLimitMem: "128Mi", appRequestMem: "64Mi"},
		after:  map[string]string{appLimitMem: "192Mi", appRequestMem: "128Mi"},
		reason: []string{`the minimum increase of 64Mi gives 192Mi`, `the larger is the minimum increase`, `x1.5`},
	}, {
		name:   "Gi input stays readable in Mi",
		obj:    deployment(ctr("app", mem("1Gi"), nil)),
		before: map[string]string{appLimitMem: "1Gi"},
		after:  map[string]string{appLimitMem: "1280Mi"},
	}, {
		name:   "rounding up to 64Mi then the cap",
		obj:    deployment(ctr("app", mem("1800Mi"), mem("1800Mi"))),
		before: map[string]string{appLimitMem: "1800Mi", appRequestMem: "1800Mi"},
		after:  map[string]string{appLimitMem: "2Gi", appRequestMem: "2Gi"},
		reason: []string{`rounded up to a multiple of 64Mi is 2304Mi`, `capped at the policy maximum of 2Gi`},
	}, {
		name:   "decimal M rounds up to whole 64Mi",
		obj:    deployment(ctr("app", mem("500M"), nil)),
		before: map[string]string{appLimitMem: "500M"},
		after:  map[string]string{appLimitMem: "640Mi"},
		reason: []string{`+25% of 500M is 625M`},
	}, {
		name:   "plain bytes",
		obj:    deployment(ctr("app", mem("300000000"), nil)),
		before: map[string]string{appLimitMem: "300M"},
		after:  map[string]string{appLimitMem: "384Mi"},
	}, {
		name:   "decimal roundTo keeps decimal output",
		obj:    deployment(ctr("app", mem("1G"), mem("400M"))),
		params: &v1beta1.IncreaseMemoryAction{RoundTo: qp("100M"), Max: qp("4Gi")},
		before: map[string]string{appLimitMem: "1G", appRequestMem: "400M"},
		after:  map[string]string{appLimitMem: "1300M", appRequestMem: "600M"},
		reason: []string{`rounded up to a multiple of 100M is 1300M`},
	}, {
		name:   "no rounding, custom percent and minimum",
		obj:    deployment(ctr("app", mem("1000"), mem("1000"))),
		params: &v1beta1.IncreaseMemoryAction{Percent: ptr.To[int32](10), MinIncrease: qp("0"), RoundTo: qp("1")},
		before: map[string]string{appLimitMem: "1k", appRequestMem: "1k"},
		after:  map[string]string{appLimitMem: "1100", appRequestMem: "1100"},
	}, {
		name:   "custom cap below the rounded value",
		obj:    deployment(ctr("app", mem("900Mi"), mem("450Mi"))),
		params: &v1beta1.IncreaseMemoryAction{Max: qp("1Gi")},
		before: map[string]string{appLimitMem: "900Mi", appRequestMem: "450Mi"},
		after:  map[string]string{appLimitMem: "1Gi", appRequestMem: "512Mi"},
		reason: []string{`capped at the policy maximum of 1Gi`},
	}, {
		name:   "no limit: based on the request, limits map added",
		obj:    deployment(ctr("app", nil, mem("300Mi"))),
		before: map[string]string{appRequestMem: "300Mi"},
		after:  map[string]string{appLimitMem: "384Mi", appRequestMem: "384Mi"},
		reason: []string{`from unset to 384Mi`, `based on the request of 300Mi, as no memory limit is set`},
		paths: []string{
			"test /spec/template/spec/containers/0/name",
			"test /spec/template/spec/containers/0/resources",
			"test /spec/template/spec/containers/0/resources/requests/memory",
			"add /spec/template/spec/containers/0/resources/limits",
			"replace /spec/template/spec/containers/0/resources/requests/memory",
		},
	}, {
		name:   "neither limit nor request: the floor",
		obj:    deployment(ctr("app", nil, nil)),
		before: map[string]string{},
		after:  map[string]string{appLimitMem: "320Mi"},
		reason: []string{`based on the floor of 256Mi, as neither a memory limit nor a request is set`},
		paths: []string{
			"test /spec/template/spec/containers/0/name",
			"test /spec/template/spec/containers/0/resources",
			"add /spec/template/spec/containers/0/resources/limits",
		},
	}, {
		name:   "a zero limit counts as unset but is replaced, not added",
		obj:    deployment(ctr("app", mem("0"), nil)),
		before: map[string]string{appLimitMem: "0"},
		after:  map[string]string{appLimitMem: "320Mi"},
		paths: []string{
			"test /spec/template/spec/containers/0/name",
			"test /spec/template/spec/containers/0/resources/limits/memory",
			"replace /spec/template/spec/containers/0/resources/limits/memory",
		},
	}, {
		name:   "limit without request leaves requests alone",
		obj:    deployment(ctr("app", mem("256Mi"), nil)),
		before: map[string]string{appLimitMem: "256Mi"},
		after:  map[string]string{appLimitMem: "320Mi"},
	}, {
		name:   "limits with only cpu: memory key added, limits map guarded",
		obj:    deployment(ctr("app", cpu("500m"), mem("100Mi"))),
		before: map[string]string{appRequestMem: "100Mi"},
		after:  map[string]string{appLimitMem: "192Mi", appRequestMem: "192Mi"},
		paths: []string{
			"test /spec/template/spec/containers/0/name",
			"test /spec/template/spec/containers/0/resources/limits",
			"test /spec/template/spec/containers/0/resources/requests/memory",
			"add /spec/template/spec/containers/0/resources/limits/memory",
			"replace /spec/template/spec/containers/0/resources/requests/memory",
		},
	}, {
		name:      "named container among several",
		obj:       deployment(ctr("sidecar", mem("64Mi"), nil), ctr("app", mem("512Mi"), mem("512Mi"))),
		container: "app",
		before:    map[string]string{appLimitMem: "512Mi", appRequestMem: "512Mi"},
		after:     map[string]string{appLimitMem: "640Mi", appRequestMem: "640Mi"},
		paths: []string{
			"test /spec/template/spec/containers/1/name",
			"test /spec/template/spec/containers/1/resources/limits/memory",
			"test /spec/template/spec/containers/1/resources/requests/memory",
			"replace /spec/template/spec/containers/1/resources/limits/memory",
			"replace /spec/template/spec/containers/1/resources/requests/memory",
		},
	}, {
		name:   "StatefulSet",
		obj:    statefulSet(ctr("app", mem("512Mi"), nil)),
		before: map[string]string{appLimitMem: "512Mi"},
		after:  map[string]string{appLimitMem: "640Mi"},
	}, {
		name:      "DaemonSet",
		obj:       daemonSet(ctr("app", mem("512Mi"), nil)),
		container: "app",
		before:    map[string]string{appLimitMem: "512Mi"},
		after:     map[string]string{appLimitMem: "640Mi"},
	}, {
		name: "at the cap",
		obj:  deployment(ctr("app", mem("2Gi"), nil)),
		err:  ErrAtMaximum,
	}, {
		name: "above the cap",
		obj:  deployment(ctr("app", mem("3Gi"), nil)),
		err:  ErrAtMaximum,
	}, {
		name:   "request at the cap without a limit",
		obj:    deployment(ctr("app", nil, mem("1Gi"))),
		params: &v1beta1.IncreaseMemoryAction{Max: qp("1Gi")},
		err:    ErrAtMaximum,
	}, {
		name: "a limit too large for int64 is above the cap, not unset",
		obj:  deployment(ctr("app", mem("12000000000000000M"), nil)),
		err:  ErrAtMaximum,
	}, {
		name:      "container not found",
		obj:       deployment(ctr("app", mem("512Mi"), nil)),
		container: "worker",
		err:       ErrContainerNotFound,
	}, {
		name: "no name and several containers",
		obj:  deployment(ctr("app", mem("512Mi"), nil), ctr("sidecar", nil, nil)),
		err:  ErrContainerNotFound,
	}, {
		name: "HPA is not a workload",
		obj:  hpa("web", "Deployment", "web", 4),
		err:  ErrUnsupportedTarget,
	}, {
		name: "nil object",
		obj:  nil,
		err:  ErrUnsupportedTarget,
	}, {
		name:   "zero percent changes nothing",
		obj:    deployment(ctr("app", mem("1Gi"), nil)),
		params: &v1beta1.IncreaseMemoryAction{Percent: ptr.To[int32](0), MinIncrease: qp("0"), RoundTo: qp("1")},
		err:    ErrNoChange,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p, err := PlanIncreaseMemory(tt.obj, tt.container, tt.params)
			if tt.err != nil {
				g.Expect(err).To(MatchError(tt.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Before).To(Equal(tt.before))
			g.Expect(p.After).To(Equal(tt.after))
			g.Expect(p.Target.Container).To(Equal("app"))
			for _, s := range tt.reason {
				g.Expect(p.Reason).To(ContainSubstring(s))
			}
			if tt.paths != nil {
				g.Expect(opPaths(t, p)).To(Equal(tt.paths))
			}
			out := tt.obj.DeepCopyObject()
			applyPlan(t, tt.obj, p, out)
			var c *corev1.Container
			for i, x := range templateOf(out).Containers {
				if x.Name == "app" {
					c = &templateOf(out).Containers[i]
				}
			}
			g.Expect(c).NotTo(BeNil())
			lim := c.Resources.Limits[corev1.ResourceMemory]
			g.Expect(lim.Cmp(resource.MustParse(tt.after[appLimitMem]))).To(BeZero(), "limit %s", lim.String())
			req, hasReq := c.Resources.Requests[corev1.ResourceMemory]
			if want, ok := tt.after[appRequestMem]; ok {
				g.Expect(req.Cmp(resource.MustParse(want))).To(BeZero(), "request %s", req.String())
				g.Expect(req.Cmp(lim)).To(BeNumerically("<=", 0))
			} else if b, ok := tt.before[appRequestMem]; ok {
				g.Expect(req.Cmp(resource.MustParse(b))).To(BeZero())
			} else {
				g.Expect(hasReq).To(BeFalse())
			}
		})
	}
}

func TestPlanIncreaseMemoryLeavesOtherContainersAlone(t *testing.T) {
	g := NewWithT(t)
	d := deployment(ctr("sidecar", mem("64Mi"), mem("32Mi")), ctr("app", mem("512Mi"), nil))
	d.Spec.Template.Spec.InitContainers = []corev1.Container{ctr("migrate", mem("128Mi"), nil)}
	d.Spec.Template.Spec.Containers[1].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("2")
	p, err := PlanIncreaseMemory(d, "app", nil)
	g.Expect(err).NotTo(HaveOccurred())
	var out appsv1.Deployment
	applyPlan(t, d, p, &out)
	want := d.DeepCopy()
	want.Spec.Template.Spec.Containers[1].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("640Mi")
	g.Expect(out.Spec.Template.Spec.InitContainers).To(Equal(want.Spec.Template.Spec.InitContainers))
	g.Expect(out.Spec.Template.Spec.Containers[0]).To(Equal(want.Spec.Template.Spec.Containers[0]))
	cpuLimit := out.Spec.Template.Spec.Containers[1].Resources.Limits[corev1.ResourceCPU]
	g.Expect(cpuLimit.String()).To(Equal("2"))

	// An init container is never selected.
	_, err = PlanIncreaseMemory(d, "migrate", nil)
	g.Expect(errors.Is(err, ErrContainerNotFound)).To(BeTrue())
}

func TestPlanIncreaseCPU(t *testing.T) {
	tests := []struct {
		name   string
		obj    runtime.Object
		params *v1beta1.IncreaseCPUAction
		after  map[string]string
		before map[string]string
		reason []string
		err    error
	}{{
		name:   "millicores round up to whole millicores",
		obj:    deployment(ctr("app", cpu("500m"), cpu("250m"))),
		before: map[string]string{appLimitCPU: "500m", appRequestCPU: "250m"},
		after:  map[string]string{appLimitCPU: "625m", appRequestCPU: "313m"},
		reason: []string{`+25% of 500m is 625m`, `within the policy maximum of 4`},
	}, {
		name:   "whole cores",
		obj:    deployment(ctr("app", cpu("2"), cpu("1"))),
		before: map[string]string{appLimitCPU: "2", appRequestCPU: "1"},
		after:  map[string]string{appLimitCPU: "2500m", appRequestCPU: "1250m"},
	}, {
		name:   "fractional cores",
		obj:    deployment(ctr("app", cpu("1.5"), nil)),
		before: map[string]string{appLimitCPU: "1500m"},
		after:  map[string]string{appLimitCPU: "1875m"},
	}, {
		name:   "capped at 4 cores",
		obj:    deployment(ctr("app", cpu("3500m"), cpu("3500m"))),
		before: map[string]string{appLimitCPU: "3500m", appRequestCPU: "3500m"},
		after:  map[string]string{appLimitCPU: "4", appRequestCPU: "4"},
		reason: []string{`capped at the policy maximum of 4`},
	}, {
		name:   "custom percent and cap",
		obj:    deployment(ctr("app", cpu("1500m"), nil)),
		params: &v1beta1.IncreaseCPUAction{Percent: ptr.To[int32](100), Max: qp("2")},
		before: map[string]string{appLimitCPU: "1500m"},
		after:  map[string]string{appLimitCPU: "2"},
	}, {
		name:   "one millicore still grows",
		obj:    deployment(ctr("app", cpu("1m"), nil)),
		before: map[string]string{appLimitCPU: "1m"},
		after:  map[string]string{appLimitCPU: "2m"},
	}, {
		name:   "no limit: based on the request",
		obj:    deployment(ctr("app", nil, cpu("200m"))),
		before: map[string]string{appRequestCPU: "200m"},
		after:  map[string]string{appLimitCPU: "250m", appRequestCPU: "250m"},
	}, {
		name:   "neither: the 100m floor",
		obj:    statefulSet(ctr("app", nil, nil)),
		before: map[string]string{},
		after:  map[string]string{appLimitCPU: "125m"},
		reason: []string{`based on the floor of 100m`},
	}, {
		name: "at the cap",
		obj:  deployment(ctr("app", cpu("4"), nil)),
		err:  ErrAtMaximum,
	}, {
		name: "a limit too large for int64 millicores",
		obj:  deployment(ctr("app", cpu("10000000000000000"), nil)),
		err:  ErrAtMaximum,
	}, {
		name: "DaemonSet with two containers and no name",
		obj:  daemonSet(ctr("app", cpu("1"), nil), ctr("b", nil, nil)),
		err:  ErrContainerNotFound,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p, err := PlanIncreaseCPU(tt.obj, "", tt.params)
			if tt.err != nil {
				g.Expect(err).To(MatchError(tt.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Before).To(Equal(tt.before))
			g.Expect(p.After).To(Equal(tt.after))
			for _, s := range tt.reason {
				g.Expect(p.Reason).To(ContainSubstring(s))
			}
			out := tt.obj.DeepCopyObject()
			applyPlan(t, tt.obj, p, out)
			c := templateOf(out).Containers[0]
			lim := c.Resources.Limits[corev1.ResourceCPU]
			g.Expect(lim.String()).To(Equal(tt.after[appLimitCPU]))
			if want, ok := tt.after[appRequestCPU]; ok {
				req := c.Resources.Requests[corev1.ResourceCPU]
				g.Expect(req.String()).To(Equal(want))
			}
		})
	}
}

func TestBytesQuantityIsReadable(t *testing.T) {
	tests := map[int64]string{
		640 << 20:   "640Mi",
		1 << 30:     "1Gi",
		1280 << 20:  "1280Mi",
		700e6:       "700M",
		1100:        "1100",
		1536:        "1536",
		1 << 10:     "1Ki",
		0:           "0",
		1300e6:      "1300M",
		5 << 40:     "5Ti",
		1000:        "1k",
		15625 << 20: "15625Mi", // decimal "16384M" would be shorter, but whole Mi stay binary
		1000 << 20:  "1000Mi",
	}
	for in, want := range tests {
		q := bytesQuantity(in)
		NewWithT(t).Expect(q.String()).To(Equal(want), "%d", in)
		NewWithT(t).Expect(q.Value()).To(Equal(in))
	}
}

func TestVPAOOMBumpComparison(t *testing.T) {
	tests := []struct {
		current, vpa, heal8s string
	}{
		// Small limits: VPA's +100Mi floor is larger than heal8s's +64Mi.
		{"100Mi", "200Mi", "192Mi"},
		{"256Mi", "356Mi", "320Mi"},
		// From 500Mi up, 20% passes 100Mi, and heal8s's 25% (rounded to 64Mi) is the larger step.
		{"512Mi", "644245095", "640Mi"},
		{"1Gi", "1288490189", "1280Mi"},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		vpa := VPAOOMBump(resource.MustParse(tt.current))
		g.Expect(vpa.Cmp(resource.MustParse(tt.vpa))).To(BeZero(), "VPA for %s gave %s", tt.current, vpa.String())
		p, err := PlanIncreaseMemory(deployment(ctr("app", mem(tt.current), nil)), "", nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(p.After[appLimitMem]).To(Equal(tt.heal8s))
	}
}

func TestArithmeticSaturates(t *testing.T) {
	g := NewWithT(t)
	const maxInt = int64(^uint64(0) >> 1)
	g.Expect(mulDivCeil(maxInt, 1000, 100)).To(Equal(maxInt))
	g.Expect(mulDivCeil(3, 150, 100)).To(Equal(int64(5)))
	g.Expect(mulDivCeil(4, 150, 100)).To(Equal(int64(6)))
	g.Expect(satAdd(maxInt-1, 5)).To(Equal(maxInt))
	g.Expect(roundUp(maxInt-1, 64)).To(Equal(maxInt / 64 * 64))
	g.Expect(roundUp(65, 64)).To(Equal(int64(128)))
	g.Expect(roundUp(64, 64)).To(Equal(int64(64)))
	g.Expect(roundUp(7, 1)).To(Equal(int64(7)))
}

func BenchmarkPlanIncreaseMemory(b *testing.B) {
	d := deployment(ctr("sidecar", mem("64Mi"), nil), ctr("app", mem("512Mi"), mem("256Mi")))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PlanIncreaseMemory(d, "app", nil); err != nil {
			b.Fatal(err)
		}
	}
}
