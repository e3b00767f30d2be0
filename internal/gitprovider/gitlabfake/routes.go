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

package gitlabfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// route dispatches a request under /api/v4. Each handler models the GitLab REST API v4 endpoint
// named beside it, with the fields heal8s reads and the refusals it must handle.
func (s *Server) route(req *http.Request, escaped string, body []byte) reply {
	seg, err := segments(escaped)
	if err != nil || len(seg) < 2 || seg[0] != "projects" {
		return errReply(http.StatusNotFound, "404 Not Found")
	}
	p := s.project(seg[1])
	if p == nil {
		return errReply(http.StatusNotFound, "404 Project Not Found")
	}
	now := s.clock.Now()
	rest := seg[2:]
	q := req.URL.Query()
	m := req.Method
	switch {
	case len(rest) == 3 && rest[0] == "repository" && rest[1] == "branches" && m == http.MethodGet:
		return s.getBranch(p, rest[2])
	case len(rest) == 2 && rest[0] == "repository" && rest[1] == "tree" && m == http.MethodGet:
		return s.tree(p, q.Get("ref"), q.Get("recursive") == "true", q.Get("page"), q.Get("per_page"))
	case len(rest) == 4 && rest[0] == "repository" && rest[1] == "files" && rest[3] == "raw" && m == http.MethodGet:
		return s.rawFile(p, rest[2], q.Get("ref"))
	case len(rest) == 2 && rest[0] == "repository" && rest[1] == "commits" && m == http.MethodPost:
		return s.createCommit(p, body, now)
	case len(rest) == 3 && rest[0] == "repository" && rest[1] == "commits" && m == http.MethodGet:
		c, ok := p.commits[rest[2]]
		if !ok {
			if sha, ok := p.resolve(rest[2]); ok {
				c = p.commits[sha]
			} else {
				return errReply(http.StatusNotFound, "404 Commit Not Found")
			}
		}
		return jsonReply(http.StatusOK, commitJSON(c))
	case len(rest) == 2 && rest[0] == "repository" && rest[1] == "compare" && m == http.MethodGet:
		return s.compare(p, q.Get("from"), q.Get("to"))
	case len(rest) == 1 && rest[0] == "merge_requests" && m == http.MethodGet:
		return s.listMRs(p, req)
	case len(rest) == 1 && rest[0] == "merge_requests" && m == http.MethodPost:
		return s.createMR(p, body, now)
	case len(rest) >= 2 && rest[0] == "merge_requests":
		iid, err := strconv.Atoi(rest[1])
		mr := p.mr(iid)
		if err != nil || mr == nil {
			return errReply(http.StatusNotFound, "404 Not found")
		}
		switch {
		case len(rest) == 2 && m == http.MethodGet:
			return jsonReply(http.StatusOK, s.mrJSON(p, mr))
		case len(rest) == 2 && m == http.MethodPut:
			return s.updateMR(p, mr, body, now)
		case len(rest) == 3 && rest[2] == "notes" && m == http.MethodPost:
			return s.createNote(p, mr, body, now)
		case len(rest) == 3 && rest[2] == "notes" && m == http.MethodGet:
			return jsonReply(http.StatusOK, notesJSON(p.notes[mr.iid]))
		}
	}
	return errReply(http.StatusNotFound, "404 Not Found")
}

// project finds a project by its URL-encoded path (already unescaped) or its numeric id, as
// GitLab accepts either (https://docs.gitlab.com/ee/api/rest/#namespaced-paths).
func (s *Server) project(id string) *project {
	if p, ok := s.projects[id]; ok {
		return p
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		for _, p := range s.projects {
			if p.id == n {
				return p
			}
		}
	}
	return nil
}

// commitJSON is a commit object (https://docs.gitlab.com/ee/api/commits.html#get-a-single-commit).
func commitJSON(c *commit) map[string]any {
	title, _, _ := strings.Cut(c.message, "\n")
	return map[string]any{
		"id": c.sha, "short_id": c.sha[:8], "title": title, "message": c.message, "parent_ids": c.parents,
		"author_name": "heal8s", "author_email": "heal8s@example.com", "authored_date": c.at.Format(time.RFC3339),
		"committer_name": "heal8s", "committer_email": "heal8s@example.com", "committed_date": c.at.Format(time.RFC3339),
		"created_at": c.at.Format(time.RFC3339),
	}
}

// getBranch is GET /projects/:id/repository/branches/:branch
// (https://docs.gitlab.com/ee/api/branches.html#get-single-repository-branch).
func (s *Server) getBranch(p *project, name string) reply {
	sha, ok := p.branches[name]
	if !ok {
		return errReply(http.StatusNotFound, "404 Branch Not Found")
	}
	return jsonReply(http.StatusOK, map[string]any{
		"name": name, "merged": false, "protected": name == p.defaultBranch, "default": name == p.defaultBranch,
		"developers_can_push": false, "developers_can_merge": false, "can_push": true,
		"web_url": s.URL() + "/" + p.path + "/-/tree/" + name, "commit": commitJSON(p.commits[sha]),
	})
}

// tree is GET /projects/:id/repository/tree with recursive and offset pagination
// (https://docs.gitlab.com/ee/api/repositories.html#list-repository-tree): entries of type blob
// and tree, at most per_page (default 20, max 100) a page, X-Next-Page empty on the last.
func (s *Server) tree(p *project, ref string, recursive bool, pageS, perPageS string) reply {
	sha, ok := p.resolve(ref)
	if !ok {
		return errReply(http.StatusNotFound, "404 Tree Not Found")
	}
	type entry struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
		Path string `json:"path"`
		Mode string `json:"mode"`
	}
	dirs := map[string]bool{}
	var all []entry
	for f := range p.files(sha) {
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
		if !recursive && strings.Contains(f, "/") {
			continue
		}
		all = append(all, entry{ID: blobID(p.files(sha)[f]), Name: path.Base(f), Type: "blob", Path: f, Mode: "100644"})
	}
	for d := range dirs {
		if !recursive && strings.Contains(d, "/") {
			continue
		}
		all = append(all, entry{ID: blobID([]byte(d)), Name: path.Base(d), Type: "tree", Path: d, Mode: "040000"})
	}
	slices.SortFunc(all, func(a, b entry) int { return strings.Compare(a.Path, b.Path) })
	page, _ := strconv.Atoi(pageS)
	page = max(page, 1)
	perPage, _ := strconv.Atoi(perPageS)
	if perPage <= 0 {
		perPage = 20
	}
	perPage = min(perPage, 100)
	from := min((page-1)*perPage, len(all))
	to := min(from+perPage, len(all))
	rep := jsonReply(http.StatusOK, all[from:to])
	next := ""
	if to < len(all) {
		next = strconv.Itoa(page + 1)
	}
	rep.header = http.Header{"X-Page": {strconv.Itoa(page)}, "X-Per-Page": {strconv.Itoa(perPage)}, "X-Next-Page": {next},
		"X-Total": {strconv.Itoa(len(all))}}
	return rep
}

func blobID(b []byte) string { return fmt.Sprintf("%040x", len(b)*7919+int(crc(b))) }

func crc(b []byte) uint32 {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// rawFile is GET /projects/:id/repository/files/:file_path/raw?ref=
// (https://docs.gitlab.com/ee/api/repository_files.html#get-raw-file-from-repository).
func (s *Server) rawFile(p *project, filePath, ref string) reply {
	sha, ok := p.resolve(ref)
	if !ok {
		return errReply(http.StatusNotFound, "404 Commit Not Found")
	}
	b, ok := p.files(sha)[filePath]
	if !ok {
		return errReply(http.StatusNotFound, "404 File Not Found")
	}
	return reply{status: http.StatusOK, body: slices.Clone(b), header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}}
}

// createCommit is POST /projects/:id/repository/commits
// (https://docs.gitlab.com/ee/api/commits.html#create-a-commit-with-multiple-files-and-actions):
// with start_branch or start_sha it creates branch from there, and refuses a branch that exists
// unless force; without them it commits on top of an existing branch.
func (s *Server) createCommit(p *project, body []byte, now time.Time) reply {
	var in struct {
		Branch        string `json:"branch"`
		CommitMessage string `json:"commit_message"`
		StartBranch   string `json:"start_branch"`
		StartSHA      string `json:"start_sha"`
		Force         bool   `json:"force"`
		Actions       []struct {
			Action   string `json:"action"`
			FilePath string `json:"file_path"`
			Content  string `json:"content"`
			Encoding string `json:"encoding"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Branch == "" || in.CommitMessage == "" || len(in.Actions) == 0 {
		return errReply(http.StatusBadRequest, "branch, commit_message, actions are missing")
	}
	if in.StartBranch != "" && in.StartSHA != "" {
		return errReply(http.StatusBadRequest, "start_branch, start_sha are mutually exclusive")
	}
	parent, exists := p.branches[in.Branch]
	start := in.StartSHA
	if in.StartBranch != "" {
		sha, ok := p.branches[in.StartBranch]
		if !ok {
			return errReply(http.StatusBadRequest, fmt.Sprintf("Cannot find start_branch %s", in.StartBranch))
		}
		start = sha
	}
	switch {
	case start != "":
		if _, ok := p.commits[start]; !ok {
			return errReply(http.StatusBadRequest, fmt.Sprintf("Cannot find start_sha %s", in.StartSHA))
		}
		if exists && !in.Force {
			return errReply(http.StatusBadRequest, fmt.Sprintf("A branch called '%s' already exists. Switch to that branch in order to make changes", in.Branch))
		}
		parent = start
	case !exists:
		return errReply(http.StatusBadRequest, "You can only create or edit files when you are on a branch")
	}
	files := map[string][]byte{}
	cur := p.files(parent)
	for _, a := range in.Actions {
		if a.Encoding != "" && a.Encoding != "text" {
			return errReply(http.StatusBadRequest, "fake: only text encoding is supported")
		}
		_, present := cur[a.FilePath]
		switch a.Action {
		case "create":
			if present {
				return errReply(http.StatusBadRequest, "A file with this name already exists")
			}
			files[a.FilePath] = []byte(a.Content)
		case "update":
			if !present {
				return errReply(http.StatusBadRequest, "A file with this name doesn't exist")
			}
			files[a.FilePath] = []byte(a.Content)
		case "delete":
			if !present {
				return errReply(http.StatusBadRequest, "A file with this name doesn't exist")
			}
			files[a.FilePath] = nil
		default:
			return errReply(http.StatusBadRequest, "actions[0][action] does not have a valid value")
		}
	}
	sha := p.commitFiles(parent, files, in.CommitMessage, now)
	p.branches[in.Branch] = sha
	return jsonReply(http.StatusCreated, commitJSON(p.commits[sha]))
}

// compare is GET /projects/:id/repository/compare?from=&to=
// (https://docs.gitlab.com/ee/api/repositories.html#compare-branches-tags-or-commits): the
// commits of to since the merge base, and the diffs.
func (s *Server) compare(p *project, from, to string) reply {
	a, ok1 := p.resolve(from)
	b, ok2 := p.resolve(to)
	if !ok1 || !ok2 {
		return errReply(http.StatusNotFound, "404 Ref Not Found")
	}
	commits := []map[string]any{}
	for _, c := range slices.Backward(p.only(b, a)) {
		commits = append(commits, commitJSON(c))
	}
	diffs := []map[string]any{}
	for _, f := range p.changed(p.mergeBase(a, b), b) {
		_, inNew := p.files(b)[f]
		diffs = append(diffs, map[string]any{"old_path": f, "new_path": f, "new_file": false, "deleted_file": !inNew})
	}
	return jsonReply(http.StatusOK, map[string]any{"commits": commits, "diffs": diffs, "compare_same_ref": a == b})
}

// mrJSON is a merge request object (https://docs.gitlab.com/ee/api/merge_requests.html#get-single-mr).
func (s *Server) mrJSON(p *project, m *mergeRequest) map[string]any {
	return map[string]any{
		"id": m.id, "iid": m.iid, "project_id": p.id, "title": m.title, "description": m.description,
		"state": m.state, "created_at": m.createdAt.Format(time.RFC3339Nano), "updated_at": m.updatedAt.Format(time.RFC3339Nano),
		"merged_at": timeOrNil(m.mergedAt), "closed_at": timeOrNil(m.closedAt),
		"target_branch": m.target, "source_branch": m.source, "source_project_id": p.id, "target_project_id": p.id,
		"labels": append([]string{}, m.labels...), "draft": false, "work_in_progress": false,
		"sha": p.head(m), "merge_commit_sha": nilIfEmpty(m.mergeSHA), "detailed_merge_status": "mergeable",
		"references": map[string]string{"short": fmt.Sprintf("!%d", m.iid), "full": fmt.Sprintf("%s!%d", p.path, m.iid)},
		"web_url":    fmt.Sprintf("%s/%s/-/merge_requests/%d", s.URL(), p.path, m.iid),
	}
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.RFC3339Nano)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// listMRs is GET /projects/:id/merge_requests
// (https://docs.gitlab.com/ee/api/merge_requests.html#list-project-merge-requests): state
// (opened, closed, merged, locked, all; default all), source_branch, target_branch, order_by
// created_at or updated_at, sort desc by default, per_page and page.
func (s *Server) listMRs(p *project, req *http.Request) reply {
	q := req.URL.Query()
	state := q.Get("state")
	var out []*mergeRequest
	for _, m := range p.mrs {
		p.head(m)
		if state != "" && state != "all" && m.state != state {
			continue
		}
		if v := q.Get("source_branch"); v != "" && m.source != v {
			continue
		}
		if v := q.Get("target_branch"); v != "" && m.target != v {
			continue
		}
		out = append(out, m)
	}
	byUpdated := q.Get("order_by") == "updated_at"
	slices.SortStableFunc(out, func(a, b *mergeRequest) int {
		if byUpdated {
			if c := a.updatedAt.Compare(b.updatedAt); c != 0 {
				return c
			}
		}
		return a.iid - b.iid
	})
	if q.Get("sort") != "asc" {
		slices.Reverse(out)
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 {
		perPage = 20
	}
	perPage = min(perPage, 100)
	from := min((page-1)*perPage, len(out))
	to := min(from+perPage, len(out))
	list := []map[string]any{}
	for _, m := range out[from:to] {
		list = append(list, s.mrJSON(p, m))
	}
	rep := jsonReply(http.StatusOK, list)
	next := ""
	if to < len(out) {
		next = strconv.Itoa(page + 1)
	}
	rep.header = http.Header{"X-Page": {strconv.Itoa(page)}, "X-Per-Page": {strconv.Itoa(perPage)}, "X-Next-Page": {next}, "X-Total": {strconv.Itoa(len(out))}}
	return rep
}

// labels reads GitLab's labels parameter: a comma-separated string or an array.
func labels(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		list = strings.Split(s, ",")
	}
	var out []string
	for _, l := range list {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// createMR is POST /projects/:id/merge_requests
// (https://docs.gitlab.com/ee/api/merge_requests.html#create-mr): 409 when an open merge request
// from the same source branch exists.
func (s *Server) createMR(p *project, body []byte, now time.Time) reply {
	var in struct {
		SourceBranch string          `json:"source_branch"`
		TargetBranch string          `json:"target_branch"`
		Title        string          `json:"title"`
		Description  string          `json:"description"`
		Labels       json.RawMessage `json:"labels"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.SourceBranch == "" || in.TargetBranch == "" || in.Title == "" {
		return errReply(http.StatusBadRequest, "source_branch, target_branch, title are missing")
	}
	for _, m := range p.mrs {
		if m.source == in.SourceBranch && m.target == in.TargetBranch && m.state == "opened" {
			return errReply(http.StatusConflict, []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", m.iid)})
		}
	}
	head, ok := p.branches[in.SourceBranch]
	if !ok {
		return errReply(http.StatusUnprocessableEntity, map[string][]string{"source_branch": {"does not exist"}})
	}
	if _, ok := p.branches[in.TargetBranch]; !ok {
		return errReply(http.StatusUnprocessableEntity, map[string][]string{"target_branch": {"does not exist"}})
	}
	s.nextID++
	m := &mergeRequest{id: s.nextID, iid: p.nextIID, title: in.Title, description: in.Description, source: in.SourceBranch,
		target: in.TargetBranch, sha: head, state: "opened", labels: labels(in.Labels), createdAt: now, updatedAt: now}
	p.nextIID++
	p.mrs = append(p.mrs, m)
	return jsonReply(http.StatusCreated, s.mrJSON(p, m))
}

// updateMR is PUT /projects/:id/merge_requests/:iid
// (https://docs.gitlab.com/ee/api/merge_requests.html#update-mr): title, description,
// state_event close or reopen, labels (replace), add_labels, remove_labels.
func (s *Server) updateMR(p *project, m *mergeRequest, body []byte, now time.Time) reply {
	var in struct {
		Title        *string         `json:"title"`
		Description  *string         `json:"description"`
		StateEvent   string          `json:"state_event"`
		Labels       json.RawMessage `json:"labels"`
		AddLabels    json.RawMessage `json:"add_labels"`
		RemoveLabels json.RawMessage `json:"remove_labels"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return errReply(http.StatusBadRequest, "malformed body")
	}
	switch in.StateEvent {
	case "":
	case "close":
		if m.state == "opened" {
			p.head(m)
			m.state, m.closedAt = "closed", &now
			s.systemNote(p, m, "closed", now)
		}
	case "reopen":
		if m.state == "closed" {
			if _, ok := p.branches[m.source]; !ok {
				return errReply(http.StatusUnprocessableEntity, "Source branch does not exist")
			}
			m.state, m.closedAt = "opened", nil
			s.systemNote(p, m, "reopened", now)
		}
	default:
		return errReply(http.StatusBadRequest, "state_event does not have a valid value")
	}
	if in.Title != nil {
		m.title = *in.Title
	}
	if in.Description != nil {
		m.description = *in.Description
	}
	if len(in.Labels) > 0 {
		m.labels = labels(in.Labels)
	}
	for _, l := range labels(in.AddLabels) {
		if !slices.Contains(m.labels, l) {
			m.labels = append(m.labels, l)
		}
	}
	for _, l := range labels(in.RemoveLabels) {
		m.labels = slices.DeleteFunc(m.labels, func(x string) bool { return x == l })
	}
	m.updatedAt = now
	return jsonReply(http.StatusOK, s.mrJSON(p, m))
}

// systemNote records what GitLab records as a system note on a state change; Comments leaves
// them out, as a reviewer's comment list would.
func (s *Server) systemNote(p *project, m *mergeRequest, body string, now time.Time) {
	s.nextID++
	p.notes[m.iid] = append(p.notes[m.iid], note{id: s.nextID, body: body, system: true, at: now})
}

// createNote is POST /projects/:id/merge_requests/:iid/notes
// (https://docs.gitlab.com/ee/api/notes.html#create-new-merge-request-note).
func (s *Server) createNote(p *project, m *mergeRequest, body []byte, now time.Time) reply {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(body, &in); err != nil || strings.TrimSpace(in.Body) == "" {
		return errReply(http.StatusBadRequest, "body is missing")
	}
	s.nextID++
	n := note{id: s.nextID, body: in.Body, at: now}
	p.notes[m.iid] = append(p.notes[m.iid], n)
	m.updatedAt = now
	return jsonReply(http.StatusCreated, noteJSON(n))
}

func noteJSON(n note) map[string]any {
	return map[string]any{"id": n.id, "body": n.body, "system": n.system, "noteable_type": "MergeRequest",
		"created_at": n.at.Format(time.RFC3339Nano), "author": map[string]any{"username": "heal8s-bot"}}
}

func notesJSON(ns []note) []map[string]any {
	out := []map[string]any{}
	for _, n := range slices.Backward(ns) {
		out = append(out, noteJSON(n))
	}
	return out
}
