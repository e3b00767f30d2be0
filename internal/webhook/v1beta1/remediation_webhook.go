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

package v1beta1

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
)

// SetupRemediationWebhookWithManager registers the defaulting and validating webhooks for
// Remediation, and (because v1beta1 is the hub) the conversion webhook.
func SetupRemediationWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &v1beta1.Remediation{}).
		WithValidator(&RemediationValidator{}).
		WithDefaulter(&RemediationDefaulter{}).
		Complete()
}

// +kubebuilder:webhook:path=/mutate-heal8s-io-v1beta1-remediation,mutating=true,failurePolicy=fail,sideEffects=None,groups=heal8s.io,resources=remediations,verbs=create;update,versions=v1beta1,name=mremediation-v1beta1.kb.io,admissionReviewVersions=v1,patch=`{"matchConditions":[{"name":"not-the-heal8s-manager","expression":"request.userInfo.username != 'system:serviceaccount:heal8s-system:heal8s-controller-manager'"}]}`

// RemediationDefaulter fills what a hand-written or v1alpha1 Remediation may leave out.
type RemediationDefaulter struct{}

var _ admission.Defaulter[*v1beta1.Remediation] = &RemediationDefaulter{}

// Default fills the Remediation's defaults.
func (d *RemediationDefaulter) Default(_ context.Context, obj *v1beta1.Remediation) error {
	defaults.Remediation(obj)
	return nil
}

// +kubebuilder:webhook:path=/validate-heal8s-io-v1beta1-remediation,mutating=false,failurePolicy=fail,sideEffects=None,groups=heal8s.io,resources=remediations,verbs=create;update,versions=v1beta1,name=vremediation-v1beta1.kb.io,admissionReviewVersions=v1,patch=`{"matchConditions":[{"name":"not-the-heal8s-manager","expression":"request.userInfo.username != 'system:serviceaccount:heal8s-system:heal8s-controller-manager'"}]}`

// RemediationValidator rejects Remediations that could not be acted on, and any change of the
// spec after creation: the spec is the record of why heal8s acted.
type RemediationValidator struct{}

var _ admission.Validator[*v1beta1.Remediation] = &RemediationValidator{}

// ValidateRemediation is the webhook's check of a new Remediation, for writers that skip the
// webhook: the receiver creates Remediations with it in process, and the webhook configuration's
// matchConditions leave the manager's own requests out (one admission round trip less per alert).
func ValidateRemediation(r *v1beta1.Remediation) error {
	return invalid(r, validateRemediation(r))
}

// ValidateCreate checks a new Remediation.
func (v *RemediationValidator) ValidateCreate(ctx context.Context, obj *v1beta1.Remediation) (admission.Warnings, error) {
	if err := validateApprovalWriter(ctx, nil, obj); err != nil {
		return nil, err
	}
	return nil, invalid(obj, validateRemediation(obj))
}

// ValidateUpdate refuses any change of the spec; status and metadata may change.
func (v *RemediationValidator) ValidateUpdate(ctx context.Context, oldObj, newObj *v1beta1.Remediation) (admission.Warnings, error) {
	if err := validateApprovalWriter(ctx, oldObj, newObj); err != nil {
		return nil, err
	}
	return nil, invalid(newObj, validateSpecUnchanged(oldObj, newObj))
}

// approvalAnnotations are the annotations of a person's decision on a plan awaiting approval.
var approvalAnnotations = []string{v1beta1.AnnotationApprovalDecision, v1beta1.AnnotationApprovalUser,
	v1beta1.AnnotationApprovalPlan, v1beta1.AnnotationApprovalReason}

// validateApprovalWriter refuses a write that adds, changes or removes an approval annotation
// unless approval.heal8s.io/user is absent or names the writer, as the admission policy
// heal8s-approval does (config/approval): with this webhook alone (the OLM bundle installs no
// admission policy) nobody can write another person's approval. Whether the named user may
// approve is checked by the Remediation reconciler (a SubjectAccessReview).
func validateApprovalWriter(ctx context.Context, oldObj, newObj *v1beta1.Remediation) error {
	var before map[string]string
	if oldObj != nil {
		before = oldObj.Annotations
	}
	after := newObj.Annotations
	changed := false
	for _, k := range approvalAnnotations {
		b, inBefore := before[k]
		a, inAfter := after[k]
		changed = changed || inBefore != inAfter || a != b
	}
	user, named := after[v1beta1.AnnotationApprovalUser]
	if !changed || !named {
		return nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return apierrors.NewForbidden(v1beta1.GroupVersion.WithResource("remediations").GroupResource(), newObj.Name,
			fmt.Errorf("cannot tell who writes the approval: %w", err))
	}
	if user != req.UserInfo.Username {
		return apierrors.NewForbidden(v1beta1.GroupVersion.WithResource("remediations").GroupResource(), newObj.Name,
			fmt.Errorf("%s must be your own username (%s), not %q", v1beta1.AnnotationApprovalUser, req.UserInfo.Username, user))
	}
	return nil
}

// ValidateDelete allows every deletion.
func (v *RemediationValidator) ValidateDelete(_ context.Context, _ *v1beta1.Remediation) (admission.Warnings, error) {
	return nil, nil
}

func validateRemediation(r *v1beta1.Remediation) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	errs = append(errs, requireString(spec.Child("policyRef", "name"), r.Spec.PolicyRef.Name)...)
	errs = append(errs, requireString(spec.Child("rule"), r.Spec.Rule)...)
	errs = append(errs, requireString(spec.Child("alert", "name"), r.Spec.Alert.Name)...)
	errs = append(errs, requireString(spec.Child("alert", "fingerprint"), r.Spec.Alert.Fingerprint)...)
	errs = append(errs, validateTarget(spec.Child("target"), r.Spec.Target, r.Namespace)...)
	errs = append(errs, validateAction(spec.Child("action"), r.Spec.Action)...)
	errs = append(errs, validateStrategy(spec.Child("strategy"), r.Spec.Strategy)...)
	return errs
}

func validateTarget(path *field.Path, t v1beta1.TargetRef, namespace string) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, requireString(path.Child("name"), t.Name)...)
	switch t.Kind {
	case v1beta1.TargetKindDeployment, v1beta1.TargetKindStatefulSet, v1beta1.TargetKindDaemonSet,
		v1beta1.TargetKindHorizontalPodAutoscaler:
		if want := t.Kind.APIVersion(); t.APIVersion != want {
			errs = append(errs, field.NotSupported(path.Child("apiVersion"), t.APIVersion, []string{want}))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("kind"), t.Kind, []string{
			string(v1beta1.TargetKindDeployment), string(v1beta1.TargetKindStatefulSet),
			string(v1beta1.TargetKindDaemonSet), string(v1beta1.TargetKindHorizontalPodAutoscaler)}))
	}
	if t.Namespace != namespace {
		errs = append(errs, field.Invalid(path.Child("namespace"), t.Namespace,
			fmt.Sprintf("must be the Remediation's own namespace %q", namespace)))
	}
	return errs
}

func validateSpecUnchanged(oldObj, newObj *v1beta1.Remediation) field.ErrorList {
	if apiequality.Semantic.DeepEqual(oldObj.Spec, newObj.Spec) {
		return nil
	}
	return field.ErrorList{field.Forbidden(field.NewPath("spec"), "spec is immutable after creation")}
}

// invalid turns a field.ErrorList into the API's Invalid error, or nil when it is empty.
func invalid(obj interface {
	GetName() string
}, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	var gk = v1beta1.GroupVersion.WithKind("Remediation").GroupKind()
	if _, ok := obj.(*v1beta1.RemediationPolicy); ok {
		gk = v1beta1.GroupVersion.WithKind("RemediationPolicy").GroupKind()
	}
	return apierrors.NewInvalid(gk, obj.GetName(), errs)
}
