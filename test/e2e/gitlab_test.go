//go:build e2e

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

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/remediation"
)

// mergeRequestEvent is a Merge Request Hook body as GitLab sends it on a merge
// (internal/gitprovider/gitlab/testdata/merge_request_hook.json has the full documented example).
func mergeRequestEvent(id int64, iid int, branch, url string) []byte {
	b, err := json.Marshal(map[string]any{
		"object_kind": "merge_request", "event_type": "merge_request",
		"project": map[string]any{"path_with_namespace": repository},
		"object_attributes": map[string]any{
			"id": id, "iid": iid, "source_branch": branch, "target_branch": "main", "state": "merged", "action": "merge",
			"url": url, "updated_at": time.Now().UTC().Format(time.RFC3339),
		},
	})
	Expect(err).NotTo(HaveOccurred())
	return b
}

var _ = Describe("heal8s on GitLab", Ordered, func() {
	It("raises memory after an OOMKill through a merge request on GitLab, told of the merge by GitLab's webhook", func() {
		path := "apps/e2e-gitlab/mem.yaml"
		Expect(st.FluxApplyFrom(ctx, st.GitLab, "main", path)).To(Succeed())
		pod := rolledOut(gitlabNamespace, "mem")
		alert := oomAlert(gitlabNamespace, pod)
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())

		rem := waitPhase(remediationFor(gitlabNamespace, "mem"), v1beta1.PhaseAwaitingMerge)
		pr := rem.Status.PullRequest
		Expect(pr).NotTo(BeNil())
		Expect(pr.Provider).To(Equal(v1beta1.GitProviderGitLab))
		Expect(pr.URL).To(ContainSubstring("/" + repository + "/-/merge_requests/"))
		mrs, err := st.GitLab.MergeRequests(repository)
		Expect(err).NotTo(HaveOccurred())
		Expect(mrs).To(HaveLen(1), "one merge request on GitLab")
		// A plain manifest edited where it is declared is not proved by rendering: labelled for
		// careful review, as on GitHub (internal/gitprovider/evidence.go).
		Expect(mrs[0].Labels).To(ConsistOf("heal8s", "increasememory", gitprovider.UnverifiedRenderLabel), "the labels the GitHub pull request gets")
		Expect(mrs[0].Source).To(Equal(pr.Branch))
		msgs, files, err := st.GitLab.BranchCommits(repository, "main", pr.Branch)
		Expect(err).NotTo(HaveOccurred())
		Expect(msgs).To(HaveLen(1))
		Expect(files).To(Equal([]string{path}), "the merge request changes the manifest and nothing else")
		githubPRs, err := st.GitHub.PullRequestCount(repository)
		Expect(err).NotTo(HaveOccurred())
		before := githubPRs

		By("a reviewer merges it on GitLab, which tells heal8s through its webhook")
		Expect(st.GitLab.MergePR(repository, int(pr.Number))).To(Succeed())
		token, err := os.ReadFile(st.GitLabWebhookSecretFile)
		Expect(err).NotTo(HaveOccurred())
		deliver := func(tok string) int {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.Manager.GitLabWebhookURL,
				bytes.NewReader(mergeRequestEvent(mrs[0].ID, mrs[0].IID, pr.Branch, pr.URL)))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("X-Gitlab-Event", "Merge Request Hook")
			req.Header.Set("X-Gitlab-Token", tok)
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			_ = resp.Body.Close()
			return resp.StatusCode
		}
		Expect(deliver("not-the-token")).To(Equal(http.StatusUnauthorized))
		Expect(deliver(strings.TrimSpace(string(token)))).To(Equal(http.StatusOK))
		Expect(st.FluxApplyFrom(ctx, st.GitLab, "main", path)).To(Succeed())
		waitPhase(rem, v1beta1.PhaseVerifying)
		Expect(st.Alertmanager.Resolve(ctx, alert)).To(Succeed())
		rem = waitPhase(rem, v1beta1.PhaseSucceeded)
		Expect(rem.Status.Reason).To(Equal(remediation.AlertResolvedReason))
		limit := container(deployment(gitlabNamespace, "mem")).Resources.Limits[corev1.ResourceMemory]
		Expect(limit.String()).To(Equal("320Mi"))
		main, err := st.GitLab.ReadFile(repository, "main", path)
		Expect(err).NotTo(HaveOccurred())
		Expect(main).To(ContainSubstring("memory: 320Mi # raised by heal8s"), "the comment on the changed line survives")
		after, err := st.GitHub.PullRequestCount(repository)
		Expect(err).NotTo(HaveOccurred())
		Expect(after).To(Equal(before), "nothing went to GitHub")
	})
})
