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

package plugin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

// The writes of kubectl heal8s approve, reject, retry, pause and resume. Each is a merge patch
// carrying the resourceVersion it read (optimistic), reread and redone on a conflict, so a
// concurrent writer (another person pausing, the receiver's sightings) is never overwritten.
// None writes status: the Remediation reconciler reads what they write and decides
// (docs/approvals.md).

// WhoAmI asks the API server who the client's credentials are (a SelfSubjectReview), the name
// an approval must carry: the admission policy heal8s-approval refuses any other.
func WhoAmI(ctx context.Context, c client.Client) (string, error) {
	r := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, r); err != nil {
		return "", fmt.Errorf("asking the API server who you are (SelfSubjectReview): %w", err)
	}
	if r.Status.UserInfo.Username == "" {
		return "", errors.New("the API server did not say who you are (SelfSubjectReview has no username)")
	}
	return r.Status.UserInfo.Username, nil
}

// Decide records user's decision (Approved or Rejected) on the plan awaiting approval of the
// Remediation key. It refuses a Remediation that is not awaiting approval, so a decision is
// never left to act on a later plan (the reconciler also checks the plan digest).
func Decide(ctx context.Context, c client.Client, key types.NamespacedName, decision v1beta1.ApprovalDecision, user, reason string) (*v1beta1.Remediation, error) {
	if decision != v1beta1.ApprovalApproved && decision != v1beta1.ApprovalRejected {
		return nil, fmt.Errorf("a decision is Approved or Rejected, not %q", decision)
	}
	if len(reason) > 1024 {
		return nil, fmt.Errorf("--reason is at most 1024 bytes, not %d", len(reason))
	}
	return patchRemediation(ctx, c, key, func(rem *v1beta1.Remediation) error {
		if remediation.Current(rem.Status.Phase) != v1beta1.PhaseAwaitingApproval {
			return fmt.Errorf("the Remediation %s is %s, not AwaitingApproval: there is nothing to approve or reject",
				key, remediation.Current(rem.Status.Phase))
		}
		digest := remediation.PlanDigest(rem.Status.Plan)
		if rem.Status.Approval != nil && rem.Status.Approval.PlanDigest != "" {
			digest = rem.Status.Approval.PlanDigest
		}
		if rem.Annotations == nil {
			rem.Annotations = map[string]string{}
		}
		rem.Annotations[v1beta1.AnnotationApprovalDecision] = string(decision)
		rem.Annotations[v1beta1.AnnotationApprovalUser] = user
		rem.Annotations[v1beta1.AnnotationApprovalPlan] = digest
		if reason != "" {
			rem.Annotations[v1beta1.AnnotationApprovalReason] = reason
		} else {
			delete(rem.Annotations, v1beta1.AnnotationApprovalReason)
		}
		return nil
	})
}

// RequestRetry asks for another try of a Failed or Skipped Remediation: a new heal8s.io/retry
// token, which the reconciler honours once. The checks the reconciler makes (RetryRefusal) are
// made here first, for a clear error.
func RequestRetry(ctx context.Context, c client.Client, key types.NamespacedName, now time.Time) (*v1beta1.Remediation, error) {
	return patchRemediation(ctx, c, key, func(rem *v1beta1.Remediation) error {
		if why := remediation.RetryRefusal(rem); why != "" {
			return fmt.Errorf("the Remediation %s cannot be retried: %s", key, why)
		}
		if rem.Annotations == nil {
			rem.Annotations = map[string]string{}
		}
		rem.Annotations[v1beta1.AnnotationRetry] = strconv.FormatInt(now.UnixNano(), 36)
		return nil
	})
}

func patchRemediation(ctx context.Context, c client.Client, key types.NamespacedName, mut func(*v1beta1.Remediation) error) (*v1beta1.Remediation, error) {
	rem := &v1beta1.Remediation{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, key, rem); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("no Remediation %s", key)
			}
			return fmt.Errorf("reading Remediation %s: %w", key, err)
		}
		orig := rem.DeepCopy()
		if err := mut(rem); err != nil {
			return err
		}
		return c.Patch(ctx, rem, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		return nil, err
	}
	return rem, nil
}

// Pause adds the pause request name to the policy key; an existing one of that name is kept.
// It reports whether it changed anything.
func Pause(ctx context.Context, c client.Client, key types.NamespacedName, name string) (bool, error) {
	return patchPauses(ctx, c, key, func(pauses []string) []string {
		if slices.Contains(pauses, name) {
			return nil
		}
		return append(pauses, name)
	})
}

// Resume removes the pause request name from the policy key, leaving every other pause. It
// reports whether it changed anything.
func Resume(ctx context.Context, c client.Client, key types.NamespacedName, name string) (bool, error) {
	return patchPauses(ctx, c, key, func(pauses []string) []string {
		if !slices.Contains(pauses, name) {
			return nil
		}
		return slices.DeleteFunc(slices.Clone(pauses), func(p string) bool { return p == name })
	})
}

// patchPauses applies change to the policy's pause requests (nil: nothing to do) with the
// resourceVersion it read: a pause another person added meanwhile makes the write conflict,
// and it is read and applied again, so no pause is lost.
func patchPauses(ctx context.Context, c client.Client, key types.NamespacedName, change func([]string) []string) (bool, error) {
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		changed = false
		p := &v1beta1.RemediationPolicy{}
		if err := c.Get(ctx, key, p); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("no RemediationPolicy %s", key)
			}
			return fmt.Errorf("reading RemediationPolicy %s: %w", key, err)
		}
		next := change(p.Spec.Safety.PauseRequests)
		if next == nil {
			return nil
		}
		orig := p.DeepCopy()
		p.Spec.Safety.PauseRequests = next
		if len(next) == 0 {
			p.Spec.Safety.PauseRequests = nil
		}
		if err := c.Patch(ctx, p, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("changing the pause requests of RemediationPolicy %s: %w", key, err)
	}
	return changed, nil
}

// ListRemediations lists Remediations of namespace ("" for all), only those awaiting approval
// when pending, ordered by namespace and name.
func ListRemediations(ctx context.Context, c client.Reader, namespace string, pending bool) ([]v1beta1.Remediation, error) {
	list := &v1beta1.RemediationList{}
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing Remediations: %w", err)
	}
	out := list.Items
	if pending {
		out = slices.DeleteFunc(out, func(r v1beta1.Remediation) bool { return r.Status.Phase != v1beta1.PhaseAwaitingApproval })
	}
	slices.SortFunc(out, func(a, b v1beta1.Remediation) int {
		if a.Namespace != b.Namespace {
			if a.Namespace < b.Namespace {
				return -1
			}
			return 1
		}
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out, nil
}
