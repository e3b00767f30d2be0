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

	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	heal8siov1beta1 "github.com/heal8s/heal8s/api/v1beta1"
)

// nolint:unused
// log is for logging in this package.
var remediationlog = logf.Log.WithName("remediation-resource")

// SetupRemediationWebhookWithManager registers the webhook for Remediation in the manager.
func SetupRemediationWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &heal8siov1beta1.Remediation{}).
		WithValidator(&RemediationValidator{}).
		WithDefaulter(&RemediationDefaulter{}).
		Complete()
}

// TODO(user): EDIT THIS FILE!  THIS IS SCAFFOLDING FOR YOU TO OWN!

// +kubebuilder:webhook:path=/mutate-heal8s-io-v1beta1-remediation,mutating=true,failurePolicy=fail,sideEffects=None,groups=heal8s.io,resources=remediations,verbs=create;update,versions=v1beta1,name=mremediation-v1beta1.kb.io,admissionReviewVersions=v1

// RemediationDefaulter struct is responsible for setting default values on the custom resource of the
// Kind Remediation when those are created or updated.
//
// NOTE: The +kubebuilder:object:generate=false marker prevents controller-gen from generating DeepCopy methods,
// as it is used only for temporary operations and does not need to be deeply copied.
type RemediationDefaulter struct {
	// TODO(user): Add more fields as needed for defaulting
}

// Default implements admission.Defaulter so a webhook will be registered for the Kind Remediation.
func (d *RemediationDefaulter) Default(_ context.Context, obj *heal8siov1beta1.Remediation) error {
	remediationlog.Info("Defaulting for Remediation", "name", obj.GetName())

	// TODO(user): fill in your defaulting logic.

	return nil
}

// TODO(user): change verbs to "verbs=create;update;delete" if you want to enable deletion validation.
// NOTE: If you want to customise the 'path', use the flags '--defaulting-path' or '--validation-path'.
// +kubebuilder:webhook:path=/validate-heal8s-io-v1beta1-remediation,mutating=false,failurePolicy=fail,sideEffects=None,groups=heal8s.io,resources=remediations,verbs=create;update,versions=v1beta1,name=vremediation-v1beta1.kb.io,admissionReviewVersions=v1

// RemediationValidator struct is responsible for validating the Remediation resource
// when it is created, updated, or deleted.
//
// NOTE: The +kubebuilder:object:generate=false marker prevents controller-gen from generating DeepCopy methods,
// as this struct is used only for temporary operations and does not need to be deeply copied.
type RemediationValidator struct {
	// TODO(user): Add more fields as needed for validation
}

// ValidateCreate implements admission.Validator so a webhook will be registered for the type Remediation.
func (v *RemediationValidator) ValidateCreate(_ context.Context, obj *heal8siov1beta1.Remediation) (admission.Warnings, error) {
	remediationlog.Info("Validation for Remediation upon creation", "name", obj.GetName())

	// TODO(user): fill in your validation logic upon object creation.

	return nil, nil
}

// ValidateUpdate implements admission.Validator so a webhook will be registered for the type Remediation.
func (v *RemediationValidator) ValidateUpdate(_ context.Context, oldObj, newObj *heal8siov1beta1.Remediation) (admission.Warnings, error) {
	remediationlog.Info("Validation for Remediation upon update", "name", newObj.GetName())

	// TODO(user): fill in your validation logic upon object update.

	return nil, nil
}

// ValidateDelete implements admission.Validator so a webhook will be registered for the type Remediation.
func (v *RemediationValidator) ValidateDelete(_ context.Context, obj *heal8siov1beta1.Remediation) (admission.Warnings, error) {
	remediationlog.Info("Validation for Remediation upon deletion", "name", obj.GetName())

	// TODO(user): fill in your validation logic upon object deletion.

	return nil, nil
}
