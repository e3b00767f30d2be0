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
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// RevisionAnnotation is where the Deployment controller records the revision number of a
// Deployment and of each of its ReplicaSets.
const RevisionAnnotation = "deployment.kubernetes.io/revision"

// revision is one earlier version of a workload's pod template, as far as a rollback cares.
type revision struct {
	kind   string // ReplicaSet or ControllerRevision
	name   string
	number int64
	image  string // "" when the container is not in that revision
	stable bool
}

// PlanRollbackDeployment puts back the container image of the newest earlier ReplicaSet of the
// Deployment, within maxRevisions, whose image differs from the current (crashing) one,
// preferring ReplicaSets labelled heal8s.io/stable=true. ReplicaSets the Deployment does not
// control are ignored. A nil params uses the v1beta1 defaults.
func PlanRollbackDeployment(d *appsv1.Deployment, replicaSets []appsv1.ReplicaSet, container string,
	params *v1beta1.RollbackImageAction) (Plan, error) {
	if d == nil {
		return Plan{}, fmt.Errorf("planning RollbackImage: no Deployment: %w", ErrUnsupportedTarget)
	}
	if container == "" && len(d.Spec.Template.Spec.Containers) > 1 {
		var history []imagesAt
		for i := range replicaSets {
			rs := &replicaSets[i]
			if n, err := parseRevision(rs.Annotations[RevisionAnnotation]); err == nil && controlledBy(rs, d.UID) {
				history = append(history, imagesAt{number: n, images: podImages(&rs.Spec.Template.Spec)})
			}
		}
		current, err := parseRevision(d.Annotations[RevisionAnnotation])
		if err != nil {
			current = maxImagesAt(history)
		}
		container = changedContainer(&d.Spec.Template.Spec, history, current)
	}
	var revs []revision
	var unreadable []string
	for i := range replicaSets {
		rs := &replicaSets[i]
		if !controlledBy(rs, d.UID) {
			continue
		}
		n, err := parseRevision(rs.Annotations[RevisionAnnotation])
		if err != nil {
			unreadable = append(unreadable, rs.Name)
			continue
		}
		revs = append(revs, revision{
			kind:   "ReplicaSet",
			name:   rs.Name,
			number: n,
			image:  containerImage(&rs.Spec.Template.Spec, containerNameFor(&d.Spec.Template.Spec, container)),
			stable: rs.Labels[v1beta1.LabelStable] == "true",
		})
	}
	current, err := parseRevision(d.Annotations[RevisionAnnotation])
	if err != nil {
		current = maxRevision(revs)
	}
	return planRollback(d, container, revs, current, unreadable, params)
}

// PlanRollbackStatefulSet is PlanRollbackDeployment for a StatefulSet, over the
// ControllerRevisions it controls; the current revision is status.updateRevision (or the
// newest when that is unknown), and the image is read from each revision's stored template.
func PlanRollbackStatefulSet(s *appsv1.StatefulSet, history []appsv1.ControllerRevision, container string,
	params *v1beta1.RollbackImageAction) (Plan, error) {
	if s == nil {
		return Plan{}, fmt.Errorf("planning RollbackImage: no StatefulSet: %w", ErrUnsupportedTarget)
	}
	type readRevision struct {
		cr     *appsv1.ControllerRevision
		images map[string]string
	}
	var read []readRevision
	var unreadable []string
	current := int64(-1)
	for i := range history {
		cr := &history[i]
		if !controlledBy(cr, s.UID) {
			continue
		}
		if cr.Name == s.Status.UpdateRevision {
			current = cr.Revision
		}
		data := cr.Data.Raw
		if len(data) == 0 && cr.Data.Object != nil {
			if raw, err := json.Marshal(cr.Data.Object); err == nil {
				data = raw
			}
		}
		images, err := revisionImages(data)
		if err != nil {
			unreadable = append(unreadable, cr.Name)
			continue
		}
		read = append(read, readRevision{cr: cr, images: images})
	}
	if current < 0 {
		for _, r := range read {
			current = max(current, r.cr.Revision)
		}
	}
	if container == "" && len(s.Spec.Template.Spec.Containers) > 1 {
		imgs := make([]imagesAt, 0, len(read))
		for _, r := range read {
			imgs = append(imgs, imagesAt{number: r.cr.Revision, images: r.images})
		}
		container = changedContainer(&s.Spec.Template.Spec, imgs, current)
	}
	name := containerNameFor(&s.Spec.Template.Spec, container)
	revs := make([]revision, 0, len(read))
	for _, r := range read {
		revs = append(revs, revision{
			kind:   "ControllerRevision",
			name:   r.cr.Name,
			number: r.cr.Revision,
			image:  r.images[name],
			stable: r.cr.Labels[v1beta1.LabelStable] == "true",
		})
	}
	return planRollback(s, container, revs, current, unreadable, params)
}

// imagesAt is a revision's container images by name.
type imagesAt struct {
	number int64
	images map[string]string
}

func podImages(spec *corev1.PodSpec) map[string]string {
	m := make(map[string]string, len(spec.Containers))
	for _, c := range spec.Containers {
		m[c.Name] = c.Image
	}
	return m
}

func maxImagesAt(h []imagesAt) int64 {
	var m int64
	for _, r := range h {
		m = max(m, r.number)
	}
	return m
}

// changedContainer picks, when a rollback names no container and the pod template has several
// (an alert about the whole workload, such as KubeDeploymentRolloutStuck, names none), the one
// container whose image the latest change of images touched: the newest earlier revision whose
// images differ from the current ones must differ in exactly that container. Otherwise it
// returns "", and planning says that a container must be named.
func changedContainer(current *corev1.PodSpec, history []imagesAt, currentRevision int64) string {
	slices.SortFunc(history, func(a, b imagesAt) int { return cmp.Compare(b.number, a.number) })
	for _, r := range history {
		if r.number >= currentRevision {
			continue
		}
		var changed []string
		for _, c := range current.Containers {
			if img, ok := r.images[c.Name]; ok && img != c.Image {
				changed = append(changed, c.Name)
			}
		}
		switch len(changed) {
		case 0:
			continue
		case 1:
			return changed[0]
		default:
			return ""
		}
	}
	return ""
}

// planRollback chooses among revs (excluding current) and patches the workload's image.
func planRollback(obj runtime.Object, container string, revs []revision, current int64, unreadable []string,
	params *v1beta1.RollbackImageAction) (Plan, error) {
	if params == nil {
		params = &v1beta1.RollbackImageAction{}
	}
	limit := int(valueOrDefault(params.MaxRevisions, v1beta1.DefaultMaxRevisions))
	tmpl, err := podTemplate(obj)
	if err != nil {
		return Plan{}, fmt.Errorf("planning RollbackImage: %w", err)
	}
	idx, err := findContainer(&tmpl.Spec, container)
	if err != nil {
		return Plan{}, fmt.Errorf("planning RollbackImage: %w", err)
	}
	c := &tmpl.Spec.Containers[idx]
	ref, err := targetRef(obj)
	if err != nil {
		return Plan{}, fmt.Errorf("planning RollbackImage: %w", err)
	}
	ref.Container = c.Name

	earlier := make([]revision, 0, len(revs))
	for _, r := range revs {
		if r.number < current {
			earlier = append(earlier, r)
		}
	}
	slices.SortFunc(earlier, func(a, b revision) int {
		return cmp.Or(cmp.Compare(b.number, a.number), cmp.Compare(a.name, b.name))
	})
	considered := earlier[:min(limit, len(earlier))]

	var chosen *revision
	var skipped []string
	for i := range considered {
		r := &considered[i]
		switch {
		case r.image == "":
			skipped = append(skipped, fmt.Sprintf("revision %d has no container %q", r.number, c.Name))
		case r.image == c.Image:
			skipped = append(skipped, fmt.Sprintf("revision %d runs the same image", r.number))
		case chosen == nil || (r.stable && !chosen.stable):
			chosen = r
		}
	}
	notes := describeHistory(considered, len(earlier), limit, current, skipped, unreadable)
	if chosen == nil {
		return Plan{}, fmt.Errorf("planning RollbackImage for container %q (image %s): %s: %w", c.Name, c.Image, notes, ErrNoCandidate)
	}

	key := fmt.Sprintf("spec.template.spec.containers[%s].image", c.Name)
	ptr := []string{"spec", "template", "spec", "containers", strconv.Itoa(idx)}
	b, err := newPatchBuilder(obj)
	if err != nil {
		return Plan{}, fmt.Errorf("planning RollbackImage: %w", err)
	}
	if err := b.test(append(ptr, "name")); err != nil {
		return Plan{}, fmt.Errorf("planning RollbackImage: %w", err)
	}
	if err := b.set(append(ptr, "image"), chosen.image); err != nil {
		return Plan{}, fmt.Errorf("planning RollbackImage: %w", err)
	}
	patch, err := b.build()
	if err != nil {
		return Plan{}, fmt.Errorf("planning RollbackImage: %w", err)
	}
	why := "the newest earlier revision with a different image"
	if chosen.stable {
		why = "the newest earlier revision labelled " + v1beta1.LabelStable + "=true"
	}
	reason := fmt.Sprintf("Roll the image of container %q back from %s to %s, from revision %d (%s %s), %s; %s.",
		c.Name, c.Image, chosen.image, chosen.number, chosen.kind, chosen.name, why, notes)
	return Plan{
		Target: ref,
		Before: map[string]string{key: c.Image},
		After:  map[string]string{key: chosen.image},
		Patch:  patch,
		Reason: reason,
	}, nil
}

// describeHistory says which revisions were looked at and why some were passed over.
func describeHistory(considered []revision, earlier, limit int, current int64, skipped, unreadable []string) string {
	var parts []string
	if len(considered) == 0 {
		parts = append(parts, fmt.Sprintf("there is no revision before the current revision %d", current))
	} else {
		nums := make([]string, 0, len(considered))
		for _, r := range considered {
			nums = append(nums, strconv.FormatInt(r.number, 10))
		}
		parts = append(parts, fmt.Sprintf("looked at revisions %s before the current revision %d", strings.Join(nums, ", "), current))
		if earlier > limit {
			parts = append(parts, fmt.Sprintf("%d older ones are beyond maxRevisions %d", earlier-limit, limit))
		}
	}
	parts = append(parts, skipped...)
	if len(unreadable) > 0 {
		parts = append(parts, "ignored unreadable revisions "+strings.Join(unreadable, ", "))
	}
	return strings.Join(parts, "; ")
}

// controlledBy reports whether obj's controller owner reference has the given UID.
func controlledBy(obj metav1.Object, uid types.UID) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && uid != "" && ref.UID == uid
}

// containerNameFor resolves the container a rollback compares: the given name, or the only
// container of the current template when none is given.
func containerNameFor(spec *corev1.PodSpec, name string) string {
	if name == "" && len(spec.Containers) == 1 {
		return spec.Containers[0].Name
	}
	return name
}

// containerImage returns the image of the named (non-init) container, or "".
func containerImage(spec *corev1.PodSpec, name string) string {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return spec.Containers[i].Image
		}
	}
	return ""
}

// maxRevision returns the highest revision number, or 0 when there is none.
func maxRevision(revs []revision) int64 {
	var m int64
	for _, r := range revs {
		m = max(m, r.number)
	}
	return m
}

// errBadRevision is returned for a revision annotation that is not a positive integer.
var errBadRevision = errors.New("revision is not a positive integer")

// parseRevision reads the deployment.kubernetes.io/revision annotation.
func parseRevision(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("parsing revision %q: %w", s, errBadRevision)
	}
	return n, nil
}

// revisionImages decodes a ControllerRevision's data (the strategic-merge patch of the pod
// template the StatefulSet controller stores) into container name -> image.
func revisionImages(data []byte) (map[string]string, error) {
	var rev struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name  string `json:"name"`
						Image string `json:"image"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(data, &rev); err != nil {
		return nil, fmt.Errorf("decoding revision data: %w", err)
	}
	images := make(map[string]string, len(rev.Spec.Template.Spec.Containers))
	for _, c := range rev.Spec.Template.Spec.Containers {
		if c.Name != "" {
			images[c.Name] = c.Image
		}
	}
	return images, nil
}

// ShouldMarkStable decides whether a ReplicaSet may be labelled heal8s.io/stable=true: it is the
// Deployment's current revision, the rollout to it completed, every desired replica is available
// on it, and the Deployment has been Available and fully rolled out for at least minAvailableFor.
// The string says what is missing, for logs and events.
//
// A snapshot cannot prove that no pod restarted in between; the Available condition's and the
// completed rollout's timestamps are the evidence Kubernetes keeps, so a caller wanting more
// should also require minAvailableFor between its own observations.
func ShouldMarkStable(rs *appsv1.ReplicaSet, d *appsv1.Deployment, now time.Time, minAvailableFor time.Duration) (bool, string) {
	if rs == nil || d == nil {
		return false, "no ReplicaSet or Deployment"
	}
	if !controlledBy(rs, d.UID) {
		return false, fmt.Sprintf("ReplicaSet %s is not controlled by Deployment %s", rs.Name, d.Name)
	}
	if d.Annotations[RevisionAnnotation] == "" || rs.Annotations[RevisionAnnotation] != d.Annotations[RevisionAnnotation] {
		return false, fmt.Sprintf("ReplicaSet %s is revision %q, the Deployment is at revision %q",
			rs.Name, rs.Annotations[RevisionAnnotation], d.Annotations[RevisionAnnotation])
	}
	if d.Status.ObservedGeneration < d.Generation {
		return false, "the Deployment controller has not observed the latest spec"
	}
	desired := valueOrDefault(d.Spec.Replicas, 1)
	if desired < 1 {
		return false, "the Deployment is scaled to zero"
	}
	st := d.Status
	if st.UpdatedReplicas != desired || st.AvailableReplicas != desired || st.Replicas != desired || st.UnavailableReplicas != 0 {
		return false, fmt.Sprintf("the Deployment is not fully available on the new revision: %d desired, %d updated, %d available, %d total",
			desired, st.UpdatedReplicas, st.AvailableReplicas, st.Replicas)
	}
	if rs.Status.AvailableReplicas != desired {
		return false, fmt.Sprintf("ReplicaSet %s has %d of %d replicas available", rs.Name, rs.Status.AvailableReplicas, desired)
	}
	since := now.Add(-minAvailableFor)
	available, progressing := false, false
	for _, c := range d.Status.Conditions {
		switch c.Type {
		case appsv1.DeploymentAvailable:
			available = c.Status == corev1.ConditionTrue && !c.LastTransitionTime.After(since)
		case appsv1.DeploymentProgressing:
			progressing = c.Status == corev1.ConditionTrue && c.Reason == "NewReplicaSetAvailable" &&
				!c.LastUpdateTime.After(since)
		case appsv1.DeploymentReplicaFailure:
			if c.Status == corev1.ConditionTrue {
				return false, "the Deployment reports a replica failure"
			}
		}
	}
	if !available {
		return false, fmt.Sprintf("the Deployment has not been Available for %s", minAvailableFor)
	}
	if !progressing {
		return false, fmt.Sprintf("the rollout has not been complete for %s", minAvailableFor)
	}
	return true, fmt.Sprintf("fully available on revision %s for at least %s", d.Annotations[RevisionAnnotation], minAvailableFor)
}
