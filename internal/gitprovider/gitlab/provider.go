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

package gitlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/ratelimit"
)

var _ gitprovider.Provider = (*Provider)(nil)

// Provider talks to one GitLab instance with one token. It is safe for concurrent use; build one
// per credential and reuse it so rate-limit knowledge is shared.
type Provider struct {
	base      *url.URL
	token     string
	clock     Clock
	transport *ratelimit.Transport
	http      *http.Client
}

// Calls is how many HTTP requests this Provider has sent, retries included.
func (p *Provider) Calls() int64 { return p.transport.Calls() }

// Propose opens the merge request for a Proposal, or finds the one an earlier call opened.
//
// The happy path costs five calls when Edit reads one file: read the base branch, look for a
// merge request from the branch in any state, read the file, create the branch and its one
// commit in a single call (the commits API with start_sha), open the merge request with its
// labels. The look-up comes first so that a merge request an earlier call opened is found
// whatever became of it since, even closed with its branch deleted: heal8s then follows that
// merge request and never opens a second one for the same Proposal. Every later step tolerates
// an earlier attempt that stopped right after it: an existing branch makes Propose resume (it
// opens the merge request for heal8s's own commit, or moves a branch without commits to the
// base), an existing open merge request (409) is looked up and adopted.
//
// With prop.Owner set, the commit carries the owner trailer, and a branch or merge request that
// Propose finds must carry it on its head commit: someone else's heal8s/<name> branch is refused
// (gitprovider.ErrBranchNotOwned), never adopted.
func (p *Provider) Propose(ctx context.Context, prop gitprovider.Proposal) (gitprovider.PullRequest, error) {
	if err := prop.Validate(); err != nil {
		return gitprovider.PullRequest{}, err
	}
	proj, err := projectPath(prop.Repository)
	if err != nil {
		return gitprovider.PullRequest{}, err
	}
	ctx = ratelimit.WithBudget(ctx, p.clock.Now())
	log := ctrl.LoggerFrom(ctx).WithValues("repository", prop.Repository, "branch", prop.Branch)

	baseSHA, err := p.branchHead(ctx, proj, prop.BaseBranch)
	if err != nil {
		return gitprovider.PullRequest{}, fmt.Errorf("reading base branch %s of %s: %w", prop.BaseBranch, prop.Repository, err)
	}
	if mr, found, err := p.findMR(ctx, proj, prop); err != nil {
		return gitprovider.PullRequest{}, err
	} else if found {
		return p.adopt(ctx, proj, prop, mr)
	}

	repo := &repoAt{p: p, proj: proj, sha: baseSHA}
	path, content, err := prop.Edit(ctx, repo)
	if err != nil {
		return gitprovider.PullRequest{}, fmt.Errorf("computing the edit at %s@%s: %w", prop.Repository, short(baseSHA), err)
	}
	path = strings.TrimPrefix(path, "/")
	if path == "" {
		return gitprovider.PullRequest{}, fmt.Errorf("%w: edit returned no path", gitprovider.ErrInvalidProposal)
	}
	// What the edit proved (docs/architecture.md, "Proved, not guessed") goes into the body and
	// the labels.
	prop = prop.AfterEdit()
	current, exists, err := repo.file(ctx, path)
	if err != nil {
		return gitprovider.PullRequest{}, fmt.Errorf("reading %s at %s: %w", path, short(baseSHA), err)
	}
	if exists && bytes.Equal(current, content) {
		return gitprovider.PullRequest{}, fmt.Errorf("%s on %s: %w", path, prop.BaseBranch, gitprovider.ErrNoChange)
	}
	c := commitPlan{path: path, content: content, exists: exists}

	created, err := p.commit(ctx, proj, prop, c, baseSHA, false)
	if err != nil {
		return gitprovider.PullRequest{}, err
	}
	if !created {
		log.V(1).Info("Branch exists, resuming an earlier proposal")
		if err := p.resume(ctx, proj, prop, baseSHA, c); err != nil {
			return gitprovider.PullRequest{}, err
		}
	}
	return p.openMR(ctx, proj, prop)
}

type commitPlan struct {
	path    string
	content []byte
	exists  bool
}

// commitAction is one entry of the commits API's actions.
type commitAction struct {
	Action   string `json:"action"`
	FilePath string `json:"file_path"`
	Content  string `json:"content"`
	Encoding string `json:"encoding,omitempty"`
}

// commit creates branch prop.Branch from startSHA with the one commit (POST
// /projects/:id/repository/commits with start_sha), or with force moves an existing branch there.
// It reports false, without error, when the branch already exists and force is off.
func (p *Provider) commit(ctx context.Context, proj string, prop gitprovider.Proposal, c commitPlan, startSHA string, force bool) (bool, error) {
	action := "create"
	if c.exists {
		action = "update"
	}
	body := map[string]any{
		"branch":         prop.Branch,
		"start_sha":      startSHA,
		"commit_message": gitprovider.CommitMessageFor(prop.CommitMessage, prop.Owner),
		"actions":        []commitAction{{Action: action, FilePath: c.path, Content: string(c.content)}},
	}
	if force {
		body["force"] = true
	}
	_, _, err := p.do(ctx, http.MethodPost, "projects/"+proj+"/repository/commits", nil, body, nil)
	switch {
	case err == nil:
		return true, nil
	case !force && statusOf(err) == http.StatusBadRequest && branchExists(err):
		return false, nil
	default:
		return false, fmt.Errorf("committing %s on %s: %w", c.path, prop.Branch, err)
	}
}

// branchExists recognises the commits API's refusal to start a branch that exists.
func branchExists(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.Message), "already exists")
}

// resume finishes a proposal whose branch exists and from which no merge request was found.
func (p *Provider) resume(ctx context.Context, proj string, prop gitprovider.Proposal, baseSHA string, c commitPlan) error {
	headSHA, err := p.branchHead(ctx, proj, prop.Branch)
	if err != nil {
		return fmt.Errorf("reading branch %s: %w", prop.Branch, err)
	}
	if headSHA != baseSHA {
		var cmp struct {
			Commits []commitInfo `json:"commits"`
		}
		q := url.Values{"from": {baseSHA}, "to": {headSHA}, "straight": {"false"}}
		if _, _, err := p.do(ctx, http.MethodGet, "projects/"+proj+"/repository/compare", q, nil, &cmp); err != nil {
			return fmt.Errorf("comparing %s with %s: %w", prop.Branch, prop.BaseBranch, err)
		}
		if len(cmp.Commits) > 0 {
			// Commits on the branch: ours from a call that stopped before the merge request, or
			// someone else's, which heal8s must not put its name on.
			return p.checkOwned(ctx, proj, prop, headSHA)
		}
	}
	// The branch holds no commit beyond the base (made from an older base, or emptied): put the
	// commit on it, starting from the base the edit was computed against.
	if _, err := p.commit(ctx, proj, prop, c, baseSHA, true); err != nil {
		return err
	}
	return nil
}

// openMR opens the merge request with its labels in one call; an existing open one (409) is
// looked up and adopted.
func (p *Provider) openMR(ctx context.Context, proj string, prop gitprovider.Proposal) (gitprovider.PullRequest, error) {
	var mr mergeRequest
	_, _, err := p.do(ctx, http.MethodPost, "projects/"+proj+"/merge_requests", nil, map[string]any{
		"source_branch": prop.Branch,
		"target_branch": prop.BaseBranch,
		"title":         prop.Title,
		"description":   prop.Body,
		"labels":        strings.Join(nonEmpty(prop.Labels), ","),
	}, &mr)
	if err != nil {
		if statusOf(err) != http.StatusConflict {
			return gitprovider.PullRequest{}, fmt.Errorf("opening a merge request for %s: %w", prop.Branch, err)
		}
		found, ok, ferr := p.findMR(ctx, proj, prop)
		if ferr != nil {
			return gitprovider.PullRequest{}, ferr
		}
		if !ok {
			return gitprovider.PullRequest{}, fmt.Errorf("opening a merge request for %s: GitLab says one exists but none is listed: %w", prop.Branch, err)
		}
		return p.adopt(ctx, proj, prop, found)
	}
	return mr.convert(prop.Repository), nil
}

// adopt returns a merge request an earlier call opened, after checking that it is the
// proposal's (its head commit carries the owner trailer), with any missing label added. One
// whose head is someone else's commit on top of the proposal's is returned Edited and left
// alone, after one note saying so.
func (p *Provider) adopt(ctx context.Context, proj string, prop gitprovider.Proposal, pr gitprovider.PullRequest) (gitprovider.PullRequest, error) {
	edited, err := p.ownership(ctx, proj, prop, pr.HeadSHA)
	if err != nil {
		return gitprovider.PullRequest{}, fmt.Errorf("merge request !%d: %w", pr.Number, err)
	}
	if edited {
		return p.leaveAlone(ctx, proj, pr)
	}
	var missing []string
	for _, l := range nonEmpty(prop.Labels) {
		if !slices.Contains(pr.Labels, l) {
			missing = append(missing, l)
		}
	}
	if len(missing) == 0 {
		return pr, nil
	}
	var mr mergeRequest
	if _, _, err := p.do(ctx, http.MethodPut, mrPath(proj, pr.Number), nil, map[string]any{addLabelsParam: strings.Join(missing, ",")}, &mr); err != nil {
		return pr, fmt.Errorf("labelling merge request !%d: %w", pr.Number, err)
	}
	return mr.convert(prop.Repository), nil
}

// checkOwned reads commit sha and fails with gitprovider.ErrBranchNotOwned unless its message
// carries the proposal's owner trailer. A proposal without an owner checks nothing.
func (p *Provider) checkOwned(ctx context.Context, proj string, prop gitprovider.Proposal, sha string) error {
	if prop.Owner == "" {
		return nil
	}
	if sha == "" {
		return fmt.Errorf("%w: %s has no head commit to check", gitprovider.ErrBranchNotOwned, prop.Branch)
	}
	var c commitInfo
	if _, _, err := p.do(ctx, http.MethodGet, "projects/"+proj+"/repository/commits/"+url.PathEscape(sha), nil, nil, &c); err != nil {
		return fmt.Errorf("reading head commit %s of %s: %w", short(sha), prop.Branch, err)
	}
	if !gitprovider.OwnedBy(c.Message, prop.Owner) {
		return fmt.Errorf("%w: the head commit %s of %s lacks the trailer %q; delete the branch or rename it",
			gitprovider.ErrBranchNotOwned, short(sha), prop.Branch, gitprovider.OwnerTrailer+": "+prop.Owner)
	}
	return nil
}

// ownership walks the branch down from sha along first parents (at most
// gitprovider.MaxOwnershipWalk commits): a head with the proposal's trailer is owned; someone
// else's commits above one with it are edited; anything else is gitprovider.ErrBranchNotOwned.
func (p *Provider) ownership(ctx context.Context, proj string, prop gitprovider.Proposal, sha string) (edited bool, err error) {
	if prop.Owner == "" {
		return false, nil
	}
	if sha == "" {
		return false, fmt.Errorf("%w: %s has no head commit to check", gitprovider.ErrBranchNotOwned, prop.Branch)
	}
	cur := sha
	for i := 0; i < gitprovider.MaxOwnershipWalk && cur != ""; i++ {
		var c struct {
			commitInfo
			ParentIDs []string `json:"parent_ids"`
		}
		if _, _, err := p.do(ctx, http.MethodGet, "projects/"+proj+"/repository/commits/"+url.PathEscape(cur), nil, nil, &c); err != nil {
			return false, fmt.Errorf("reading commit %s of %s: %w", short(cur), prop.Branch, err)
		}
		if gitprovider.OwnedBy(c.Message, prop.Owner) {
			return i > 0, nil
		}
		if gitprovider.HasOwnerTrailer(c.Message) || len(c.ParentIDs) == 0 {
			break
		}
		cur = c.ParentIDs[0]
	}
	return false, fmt.Errorf("%w: the head commit %s of %s lacks the trailer %q, and so do the commits below it; delete the branch or rename it",
		gitprovider.ErrBranchNotOwned, short(sha), prop.Branch, gitprovider.OwnerTrailer+": "+prop.Owner)
}

// leaveAlone says once (EditedLabel marks it) that heal8s will not touch a merge request someone
// else pushed to, and returns it Edited.
func (p *Provider) leaveAlone(ctx context.Context, proj string, pr gitprovider.PullRequest) (gitprovider.PullRequest, error) {
	pr.Edited = true
	if slices.Contains(pr.Labels, gitprovider.EditedLabel) || pr.State != gitprovider.StateOpen {
		return pr, nil
	}
	if _, _, err := p.do(ctx, http.MethodPost, mrPath(proj, pr.Number)+"/notes", nil, map[string]string{"body": gitprovider.EditedComment(pr.Branch)}, nil); err != nil {
		return pr, fmt.Errorf("commenting on merge request !%d: %w", pr.Number, err)
	}
	var mr mergeRequest
	if _, _, err := p.do(ctx, http.MethodPut, mrPath(proj, pr.Number), nil, map[string]string{addLabelsParam: gitprovider.EditedLabel}, &mr); err != nil {
		return pr, fmt.Errorf("labelling merge request !%d: %w", pr.Number, err)
	}
	return mr.convert(pr.Repository), nil
}

// findMR looks for a merge request from the proposal's branch into its base, in any state; an
// open one wins over closed or merged ones, then the newest.
func (p *Provider) findMR(ctx context.Context, proj string, prop gitprovider.Proposal) (gitprovider.PullRequest, bool, error) {
	var list []mergeRequest
	q := url.Values{"state": {"all"}, "source_branch": {prop.Branch}, "target_branch": {prop.BaseBranch}, perPageParam: {"100"}}
	if _, _, err := p.do(ctx, http.MethodGet, "projects/"+proj+"/merge_requests", q, nil, &list); err != nil {
		return gitprovider.PullRequest{}, false, fmt.Errorf("looking for a merge request from %s: %w", prop.Branch, err)
	}
	var best *mergeRequest
	for i := range list {
		mr := &list[i]
		if mr.SourceBranch != prop.Branch {
			continue
		}
		open := convertState(mr.State) == gitprovider.StateOpen
		switch {
		case best == nil:
			best = mr
		case open && convertState(best.State) != gitprovider.StateOpen:
			best = mr
		case open == (convertState(best.State) == gitprovider.StateOpen) && mr.IID > best.IID:
			best = mr
		}
	}
	if best == nil {
		return gitprovider.PullRequest{}, false, nil
	}
	return best.convert(prop.Repository), true, nil
}

// Status reads a merge request's current state.
func (p *Provider) Status(ctx context.Context, pr gitprovider.PullRequest) (gitprovider.PullRequest, error) {
	proj, err := projectPath(pr.Repository)
	if err != nil {
		return pr, err
	}
	ctx = ratelimit.WithBudget(ctx, p.clock.Now())
	var mr mergeRequest
	if _, _, err := p.do(ctx, http.MethodGet, mrPath(proj, pr.Number), nil, nil, &mr); err != nil {
		return pr, fmt.Errorf("reading merge request %s!%d: %w", pr.Repository, pr.Number, err)
	}
	return mr.convert(pr.Repository), nil
}

// Close comments on an open merge request, then closes it and adds gitprovider.SupersededLabel
// in one update: four calls (GET, the head commit, POST notes, PUT with state_event close and
// add_labels). A merge request whose head commit is not heal8s's (someone pushed to it) is left
// open after one note, and returned Edited with gitprovider.ErrEdited. A
// retry after a crash between them comments again at most; once closed, the label makes a retry
// return the closed merge request without writing anything. A merged merge request, or one
// someone else closed, is returned untouched with gitprovider.ErrNotOpen.
func (p *Provider) Close(ctx context.Context, pr gitprovider.PullRequest, why gitprovider.Closure) (gitprovider.PullRequest, error) {
	proj, err := projectPath(pr.Repository)
	if err != nil {
		return pr, err
	}
	ctx = ratelimit.WithBudget(ctx, p.clock.Now())
	var mr mergeRequest
	if _, _, err := p.do(ctx, http.MethodGet, mrPath(proj, pr.Number), nil, nil, &mr); err != nil {
		return pr, fmt.Errorf("reading merge request %s!%d before closing it: %w", pr.Repository, pr.Number, err)
	}
	cur := mr.convert(pr.Repository)
	switch cur.State {
	case gitprovider.StateMerged:
		return cur, fmt.Errorf("closing merge request %s!%d: it was merged: %w", pr.Repository, pr.Number, gitprovider.ErrNotOpen)
	case gitprovider.StateClosed:
		if slices.Contains(cur.Labels, gitprovider.SupersededLabel) {
			return cur, nil
		}
		return cur, fmt.Errorf("closing merge request %s!%d: someone closed it: %w", pr.Repository, pr.Number, gitprovider.ErrNotOpen)
	case gitprovider.StateOpen:
	}
	if !cur.Edited {
		var head commitInfo
		if _, _, err := p.do(ctx, http.MethodGet, "projects/"+proj+"/repository/commits/"+url.PathEscape(mr.SHA), nil, nil, &head); err != nil {
			return cur, fmt.Errorf("reading the head commit of merge request %s!%d: %w", pr.Repository, pr.Number, err)
		}
		cur.Edited = !gitprovider.HasOwnerTrailer(head.Message)
	}
	if cur.Edited {
		// Someone pushed to heal8s's branch: the merge request is theirs now.
		left, err := p.leaveAlone(ctx, proj, cur)
		if err != nil {
			return cur, err
		}
		return left, fmt.Errorf("closing merge request %s!%d: %w", pr.Repository, pr.Number, gitprovider.ErrEdited)
	}
	if _, _, err := p.do(ctx, http.MethodPost, mrPath(proj, pr.Number)+"/notes", nil, map[string]string{"body": why.Comment()}, nil); err != nil {
		return cur, fmt.Errorf("commenting on merge request %s!%d: %w", pr.Repository, pr.Number, err)
	}
	var closed mergeRequest
	if _, _, err := p.do(ctx, http.MethodPut, mrPath(proj, pr.Number), nil,
		map[string]string{"state_event": "close", addLabelsParam: gitprovider.SupersededLabel}, &closed); err != nil {
		return cur, fmt.Errorf("closing merge request %s!%d: %w", pr.Repository, pr.Number, err)
	}
	return closed.convert(pr.Repository), nil
}

func mrPath(proj string, iid int) string {
	return "projects/" + proj + "/merge_requests/" + strconv.Itoa(iid)
}

// branchHead reads a branch's head commit (GET /projects/:id/repository/branches/:branch).
func (p *Provider) branchHead(ctx context.Context, proj, branch string) (string, error) {
	var b struct {
		Commit commitInfo `json:"commit"`
	}
	if _, _, err := p.do(ctx, http.MethodGet, "projects/"+proj+"/repository/branches/"+url.PathEscape(branch), nil, nil, &b); err != nil {
		return "", err
	}
	if b.Commit.ID == "" {
		return "", fmt.Errorf("branch %s has no commit", branch)
	}
	return b.Commit.ID, nil
}

// repoAt implements gitprovider.Repo at one commit, caching what it read.
type repoAt struct {
	p    *Provider
	proj string
	sha  string

	mu    sync.Mutex
	files []string
	cache map[string]fileAt
}

type fileAt struct {
	content []byte
	exists  bool
}

var _ gitprovider.Repo = (*repoAt)(nil)

// treePageLimit bounds the pages ListFiles reads (100 entries each): a repository with more
// than 100,000 entries needs the source-path annotation or a path template.
const treePageLimit = 1000

// ListFiles lists the tree recursively, following GitLab's pagination (X-Next-Page).
func (a *repoAt) ListFiles(ctx context.Context) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.files != nil {
		return slices.Clone(a.files), nil
	}
	files := []string{}
	page := "1"
	for n := 0; page != ""; n++ {
		if n >= treePageLimit {
			return nil, fmt.Errorf("listing the tree at %s: more than %d pages; set the source-path annotation or a path template", short(a.sha), treePageLimit)
		}
		var entries []struct {
			Type string `json:"type"`
			Path string `json:"path"`
		}
		q := url.Values{"ref": {a.sha}, "recursive": {"true"}, perPageParam: {"100"}, "page": {page}}
		_, h, err := a.p.do(ctx, http.MethodGet, "projects/"+a.proj+"/repository/tree", q, nil, &entries)
		if err != nil {
			return nil, fmt.Errorf("listing the tree at %s: %w", short(a.sha), err)
		}
		for _, e := range entries {
			if e.Type == "blob" {
				files = append(files, e.Path)
			}
		}
		next := strings.TrimSpace(h.Get("X-Next-Page"))
		if next == page {
			return nil, fmt.Errorf("listing the tree at %s: GitLab pointed page %s at itself", short(a.sha), page)
		}
		page = next
	}
	slices.Sort(files)
	a.files = files
	return slices.Clone(files), nil
}

// ReadFile returns a file's content at the commit.
func (a *repoAt) ReadFile(ctx context.Context, path string) ([]byte, error) {
	content, exists, err := a.file(ctx, path)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("reading %s at %s: %w", path, short(a.sha), gitprovider.ErrNotFound)
	}
	return bytes.Clone(content), nil
}

// file reads GET /projects/:id/repository/files/:file_path/raw?ref=sha.
func (a *repoAt) file(ctx context.Context, path string) ([]byte, bool, error) {
	path = strings.TrimPrefix(path, "/")
	a.mu.Lock()
	defer a.mu.Unlock()
	if f, ok := a.cache[path]; ok {
		return f.content, f.exists, nil
	}
	if a.cache == nil {
		a.cache = map[string]fileAt{}
	}
	if a.files != nil && !slices.Contains(a.files, path) {
		a.cache[path] = fileAt{}
		return nil, false, nil
	}
	b, _, err := a.p.do(ctx, http.MethodGet, "projects/"+a.proj+"/repository/files/"+url.PathEscape(path)+"/raw",
		url.Values{"ref": {a.sha}}, nil, nil)
	if err != nil {
		if errors.Is(err, gitprovider.ErrNotFound) {
			a.cache[path] = fileAt{}
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("reading %s at %s: %w", path, short(a.sha), err)
	}
	a.cache[path] = fileAt{content: b, exists: true}
	return b, true, nil
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
