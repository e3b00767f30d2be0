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

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Conversion between v1alpha1 and the v1beta1 hub is lossless for the spec in both directions.
//
// Each direction first converts field by field. Where that loses spec information, the original
// spec rides along in an annotation on the converted object:
//
//   - AnnotationHubData on a v1alpha1 object holds the v1beta1 spec it was made from;
//   - AnnotationSpokeData on a v1beta1 object holds the v1alpha1 spec it was made from.
//
// On the way back the annotation is used only while it is still consistent with the object, that
// is, while converting the stored original field by field gives exactly the object's spec. An
// edit made in the other version in between therefore wins over the stored original, as it must,
// and an unchanged spec comes back deep-equal to where it started.
//
// Status never rides in an annotation and is never restored from one: anyone who may update an
// object may write its annotations, while status is written only by heal8s through the status
// subresource, and the engine acts on it (a plan's patch, a merged pull request). Status is
// converted field by field, so the status fields only v1beta1 has (the plan, the history, the
// alert counters) are not visible through v1alpha1 and are dropped by a write of status in
// v1alpha1; heal8s writes status in v1beta1 only. docs/api-versions.md and docs/security.md say so.
const (
	// AnnotationHubData keeps, on a v1alpha1 object, the v1beta1 spec it cannot hold.
	AnnotationHubData = "heal8s.io/v1beta1-data"
	// AnnotationSpokeData keeps, on a v1beta1 object, the v1alpha1 spec it cannot hold.
	AnnotationSpokeData = "heal8s.io/v1alpha1-data"
)

// convertible is the spec and status of one version, the part conversion rewrites.
type convertible[S, T any] struct {
	Spec   S `json:"spec"`
	Status T `json:"status"`
}

// convertMeta copies metadata without the conversion annotations, so they never leak from one
// version into the other.
func convertMeta(in metav1.ObjectMeta) metav1.ObjectMeta {
	out := *in.DeepCopy()
	if out.Annotations != nil {
		delete(out.Annotations, AnnotationHubData)
		delete(out.Annotations, AnnotationSpokeData)
		if len(out.Annotations) == 0 {
			out.Annotations = nil
		}
	}
	return out
}

// restore returns the converted object with its spec replaced by the original stored under key
// on the source object, when converting that spec back still gives exactly the source's spec.
// The status is always the field-by-field conversion: an annotation never supplies status.
func restore[OS, OT, SS, ST any](meta metav1.ObjectMeta, key string, source convertible[SS, ST], converted convertible[OS, OT],
	back func(convertible[OS, OT]) convertible[SS, ST]) (convertible[OS, OT], error) {
	raw, ok := meta.Annotations[key]
	if !ok {
		return converted, nil
	}
	var orig struct {
		Spec OS `json:"spec"`
	}
	if err := json.Unmarshal([]byte(raw), &orig); err != nil {
		return converted, fmt.Errorf("reading conversion annotation %s: %w", key, err)
	}
	candidate := convertible[OS, OT]{Spec: orig.Spec, Status: converted.Status}
	if apiequality.Semantic.DeepEqual(back(candidate).Spec, source.Spec) {
		return candidate, nil
	}
	return converted, nil
}

// keep records the source's spec under key on the converted object's metadata when converting
// result back would not give that spec: the conversion lost something. Status is never kept.
func keep[OS, OT, SS, ST any](meta *metav1.ObjectMeta, key string, source convertible[SS, ST], result convertible[OS, OT],
	back func(convertible[OS, OT]) convertible[SS, ST]) error {
	if apiequality.Semantic.DeepEqual(back(result).Spec, source.Spec) {
		return nil
	}
	raw, err := json.Marshal(struct {
		Spec SS `json:"spec"`
	}{source.Spec})
	if err != nil {
		return fmt.Errorf("writing conversion annotation %s: %w", key, err)
	}
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[key] = string(raw)
	return nil
}
