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
	"testing"
	"time"

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
			Branch: BranchPrefix + name, URL: "https://github.example/acme/deploy/pull/1", State: v1beta1.PullRequestOpen,
			Repository: "acme/deploy", NodeID: "PR_node_" + name, UpdatedAt: &metav1.Time{Time: t0}}
		Expect(k8sClient.Status().Update(ctx, rem)).To(Succeed())
		return rem
	}

	stateOf := func(name string) v1beta1.PullRequestState {
		rem := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, rem)).To(Succeed())
		Expect(rem.Status.PullRequest.State).To(Equal(v1beta1.PullRequestOpen), "the sync never writes status")
		// What the Remediation controller records when it folds the sync's annotation.
		foldPullRequest(&rem.Status, rem.Annotations, "")
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
		Expect(sync.Update(ctx, gitprovider.PullRequest{Repository: "acme/deploy", Number: 9, Branch: "feature/x", State: gitprovider.StateClosed})).To(Succeed())
		Expect(sync.Update(ctx, gitprovider.PullRequest{Repository: "acme/deploy", Number: 10, Branch: BranchPrefix + "oom-c", State: gitprovider.StateClosed})).To(Succeed())
		Expect(stateOf("oom-c")).To(Equal(v1beta1.PullRequestOpen))
	})

	It("records a close, writes nothing for a repeated event, and never leaves closed", func() {
		rem := awaiting("oom-d", 11)
		pr := gitprovider.PullRequest{Repository: "acme/deploy", Number: 11, Branch: BranchPrefix + "oom-d", State: gitprovider.StateClosed,
			NodeID: "PR_node_oom-d", UpdatedAt: t0.Add(time.Minute)}
		Expect(sync.Update(ctx, pr)).To(Succeed())
		Expect(stateOf("oom-d")).To(Equal(v1beta1.PullRequestClosed))

		current := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rem), current)).To(Succeed())
		Expect(sync.Update(ctx, pr)).To(Succeed())
		again := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(rem), again)).To(Succeed())
		Expect(again.ResourceVersion).To(Equal(current.ResourceVersion), "a replayed event writes nothing")

		pr.State, pr.UpdatedAt = gitprovider.StateOpen, t0.Add(2*time.Minute)
		Expect(sync.Update(ctx, pr)).To(Succeed())
		Expect(stateOf("oom-d")).To(Equal(v1beta1.PullRequestClosed), "a veto stays a veto: closed is terminal")
	})

	It("matches on repository and node id: a foreign repository's pull request with the same number and branch changes nothing", func() {
		awaiting("oom-e", 12)
		foreign := gitprovider.PullRequest{Repository: "mallory/other", Number: 12, Branch: BranchPrefix + "oom-e",
			State: gitprovider.StateClosed, NodeID: "PR_mallory", UpdatedAt: t0.Add(time.Hour)}
		Expect(sync.Update(ctx, foreign)).To(Succeed())
		foreign.State = gitprovider.StateMerged
		Expect(sync.Update(ctx, foreign)).To(Succeed())
		Expect(stateOf("oom-e")).To(Equal(v1beta1.PullRequestOpen))

		By("the same repository and number with another node id")
		recreated := gitprovider.PullRequest{Repository: "acme/deploy", Number: 12, Branch: BranchPrefix + "oom-e",
			State: gitprovider.StateClosed, NodeID: "PR_other", UpdatedAt: t0.Add(time.Hour)}
		Expect(sync.Update(ctx, recreated)).To(Succeed())
		Expect(stateOf("oom-e")).To(Equal(v1beta1.PullRequestOpen))

		By("the right pull request, in another case of the repository's name")
		recreated.Repository, recreated.NodeID, recreated.State = "Acme/Deploy", "PR_node_oom-e", gitprovider.StateMerged
		Expect(sync.Update(ctx, recreated)).To(Succeed())
		Expect(stateOf("oom-e")).To(Equal(v1beta1.PullRequestMerged))
	})

	It("ignores an event older than what status records", func() {
		awaiting("oom-f", 13)
		old := gitprovider.PullRequest{Repository: "acme/deploy", Number: 13, Branch: BranchPrefix + "oom-f",
			State: gitprovider.StateClosed, NodeID: "PR_node_oom-f", UpdatedAt: t0.Add(-time.Minute)}
		Expect(sync.Update(ctx, old)).To(Succeed())
		Expect(stateOf("oom-f")).To(Equal(v1beta1.PullRequestOpen), "a delivery from before the recorded update is a replay")
	})
})

var t0 = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func TestNextPullRequestStatus(t *testing.T) {
	g := NewWithT(t)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: t0.Add(d)} }
	cur := v1beta1.PullRequestStatus{Repository: "acme/deploy", Number: 7, Branch: "heal8s/a", NodeID: "N7",
		State: v1beta1.PullRequestOpen, UpdatedAt: at(0)}
	ev := func(mut func(*gitprovider.PullRequest)) gitprovider.PullRequest {
		pr := gitprovider.PullRequest{Repository: "acme/deploy", Number: 7, Branch: "heal8s/a", NodeID: "N7",
			State: gitprovider.StateMerged, UpdatedAt: t0.Add(time.Minute)}
		if mut != nil {
			mut(&pr)
		}
		return pr
	}
	for _, tc := range []struct {
		name   string
		cur    v1beta1.PullRequestStatus
		pr     gitprovider.PullRequest
		legacy string
		want   prVerdict
	}{
		{"merged", cur, ev(nil), "", prChanged},
		{"same state", cur, ev(func(p *gitprovider.PullRequest) { p.State = gitprovider.StateOpen }), "", prUnchanged},
		{"other repository", cur, ev(func(p *gitprovider.PullRequest) { p.Repository = "evil/deploy" }), "", prOther},
		{"other number", cur, ev(func(p *gitprovider.PullRequest) { p.Number = 8 }), "", prOther},
		{"other branch", cur, ev(func(p *gitprovider.PullRequest) { p.Branch = "heal8s/b" }), "", prOther},
		{"other node id", cur, ev(func(p *gitprovider.PullRequest) { p.NodeID = "N8" }), "", prOther},
		{"no node id in the event", cur, ev(func(p *gitprovider.PullRequest) { p.NodeID = "" }), "", prChanged},
		{"older", cur, ev(func(p *gitprovider.PullRequest) { p.UpdatedAt = t0.Add(-time.Second) }), "", prStale},
		{"out of merged", func() v1beta1.PullRequestStatus { c := cur; c.State = v1beta1.PullRequestMerged; return c }(),
			ev(func(p *gitprovider.PullRequest) { p.State = gitprovider.StateClosed; p.UpdatedAt = t0.Add(time.Hour) }), "", prTerminal},
		{"out of closed", func() v1beta1.PullRequestStatus { c := cur; c.State = v1beta1.PullRequestClosed; return c }(),
			ev(func(p *gitprovider.PullRequest) { p.State = gitprovider.StateOpen; p.UpdatedAt = t0.Add(time.Hour) }), "", prTerminal},
		{"legacy status, the policy's repository", v1beta1.PullRequestStatus{Number: 7, Branch: "heal8s/a", State: v1beta1.PullRequestOpen},
			ev(nil), "acme/deploy", prChanged},
		{"legacy status, another repository", v1beta1.PullRequestStatus{Number: 7, Branch: "heal8s/a", State: v1beta1.PullRequestOpen},
			ev(func(p *gitprovider.PullRequest) { p.Repository = "evil/deploy" }), "acme/deploy", prOther},
		{"legacy status without a policy matches nothing", v1beta1.PullRequestStatus{Number: 7, Branch: "heal8s/a", State: v1beta1.PullRequestOpen},
			ev(nil), "", prOther},
	} {
		next, got := nextPullRequestStatus(tc.cur, tc.pr, tc.legacy)
		g.Expect(got).To(Equal(tc.want), tc.name)
		if got == prChanged {
			g.Expect(next.State).To(BeEquivalentTo(tc.pr.State), tc.name)
			g.Expect(next.Repository).NotTo(BeEmpty(), tc.name)
			g.Expect(next.UpdatedAt.Time).To(Equal(tc.pr.UpdatedAt), tc.name)
		} else {
			g.Expect(next).To(Equal(tc.cur), tc.name)
		}
	}
}
