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

// Alert label names that kube-state-metrics and cAdvisor put on the series heal8s acts on, and
// the labels Prometheus adds to every series of a scrape target.
const (
	LabelNamespace   = "namespace"
	LabelPod         = "pod"
	LabelContainer   = "container"
	LabelDeployment  = "deployment"
	LabelStatefulSet = "statefulset"
	LabelDaemonSet   = "daemonset"
	LabelHPA         = "horizontalpodautoscaler"
	LabelAlertName   = "alertname"
	// LabelInstance is the scrape target's address (host:port); for a pod target the host is
	// the pod's IP.
	LabelInstance = "instance"
	// ExportedPrefix is what Prometheus prepends to a series label that clashes with a target
	// label when the scrape has honorLabels: false (the kube-state-metrics chart's own
	// ServiceMonitor): exported_namespace, exported_pod, exported_container.
	ExportedPrefix = "exported_"
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

// Source says which labels a target was read from, for the explanation a user sees.
type Source string

const (
	// SourceWorkloadLabel: a deployment, statefulset, daemonset or horizontalpodautoscaler label.
	SourceWorkloadLabel Source = "workload label"
	// SourcePodLabel: the pod label, resolved to the pod's owner.
	SourcePodLabel Source = "pod label"
	// SourceOverride: the labels the rule's target override names.
	SourceOverride Source = "rule's target override"
)

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
	// Container to change, for the resource and image actions; empty means the action picks
	// (the only container, or for rollbackImage the ones that changed).
	Container string
	// Pod is the pod the alert names, when it names one.
	Pod string
	// WantKind is the kind the rule's override requires of the pod's owner, or empty.
	WantKind v1beta1.TargetKind
	// Source says which labels named the target.
	Source Source
	// Exported is true when namespace, pod and container were read from exported_* labels: the
	// scrape kept its own labels (honorLabels: false) and renamed the series'.
	Exported bool
	// Instance is the alert's instance label when the target came from a pod label: the scrape
	// target's address, compared with the pod's so heal8s never acts on the exporter itself.
	Instance string
}

// NeedsOwner reports whether the pod must still be resolved to its owning workload.
func (t Target) NeedsOwner() bool { return t.Kind == "" && t.Pod != "" }

// ExtractTarget reads the target from an alert's labels, following how the labels arise.
//
//   - When any of exported_namespace, exported_pod and exported_container is present, the scrape
//     had honorLabels: false: the series' own namespace, pod and container are the exported_*
//     ones, and the plain labels name the exporter that was scraped, so they are not read.
//   - A workload label (horizontalpodautoscaler, deployment, statefulset, daemonset; the most
//     specific first) wins over pod. The container label is then ignored unless the rule's
//     override names one: on kube-state-metrics' workload-level series it is the exporter's own
//     container, added by the scrape (honorLabels: true only fills labels the series lacks).
//   - Otherwise the pod label names the target, resolved to its owner by the caller, and the
//     container label names the container.
//
// An override may fix the kind, name the labels for the target's name (a nameLabel without a
// kind names a pod, as cAdvisor's old pod_name label does), its namespace and its container.
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
	if errs := validation.IsDNS1123Label(t.Container); t.Container != "" && len(errs) > 0 {
		return Target{}, fmt.Errorf("%w: container %q: %s", ErrNoTarget, t.Container, strings.Join(errs, "; "))
	}
	return t, nil
}

// Exported reports whether the alert's labels show a scrape with honorLabels: false.
func Exported(alertLabels map[string]string) bool {
	for _, l := range []string{LabelNamespace, LabelPod, LabelContainer} {
		if _, ok := alertLabels[ExportedPrefix+l]; ok {
			return true
		}
	}
	return false
}

// seriesLabels returns the label names that hold the series' own namespace, pod and container.
func seriesLabels(alertLabels map[string]string) (ns, pod, container string, exported bool) {
	if Exported(alertLabels) {
		return ExportedPrefix + LabelNamespace, ExportedPrefix + LabelPod, ExportedPrefix + LabelContainer, true
	}
	return LabelNamespace, LabelPod, LabelContainer, false
}

// Namespace returns the namespace an alert is about, read as ExtractTarget reads it without an
// override: exported_namespace when the scrape renamed it, else namespace.
func Namespace(alertLabels map[string]string) string {
	nsLabel, _, _, _ := seriesLabels(alertLabels)
	return alertLabels[nsLabel]
}

func extractTarget(alertLabels map[string]string, o *v1beta1.TargetOverride) (Target, error) {
	nsLabel, podLabel, containerLabel, exported := seriesLabels(alertLabels)
	if o == nil {
		o = &v1beta1.TargetOverride{}
	}
	if o.NamespaceLabel != "" {
		nsLabel = o.NamespaceLabel
	}
	t := Target{Namespace: alertLabels[nsLabel], Exported: exported}
	if t.Namespace == "" {
		if exported && o.NamespaceLabel == "" {
			return Target{}, fmt.Errorf("%w: the scrape renamed the series' labels (exported_*) but there is no %s",
				ErrNoNamespace, nsLabel)
		}
		return Target{}, fmt.Errorf("%w (label %s)", ErrNoNamespace, nsLabel)
	}
	// fromPod sets the target to the pod the alert names; the container label applies.
	fromPod := func(pod string, source Source) Target {
		t.Pod, t.Source = pod, source
		t.Container = alertLabels[containerLabel]
		t.Instance = alertLabels[LabelInstance]
		if o.ContainerLabel != "" {
			t.Container = alertLabels[o.ContainerLabel]
		}
		return t
	}
	// fromWorkload sets the target to a named workload; only an override names its container.
	fromWorkload := func(kind v1beta1.TargetKind, name string, source Source) Target {
		t.Kind, t.Name, t.Source = kind, name, source
		if o.ContainerLabel != "" {
			t.Container = alertLabels[o.ContainerLabel]
		}
		return t
	}
	switch {
	case o.NameLabel != "":
		name := alertLabels[o.NameLabel]
		if name == "" {
			return Target{}, fmt.Errorf("%w: label %q is empty", ErrNoTarget, o.NameLabel)
		}
		if o.Kind == "" {
			return fromPod(name, SourceOverride), nil
		}
		return fromWorkload(o.Kind, name, SourceOverride), nil
	case o.Kind != "":
		for _, kl := range kindLabels {
			if kl.kind == o.Kind && alertLabels[kl.label] != "" {
				return fromWorkload(o.Kind, alertLabels[kl.label], SourceWorkloadLabel), nil
			}
		}
		pod := alertLabels[podLabel]
		if pod == "" || o.Kind == v1beta1.TargetKindHorizontalPodAutoscaler {
			return Target{}, fmt.Errorf("%w: no %s label", ErrNoTarget, o.Kind)
		}
		t = fromPod(pod, SourcePodLabel)
		t.WantKind = o.Kind
		return t, nil
	}
	for _, kl := range kindLabels {
		if name := alertLabels[kl.label]; name != "" {
			return fromWorkload(kl.kind, name, SourceWorkloadLabel), nil
		}
	}
	pod := alertLabels[podLabel]
	if pod == "" {
		if exported && alertLabels[LabelPod] != "" {
			return Target{}, fmt.Errorf("%w: the pod label names the scraped exporter (the series' own pod would be %s)",
				ErrNoTarget, podLabel)
		}
		return Target{}, ErrNoTarget
	}
	return fromPod(pod, SourcePodLabel), nil
}
