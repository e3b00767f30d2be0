/*
Copyright 2026.

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
	"log"

	"sigs.k8s.io/controller-runtime/pkg/conversion"

	heal8siov1beta1 "github.com/heal8s/heal8s/api/v1beta1"
)

// ConvertTo converts this RemediationPolicy (v1alpha1) to the Hub version (v1beta1).
func (src *RemediationPolicy) ConvertTo(dstRaw conversion.Hub) error {
	dst := dstRaw.(*heal8siov1beta1.RemediationPolicy)
	log.Printf("ConvertTo: Converting RemediationPolicy from Spoke version v1alpha1 to Hub version v1beta1;"+
		"source: %s/%s, target: %s/%s", src.Namespace, src.Name, dst.Namespace, dst.Name)

	// TODO(user): Implement conversion logic from v1alpha1 to v1beta1
	// Example: Copying Spec fields
	// dst.Spec.Size = src.Spec.Replicas

	// Copy ObjectMeta to preserve name, namespace, labels, etc.
	dst.ObjectMeta = src.ObjectMeta

	return nil
}

// ConvertFrom converts the Hub version (v1beta1) to this RemediationPolicy (v1alpha1).
func (dst *RemediationPolicy) ConvertFrom(srcRaw conversion.Hub) error {
	src := srcRaw.(*heal8siov1beta1.RemediationPolicy)
	log.Printf("ConvertFrom: Converting RemediationPolicy from Hub version v1beta1 to Spoke version v1alpha1;"+
		"source: %s/%s, target: %s/%s", src.Namespace, src.Name, dst.Namespace, dst.Name)

	// TODO(user): Implement conversion logic from v1beta1 to v1alpha1
	// Example: Copying Spec fields
	// dst.Spec.Replicas = src.Spec.Size

	// Copy ObjectMeta to preserve name, namespace, labels, etc.
	dst.ObjectMeta = src.ObjectMeta

	return nil
}
