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
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/conversion"

	"github.com/heal8s/heal8s/api/v1beta1"
)

type policyFields = convertible[RemediationPolicySpec, RemediationPolicyStatus]
type policyHubFields = convertible[v1beta1.RemediationPolicySpec, v1beta1.RemediationPolicyStatus]

var _ conversion.Convertible = (*RemediationPolicy)(nil)

// ConvertTo converts this v1alpha1 RemediationPolicy to the v1beta1 hub.
func (src *RemediationPolicy) ConvertTo(dstRaw conversion.Hub) error {
	dst, ok := dstRaw.(*v1beta1.RemediationPolicy)
	if !ok {
		return fmt.Errorf("converting RemediationPolicy to %T: not a v1beta1 RemediationPolicy", dstRaw)
	}
	source := policyFields{Spec: src.Spec, Status: src.Status}
	result, err := restore(src.ObjectMeta, AnnotationHubData, source, policyToHub(source), policyFromHub)
	if err != nil {
		return err
	}
	dst.ObjectMeta = convertMeta(src.ObjectMeta)
	dst.Spec, dst.Status = result.Spec, result.Status
	return keep(&dst.ObjectMeta, AnnotationSpokeData, source, result, policyFromHub)
}

// ConvertFrom converts the v1beta1 hub to this v1alpha1 RemediationPolicy.
func (dst *RemediationPolicy) ConvertFrom(srcRaw conversion.Hub) error {
	src, ok := srcRaw.(*v1beta1.RemediationPolicy)
	if !ok {
		return fmt.Errorf("converting %T to a v1alpha1 RemediationPolicy: not a v1beta1 RemediationPolicy", srcRaw)
	}
	source := policyHubFields{Spec: src.Spec, Status: src.Status}
	result, err := restore(src.ObjectMeta, AnnotationSpokeData, source, policyFromHub(source), policyToHub)
	if err != nil {
		return err
	}
	dst.ObjectMeta = convertMeta(src.ObjectMeta)
	dst.Spec, dst.Status = result.Spec, result.Status
	return keep(&dst.ObjectMeta, AnnotationHubData, source, result, policyToHub)
}

func policyToHub(in policyFields) policyHubFields {
	var out policyHubFields
	s := in.Spec
	for _, r := range s.Rules {
		rule := v1beta1.Rule{Name: r.Name, Action: actionToHub(r.Action, r.Params)}
		if r.AlertName != "" {
			rule.Matchers = []string{alertNameMatcher(r.AlertName)}
		}
		out.Spec.Rules = append(out.Spec.Rules, rule)
	}
	out.Spec.Strategy = v1beta1.Strategy(s.Strategy)
	if s.Repository != "" || s.BaseBranch != "" || s.SecretName != "" {
		out.Spec.Git = &v1beta1.GitSpec{
			Repository: s.Repository,
			BaseBranch: s.BaseBranch,
			SecretRef:  corev1.LocalObjectReference{Name: s.SecretName},
		}
	}
	out.Spec.Safety = v1beta1.SafetySpec{Suspend: s.Suspend, Cooldown: s.Cooldown}
	out.Status = v1beta1.RemediationPolicyStatus{
		ObservedGeneration: in.Status.ObservedGeneration,
		Conditions:         in.Status.Conditions,
	}
	return out
}

func policyFromHub(in policyHubFields) policyFields {
	var out policyFields
	s := in.Spec
	for _, r := range s.Rules {
		action, params := actionFromHub(r.Action)
		rule := Rule{Name: r.Name, Action: action, Params: params}
		if len(r.Matchers) == 1 {
			rule.AlertName, _ = parseAlertNameMatcher(r.Matchers[0])
		}
		out.Spec.Rules = append(out.Spec.Rules, rule)
	}
	out.Spec.Strategy = string(s.Strategy)
	if s.Git != nil {
		out.Spec.Repository = s.Git.Repository
		out.Spec.BaseBranch = s.Git.BaseBranch
		out.Spec.SecretName = s.Git.SecretRef.Name
	}
	out.Spec.Suspend = s.Safety.Suspend
	out.Spec.Cooldown = s.Safety.Cooldown
	out.Status = RemediationPolicyStatus{
		ObservedGeneration: in.Status.ObservedGeneration,
		Conditions:         in.Status.Conditions,
	}
	return out
}

var matcherEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
var matcherUnescaper = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n")

// alertNameMatcher is the Alertmanager matcher equivalent to v1alpha1's alertName field.
func alertNameMatcher(name string) string {
	return `alertname="` + matcherEscaper.Replace(name) + `"`
}

// parseAlertNameMatcher reads back what alertNameMatcher wrote; any other matcher is not an
// alert name v1alpha1's shape can hold.
func parseAlertNameMatcher(m string) (string, bool) {
	const prefix, suffix = `alertname="`, `"`
	if !strings.HasPrefix(m, prefix) || !strings.HasSuffix(m, suffix) || len(m) < len(prefix)+len(suffix) {
		return "", false
	}
	name := matcherUnescaper.Replace(m[len(prefix) : len(m)-len(suffix)])
	if alertNameMatcher(name) != m {
		return "", false
	}
	return name, true
}
