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
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/fake"
	"github.com/heal8s/heal8s/internal/gitprovider/github"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/internal/routing"
)

// attackerServer is a tenant's own "GitHub": it records every request it receives, with the
// Authorization header it carried.
type attackerServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func newAttacker() *attackerServer {
	a := &attackerServer{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.requests = append(a.requests, fmt.Sprintf("%s %s auth=%q", r.Method, r.URL.Path, r.Header.Get("Authorization")))
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	return a
}

func (a *attackerServer) Requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.requests...)
}

// These specs run the Remediation reconciler as main wires it: the real GitHub provider built
// from the Secret by github.ProviderCache, so a credential that is handed out really travels.
// Webhooks are off in this suite: the controls hold in the controllers themselves.
var _ = Describe("Git credentials and pull request identity", Ordered, func() {
	const (
		repository    = "acme/deploy"
		platformToken = "platform-token"
		webhookSecret = "whsec"
	)
	var (
		opNS, teamA, teamB, teamC string
		gh                        *fake.Server
		attacker                  *attackerServer
		fakeHost                  string
		access                    gitaccess.Config
		stopManager               context.CancelFunc
		stopped                   chan struct{}
	)

	manifest := func(ns, name string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: ` + ns + `
spec:
  template:
    spec:
      containers:
        - name: app
          image: example.test/app:v2
          resources:
            limits:
              memory: 256Mi # raised by hand once
            requests:
              memory: 128Mi
`
	}
	deployment := func(ns, name string) {
		labels := map[string]string{"app": name}
		Expect(k8sClient.Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.test/app:v2",
						Resources: corev1.ResourceRequirements{
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
							Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
						}}}},
				},
			},
		})).To(Succeed())
	}
	policy := func(ns, name string, git v1beta1.GitSpec, mut func(*v1beta1.RemediationPolicySpec)) {
		if git.Repository == "" {
			git.Repository = repository
		}
		git.BaseBranch = "main"
		p := &v1beta1.RemediationPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1beta1.RemediationPolicySpec{
				Strategy: v1beta1.StrategyGitOps,
				Git:      &git,
				Rules: []v1beta1.Rule{{Name: "oom", Matchers: []string{`alertname="KubePodOOMKilled"`},
					Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}}},
			},
		}
		if mut != nil {
			mut(&p.Spec)
		}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
	}
	remediationFor := func(ns, name, policyNS, policyName, target string, strategy v1beta1.Strategy) *v1beta1.Remediation {
		action := v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}
		defaults.Action(&action)
		r := &v1beta1.Remediation{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1beta1.LabelAction: string(action.Type())}},
			Spec: v1beta1.RemediationSpec{
				PolicyRef: v1beta1.PolicyReference{Namespace: policyNS, Name: policyName},
				Rule:      "oom",
				Alert:     v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "fp-" + name},
				Target:    v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: target, Namespace: ns, Container: "app"},
				Action:    action,
				Strategy:  strategy,
			},
		}
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		return r
	}
	get := func(ns, name string) *v1beta1.Remediation {
		r := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, r)).To(Succeed())
		return r
	}
	waitPhase := func(ns, name string, phase v1beta1.Phase) *v1beta1.Remediation {
		Eventually(func() v1beta1.Phase { return get(ns, name).Status.Phase }).WithTimeout(20*time.Second).
			Should(Equal(phase), func() string { return fmt.Sprintf("%+v", get(ns, name).Status) })
		return get(ns, name)
	}
	secret := func(name string, annotations map[string]string, data map[string]string) {
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: name, Annotations: annotations},
			StringData: data})).To(Succeed())
	}
	namespace := func(prefix string, labels map[string]string) string {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix, Labels: labels}}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		return n.Name
	}

	BeforeAll(func() {
		opNS = namespace("gitop-", nil)
		teamA = namespace("team-a-", nil)
		teamB = namespace("team-b-", nil)
		teamC = namespace("team-c-", map[string]string{"heal8s-git-spec": "platform"})

		var err error
		gh, err = fake.New(fake.Options{Token: platformToken})
		Expect(err).NotTo(HaveOccurred())
		Expect(gh.NewRepo(repository, map[string]string{
			"apps/" + teamB + "/web.yaml":         manifest(teamB, "web"),
			"apps/" + teamC + "/web.yaml":         manifest(teamC, "web"),
			"apps/" + teamB + "/web-foreign.yaml": manifest(teamB, "web-foreign"),
		})).To(Succeed())
		u, err := url.Parse(gh.URL())
		Expect(err).NotTo(HaveOccurred())
		fakeHost = u.Host
		attacker = newAttacker()

		// The platform's credentials, all in the operator namespace: one for github.com that
		// no team may use, the receiver's bearer token, one the platform granted team B for the
		// (fake) Git host, and one for the operator namespace's own policies there.
		secret("platform", nil, map[string]string{"token": platformToken})
		secret("heal8s-receiver-token", nil, map[string]string{"token": "receiver-bearer-token"})
		secret("team-git", map[string]string{gitaccess.AnnotationGitHost: fakeHost, gitaccess.AnnotationAllowedNamespaces: teamB},
			map[string]string{"token": platformToken})
		secret("op-git", map[string]string{gitaccess.AnnotationGitHost: fakeHost}, map[string]string{"token": platformToken})

		access = gitaccess.Config{OperatorNamespace: opNS, Hosts: []string{"github.com", fakeHost}, AllowInsecureHTTP: true}
		providers := &github.ProviderCache{Adjust: func(o *github.Options) { o.MaxWait = 2 * time.Second }}
		stopManager, stopped = startTestManager(func(mgr ctrl.Manager) {
			Expect((&RemediationReconciler{
				Client:                  mgr.GetClient(),
				Metrics:                 metrics.NewRecorder(prometheus.NewRegistry()),
				OperatorNamespace:       opNS,
				ProtectedNamespaces:     routing.DefaultProtectedNamespaces,
				PollInterval:            100 * time.Millisecond,
				PullRequestPollInterval: 200 * time.Millisecond,
				GitAccess:               access,
				// As cmd/main.go wires it.
				Providers: func(creds GitCredentials) (gitprovider.Provider, error) {
					return providers.Get(creds.Secret.String(), creds.Data, creds.Endpoint.BaseURL)
				},
			}).SetupWithManager(mgr)).To(Succeed())
		})
	})
	AfterAll(func() {
		stopManager()
		Eventually(stopped).WithTimeout(20 * time.Second).Should(BeClosed())
		attacker.Close()
		gh.Close()
	})

	It("a team's policy pointing the platform Secret at its own server: the server receives nothing, the Remediation fails GitAccessDenied", func() {
		deployment(teamA, "web-steal")
		policy(teamA, "steal", v1beta1.GitSpec{BaseURL: attacker.URL + "/api/v3/", SecretRef: corev1.LocalObjectReference{Name: "platform"}}, nil)
		remediationFor(teamA, "steal-1", teamA, "steal", "web-steal", v1beta1.StrategyGitOps)
		r := waitPhase(teamA, "steal-1", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.GitAccessDeniedReason))
		Expect(r.Status.Message).To(ContainSubstring("is not one of the Git hosts"))
		Expect(r.Status.Message).NotTo(ContainSubstring(platformToken))

		By("following a pull request the status claims (the reconciler's poll and the repository poller)")
		deployment(teamA, "web-steal-2")
		rem := remediationFor(teamA, "steal-2", teamA, "steal", "web-steal-2", v1beta1.StrategyGitOps)
		// The reconciler may write status first: retry on a conflict with a fresh read.
		Eventually(func() error {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(rem), rem); err != nil {
				return err
			}
			rem.Status.Phase = v1beta1.PhaseAwaitingMerge
			rem.Status.PullRequest = &v1beta1.PullRequestStatus{Repository: repository, Number: 1, Branch: BranchPrefix + "steal-2",
				State: v1beta1.PullRequestOpen}
			return k8sClient.Status().Update(ctx, rem)
		}).Should(Succeed())
		poller := &PullRequestPoller{Client: k8sClient, APIReader: k8sClient, OperatorNamespace: opNS, GitAccess: access,
			Sync: &PullRequestSync{Client: k8sClient},
			Pollers: func(creds GitCredentials) (RepositoryPoller, error) {
				p, err := github.New(github.Options{BaseURL: creds.Endpoint.BaseURL, Token: string(creds.Data["token"]), MaxWait: time.Second})
				if err != nil {
					return nil, err
				}
				return p.NewPoller(""), nil
			}}
		Expect(poller.PollOnce(ctx)).To(MatchError(ContainSubstring("git access denied")))
		r = waitPhase(teamA, "steal-2", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.GitAccessDeniedReason))

		Consistently(attacker.Requests).WithTimeout(time.Second).Should(BeEmpty(), "not one request, so no token and no App JWT")
	})

	It("a team's policy naming the receiver's token Secret is refused", func() {
		deployment(teamA, "web-recv")
		policy(teamA, "receiver", v1beta1.GitSpec{SecretRef: corev1.LocalObjectReference{Name: "heal8s-receiver-token"}}, nil)
		remediationFor(teamA, "recv-1", teamA, "receiver", "web-recv", v1beta1.StrategyGitOps)
		r := waitPhase(teamA, "recv-1", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.GitAccessDeniedReason))
		Expect(r.Status.Message).To(ContainSubstring("does not grant namespace " + teamA))
		Expect(r.Status.Message).NotTo(ContainSubstring("receiver-bearer-token"))
	})

	It("a namespace the Secret grants proposes through it, with repository and node id recorded; a namespace it does not grant cannot", func() {
		deployment(teamB, "web")
		git := v1beta1.GitSpec{BaseURL: gh.URL(), SecretRef: corev1.LocalObjectReference{Name: "team-git"},
			Path: "apps/{{ .Namespace }}/{{ .Name }}.yaml"}
		policy(teamB, "granted", git, nil)
		rem := remediationFor(teamB, "granted-1", teamB, "granted", "web", v1beta1.StrategyGitOps)
		r := waitPhase(teamB, "granted-1", v1beta1.PhaseAwaitingMerge)
		pr := r.Status.PullRequest
		Expect(pr.Repository).To(Equal(repository))
		nodeID, err := gh.PullRequestNodeID(repository, int(pr.Number))
		Expect(err).NotTo(HaveOccurred())
		Expect(pr.NodeID).To(Equal(nodeID))
		Expect(pr.UpdatedAt).NotTo(BeNil())
		msgs, _, err := gh.BranchCommits(repository, "main", BranchPrefix+"granted-1")
		Expect(err).NotTo(HaveOccurred())
		Expect(msgs).To(HaveLen(1))
		Expect(gitprovider.OwnedBy(msgs[0], string(rem.UID))).To(BeTrue(), "the commit carries the Remediation's UID: %s", msgs[0])

		By("team A borrowing the same Secret and address")
		deployment(teamA, "web-borrow")
		policy(teamA, "borrow", git, nil)
		remediationFor(teamA, "borrow-1", teamA, "borrow", "web-borrow", v1beta1.StrategyGitOps)
		r = waitPhase(teamA, "borrow-1", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.GitAccessDeniedReason))
		Expect(r.Status.Message).To(ContainSubstring("does not grant namespace " + teamA))
		branches, err := gh.Branches(repository)
		Expect(err).NotTo(HaveOccurred())
		Expect(branches).NotTo(ContainElement(BranchPrefix + "borrow-1"))
	})

	It("a pull request event of another repository with the same number and branch changes nothing; nor does a replay", func() {
		cur := get(teamB, "granted-1").Status.PullRequest
		Expect(cur).NotTo(BeNil())
		handler, err := github.NewWebhookHandler([]byte(webhookSecret), (&PullRequestSync{Client: k8sClient}).Update)
		Expect(err).NotTo(HaveOccurred())
		// deliver signs and posts one pull_request event as GitHub would, and returns the
		// handler's status: 503 (a status write that met a concurrent one) makes GitHub redeliver.
		deliver := func(repo, nodeID string, merged bool, updatedAt time.Time) int {
			event := map[string]any{
				"action": "closed",
				"pull_request": map[string]any{
					"number": cur.Number, "node_id": nodeID, "state": "closed", "merged": merged,
					"html_url":   "https://github.com/" + repo + "/pull/1",
					"head":       map[string]any{"ref": cur.Branch, "sha": strings.Repeat("a", 40)},
					"updated_at": updatedAt.UTC().Format(time.RFC3339),
				},
				"repository": map[string]any{"full_name": repo},
			}
			body, err := json.Marshal(event)
			Expect(err).NotTo(HaveOccurred())
			mac := hmac.New(sha256.New, []byte(webhookSecret))
			mac.Write(body)
			req := httptest.NewRequest(http.MethodPost, github.WebhookPath, bytes.NewReader(body))
			req.Header.Set("X-GitHub-Event", "pull_request")
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			return rec.Code
		}
		later := cur.UpdatedAt.Add(time.Hour)
		unchanged := func() v1beta1.PullRequestState { return get(teamB, "granted-1").Status.PullRequest.State }

		Expect(deliver("mallory/deploy", "PR_mallory", true, later)).To(Equal(http.StatusOK))
		Expect(deliver("mallory/deploy", "PR_mallory", false, later)).To(Equal(http.StatusOK))
		Consistently(unchanged).WithTimeout(time.Second).Should(Equal(v1beta1.PullRequestOpen))

		By("the same repository and number, another pull request's node id")
		Expect(deliver(repository, "PR_someone_else", false, later)).To(Equal(http.StatusOK))
		By("the right pull request, delivered from before what status records")
		Expect(deliver(repository, cur.NodeID, false, cur.UpdatedAt.Add(-time.Hour))).To(Equal(http.StatusOK))
		Consistently(unchanged).WithTimeout(time.Second).Should(Equal(v1beta1.PullRequestOpen))
		Expect(get(teamB, "granted-1").Status.Phase).To(Equal(v1beta1.PhaseAwaitingMerge))

		By("the right pull request, merged")
		Expect(gh.MergePR(repository, int(cur.Number))).To(Succeed())
		// The reconciler's own poll may record the merge at the same moment: GitHub redelivers.
		Eventually(func() int { return deliver(repository, cur.NodeID, true, later) }).Should(Equal(http.StatusOK))
		waitPhase(teamB, "granted-1", v1beta1.PhaseApplying)
	})

	It("an operator-namespace policy uses a Secret there without a grant, but only towards the host it was issued for", func() {
		deployment(teamC, "web")
		selector := func(s *v1beta1.RemediationPolicySpec) {
			s.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"heal8s-git-spec": "platform"}}
		}
		policy(opNS, "platform", v1beta1.GitSpec{BaseURL: gh.URL(), SecretRef: corev1.LocalObjectReference{Name: "op-git"},
			Path: "apps/{{.Namespace}}/{{.Name}}.yaml"}, selector)
		remediationFor(teamC, "platform-1", opNS, "platform", "web", v1beta1.StrategyGitOps)
		r := waitPhase(teamC, "platform-1", v1beta1.PhaseAwaitingMerge)
		Expect(r.Status.PullRequest.Repository).To(Equal(repository))

		By("the same Secret sent elsewhere")
		deployment(teamC, "web-elsewhere")
		policy(opNS, "elsewhere", v1beta1.GitSpec{BaseURL: attacker.URL + "/", SecretRef: corev1.LocalObjectReference{Name: "op-git"}}, selector)
		remediationFor(teamC, "elsewhere-1", opNS, "elsewhere", "web-elsewhere", v1beta1.StrategyGitOps)
		r = waitPhase(teamC, "elsewhere-1", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.GitAccessDeniedReason))
		Expect(attacker.Requests()).To(BeEmpty())
	})

	It("a heal8s/<name> branch someone else pushed is refused (BranchNotOwned), never adopted", func() {
		Expect(gh.PushForeignBranch(repository, BranchPrefix+"foreign-1")).To(Succeed())
		deployment(teamB, "web-foreign")
		remediationFor(teamB, "foreign-1", teamB, "granted", "web-foreign", v1beta1.StrategyGitOps)
		r := waitPhase(teamB, "foreign-1", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.BranchNotOwnedReason))
		Expect(r.Status.PullRequest).To(BeNil())
		prs, err := gh.PullRequests(repository)
		Expect(err).NotTo(HaveOccurred())
		for _, pr := range prs {
			Expect(pr.Head).NotTo(Equal(BranchPrefix+"foreign-1"), "no pull request from someone else's branch")
		}
		msgs, _, err := gh.BranchCommits(repository, "main", BranchPrefix+"foreign-1")
		Expect(err).NotTo(HaveOccurred())
		Expect(msgs).To(Equal([]string{"someone else's change"}), "nothing was committed onto it")
	})

	It("a looping path template is never executed and does not block the worker", func() {
		deployment(teamB, "web-loop")
		policy(teamB, "loop", v1beta1.GitSpec{BaseURL: gh.URL(), SecretRef: corev1.LocalObjectReference{Name: "team-git"},
			Path: "{{range 2000000000}}{{end}}apps/{{.Name}}.yaml"}, nil)
		gh.ResetCalls()
		start := time.Now()
		remediationFor(teamB, "loop-1", teamB, "loop", "web-loop", v1beta1.StrategyGitOps)
		r := waitPhase(teamB, "loop-1", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.InvalidPathTemplateReason))
		Expect(time.Since(start)).To(BeNumerically("<", 15*time.Second))

		By("the one worker goes on with the next Remediation")
		deployment(teamB, "web-after")
		policy(teamB, "dry", v1beta1.GitSpec{}, func(s *v1beta1.RemediationPolicySpec) { s.Strategy, s.Git = v1beta1.StrategyDryRun, nil })
		remediationFor(teamB, "after-1", teamB, "dry", "web-after", v1beta1.StrategyDryRun)
		waitPhase(teamB, "after-1", v1beta1.PhaseSucceeded)
		for _, c := range gh.Calls() {
			Expect(c.String()).NotTo(ContainSubstring("loop-1"))
			Expect(c.String()).NotTo(ContainSubstring("git/ref/heads/main"), "nothing was proposed for the looping policy")
		}
	})
})
