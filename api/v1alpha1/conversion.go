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

// Conversion between v1alpha1 and the v1beta1 hub is lossless in both directions.
//
// Each direction first converts field by field. Where that loses information, the original
// spec and status ride along in an annotation on the converted object:
//
//   - AnnotationHubData on a v1alpha1 object holds the v1beta1 spec and status it was made from;
//   - AnnotationSpokeData on a v1beta1 object holds the v1alpha1 spec and status it was made from.
//
// On the way back the annotation is used only while it is still consistent with the object, that
// is, while converting the stored original field by field gives exactly the object's fields.
// An edit made in the other version in between therefore wins over the stored original, as it
// must, and an unchanged object comes back deep-equal to where it started.
const (
	// AnnotationHubData keeps, on a v1alpha1 object, the v1beta1 fields it cannot hold.
	AnnotationHubData = "heal8s.io/v1beta1-data"
	// AnnotationSpokeData keeps, on a v1beta1 object, the v1alpha1 fields it cannot hold.
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

// restore returns the original stored under key on the source object when converting it back
// still gives exactly source, and converted otherwise.
func restore[O, S any](meta metav1.ObjectMeta, key string, source S, converted O, back func(O) S) (O, error) {
	raw, ok := meta.Annotations[key]
	if !ok {
		return converted, nil
	}
	var orig O
	if err := json.Unmarshal([]byte(raw), &orig); err != nil {
		return converted, fmt.Errorf("reading conversion annotation %s: %w", key, err)
	}
	if apiequality.Semantic.DeepEqual(back(orig), source) {
		return orig, nil
	}
	return converted, nil
}

// keep records source under key on the converted object's metadata when converting result back
// would not give source: the conversion lost something.
func keep[O, S any](meta *metav1.ObjectMeta, key string, source S, result O, back func(O) S) error {
	if apiequality.Semantic.DeepEqual(back(result), source) {
		return nil
	}
	raw, err := json.Marshal(source)
	if err != nil {
		return fmt.Errorf("writing conversion annotation %s: %w", key, err)
	}
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[key] = string(raw)
	return nil
}
