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

package routing

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// Alert label names that kube-state-metrics and cAdvisor put on the series heal8s acts on.
const (
	LabelNamespace   = "namespace"
	LabelPod         = "pod"
	LabelContainer   = "container"
	LabelDeployment  = "deployment"
	LabelStatefulSet = "statefulset"
	LabelDaemonSet   = "daemonset"
	LabelHPA         = "horizontalpodautoscaler"
	LabelAlertName   = "alertname"
)

var (
	// ErrNoNamespace means the alert has no namespace label, so it names no workload heal8s may touch.
	ErrNoNamespace = errors.New("alert has no namespace label")
	// ErrNoTarget means the alert's labels name no pod or workload.
	ErrNoTarget = errors.New("alert labels name no pod or workload")
)

// kindLabels lists, most specific first, the label that names each kind of target.
var kindLabels = []struct {
	label string
	kind  v1beta1.TargetKind
}{
	{LabelHPA, v1beta1.TargetKindHorizontalPodAutoscaler},
	{LabelDeployment, v1beta1.TargetKindDeployment},
	{LabelStatefulSet, v1beta1.TargetKindStatefulSet},
	{LabelDaemonSet, v1beta1.TargetKindDaemonSet},
}

// Target is the workload an alert points at, as far as its labels tell. When the labels name
// only a pod, Kind and Name are empty and Pod is set: the receiver resolves the pod's owner with
// a read of the cluster, which this package never does.
type Target struct {
	// Kind of the workload, empty while only the pod is known.
	Kind v1beta1.TargetKind
	// Name of the workload, empty while only the pod is known.
	Name string
	// Namespace of the workload and of the Remediation.
	Namespace string
	// Container to change, for the resource and image actions.
	Container string
	// Pod is the pod the alert names, when it names one.
	Pod string
	// WantKind is the kind the rule's override requires of the pod's owner, or empty.
	WantKind v1beta1.TargetKind
}

// NeedsOwner reports whether the pod must still be resolved to its owning workload.
func (t Target) NeedsOwner() bool { return t.Kind == "" && t.Pod != "" }

// ExtractTarget reads the target from an alert's labels. Without an override the most specific
// workload label wins (horizontalpodautoscaler, deployment, statefulset, daemonset), then pod.
// An override may fix the kind, name another label for the target's name (a nameLabel without
// a kind names a pod, as cAdvisor's old pod_name label does), and name the container label.
func ExtractTarget(alertLabels map[string]string, o *v1beta1.TargetOverride) (Target, error) {
	t, err := extractTarget(alertLabels, o)
	if err != nil {
		return Target{}, err
	}
	if errs := validation.IsDNS1123Label(t.Namespace); len(errs) > 0 {
		return Target{}, fmt.Errorf("%w: namespace %q: %s", ErrNoNamespace, t.Namespace, strings.Join(errs, "; "))
	}
	for _, name := range []string{t.Name, t.Pod} {
		if errs := validation.IsDNS1123Subdomain(name); name != "" && len(errs) > 0 {
			return Target{}, fmt.Errorf("%w: name %q: %s", ErrNoTarget, name, strings.Join(errs, "; "))
		}
	}
	return t, nil
}

func extractTarget(alertLabels map[string]string, o *v1beta1.TargetOverride) (Target, error) {
	t := Target{Namespace: alertLabels[LabelNamespace], Container: alertLabels[LabelContainer]}
	if t.Namespace == "" {
		return Target{}, ErrNoNamespace
	}
	if o != nil && o.ContainerLabel != "" {
		t.Container = alertLabels[o.ContainerLabel]
	}
	switch {
	case o != nil && o.NameLabel != "":
		name := alertLabels[o.NameLabel]
		if name == "" {
			return Target{}, fmt.Errorf("%w: label %q is empty", ErrNoTarget, o.NameLabel)
		}
		if o.Kind == "" {
			t.Pod = name
			return t, nil
		}
		t.Kind, t.Name = o.Kind, name
		return t, nil
	case o != nil && o.Kind != "":
		for _, kl := range kindLabels {
			if kl.kind == o.Kind && alertLabels[kl.label] != "" {
				t.Kind, t.Name = o.Kind, alertLabels[kl.label]
				return t, nil
			}
		}
		if t.Pod = alertLabels[LabelPod]; t.Pod == "" || o.Kind == v1beta1.TargetKindHorizontalPodAutoscaler {
			return Target{}, fmt.Errorf("%w: no %s label", ErrNoTarget, o.Kind)
		}
		t.WantKind = o.Kind
		return t, nil
	}
	for _, kl := range kindLabels {
		if name := alertLabels[kl.label]; name != "" {
			t.Kind, t.Name = kl.kind, name
			return t, nil
		}
	}
	if t.Pod = alertLabels[LabelPod]; t.Pod == "" {
		return Target{}, ErrNoTarget
	}
	return t, nil
}
