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
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/github"
)

// recordingPoller answers PollOnce from a fixed list of pull requests and records the calls.
type recordingPoller struct {
	mu    sync.Mutex
	calls [][]string
	prs   []gitprovider.PullRequest
}

func (r *recordingPoller) PollOnce(ctx context.Context, repos []string, cb github.PullRequestCallback) error {
	r.mu.Lock()
	r.calls = append(r.calls, repos)
	r.mu.Unlock()
	for _, pr := range r.prs {
		if err := cb(ctx, pr); err != nil {
			return err
		}
	}
	return nil
}

var _ = Describe("PullRequestPoller", func() {
	It("polls each repository once per round and records what changed", func() {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "prpoll-"}}
		Expect(k8sClient.Create(ctx, nsObj)).To(Succeed())
		ns := nsObj.Name
		opNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "prpoll-op-"}}
		Expect(k8sClient.Create(ctx, opNS)).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gh", Namespace: opNS.Name,
			Annotations: map[string]string{gitaccess.AnnotationAllowedNamespaces: ns}},
			StringData: map[string]string{"token": "t"}})).To(Succeed())

		policy := &v1beta1.RemediationPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns},
			Spec: v1beta1.RemediationPolicySpec{
				Strategy: v1beta1.StrategyGitOps,
				Git:      &v1beta1.GitSpec{Repository: "acme/deploy", SecretRef: corev1.LocalObjectReference{Name: "gh"}},
				Rules: []v1beta1.Rule{{Name: "hpa", Matchers: []string{`alertname="KubeHpaMaxedOut"`},
					Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}}},
			},
		}
		Expect(k8sClient.Create(ctx, policy)).To(Succeed())

		waiting := func(name string, number int32, phase v1beta1.Phase) {
			rem := &v1beta1.Remediation{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: v1beta1.RemediationSpec{
					PolicyRef: v1beta1.PolicyReference{Name: "p", Namespace: ns}, Rule: "hpa",
					Alert:    v1beta1.AlertInfo{Name: "KubeHpaMaxedOut", Fingerprint: name},
					Target:   v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: name, Namespace: ns},
					Action:   v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}},
					Strategy: v1beta1.StrategyGitOps,
				},
			}
			Expect(k8sClient.Create(ctx, rem)).To(Succeed())
			rem.Status.Phase = phase
			rem.Status.PullRequest = &v1beta1.PullRequestStatus{Number: number, Branch: BranchPrefix + name, State: v1beta1.PullRequestOpen,
				Repository: "acme/deploy"}
			Expect(k8sClient.Status().Update(ctx, rem)).To(Succeed())
		}
		waiting("a", 1, v1beta1.PhaseAwaitingMerge)
		waiting("b", 2, v1beta1.PhaseAwaitingMerge)
		waiting("done", 3, v1beta1.PhaseSucceeded)

		rec := &recordingPoller{prs: []gitprovider.PullRequest{
			{Repository: "acme/deploy", Number: 1, Branch: BranchPrefix + "a", State: gitprovider.StateMerged},
			{Repository: "acme/deploy", Number: 2, Branch: BranchPrefix + "b", State: gitprovider.StateOpen},
		}}
		var gotSecret map[string][]byte
		poller := &PullRequestPoller{
			Client: k8sClient, APIReader: k8sClient, OperatorNamespace: opNS.Name,
			Pollers: func(creds GitCredentials) (RepositoryPoller, error) {
				if creds.Secret.Namespace != opNS.Name {
					return &recordingPoller{}, nil // other specs' policies
				}
				gotSecret = creds.Data
				return rec, nil
			},
			Sync: &PullRequestSync{Client: k8sClient},
		}
		// Other specs' waiting remediations name Secrets this operator namespace lacks: their
		// errors are reported, and ours is polled all the same.
		_ = poller.PollOnce(ctx)
		Expect(rec.calls).To(Equal([][]string{{"acme/deploy"}}), "one list of the repository for both pull requests")
		Expect(gotSecret).To(HaveKeyWithValue("token", []byte("t")))

		a := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, a)).To(Succeed())
		foldPullRequest(&a.Status, a.Annotations, "")
		Expect(a.Status.PullRequest.State).To(Equal(v1beta1.PullRequestMerged))
		b := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "b"}, b)).To(Succeed())
		foldPullRequest(&b.Status, b.Annotations, "")
		Expect(b.Status.PullRequest.State).To(Equal(v1beta1.PullRequestOpen))
	})
})
