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
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitprovider"
)

var _ = Describe("PullRequestSync", func() {
	var (
		ns   string
		sync *PullRequestSync
	)

	BeforeEach(func() {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "prsync-"}}
		Expect(k8sClient.Create(ctx, nsObj)).To(Succeed())
		ns = nsObj.Name
		sync = &PullRequestSync{Client: k8sClient}
	})

	awaiting := func(name string, number int32) *v1beta1.Remediation {
		rem := &v1beta1.Remediation{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1beta1.RemediationSpec{
				PolicyRef: v1beta1.PolicyReference{Name: "p", Namespace: ns},
				Rule:      "oom",
				Alert:     v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "f1"},
				Target:    v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: "web", Namespace: ns},
				Action:    v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}},
				Strategy:  v1beta1.StrategyGitOps,
			},
		}
		Expect(k8sClient.Create(ctx, rem)).To(Succeed())
		rem.Status.Phase = v1beta1.PhaseAwaitingMerge
		rem.Status.PullRequest = &v1beta1.PullRequestStatus{Provider: v1beta1.GitProviderGitHub, Number: number,
			Branch: BranchPrefix + name, URL: "https://github.example/acme/deploy/pull/1", State: v1beta1.PullRequestOpen}
		Expect(k8sClient.Status().Update(ctx, rem)).To(Succeed())
		return rem
	}

	stateOf := func(name string) v1beta1.PullRequestState {
		rem := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, rem)).To(Succeed())
		return rem.Status.PullRequest.State
	}

	It("records a merge on the Remediation whose branch and number match", func() {
		awaiting("oom-a", 7)
		awaiting("oom-b", 8)
		Expect(sync.Update(ctx, gitprovider.PullRequest{Repository: "acme/deploy", Number: 7,
			Branch: BranchPrefix + "oom-a", State: gitprovider.StateMerged})).To(Succeed())
		Expect(stateOf("oom-a")).To(Equal(v1beta1.PullRequestMerged))
		Expect(stateOf("oom-b")).To(Equal(v1beta1.PullRequestOpen), "another Remediation's pull request is untouched")
	})

	It("ignores pull requests heal8s did not open, or whose number does not match", func() {
		awaiting("oom-c", 9)
		Expect(sync.Update(ctx, gitprovider.PullRequest{Number: 9, Branch: "feature/x", State: gitprovider.StateClosed})).To(Succeed())
		Expect(sync.Update(ctx, gitprovider.PullRequest{Number: 10, Branch: BranchPrefix + "oom-c", State: gitprovider.StateClosed})).To(Succeed())
		Expect(stateOf("oom-c")).To(Equal(v1beta1.PullRequestOpen))
	})

	It("records a close and a reopen, and writes nothing for a repeated event", func() {
		rem := awaiting("oom-d", 11)
		pr := gitprovider.PullRequest{Number: 11, Branch: BranchPrefix + "oom-d", State: gitprovider.StateClosed}
		Expect(sync.Update(ctx, pr)).To(Succeed())
		Expect(stateOf("oom-d")).To(Equal(v1beta1.PullRequestClosed))

		current := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rem), current)).To(Succeed())
		Expect(sync.Update(ctx, pr)).To(Succeed())
		again := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rem), again)).To(Succeed())
		Expect(again.ResourceVersion).To(Equal(current.ResourceVersion), "a replayed event writes nothing")

		pr.State = gitprovider.StateOpen
		Expect(sync.Update(ctx, pr)).To(Succeed())
		Expect(stateOf("oom-d")).To(Equal(v1beta1.PullRequestOpen))
	})
})
