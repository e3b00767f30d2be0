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
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Floors assumed for a container that sets neither a limit nor a request, so that the first
// limit heal8s proposes is a modest step above a plausible working set rather than a guess.
const (
	// MemoryFloor is the memory assumed for a container with neither limit nor request.
	MemoryFloor = "256Mi"
	// CPUFloor is the CPU assumed for a container with neither limit nor request.
	CPUFloor = "100m"
)

// VPA's OOM bump-up (recommender defaults OOMBumpUpRatio and OOMMinBumpUp), kept for comparison.
const (
	vpaOOMBumpPercent = 20
	vpaOOMMinBump     = 100 << 20
)

// VPAOOMBump returns what the Vertical Pod Autoscaler's recommender would propose after an OOM
// kill, max(current*1.2, current+100Mi), so docs and tests can compare heal8s's default step.
func VPAOOMBump(current resource.Quantity) resource.Quantity {
	cur := quantityBytes(current)
	next := max(mulDivCeil(cur, 100+vpaOOMBumpPercent, 100), satAdd(cur, vpaOOMMinBump))
	return bytesQuantity(next)
}

// podTemplate returns the pod template of a workload, or ErrUnsupportedTarget.
func podTemplate(obj runtime.Object) (*corev1.PodTemplateSpec, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o != nil {
			return &o.Spec.Template, nil
		}
	case *appsv1.StatefulSet:
		if o != nil {
			return &o.Spec.Template, nil
		}
	case *appsv1.DaemonSet:
		if o != nil {
			return &o.Spec.Template, nil
		}
	}
	return nil, fmt.Errorf("%s has no pod template heal8s can change: %w", describe(obj), ErrUnsupportedTarget)
}

// findContainer returns the index of the named container in the template's (non-init)
// containers; an empty name selects the only container.
func findContainer(spec *corev1.PodSpec, name string) (int, error) {
	if name == "" {
		if len(spec.Containers) == 1 {
			return 0, nil
		}
		names := make([]string, 0, len(spec.Containers))
		for i := range spec.Containers {
			names = append(names, spec.Containers[i].Name)
		}
		return -1, fmt.Errorf("no container named (the alert names the workload, not a container) and the pod template has %d (%s); "+
			"name the alert label that holds it with the rule's target.containerLabel: %w",
			len(spec.Containers), strings.Join(names, ", "), ErrContainerNotFound)
	}
	names := make([]string, 0, len(spec.Containers))
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return i, nil
		}
		names = append(names, spec.Containers[i].Name)
	}
	return -1, fmt.Errorf("container %q is not in the pod template (containers: %s): %w", name, strings.Join(names, ", "), ErrContainerNotFound)
}

// resourceRule is how one resource (memory in bytes, CPU in millicores) is raised.
type resourceRule struct {
	resource    corev1.ResourceName
	percent     int64
	minIncrease int64 // 0 for none
	roundTo     int64 // 1 for none
	max         int64
	floor       int64
	units       func(resource.Quantity) int64
	format      func(int64) resource.Quantity
}

// str renders a value in the rule's units as a quantity string.
func (r resourceRule) str(v int64) string {
	q := r.format(v)
	return q.String()
}

// grow computes the new limit from base (< max) and explains each step.
func (r resourceRule) grow(base int64) (int64, string) {
	byPercent := mulDivCeil(base, 100+r.percent, 100)
	next := byPercent
	steps := []string{fmt.Sprintf("+%d%% of %s is %s", r.percent, r.str(base), r.str(byPercent))}
	if r.minIncrease > 0 {
		byMin := satAdd(base, r.minIncrease)
		steps = append(steps, fmt.Sprintf("the minimum increase of %s gives %s", r.str(r.minIncrease), r.str(byMin)))
		if byMin > byPercent {
			next = byMin
			steps = append(steps, "the larger is the minimum increase")
		} else {
			steps = append(steps, "the larger is the percentage")
		}
	}
	if r.roundTo > 1 {
		rounded := roundUp(next, r.roundTo)
		if rounded != next {
			steps = append(steps, fmt.Sprintf("rounded up to a multiple of %s is %s", r.str(r.roundTo), r.str(rounded)))
		} else {
			steps = append(steps, fmt.Sprintf("already a multiple of %s", r.str(r.roundTo)))
		}
		next = rounded
	}
	if next > r.max {
		steps = append(steps, fmt.Sprintf("capped at the policy maximum of %s", r.str(r.max)))
		next = r.max
	} else {
		steps = append(steps, fmt.Sprintf("within the policy maximum of %s", r.str(r.max)))
	}
	return next, strings.Join(steps, ", ")
}

// planResource raises one resource's limit (and request) on a container of a workload.
func planResource(obj runtime.Object, container string, r resourceRule) (Plan, error) {
	what := fmt.Sprintf("Increase%s", resourceTitle(r.resource))
	tmpl, err := podTemplate(obj)
	if err != nil {
		return Plan{}, fmt.Errorf("planning %s: %w", what, err)
	}
	idx, err := findContainer(&tmpl.Spec, container)
	if err != nil {
		return Plan{}, fmt.Errorf("planning %s: %w", what, err)
	}
	c := &tmpl.Spec.Containers[idx]
	ref, err := targetRef(obj)
	if err != nil {
		return Plan{}, fmt.Errorf("planning %s: %w", what, err)
	}
	ref.Container = c.Name

	limitQ, limitPresent := c.Resources.Limits[r.resource]
	hasLimit := limitPresent
	requestQ, hasRequest := c.Resources.Requests[r.resource]
	limit, request := int64(0), int64(0)
	if hasLimit {
		limit = r.units(limitQ)
		hasLimit = limit > 0
	}
	if hasRequest {
		request = r.units(requestQ)
		hasRequest = request > 0
	}

	var base int64
	var basis string
	switch {
	case hasLimit:
		base, basis = limit, fmt.Sprintf("based on the current limit of %s", limitQ.String())
	case hasRequest:
		base, basis = request, fmt.Sprintf("based on the request of %s, as no %s limit is set", requestQ.String(), r.resource)
	default:
		base, basis = r.floor, fmt.Sprintf("based on the floor of %s, as neither a %s limit nor a request is set", r.str(r.floor), r.resource)
	}
	if base >= r.max {
		return Plan{}, fmt.Errorf("planning %s for container %q: %s is at or above the policy maximum of %s: %w",
			what, c.Name, r.str(base), r.str(r.max), ErrAtMaximum)
	}
	newLimit, steps := r.grow(base)
	if newLimit <= base {
		return Plan{}, fmt.Errorf("planning %s for container %q: %s would stay %s: %w", what, c.Name, r.resource, r.str(base), ErrNoChange)
	}

	readable := fmt.Sprintf("spec.template.spec.containers[%s].resources.", c.Name)
	ptr := []string{"spec", "template", "spec", "containers", strconv.Itoa(idx)}
	b, err := newPatchBuilder(obj)
	if err != nil {
		return Plan{}, fmt.Errorf("planning %s: %w", what, err)
	}
	if err := b.test(append(ptr, "name")); err != nil {
		return Plan{}, fmt.Errorf("planning %s: %w", what, err)
	}
	before, after := map[string]string{}, map[string]string{}
	limitKey := readable + "limits." + string(r.resource)
	if limitPresent {
		before[limitKey] = limitQ.String()
	}
	after[limitKey] = r.str(newLimit)
	if err := b.set(append(ptr, "resources", "limits", string(r.resource)), after[limitKey]); err != nil {
		return Plan{}, fmt.Errorf("planning %s: %w", what, err)
	}
	reason := fmt.Sprintf("Raise the %s limit of container %q from %s to %s: %s; %s.",
		r.resource, c.Name, valueOr(before[limitKey], "unset"), after[limitKey], basis, steps)

	if hasRequest {
		requestKey := readable + "requests." + string(r.resource)
		newRequest := min(roundUp(mulDivCeil(request, newLimit, base), r.roundTo), newLimit)
		factor := float64(newLimit) / float64(base)
		if newRequest > request {
			before[requestKey] = requestQ.String()
			after[requestKey] = r.str(newRequest)
			if err := b.set(append(ptr, "resources", "requests", string(r.resource)), after[requestKey]); err != nil {
				return Plan{}, fmt.Errorf("planning %s: %w", what, err)
			}
			reason += fmt.Sprintf(" The request rises by the same factor (x%.3g) from %s to %s", factor, before[requestKey], after[requestKey])
			if r.roundTo > 1 {
				reason += fmt.Sprintf(", rounded up to a multiple of %s", r.str(r.roundTo))
			}
			reason += ", and never above the new limit."
		} else {
			reason += fmt.Sprintf(" The request of %s stays: raised by the same factor (x%.3g) it would not grow.", requestQ.String(), factor)
		}
	}
	patch, err := b.build()
	if err != nil {
		return Plan{}, fmt.Errorf("planning %s: %w", what, err)
	}
	return Plan{Target: ref, Before: before, After: after, Patch: patch, Reason: reason}, nil
}

// PlanIncreaseMemory raises the memory limit (and request) of a container of a Deployment,
// StatefulSet or DaemonSet after an OOM kill. A nil params uses the v1beta1 defaults.
func PlanIncreaseMemory(obj runtime.Object, container string, params *v1beta1.IncreaseMemoryAction) (Plan, error) {
	if params == nil {
		params = &v1beta1.IncreaseMemoryAction{}
	}
	bytes := quantityBytes
	r := resourceRule{
		resource:    corev1.ResourceMemory,
		percent:     int64(valueOrDefault(params.Percent, v1beta1.DefaultMemoryPercent)),
		minIncrease: max(quantityOr(params.MinIncrease, v1beta1.DefaultMemoryMinIncrease, bytes), 0),
		roundTo:     max(quantityOr(params.RoundTo, v1beta1.DefaultMemoryRoundTo, bytes), 1),
		max:         quantityOr(params.Max, v1beta1.DefaultMemoryMax, bytes),
		floor:       quantityOr(nil, MemoryFloor, bytes),
		units:       bytes,
		format:      bytesQuantity,
	}
	return planResource(obj, container, r)
}

// PlanIncreaseCPU raises the CPU limit (and request) of a container of a Deployment, StatefulSet
// or DaemonSet when it is throttled. A nil params uses the v1beta1 defaults.
func PlanIncreaseCPU(obj runtime.Object, container string, params *v1beta1.IncreaseCPUAction) (Plan, error) {
	if params == nil {
		params = &v1beta1.IncreaseCPUAction{}
	}
	millis := quantityMillis
	r := resourceRule{
		resource: corev1.ResourceCPU,
		percent:  int64(valueOrDefault(params.Percent, v1beta1.DefaultCPUPercent)),
		roundTo:  1,
		max:      quantityOr(params.Max, v1beta1.DefaultCPUMax, millis),
		floor:    quantityOr(nil, CPUFloor, millis),
		units:    millis,
		format:   func(m int64) resource.Quantity { return *resource.NewMilliQuantity(m, resource.DecimalSI) },
	}
	return planResource(obj, container, r)
}

// quantityBytes converts q to whole bytes (rounding up), saturating at math.MaxInt64 so that an
// absurdly large quantity reads as "at the maximum" rather than wrapping around.
func quantityBytes(q resource.Quantity) int64 {
	if q.Cmp(*resource.NewQuantity(math.MaxInt64, resource.DecimalSI)) >= 0 {
		return math.MaxInt64
	}
	return q.Value()
}

// quantityMillis converts q to millicores (rounding up), saturating at math.MaxInt64.
func quantityMillis(q resource.Quantity) int64 {
	if q.Cmp(*resource.NewMilliQuantity(math.MaxInt64, resource.DecimalSI)) >= 0 {
		return math.MaxInt64
	}
	return q.MilliValue()
}

// bytesQuantity renders a byte count readably: binary-SI when it is a whole number of Mi
// ("640Mi", "1Gi"), otherwise the shorter of its binary-SI and decimal-SI canonical forms
// ("700M", "1536"). Either is also the form the API server stores it in.
func bytesQuantity(v int64) resource.Quantity {
	bin := resource.NewQuantity(v, resource.BinarySI)
	if v%(1<<20) == 0 {
		return *bin
	}
	dec := resource.NewQuantity(v, resource.DecimalSI)
	if len(dec.String()) < len(bin.String()) {
		return *dec
	}
	return *bin
}

// resourceTitle names a resource for the action it belongs to.
func resourceTitle(r corev1.ResourceName) string {
	if r == corev1.ResourceCPU {
		return "CPU"
	}
	return "Memory"
}

// valueOr returns s, or fallback when s is empty.
func valueOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// valueOrDefault dereferences p, or returns def when p is nil.
func valueOrDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// quantityOr converts q, or the default quantity when q is nil, to units.
func quantityOr(q *resource.Quantity, def string, units func(resource.Quantity) int64) int64 {
	if q == nil {
		return units(resource.MustParse(def))
	}
	return units(*q)
}

// mulDivCeil returns ceil(a*b/c) for non-negative a, b and positive c without overflow,
// saturating at math.MaxInt64.
func mulDivCeil(a, b, c int64) int64 {
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	d := big.NewInt(c)
	q, m := new(big.Int).QuoRem(n, d, new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return math.MaxInt64
	}
	return q.Int64()
}

// satAdd adds two non-negative numbers, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// roundUp rounds v up to a multiple of step (step >= 1), saturating at the largest multiple.
func roundUp(v, step int64) int64 {
	if step <= 1 {
		return v
	}
	r := v % step
	if r == 0 {
		return v
	}
	if v > math.MaxInt64-(step-r) {
		return math.MaxInt64 / step * step
	}
	return v + step - r
}
