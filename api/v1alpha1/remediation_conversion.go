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
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/conversion"

	"github.com/heal8s/heal8s/api/v1beta1"
)

type remediationFields = convertible[RemediationSpec, RemediationStatus]
type remediationHubFields = convertible[v1beta1.RemediationSpec, v1beta1.RemediationStatus]

var _ conversion.Convertible = (*Remediation)(nil)

// ConvertTo converts this v1alpha1 Remediation to the v1beta1 hub.
func (src *Remediation) ConvertTo(dstRaw conversion.Hub) error {
	dst, ok := dstRaw.(*v1beta1.Remediation)
	if !ok {
		return fmt.Errorf("converting Remediation to %T: not a v1beta1 Remediation", dstRaw)
	}
	source := remediationFields{Spec: src.Spec, Status: src.Status}
	result, err := restore(src.ObjectMeta, AnnotationHubData, source, remediationToHub(source), remediationFromHub)
	if err != nil {
		return err
	}
	dst.ObjectMeta = convertMeta(src.ObjectMeta)
	dst.Spec, dst.Status = result.Spec, result.Status
	return keep(&dst.ObjectMeta, AnnotationSpokeData, source, result, remediationFromHub)
}

// ConvertFrom converts the v1beta1 hub to this v1alpha1 Remediation.
func (dst *Remediation) ConvertFrom(srcRaw conversion.Hub) error {
	src, ok := srcRaw.(*v1beta1.Remediation)
	if !ok {
		return fmt.Errorf("converting %T to a v1alpha1 Remediation: not a v1beta1 Remediation", srcRaw)
	}
	source := remediationHubFields{Spec: src.Spec, Status: src.Status}
	result, err := restore(src.ObjectMeta, AnnotationSpokeData, source, remediationFromHub(source), remediationToHub)
	if err != nil {
		return err
	}
	dst.ObjectMeta = convertMeta(src.ObjectMeta)
	dst.Spec, dst.Status = result.Spec, result.Status
	return keep(&dst.ObjectMeta, AnnotationHubData, source, result, remediationToHub)
}

func remediationToHub(in remediationFields) remediationHubFields {
	var out remediationHubFields
	s := in.Spec
	out.Spec = v1beta1.RemediationSpec{
		PolicyRef: v1beta1.PolicyReference{Name: s.Policy, Namespace: s.PolicyNamespace},
		Rule:      s.Rule,
		Alert: v1beta1.AlertInfo{
			Name:        s.AlertName,
			Fingerprint: s.Fingerprint,
			Labels:      s.AlertLabels,
		},
		Target: v1beta1.TargetRef{
			APIVersion: v1beta1.TargetKind(s.Target.Kind).APIVersion(),
			Kind:       v1beta1.TargetKind(s.Target.Kind),
			Name:       s.Target.Name,
			Namespace:  s.Target.Namespace,
			Container:  s.Target.Container,
		},
		Action:   actionToHub(s.Action, s.Params),
		Strategy: v1beta1.Strategy(s.Strategy),
	}
	st := in.Status
	out.Status = v1beta1.RemediationStatus{
		Phase:      v1beta1.Phase(st.Phase),
		Message:    st.Message,
		Conditions: st.Conditions,
	}
	if st.PRURL != "" || st.PRNumber != 0 {
		out.Status.PullRequest = &v1beta1.PullRequestStatus{URL: st.PRURL, Number: st.PRNumber}
	}
	return out
}

func remediationFromHub(in remediationHubFields) remediationFields {
	var out remediationFields
	s := in.Spec
	action, params := actionFromHub(s.Action)
	out.Spec = RemediationSpec{
		Policy:          s.PolicyRef.Name,
		PolicyNamespace: s.PolicyRef.Namespace,
		Rule:            s.Rule,
		AlertName:       s.Alert.Name,
		Fingerprint:     s.Alert.Fingerprint,
		AlertLabels:     s.Alert.Labels,
		Target: Target{
			Kind:      string(s.Target.Kind),
			Name:      s.Target.Name,
			Namespace: s.Target.Namespace,
			Container: s.Target.Container,
		},
		Action:   action,
		Params:   params,
		Strategy: string(s.Strategy),
	}
	st := in.Status
	out.Status = RemediationStatus{
		Phase:      string(st.Phase),
		Message:    st.Message,
		Conditions: st.Conditions,
	}
	if st.PullRequest != nil {
		out.Status.PRURL = st.PullRequest.URL
		out.Status.PRNumber = st.PullRequest.Number
	}
	return out
}
