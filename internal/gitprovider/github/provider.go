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

package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	gh "github.com/google/go-github/v88/github"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/ratelimit"
)

var _ gitprovider.Provider = (*Provider)(nil)

// Provider talks to one GitHub (or GitHub Enterprise) installation. It is safe for concurrent
// use; build one per credential and reuse it so rate-limit knowledge is shared.
type Provider struct {
	client    *gh.Client
	transport *ratelimit.Transport
	clock     Clock
}

// Calls is how many HTTP requests this Provider has sent, retries included. Take the difference
// around an operation to count its cost against the rate limit.
func (p *Provider) Calls() int64 { return p.transport.Calls() }

// Propose opens the pull request for a Proposal, or finds the one an earlier call opened.
//
// The happy path costs seven calls when Edit reads one file: get the base ref, look for a pull
// request from the branch in any state, read the file, create the branch, commit the file, open
// the pull request, label it. The look-up comes first so that a pull request an earlier call
// opened is followed whatever became of it since (merged, or closed with its branch deleted)
// and never answered with a second one. Every later step tolerates an earlier attempt that
// stopped right after it: an existing branch (422 on create) sends Propose to resume, which
// looks for a commit on the branch and finishes whatever is missing. So a crash at any point
// followed by a retry leaves one branch, one commit, one PR.
//
// With prop.Owner set, the commit carries the owner trailer (gitprovider.OwnerTrailer), and a
// branch with commits, or a pull request, that Propose finds instead of making must have it on
// its head commit: someone else's heal8s/<name> branch is refused (gitprovider.ErrBranchNotOwned),
// never adopted. Finding costs one more call, reading that commit.
func (p *Provider) Propose(ctx context.Context, prop gitprovider.Proposal) (gitprovider.PullRequest, error) {
	if err := prop.Validate(); err != nil {
		return gitprovider.PullRequest{}, err
	}
	owner, name, err := splitRepository(prop.Repository)
	if err != nil {
		return gitprovider.PullRequest{}, err
	}
	ctx = ratelimit.WithBudget(ctx, p.clock.Now())
	log := ctrl.LoggerFrom(ctx).WithValues("repository", prop.Repository, "branch", prop.Branch)
	r := repoRef{owner: owner, name: name}

	baseSHA, err := p.refSHA(ctx, r, prop.BaseBranch)
	if err != nil {
		return gitprovider.PullRequest{}, fmt.Errorf("reading base branch %s of %s: %w", prop.BaseBranch, prop.Repository, err)
	}
	// A pull request from the branch, in any state, is this proposal's (or refused): an earlier
	// call may have opened it and stopped before its caller recorded it, and a reviewer may since
	// have closed it and deleted the branch. Looking first means that case is followed, never
	// answered with a second pull request.
	if pr, found, err := p.findPR(ctx, r, prop); err != nil {
		return gitprovider.PullRequest{}, err
	} else if found {
		return p.adopt(ctx, r, prop, pr)
	}
	repo := &repoAt{p: p, r: r, sha: baseSHA}
	path, content, err := prop.Edit(ctx, repo)
	if err != nil {
		return gitprovider.PullRequest{}, fmt.Errorf("computing the edit at %s@%s: %w", prop.Repository, short(baseSHA), err)
	}
	if path == "" {
		return gitprovider.PullRequest{}, fmt.Errorf("%w: edit returned no path", gitprovider.ErrInvalidProposal)
	}
	prop = prop.AfterEdit()
	current, blobSHA, exists, err := repo.file(ctx, path)
	if err != nil {
		return gitprovider.PullRequest{}, fmt.Errorf("reading %s at %s: %w", path, short(baseSHA), err)
	}
	if exists && bytes.Equal(current, content) {
		// The base already has the change, and no pull request of ours brought it: someone made
		// the same change by hand.
		return gitprovider.PullRequest{}, fmt.Errorf("%s on %s: %w", path, prop.BaseBranch, gitprovider.ErrNoChange)
	}

	c := commitPlan{path: path, content: content, blobSHA: blobSHA, exists: exists}
	created, err := p.createBranch(ctx, r, prop.Branch, baseSHA)
	if err != nil {
		return gitprovider.PullRequest{}, err
	}
	if !created {
		log.V(1).Info("Branch exists, resuming an earlier proposal")
		return p.resume(ctx, r, prop, baseSHA, c)
	}
	if err := p.commit(ctx, r, prop, c); err != nil {
		return gitprovider.PullRequest{}, err
	}
	return p.openPR(ctx, r, prop)
}

type commitPlan struct {
	path    string
	content []byte
	blobSHA string
	exists  bool
}

// resume finishes a proposal whose branch already exists and from which Propose found no pull
// request.
func (p *Provider) resume(ctx context.Context, r repoRef, prop gitprovider.Proposal, baseSHA string, c commitPlan) (gitprovider.PullRequest, error) {
	headSHA, err := p.refSHA(ctx, r, prop.Branch)
	if err != nil {
		return gitprovider.PullRequest{}, fmt.Errorf("reading branch %s: %w", prop.Branch, err)
	}
	if headSHA != baseSHA {
		cmp, _, err := p.client.Repositories.CompareCommits(ctx, r.owner, r.name, baseSHA, headSHA, &gh.ListOptions{PerPage: 1})
		if err != nil {
			return gitprovider.PullRequest{}, fmt.Errorf("comparing %s with %s: %w", prop.Branch, prop.BaseBranch, mapErr(err))
		}
		if cmp.GetAheadBy() > 0 {
			// The branch holds commits: ours from a call that stopped before the pull request,
			// or someone else's, which heal8s must not put its name on.
			if err := p.checkOwned(ctx, r, prop, headSHA); err != nil {
				return gitprovider.PullRequest{}, err
			}
			return p.openPR(ctx, r, prop)
		}
		// The branch was created from an older base and holds no commit of ours: move it to the
		// base the edit was computed against.
		force := true
		if _, _, err := p.client.Git.UpdateRef(ctx, r.owner, r.name, "heads/"+prop.Branch, gh.UpdateRef{SHA: baseSHA, Force: &force}); err != nil {
			return gitprovider.PullRequest{}, fmt.Errorf("moving branch %s to %s: %w", prop.Branch, short(baseSHA), mapErr(err))
		}
	}
	if err := p.commit(ctx, r, prop, c); err != nil {
		return gitprovider.PullRequest{}, err
	}
	return p.openPR(ctx, r, prop)
}

// createBranch reports false, without error, when the branch already exists.
func (p *Provider) createBranch(ctx context.Context, r repoRef, branch, sha string) (bool, error) {
	_, _, err := p.client.Git.CreateRef(ctx, r.owner, r.name, gh.CreateRef{Ref: "refs/heads/" + branch, SHA: sha})
	switch {
	case err == nil:
		return true, nil
	case alreadyExists(err):
		return false, nil
	default:
		return false, fmt.Errorf("creating branch %s: %w", branch, mapErr(err))
	}
}

// commit writes the one file on the branch with the Contents API: one commit that changes only
// that file, whose parent is the branch head.
func (p *Provider) commit(ctx context.Context, r repoRef, prop gitprovider.Proposal, c commitPlan) error {
	opts := &gh.RepositoryContentFileOptions{
		Message: gh.Ptr(gitprovider.CommitMessageFor(prop.CommitMessage, prop.Owner)),
		Content: c.content,
		Branch:  gh.Ptr(prop.Branch),
	}
	if c.exists {
		opts.SHA = gh.Ptr(c.blobSHA)
	}
	if _, _, err := p.client.Repositories.UpdateFile(ctx, r.owner, r.name, c.path, opts); err != nil {
		return fmt.Errorf("committing %s on %s: %w", c.path, prop.Branch, mapErr(err))
	}
	return nil
}

// openPR opens the pull request and labels it; an existing one (422) is looked up instead.
func (p *Provider) openPR(ctx context.Context, r repoRef, prop gitprovider.Proposal) (gitprovider.PullRequest, error) {
	created, _, err := p.client.PullRequests.Create(ctx, r.owner, r.name, &gh.NewPullRequest{
		Title: gh.Ptr(prop.Title),
		Head:  gh.Ptr(prop.Branch),
		Base:  gh.Ptr(prop.BaseBranch),
		Body:  gh.Ptr(prop.Body),
	})
	if err != nil {
		if !alreadyExists(err) {
			return gitprovider.PullRequest{}, fmt.Errorf("opening pull request for %s: %w", prop.Branch, mapErr(err))
		}
		pr, found, ferr := p.findPR(ctx, r, prop)
		if ferr != nil {
			return gitprovider.PullRequest{}, ferr
		}
		if !found {
			return gitprovider.PullRequest{}, fmt.Errorf("opening pull request for %s: GitHub says one exists but none is listed: %w", prop.Branch, mapErr(err))
		}
		return p.adopt(ctx, r, prop, pr)
	}
	return p.ensureLabels(ctx, r, prop, convertPR(prop.Repository, created))
}

// adopt returns a pull request an earlier call opened, after checking that it is the proposal's:
// its head commit carries the proposal's owner trailer. Anyone with push access can open a pull
// request from a branch named heal8s/<remediation>; heal8s follows only its own.
//
// One whose head is someone else's commit on top of the proposal's is returned Edited and left
// alone, after one comment saying so (gitprovider.EditedLabel marks it).
func (p *Provider) adopt(ctx context.Context, r repoRef, prop gitprovider.Proposal, pr gitprovider.PullRequest) (gitprovider.PullRequest, error) {
	edited, err := p.ownership(ctx, r, prop, pr.HeadSHA)
	if err != nil {
		return gitprovider.PullRequest{}, fmt.Errorf("pull request #%d: %w", pr.Number, err)
	}
	if edited {
		return p.leaveAlone(ctx, r, pr)
	}
	return p.ensureLabels(ctx, r, prop, pr)
}

// ownership walks the branch down from sha along first parents (at most
// gitprovider.MaxOwnershipWalk commits): a head with the proposal's trailer is owned; someone
// else's commits above one with it are edited; anything else is gitprovider.ErrBranchNotOwned.
func (p *Provider) ownership(ctx context.Context, r repoRef, prop gitprovider.Proposal, sha string) (bool, error) {
	if prop.Owner == "" {
		return false, nil
	}
	if sha == "" {
		return false, fmt.Errorf("%w: %s has no head commit to check", gitprovider.ErrBranchNotOwned, prop.Branch)
	}
	cur := sha
	for i := 0; i < gitprovider.MaxOwnershipWalk && cur != ""; i++ {
		c, _, err := p.client.Git.GetCommit(ctx, r.owner, r.name, cur)
		if err != nil {
			return false, fmt.Errorf("reading commit %s of %s: %w", short(cur), prop.Branch, mapErr(err))
		}
		if gitprovider.OwnedBy(c.GetMessage(), prop.Owner) {
			return i > 0, nil
		}
		if gitprovider.HasOwnerTrailer(c.GetMessage()) || len(c.Parents) == 0 {
			break
		}
		cur = c.Parents[0].GetSHA()
	}
	return false, fmt.Errorf("%w: the head commit %s of %s lacks the trailer %q, and so do the commits below it; delete the branch or rename it",
		gitprovider.ErrBranchNotOwned, short(sha), prop.Branch, gitprovider.OwnerTrailer+": "+prop.Owner)
}

// leaveAlone says once (gitprovider.EditedLabel marks it) that heal8s will not touch a pull
// request someone else pushed to, and returns it Edited.
func (p *Provider) leaveAlone(ctx context.Context, r repoRef, pr gitprovider.PullRequest) (gitprovider.PullRequest, error) {
	pr.Edited = true
	if slices.Contains(pr.Labels, gitprovider.EditedLabel) || pr.State != gitprovider.StateOpen {
		return pr, nil
	}
	if _, _, err := p.client.Issues.CreateComment(ctx, r.owner, r.name, pr.Number, &gh.IssueComment{Body: gh.Ptr(gitprovider.EditedComment(pr.Branch))}); err != nil {
		return pr, fmt.Errorf("commenting on pull request #%d: %w", pr.Number, mapErr(err))
	}
	labels, _, err := p.client.Issues.AddLabelsToIssue(ctx, r.owner, r.name, pr.Number, []string{gitprovider.EditedLabel})
	if err != nil {
		return pr, fmt.Errorf("labelling pull request #%d: %w", pr.Number, mapErr(err))
	}
	pr.Labels = pr.Labels[:0:0]
	for _, l := range labels {
		pr.Labels = append(pr.Labels, l.GetName())
	}
	return pr, nil
}

// checkOwned reads commit sha and fails with gitprovider.ErrBranchNotOwned unless its message
// carries the proposal's owner trailer. A proposal without an owner checks nothing.
func (p *Provider) checkOwned(ctx context.Context, r repoRef, prop gitprovider.Proposal, sha string) error {
	if prop.Owner == "" {
		return nil
	}
	if sha == "" {
		return fmt.Errorf("%w: %s has no head commit to check", gitprovider.ErrBranchNotOwned, prop.Branch)
	}
	c, _, err := p.client.Git.GetCommit(ctx, r.owner, r.name, sha)
	if err != nil {
		return fmt.Errorf("reading head commit %s of %s: %w", short(sha), prop.Branch, mapErr(err))
	}
	if !gitprovider.OwnedBy(c.GetMessage(), prop.Owner) {
		return fmt.Errorf("%w: the head commit %s of %s lacks the trailer %q; delete the branch or rename it",
			gitprovider.ErrBranchNotOwned, short(sha), prop.Branch, gitprovider.OwnerTrailer+": "+prop.Owner)
	}
	return nil
}

// findPR looks for a pull request from the proposal's branch in any state; an open one wins over
// older closed ones.
func (p *Provider) findPR(ctx context.Context, r repoRef, prop gitprovider.Proposal) (gitprovider.PullRequest, bool, error) {
	prs, _, err := p.client.PullRequests.List(ctx, r.owner, r.name, &gh.PullRequestListOptions{
		State: "all", Head: r.owner + ":" + prop.Branch, ListOptions: gh.ListOptions{PerPage: 100},
	})
	if err != nil {
		return gitprovider.PullRequest{}, false, fmt.Errorf("looking for a pull request from %s: %w", prop.Branch, mapErr(err))
	}
	var best *gh.PullRequest
	for _, pr := range prs {
		if pr.GetHead().GetRef() != prop.Branch {
			continue
		}
		switch {
		case best == nil:
			best = pr
		case pr.GetState() == "open" && best.GetState() != "open":
			best = pr
		case (pr.GetState() == "open") == (best.GetState() == "open") && pr.GetNumber() > best.GetNumber():
			best = pr
		}
	}
	if best == nil {
		return gitprovider.PullRequest{}, false, nil
	}
	return convertPR(prop.Repository, best), true, nil
}

// ensureLabels adds whichever of the proposal's labels the pull request lacks.
func (p *Provider) ensureLabels(ctx context.Context, r repoRef, prop gitprovider.Proposal, pr gitprovider.PullRequest) (gitprovider.PullRequest, error) {
	var missing []string
	for _, l := range prop.Labels {
		if l != "" && !slices.Contains(pr.Labels, l) && !slices.Contains(missing, l) {
			missing = append(missing, l)
		}
	}
	if len(missing) == 0 {
		return pr, nil
	}
	labels, _, err := p.client.Issues.AddLabelsToIssue(ctx, r.owner, r.name, pr.Number, missing)
	if err != nil {
		return pr, fmt.Errorf("labelling pull request #%d: %w", pr.Number, mapErr(err))
	}
	pr.Labels = pr.Labels[:0:0]
	for _, l := range labels {
		pr.Labels = append(pr.Labels, l.GetName())
	}
	return pr, nil
}

// Status reads a pull request's current state.
func (p *Provider) Status(ctx context.Context, pr gitprovider.PullRequest) (gitprovider.PullRequest, error) {
	owner, name, err := splitRepository(pr.Repository)
	if err != nil {
		return pr, err
	}
	ctx = ratelimit.WithBudget(ctx, p.clock.Now())
	got, _, err := p.client.PullRequests.Get(ctx, owner, name, pr.Number)
	if err != nil {
		return pr, fmt.Errorf("reading pull request %s#%d: %w", pr.Repository, pr.Number, mapErr(err))
	}
	return convertPR(pr.Repository, got), nil
}

// Close comments on an open pull request, labels it gitprovider.SupersededLabel and closes it:
// three writes after two reads (GET the pull request and its head commit, then POST
// issues/{n}/comments, POST issues/{n}/labels and PATCH pulls/{n} with state closed). A pull
// request whose head commit is not heal8s's (someone pushed to it) is left open after one
// comment, and returned Edited with gitprovider.ErrEdited. A retry after a crash between them comments again at most;
// once closed, the label makes a retry return the closed pull request without writing anything.
// A merged pull request, or one someone else closed, is returned untouched with
// gitprovider.ErrNotOpen.
func (p *Provider) Close(ctx context.Context, pr gitprovider.PullRequest, why gitprovider.Closure) (gitprovider.PullRequest, error) {
	owner, name, err := splitRepository(pr.Repository)
	if err != nil {
		return pr, err
	}
	ctx = ratelimit.WithBudget(ctx, p.clock.Now())
	got, _, err := p.client.PullRequests.Get(ctx, owner, name, pr.Number)
	if err != nil {
		return pr, fmt.Errorf("reading pull request %s#%d before closing it: %w", pr.Repository, pr.Number, mapErr(err))
	}
	cur := convertPR(pr.Repository, got)
	switch cur.State {
	case gitprovider.StateMerged:
		return cur, fmt.Errorf("closing pull request %s#%d: it was merged: %w", pr.Repository, pr.Number, gitprovider.ErrNotOpen)
	case gitprovider.StateClosed:
		if slices.Contains(cur.Labels, gitprovider.SupersededLabel) {
			return cur, nil
		}
		return cur, fmt.Errorf("closing pull request %s#%d: someone closed it: %w", pr.Repository, pr.Number, gitprovider.ErrNotOpen)
	case gitprovider.StateOpen:
	}
	if !cur.Edited {
		head, _, err := p.client.Git.GetCommit(ctx, owner, name, cur.HeadSHA)
		if err != nil {
			return cur, fmt.Errorf("reading the head commit of pull request %s#%d: %w", pr.Repository, pr.Number, mapErr(err))
		}
		cur.Edited = !gitprovider.HasOwnerTrailer(head.GetMessage())
	}
	if cur.Edited {
		// Someone pushed to heal8s's branch: the pull request is theirs now.
		left, err := p.leaveAlone(ctx, repoRef{owner: owner, name: name}, cur)
		if err != nil {
			return cur, err
		}
		return left, fmt.Errorf("closing pull request %s#%d: %w", pr.Repository, pr.Number, gitprovider.ErrEdited)
	}
	if _, _, err := p.client.Issues.CreateComment(ctx, owner, name, pr.Number, &gh.IssueComment{Body: gh.Ptr(why.Comment())}); err != nil {
		return cur, fmt.Errorf("commenting on pull request %s#%d: %w", pr.Repository, pr.Number, mapErr(err))
	}
	if _, _, err := p.client.Issues.AddLabelsToIssue(ctx, owner, name, pr.Number, []string{gitprovider.SupersededLabel}); err != nil {
		return cur, fmt.Errorf("labelling pull request %s#%d: %w", pr.Repository, pr.Number, mapErr(err))
	}
	closed, _, err := p.client.PullRequests.Edit(ctx, owner, name, pr.Number, &gh.PullRequest{State: gh.Ptr("closed")})
	if err != nil {
		return cur, fmt.Errorf("closing pull request %s#%d: %w", pr.Repository, pr.Number, mapErr(err))
	}
	out := convertPR(pr.Repository, closed)
	if !slices.Contains(out.Labels, gitprovider.SupersededLabel) {
		out.Labels = append(out.Labels, gitprovider.SupersededLabel)
	}
	return out, nil
}

func (p *Provider) refSHA(ctx context.Context, r repoRef, branch string) (string, error) {
	ref, _, err := p.client.Git.GetRef(ctx, r.owner, r.name, "heads/"+branch)
	if err != nil {
		return "", mapErr(err)
	}
	if sha := ref.GetObject().GetSHA(); sha != "" {
		return sha, nil
	}
	return "", fmt.Errorf("ref heads/%s has no object", branch)
}

// repoAt implements gitprovider.Repo at one commit, caching what it read so Edit's reads and
// Propose's own comparison cost one call per file.
type repoAt struct {
	p   *Provider
	r   repoRef
	sha string

	mu    sync.Mutex
	files []string
	blobs map[string]string
	cache map[string]fileAt
}

type fileAt struct {
	content []byte
	sha     string
	exists  bool
}

var _ gitprovider.Repo = (*repoAt)(nil)

// ListFiles lists the tree with one recursive call.
func (a *repoAt) ListFiles(ctx context.Context) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.files != nil {
		return slices.Clone(a.files), nil
	}
	tree, _, err := a.p.client.Git.GetTree(ctx, a.r.owner, a.r.name, a.sha, true)
	if err != nil {
		return nil, fmt.Errorf("listing the tree at %s: %w", short(a.sha), mapErr(err))
	}
	if tree.GetTruncated() {
		return nil, fmt.Errorf("listing the tree at %s: GitHub truncated it; set the source-path annotation or a path template", short(a.sha))
	}
	files := []string{}
	a.blobs = map[string]string{}
	for _, e := range tree.Entries {
		if e.GetType() == "blob" {
			files = append(files, e.GetPath())
			a.blobs[e.GetPath()] = e.GetSHA()
		}
	}
	slices.Sort(files)
	a.files = files
	return slices.Clone(files), nil
}

// ReadFile returns a file's content at the commit.
func (a *repoAt) ReadFile(ctx context.Context, path string) ([]byte, error) {
	content, _, exists, err := a.file(ctx, path)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("reading %s at %s: %w", path, short(a.sha), gitprovider.ErrNotFound)
	}
	return bytes.Clone(content), nil
}

func (a *repoAt) file(ctx context.Context, path string) ([]byte, string, bool, error) {
	path = strings.TrimPrefix(path, "/")
	a.mu.Lock()
	defer a.mu.Unlock()
	if f, ok := a.cache[path]; ok {
		return f.content, f.sha, f.exists, nil
	}
	if a.cache == nil {
		a.cache = map[string]fileAt{}
	}
	if a.files != nil {
		if _, ok := a.blobs[path]; !ok {
			a.cache[path] = fileAt{}
			return nil, "", false, nil
		}
	}
	fc, dir, _, err := a.p.client.Repositories.GetContents(ctx, a.r.owner, a.r.name, path, &gh.RepositoryContentGetOptions{Ref: a.sha})
	if err != nil {
		if errors.Is(mapErr(err), gitprovider.ErrNotFound) {
			a.cache[path] = fileAt{}
			return nil, "", false, nil
		}
		return nil, "", false, fmt.Errorf("reading %s at %s: %w", path, short(a.sha), mapErr(err))
	}
	if fc == nil || dir != nil {
		return nil, "", false, fmt.Errorf("reading %s at %s: it is a directory", path, short(a.sha))
	}
	var content []byte
	if fc.GetEncoding() == "none" {
		// Files over 1 MB come without content; the blob API serves them.
		blob, _, err := a.p.client.Git.GetBlobRaw(ctx, a.r.owner, a.r.name, fc.GetSHA())
		if err != nil {
			return nil, "", false, fmt.Errorf("reading blob of %s: %w", path, mapErr(err))
		}
		content = blob
	} else {
		s, err := fc.GetContent()
		if err != nil {
			return nil, "", false, fmt.Errorf("decoding %s: %w", path, err)
		}
		content = []byte(s)
	}
	a.cache[path] = fileAt{content: content, sha: fc.GetSHA(), exists: true}
	return content, fc.GetSHA(), true, nil
}

type repoRef struct{ owner, name string }

func splitRepository(s string) (string, string, error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("%w: repository %q is not owner/name", gitprovider.ErrInvalidProposal, s)
	}
	return owner, name, nil
}

func convertPR(repository string, pr *gh.PullRequest) gitprovider.PullRequest {
	out := gitprovider.PullRequest{
		Repository: repository,
		Number:     pr.GetNumber(),
		URL:        pr.GetHTMLURL(),
		Branch:     pr.GetHead().GetRef(),
		HeadSHA:    pr.GetHead().GetSHA(),
		State:      gitprovider.StateOpen,
		NodeID:     pr.GetNodeID(),
		UpdatedAt:  pr.GetUpdatedAt().Time,
	}
	for _, l := range pr.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	out.Edited = slices.Contains(out.Labels, gitprovider.EditedLabel)
	if pr.MergedAt != nil {
		t := pr.GetMergedAt().Time
		out.MergedAt = &t
	}
	if pr.ClosedAt != nil {
		t := pr.GetClosedAt().Time
		out.ClosedAt = &t
	}
	switch {
	case pr.GetMerged() || pr.MergedAt != nil:
		out.State = gitprovider.StateMerged
	case pr.GetState() == "closed":
		out.State = gitprovider.StateClosed
	}
	return out
}

// mapErr turns a 404 into gitprovider.ErrNotFound, keeping GitHub's error in the chain.
func mapErr(err error) error {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", gitprovider.ErrNotFound, err)
	}
	return err
}

// alreadyExists recognises GitHub's 422 for a ref or pull request that exists.
func alreadyExists(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	if strings.Contains(strings.ToLower(er.Message), "already exists") {
		return true
	}
	for _, e := range er.Errors {
		if strings.Contains(strings.ToLower(e.Message), "already exists") || e.Code == "already_exists" {
			return true
		}
	}
	return false
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
