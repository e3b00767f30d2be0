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

package controller

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/internal/actions"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/internal/routing"
)

// scopeInputs fills in what the scope guards read: the policy as routing.Compile interprets it
// (the receiver's reading of its namespaceSelector, not a second one) and, for a cluster-wide
// policy, the labels of the Remediation's namespace.
func (r *RemediationReconciler) scopeInputs(ctx context.Context, s *scope, in *remediation.Input) error {
	if s.policy != nil {
		in.Compiled, _ = routing.Compile(s.policy)
	}
	if s.rem.Spec.PolicyRef.Namespace == s.rem.Namespace {
		return nil
	}
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	err := r.Get(ctx, client.ObjectKey{Name: s.rem.Namespace}, ns)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("reading the labels of namespace %s: %w", s.rem.Namespace, err)
	default:
		in.NamespaceLabels, in.NamespaceFound = ns.Labels, true
	}
	return nil
}

// planHolds reports whether the plan in status is exactly what planning the action from the live
// target (read through c) gives now: the same patch and the same values. The engine checks it
// before it patches or proposes, so a plan in status that heal8s did not make from this object
// and this rule (a forged status, a plan for an older version of the target) is never applied:
// the remediation plans again instead. A target that is gone holds no plan.
func (r *RemediationReconciler) planHolds(ctx context.Context, s *scope, c client.Reader) (bool, error) {
	stored := s.rem.Status.Plan
	obj, err := r.readTarget(ctx, c, s.rem.Spec.Target)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	in, err := r.planInputs(ctx, c, s, obj)
	if err != nil {
		return false, err
	}
	fresh, err := actions.PlanFor(s.action, in)
	if err != nil {
		// The action would not act now (at its cap, no candidate...): planning again says so.
		return false, nil //nolint:nilerr // a planning verdict, not a failure to read
	}
	api := fresh.API()
	holds := api.Patch == stored.Patch && maps.Equal(api.After, stored.After)
	if !holds {
		ctrl.LoggerFrom(ctx).Info("Stored plan differs from a fresh plan of the live target; planning again",
			"Remediation", client.ObjectKeyFromObject(s.rem), "storedAfter", stored.After, "freshAfter", api.After)
	}
	return holds, nil
}

// Impersonator returns a client that acts as user (system:serviceaccount:<ns>:<name>), for
// Direct patches made with a policy's ServiceAccount. main builds it from the manager's config.
type Impersonator func(user string) (client.Client, error)

// serviceAccountOf is the ServiceAccount, in the policy's namespace, whose rights a Direct
// patch of the policy is made with: spec.serviceAccountName, else --default-service-account for
// a policy outside the operator namespace; "" means heal8s's own rights.
func (r *RemediationReconciler) serviceAccountOf(s *scope) string {
	if s.policy == nil {
		return ""
	}
	if sa := s.policy.Spec.ServiceAccountName; sa != "" {
		return sa
	}
	if s.policy.Namespace != r.OperatorNamespace {
		return r.DefaultServiceAccount
	}
	return ""
}

// directWriter returns the client a Direct patch is sent with, and who it acts as.
func (r *RemediationReconciler) directWriter(s *scope) (client.Writer, string, error) {
	sa := r.serviceAccountOf(s)
	if sa == "" {
		return r.Client, "heal8s", nil
	}
	user := "system:serviceaccount:" + s.policy.Namespace + ":" + sa
	if r.Impersonate == nil {
		return nil, user, fmt.Errorf("patching as %s: the manager was started without impersonation", user)
	}
	c, err := r.Impersonate(user)
	if err != nil {
		return nil, user, fmt.Errorf("building a client that acts as %s: %w", user, err)
	}
	return c, user, nil
}
