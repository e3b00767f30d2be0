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
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/routing"
)

// RemediationPolicyReconciler keeps the shared routing table in step with the
// RemediationPolicies of the cluster and reports, on each policy, whether its rules compiled.
//
// It runs on every replica, not only the leader, because every replica's receiver routes alerts
// through its own table. The status patches that several replicas then send are computed from the
// same spec and only carry fields that changed, so they agree.
type RemediationPolicyReconciler struct {
	client.Client
	// Table is the routing table the Alertmanager receiver reads.
	Table *routing.Table
	// APIReader reads the metadata of the Secret a policy's git.secretRef names, to report in
	// the GitAccess condition whether the platform grants it; nil reports nothing.
	APIReader client.Reader
	// GitAccess is the platform's Git access configuration (hosts, operator namespace).
	GitAccess gitaccess.Config
}

// gitAccessRecheck is how often a policy whose Git access is refused is looked at again: a
// Secret is not watched, so a grant added later shows within this time.
const gitAccessRecheck = 5 * time.Minute

// +kubebuilder:rbac:groups=heal8s.io,resources=remediationpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=heal8s.io,resources=remediationpolicies/status,verbs=get;update;patch

// Reconcile compiles the policy into the table (or removes it when the policy is gone) and
// patches its status. A compile error is the user's to fix: it is reported in the Ready
// condition and not returned, so nothing retries until the spec changes.
func (r *RemediationPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	policy := &v1beta1.RemediationPolicy{}
	if err := r.Get(ctx, req.NamespacedName, policy); err != nil {
		if apierrors.IsNotFound(err) {
			r.Table.Delete(req.NamespacedName)
			log.V(1).Info("Removed policy from the routing table")
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading RemediationPolicy %s: %w", req.NamespacedName, err)
	}
	if !policy.DeletionTimestamp.IsZero() {
		r.Table.Delete(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	log = log.WithValues("RemediationPolicy", klog.KObj(policy), "generation", policy.Generation)

	compiled, compileErr := routing.Compile(policy)
	r.Table.Set(compiled)
	if compileErr != nil {
		log.Info("Policy did not compile", "error", compileErr.Error())
	}

	base := policy.DeepCopy()
	setPolicyStatus(policy, compiled)
	var result ctrl.Result
	if cond, err := r.gitAccessCondition(ctx, policy); err != nil {
		return ctrl.Result{}, err
	} else if cond != nil {
		meta.SetStatusCondition(&policy.Status.Conditions, *cond)
		if cond.Status != metav1.ConditionTrue {
			result.RequeueAfter = gitAccessRecheck
		}
	} else {
		meta.RemoveStatusCondition(&policy.Status.Conditions, v1beta1.ConditionGitAccess)
	}
	if err := r.Status().Patch(ctx, policy, client.MergeFrom(base)); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("patching status of RemediationPolicy %s: %w", req.NamespacedName, err)
	}
	return result, nil
}

// gitAccessCondition evaluates, with the rule the engine enforces (internal/gitaccess), whether
// the policy may use the Secret its git.secretRef names towards its host and repository, so a
// refusal shows on the policy before a remediation fails on it. Only the Secret's metadata is
// read; nil means the policy has no git section (or no reader was given).
func (r *RemediationPolicyReconciler) gitAccessCondition(ctx context.Context, p *v1beta1.RemediationPolicy) (*metav1.Condition, error) {
	if p.Spec.Git == nil || r.APIReader == nil {
		return nil, nil
	}
	cfg := r.GitAccess
	cond := &metav1.Condition{Type: v1beta1.ConditionGitAccess, ObservedGeneration: p.Generation}
	key := types.NamespacedName{Namespace: cfg.OperatorNamespace, Name: p.Spec.Git.SecretRef.Name}
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err := r.APIReader.Get(ctx, key, secret)
	switch {
	case apierrors.IsNotFound(err):
		cond.Status, cond.Reason = metav1.ConditionFalse, v1beta1.SecretNotFoundReason
		cond.Message = fmt.Sprintf("Secret %s does not exist", key)
		return cond, nil
	case err != nil:
		return nil, fmt.Errorf("reading the metadata of Secret %s: %w", key, err)
	}
	annotations, repository := secret.Annotations, p.Spec.Git.Repository
	if repository == "" {
		// The repository is discovered per target (Flux, Argo CD) and checked against the
		// Secret's allowed repositories when a change is proposed; here only host and namespace.
		annotations = maps.Clone(annotations)
		delete(annotations, gitaccess.AnnotationAllowedRepositories)
		repository = "(the repository discovered for each target)"
	}
	_, err = cfg.Authorize(gitaccess.Request{
		PolicyNamespace: p.Namespace, PolicyName: p.Name, Repository: p.Spec.Git.Repository,
		BaseURL: p.Spec.Git.EffectiveBaseURL(), SecretName: key.Name, SecretAnnotations: annotations,
	})
	if err != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, v1beta1.GitAccessDeniedReason, err.Error()
		return cond, nil
	}
	cond.Status, cond.Reason = metav1.ConditionTrue, v1beta1.GitAccessGrantedReason
	cond.Message = fmt.Sprintf("Secret %s grants this policy %s", key, repository)
	return cond, nil
}

// setPolicyStatus writes what the compile found into the policy's status: the Ready condition,
// the number of rules in the routing table and the generation both describe.
func setPolicyStatus(p *v1beta1.RemediationPolicy, c *routing.Policy) {
	cond := metav1.Condition{
		Type:               v1beta1.ConditionReady,
		ObservedGeneration: p.Generation,
	}
	switch {
	case !c.Ready():
		cond.Status, cond.Reason = metav1.ConditionFalse, v1beta1.CompileFailedReason
		cond.Message = c.Err.Error()
		p.Status.CompiledRules = 0
	case c.Suspended:
		cond.Status, cond.Reason = metav1.ConditionFalse, v1beta1.SuspendedReason
		cond.Message = fmt.Sprintf("All %d rules compiled; the policy is suspended and starts no remediation", len(c.Rules))
		p.Status.CompiledRules = int32(len(c.Rules)) //nolint:gosec // at most 100 rules (CRD bound)
	case len(c.PauseRequests) > 0:
		cond.Status, cond.Reason = metav1.ConditionFalse, v1beta1.PausedReason
		cond.Message = fmt.Sprintf("All %d rules compiled; the policy is paused by %s and starts no remediation",
			len(c.Rules), strings.Join(c.PauseRequests, ", "))
		p.Status.CompiledRules = int32(len(c.Rules)) //nolint:gosec // at most 100 rules (CRD bound)
	default:
		cond.Status, cond.Reason = metav1.ConditionTrue, v1beta1.CompiledReason
		cond.Message = fmt.Sprintf("All %d rules compiled into the routing table", len(c.Rules))
		p.Status.CompiledRules = int32(len(c.Rules)) //nolint:gosec // at most 100 rules (CRD bound)
	}
	meta.SetStatusCondition(&p.Status.Conditions, cond)
	p.Status.ObservedGeneration = p.Generation
}

// SetupWithManager registers the reconciler. Status-only updates (the receiver's lastMatchTime)
// do not change the generation and trigger nothing; the controller needs no leader so that every
// replica's table is filled.
func (r *RemediationPolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.RemediationPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{NeedLeaderElection: ptr.To(false)}).
		Named("remediationpolicy").
		Complete(r)
}
