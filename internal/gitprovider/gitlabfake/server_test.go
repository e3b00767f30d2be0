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

package gitlabfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider/gitlabfake"
)

// call sends one request to the fake as a client of GitLab's REST API would.
func call(g Gomega, srv *gitlabfake.Server, method, path string, body any) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		g.Expect(err).NotTo(HaveOccurred())
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.APIURL()+path, rd)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("PRIVATE-TOKEN", srv.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// TestFakeRefusesWhatGitLabRefuses: the refusals the provider relies on, with GitLab's status
// codes and messages (see routes.go for the documentation of each endpoint).
func TestFakeRefusesWhatGitLabRefuses(t *testing.T) {
	g := NewWithT(t)
	srv, err := gitlabfake.New(gitlabfake.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	g.Expect(srv.NewRepo("acme/deploy", map[string]string{"a.yaml": "x: 1\n"})).To(Succeed())
	const proj = "projects/acme%2Fdeploy"

	status, branch := call(g, srv, http.MethodGet, proj+"/repository/branches/main", nil)
	g.Expect(status).To(Equal(http.StatusOK))
	base := branch["commit"].(map[string]any)["id"].(string)

	commit := func(extra map[string]any, action, path string) (int, map[string]any) {
		body := map[string]any{"branch": "heal8s/a", "commit_message": "m",
			"actions": []map[string]string{{"action": action, "file_path": path, "content": "x: 2\n"}}}
		maps.Copy(body, extra)
		return call(g, srv, http.MethodPost, proj+"/repository/commits", body)
	}
	status, out := commit(nil, "update", "a.yaml")
	g.Expect(status).To(Equal(http.StatusBadRequest), "no branch and no start: %v", out)
	status, out = commit(map[string]any{"start_sha": base}, "create", "a.yaml")
	g.Expect(status).To(Equal(http.StatusBadRequest), "create of an existing file: %v", out)
	g.Expect(out["message"]).To(Equal("A file with this name already exists"))
	status, out = commit(map[string]any{"start_sha": base}, "update", "missing.yaml")
	g.Expect(status).To(Equal(http.StatusBadRequest), "update of a missing file: %v", out)
	status, _ = commit(map[string]any{"start_sha": base}, "update", "a.yaml")
	g.Expect(status).To(Equal(http.StatusCreated), "branch and commit in one call")
	status, out = commit(map[string]any{"start_sha": base}, "update", "a.yaml")
	g.Expect(status).To(Equal(http.StatusBadRequest))
	g.Expect(out["message"]).To(ContainSubstring("already exists"), "the branch exists")
	status, _ = commit(map[string]any{"start_sha": base, "force": true}, "update", "a.yaml")
	g.Expect(status).To(Equal(http.StatusCreated), "force moves it")

	status, _ = call(g, srv, http.MethodGet, proj+"/repository/files/missing.yaml/raw?ref=main", nil)
	g.Expect(status).To(Equal(http.StatusNotFound))

	mr := map[string]any{"source_branch": "heal8s/a", "target_branch": "main", "title": "t", "labels": "heal8s,x"}
	status, created := call(g, srv, http.MethodPost, proj+"/merge_requests", mr)
	g.Expect(status).To(Equal(http.StatusCreated))
	g.Expect(created["labels"]).To(ConsistOf("heal8s", "x"))
	g.Expect(created["state"]).To(Equal("opened"))
	status, out = call(g, srv, http.MethodPost, proj+"/merge_requests", mr)
	g.Expect(status).To(Equal(http.StatusConflict), "a second open merge request from the branch")
	g.Expect(out["message"]).To(ContainElement(ContainSubstring("Another open merge request already exists")))

	status, _ = call(g, srv, http.MethodPost, "projects/acme%2Fother/merge_requests", mr)
	g.Expect(status).To(Equal(http.StatusNotFound))

	req, err := http.NewRequest(http.MethodGet, srv.APIURL()+proj+"/merge_requests", nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("PRIVATE-TOKEN", "wrong")
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized))

	status, closed := call(g, srv, http.MethodPut, proj+"/merge_requests/1", map[string]any{"state_event": "close", "add_labels": "y"})
	g.Expect(status).To(Equal(http.StatusOK))
	g.Expect(closed["state"]).To(Equal("closed"))
	g.Expect(closed["labels"]).To(ConsistOf("heal8s", "x", "y"))
	g.Expect(closed["closed_at"]).NotTo(BeNil())
	comments, err := srv.Comments("acme/deploy", 1)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(comments).To(BeEmpty(), "GitLab's system note on close is not a comment")
}
