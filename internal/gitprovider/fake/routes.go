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

package fake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// route dispatches /repos/{owner}/{name}/... to the handlers; s.mu is held.
func (s *Server) route(req *http.Request, path string, body []byte, now time.Time) reply {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 4 || segs[0] != "repos" {
		return errReply(http.StatusNotFound, "Not Found")
	}
	r, ok := s.repos[segs[1]+"/"+segs[2]]
	if !ok {
		return errReply(http.StatusNotFound, "Not Found")
	}
	rest := segs[3:]
	m := req.Method
	q := req.URL.Query()
	switch {
	case rest[0] == "git" && len(rest) >= 3 && rest[1] == "ref" && m == http.MethodGet:
		return s.getRef(r, strings.Join(rest[2:], "/"))
	case rest[0] == "git" && len(rest) == 2 && rest[1] == "refs" && m == http.MethodPost:
		return s.createRef(r, body)
	case rest[0] == "git" && len(rest) >= 3 && rest[1] == "refs" && m == http.MethodPatch:
		return s.updateRef(r, strings.Join(rest[2:], "/"), body)
	case rest[0] == "git" && len(rest) >= 3 && rest[1] == "refs" && m == http.MethodDelete:
		ref := strings.Join(rest[2:], "/")
		if _, ok := r.refs[ref]; !ok {
			return errReply(http.StatusUnprocessableEntity, "Reference does not exist")
		}
		delete(r.refs, ref)
		return reply{status: http.StatusNoContent}
	case rest[0] == "git" && len(rest) == 3 && rest[1] == "trees" && m == http.MethodGet:
		return s.getTree(r, rest[2], q.Get("recursive") != "" && q.Get("recursive") != "0" && q.Get("recursive") != "false")
	case rest[0] == "git" && len(rest) == 3 && rest[1] == "blobs" && m == http.MethodGet:
		return s.getBlob(r, rest[2], strings.Contains(req.Header.Get("Accept"), "raw"))
	case rest[0] == "git" && len(rest) == 3 && rest[1] == "commits" && m == http.MethodGet:
		c, ok := r.commits[rest[2]]
		if !ok {
			return errReply(http.StatusNotFound, "Not Found")
		}
		return jsonReply(http.StatusOK, s.gitCommitJSON(r, c))
	case rest[0] == "contents" && len(rest) >= 2 && m == http.MethodGet:
		return s.getContents(r, strings.Join(rest[1:], "/"), q.Get("ref"))
	case rest[0] == "contents" && len(rest) >= 2 && m == http.MethodPut:
		return s.putContents(r, strings.Join(rest[1:], "/"), body, now)
	case rest[0] == "compare" && len(rest) >= 2 && m == http.MethodGet:
		return s.compare(r, strings.Join(rest[1:], "/"))
	case rest[0] == "pulls" && len(rest) == 1 && m == http.MethodGet:
		return s.listPulls(r, req)
	case rest[0] == "pulls" && len(rest) == 1 && m == http.MethodPost:
		return s.createPull(r, body, now)
	case rest[0] == "pulls" && len(rest) >= 2:
		n, err := strconv.Atoi(rest[1])
		p := r.pull(n)
		if err != nil || p == nil {
			return errReply(http.StatusNotFound, "Not Found")
		}
		switch {
		case len(rest) == 2 && m == http.MethodGet:
			return jsonReply(http.StatusOK, s.pullJSON(r, p, true))
		case len(rest) == 2 && m == http.MethodPatch:
			return s.patchPull(r, p, body, now)
		case len(rest) == 3 && rest[2] == "merge" && m == http.MethodPut:
			sha, err := r.merge(p, now)
			if err != nil {
				return errReply(http.StatusMethodNotAllowed, "Pull Request is not mergeable: "+err.Error())
			}
			return jsonReply(http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
		}
	case rest[0] == "issues" && len(rest) == 3 && rest[2] == "comments" && m == http.MethodPost:
		n, err := strconv.Atoi(rest[1])
		p := r.pull(n)
		if err != nil || p == nil {
			return errReply(http.StatusNotFound, "Not Found")
		}
		var in struct {
			Body string `json:"body"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.Body == "" {
			return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		}
		r.comments[n] = append(r.comments[n], in.Body)
		p.updatedAt = now
		return jsonReply(http.StatusCreated, map[string]any{"id": len(r.comments[n]), "body": in.Body,
			"created_at": now.UTC().Format(time.RFC3339), "updated_at": now.UTC().Format(time.RFC3339)})
	case rest[0] == "issues" && len(rest) == 3 && rest[2] == "labels":
		n, err := strconv.Atoi(rest[1])
		p := r.pull(n)
		if err != nil || p == nil {
			return errReply(http.StatusNotFound, "Not Found")
		}
		switch m {
		case http.MethodGet:
			return jsonReply(http.StatusOK, labelsJSON(r.issueLabels[n]))
		case http.MethodPost:
			return s.addLabels(r, p, body, now)
		}
	}
	return errReply(http.StatusNotFound, "Not Found")
}

func (s *Server) refJSON(r *repo, ref, sha string) map[string]any {
	return map[string]any{
		"ref":    "refs/" + ref,
		"url":    fmt.Sprintf("%srepos/%s/git/refs/%s", s.URL(), r.fullName(), ref),
		"object": map[string]any{"sha": sha, "type": "commit"},
	}
}

func (s *Server) getRef(r *repo, ref string) reply {
	sha, ok := r.refs[ref]
	if !ok {
		return errReply(http.StatusNotFound, "Not Found")
	}
	return jsonReply(http.StatusOK, s.refJSON(r, ref, sha))
}

func (s *Server) createRef(r *repo, body []byte) reply {
	var in struct{ Ref, SHA string }
	if err := json.Unmarshal(body, &in); err != nil || !strings.HasPrefix(in.Ref, "refs/") || strings.Count(in.Ref, "/") < 2 {
		return errReply(http.StatusUnprocessableEntity, "Reference name must start with 'refs/' and have at least two slashes.")
	}
	if _, ok := r.commits[in.SHA]; !ok {
		return errReply(http.StatusUnprocessableEntity, "Object does not exist")
	}
	ref := strings.TrimPrefix(in.Ref, "refs/")
	if _, ok := r.refs[ref]; ok {
		return errReply(http.StatusUnprocessableEntity, "Reference already exists")
	}
	r.refs[ref] = in.SHA
	return jsonReply(http.StatusCreated, s.refJSON(r, ref, in.SHA))
}

func (s *Server) updateRef(r *repo, ref string, body []byte) reply {
	var in struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	cur, ok := r.refs[ref]
	if !ok {
		return errReply(http.StatusUnprocessableEntity, "Reference does not exist")
	}
	if _, ok := r.commits[in.SHA]; !ok {
		return errReply(http.StatusUnprocessableEntity, "Object does not exist")
	}
	if !in.Force && !r.ancestors(in.SHA)[cur] {
		return errReply(http.StatusUnprocessableEntity, "Update is not a fast forward")
	}
	r.refs[ref] = in.SHA
	return jsonReply(http.StatusOK, s.refJSON(r, ref, in.SHA))
}

func (s *Server) getTree(r *repo, ref string, recursive bool) reply {
	treeSHA, ok := r.resolveTree(ref)
	if !ok {
		return errReply(http.StatusNotFound, "Not Found")
	}
	files := r.trees[treeSHA]
	type entry struct {
		Path string `json:"path"`
		Mode string `json:"mode"`
		Type string `json:"type"`
		SHA  string `json:"sha"`
		Size *int   `json:"size,omitempty"`
	}
	var entries []entry
	dirs := map[string]bool{}
	for p, sha := range files {
		parts := strings.Split(p, "/")
		for i := 1; i < len(parts); i++ {
			dirs[strings.Join(parts[:i], "/")] = true
		}
		if !recursive && len(parts) > 1 {
			continue
		}
		size := len(r.blobs[sha])
		entries = append(entries, entry{Path: p, Mode: "100644", Type: "blob", SHA: sha, Size: &size})
	}
	for d := range dirs {
		if !recursive && strings.Contains(d, "/") {
			continue
		}
		h := sha256.Sum256([]byte(treeSHA + d))
		entries = append(entries, entry{Path: d, Mode: "040000", Type: "tree", SHA: hex.EncodeToString(h[:20])})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.Path, b.Path) })
	return jsonReply(http.StatusOK, map[string]any{"sha": treeSHA, "tree": entries, "truncated": false})
}

func (s *Server) getBlob(r *repo, sha string, raw bool) reply {
	b, ok := r.blobs[sha]
	if !ok {
		return errReply(http.StatusNotFound, "Not Found")
	}
	if raw {
		return reply{status: http.StatusOK, body: b}
	}
	return jsonReply(http.StatusOK, map[string]any{
		"sha": sha, "size": len(b), "encoding": "base64", "content": base64.StdEncoding.EncodeToString(b),
	})
}

func (s *Server) fileJSON(r *repo, path, sha, ref string) map[string]any {
	b := r.blobs[sha]
	name := path[strings.LastIndex(path, "/")+1:]
	return map[string]any{
		"type": "file", "encoding": "base64", "size": len(b), "name": name, "path": path, "sha": sha,
		"content":  base64.StdEncoding.EncodeToString(b),
		"html_url": fmt.Sprintf("%s%s/blob/%s/%s", s.srv.URL+"/", r.fullName(), ref, path),
	}
}

func (s *Server) getContents(r *repo, path, ref string) reply {
	c, ok := r.resolveCommit(ref)
	if !ok {
		return errReply(http.StatusNotFound, "No commit found for the ref "+ref)
	}
	files := r.treeOf(c)
	if sha, ok := files[path]; ok {
		return jsonReply(http.StatusOK, s.fileJSON(r, path, sha, ref))
	}
	var dir []map[string]any
	for p, sha := range files {
		if rest, ok := strings.CutPrefix(p, path+"/"); ok && !strings.Contains(rest, "/") {
			dir = append(dir, map[string]any{"type": "file", "name": rest, "path": p, "sha": sha})
		}
	}
	if dir != nil {
		return jsonReply(http.StatusOK, dir)
	}
	return errReply(http.StatusNotFound, "Not Found")
}

func (s *Server) putContents(r *repo, path string, body []byte, now time.Time) reply {
	var in struct {
		Message string `json:"message"`
		Content string `json:"content"`
		SHA     string `json:"sha"`
		Branch  string `json:"branch"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	content, err := base64.StdEncoding.DecodeString(in.Content)
	if err != nil || in.Message == "" {
		return errReply(http.StatusUnprocessableEntity, "Invalid request: content must be base64 and message is required")
	}
	branch := in.Branch
	if branch == "" {
		branch = r.defaultBranch
	}
	head, ok := r.refs["heads/"+branch]
	if !ok {
		return errReply(http.StatusNotFound, "Branch "+branch+" not found")
	}
	cur, exists := r.treeOf(head)[path]
	switch {
	case exists && in.SHA == "":
		return errReply(http.StatusUnprocessableEntity, `Invalid request. "sha" wasn't supplied.`)
	case exists && in.SHA != cur:
		return errReply(http.StatusConflict, fmt.Sprintf("%s does not match %s", path, in.SHA))
	}
	sha := r.commitFiles(head, map[string][]byte{path: content}, in.Message, now)
	r.refs["heads/"+branch] = sha
	status := http.StatusOK
	if !exists {
		status = http.StatusCreated
	}
	return jsonReply(status, map[string]any{
		"content": s.fileJSON(r, path, blobSHA(content), branch),
		"commit":  s.gitCommitJSON(r, r.commits[sha]),
	})
}

func (s *Server) gitCommitJSON(r *repo, c *commit) map[string]any {
	parents := []map[string]any{}
	for _, p := range c.parents {
		parents = append(parents, map[string]any{"sha": p})
	}
	return map[string]any{
		"sha": c.sha, "message": c.message, "tree": map[string]any{"sha": c.tree}, "parents": parents,
		"author":   map[string]any{"name": "heal8s", "date": c.at.UTC().Format(time.RFC3339)},
		"html_url": fmt.Sprintf("%s%s/commit/%s", s.srv.URL+"/", r.fullName(), c.sha),
	}
}

func (s *Server) compare(r *repo, spec string) reply {
	base, head, ok := strings.Cut(spec, "...")
	if !ok {
		return errReply(http.StatusNotFound, "Not Found")
	}
	b, okB := r.resolveCommit(base)
	h, okH := r.resolveCommit(head)
	if !okB || !okH {
		return errReply(http.StatusNotFound, "Not Found")
	}
	ahead, behind := r.countOnly(h, b), r.countOnly(b, h)
	status := "diverged"
	switch {
	case ahead == 0 && behind == 0:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case ahead == 0:
		status = "behind"
	}
	mb := r.mergeBase(b, h)
	var files []map[string]any
	for _, p := range r.changedPaths(mb, h) {
		files = append(files, map[string]any{"filename": p, "status": "modified"})
	}
	return jsonReply(http.StatusOK, map[string]any{
		"status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
		"merge_base_commit": map[string]any{"sha": mb}, "files": files,
	})
}

func (s *Server) pullJSON(r *repo, p *pull, single bool) map[string]any {
	head := r.headOf(p)
	out := map[string]any{
		"number": p.number, "state": p.state, "title": p.title, "body": p.body, "node_id": nodeID(r, p),
		"html_url":   fmt.Sprintf("%s%s/pull/%d", s.srv.URL+"/", r.fullName(), p.number),
		"head":       map[string]any{"ref": p.head, "sha": head, "label": r.owner + ":" + p.head},
		"base":       map[string]any{"ref": p.base, "sha": r.refs["heads/"+p.base], "label": r.owner + ":" + p.base},
		"labels":     labelsJSON(r.issueLabels[p.number]),
		"created_at": p.createdAt.UTC().Format(time.RFC3339),
		"updated_at": p.updatedAt.UTC().Format(time.RFC3339),
		"closed_at":  timeOrNil(p.closedAt),
		"merged_at":  timeOrNil(p.mergedAt),
	}
	if p.mergeSHA != "" {
		out["merge_commit_sha"] = p.mergeSHA
	}
	if single {
		// Like GitHub, only the single-pull endpoint says "merged"; lists carry merged_at.
		out["merged"] = p.merged
	}
	return out
}

// nodeID is a pull request's global id, like GitHub's node_id: unique across repositories,
// unlike the number.
func nodeID(r *repo, p *pull) string {
	return "PR_" + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s#%d", r.fullName(), p.number)))
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func labelsJSON(names []string) []map[string]any {
	out := []map[string]any{}
	for _, n := range names {
		out = append(out, map[string]any{"name": n})
	}
	return out
}

func (s *Server) listPulls(r *repo, req *http.Request) reply {
	q := req.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var list []*pull
	for _, p := range r.pulls {
		if state != "all" && p.state != state {
			continue
		}
		if h := q.Get("head"); h != "" {
			owner, branch, ok := strings.Cut(h, ":")
			if !ok || owner != r.owner || branch != p.head {
				continue
			}
		}
		if b := q.Get("base"); b != "" && b != p.base {
			continue
		}
		list = append(list, p)
	}
	key := func(p *pull) time.Time { return p.createdAt }
	if q.Get("sort") == "updated" {
		key = func(p *pull) time.Time { return p.updatedAt }
	}
	desc := q.Get("direction") != "asc"
	if q.Get("direction") == "" && q.Get("sort") != "" && q.Get("sort") != "created" {
		desc = false
	}
	slices.SortStableFunc(list, func(a, b *pull) int {
		c := key(a).Compare(key(b))
		if c == 0 {
			c = a.number - b.number
		}
		if desc {
			return -c
		}
		return c
	})
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 || perPage > 100 {
		perPage = 30
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	from := min((page-1)*perPage, len(list))
	to := min(from+perPage, len(list))
	out := []map[string]any{}
	for _, p := range list[from:to] {
		out = append(out, s.pullJSON(r, p, false))
	}
	rep := jsonReply(http.StatusOK, out)
	sum := sha256.Sum256(rep.body)
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	if inm := req.Header.Get("If-None-Match"); inm != "" && inm == etag {
		return reply{status: http.StatusNotModified, header: http.Header{"Etag": {etag}}}
	}
	rep.header = http.Header{"Etag": {etag}}
	return rep
}

func (s *Server) createPull(r *repo, body []byte, now time.Time) reply {
	var in struct{ Title, Head, Base, Body string }
	if err := json.Unmarshal(body, &in); err != nil {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	head := in.Head
	if owner, branch, ok := strings.Cut(in.Head, ":"); ok {
		if owner != r.owner {
			return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "PullRequest", Field: "head", Code: "invalid"})
		}
		head = branch
	}
	headSHA, okH := r.refs["heads/"+head]
	baseSHA, okB := r.refs["heads/"+in.Base]
	switch {
	case in.Title == "":
		return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "PullRequest", Field: "title", Code: "missing_field"})
	case !okH:
		return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "PullRequest", Field: "head", Code: "invalid"})
	case !okB:
		return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "PullRequest", Field: "base", Code: "invalid"})
	case r.countOnly(headSHA, baseSHA) == 0:
		return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "PullRequest", Code: "custom", Message: fmt.Sprintf("No commits between %s and %s", in.Base, head)})
	}
	for _, p := range r.pulls {
		if p.state == "open" && p.head == head && p.base == in.Base {
			return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "PullRequest", Code: "custom", Message: fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, head)})
		}
	}
	p := &pull{number: r.nextNumber, title: in.Title, body: in.Body, head: head, base: in.Base, headSHA: headSHA, state: "open", createdAt: now, updatedAt: now}
	r.nextNumber++
	r.pulls = append(r.pulls, p)
	return jsonReply(http.StatusCreated, s.pullJSON(r, p, true))
}

func (s *Server) patchPull(r *repo, p *pull, body []byte, now time.Time) reply {
	var in struct {
		State *string `json:"state"`
		Title *string `json:"title"`
		Body  *string `json:"body"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	if in.State != nil {
		switch {
		case *in.State == "closed" && p.state == "open":
			r.headOf(p)
			p.state, p.closedAt = "closed", &now
		case *in.State == "open" && p.state == "closed":
			if p.merged {
				return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "PullRequest", Code: "custom", Message: "merged pull requests cannot be reopened"})
			}
			if _, ok := r.refs["heads/"+p.head]; !ok {
				return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "PullRequest", Code: "custom", Message: "head branch was deleted"})
			}
			p.state, p.closedAt = "open", nil
		case *in.State != "open" && *in.State != "closed":
			return errReply(http.StatusUnprocessableEntity, "Validation Failed", errEntry{Resource: "PullRequest", Field: "state", Code: "invalid"})
		}
	}
	if in.Title != nil {
		p.title = *in.Title
	}
	if in.Body != nil {
		p.body = *in.Body
	}
	p.updatedAt = now
	return jsonReply(http.StatusOK, s.pullJSON(r, p, true))
}

func (s *Server) addLabels(r *repo, p *pull, body []byte, now time.Time) reply {
	var names []string
	if err := json.Unmarshal(body, &names); err != nil {
		var obj struct {
			Labels []string `json:"labels"`
		}
		if err := json.Unmarshal(body, &obj); err != nil {
			return errReply(http.StatusBadRequest, "Problems parsing JSON")
		}
		names = obj.Labels
	}
	for _, n := range names {
		if !slices.Contains(r.issueLabels[p.number], n) {
			r.issueLabels[p.number] = append(r.issueLabels[p.number], n)
		}
	}
	p.updatedAt = now
	return jsonReply(http.StatusOK, labelsJSON(r.issueLabels[p.number]))
}
