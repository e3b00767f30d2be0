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
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/github"
)

// The fake is a server, not a Provider: Server.Provider hands out the real GitHub provider
// pointed at it, so every test of the fake is a test of the production code.
var _ gitprovider.Provider = (*github.Provider)(nil)

// NewRepo creates repository "owner/name" whose main branch has one commit holding files.
func (s *Server) NewRepo(fullName string, files map[string]string) error {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" {
		return fmt.Errorf("repository %q is not owner/name", fullName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[fullName]; ok {
		return fmt.Errorf("repository %s exists", fullName)
	}
	r := newRepo(owner, name)
	sha := r.commitFiles("", toBytes(files), "Initial commit", s.clock.Now())
	r.refs["heads/"+r.defaultBranch] = sha
	s.repos[fullName] = r
	return nil
}

// CommitFiles commits files (an empty string deletes one) on top of branch, as a person pushing
// would, and returns the new commit's sha. It makes the base move under a proposal.
func (s *Server) CommitFiles(fullName, branch string, files map[string]string, message string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return "", err
	}
	head, ok := r.refs["heads/"+branch]
	if !ok {
		return "", fmt.Errorf("branch %s: %w", branch, gitprovider.ErrNotFound)
	}
	b := toBytes(files)
	for k, v := range files {
		if v == "" {
			b[k] = nil
		}
	}
	sha := r.commitFiles(head, b, message, s.clock.Now())
	r.refs["heads/"+branch] = sha
	return sha, nil
}

// PushForeignBranch creates branch from the default branch with one commit of someone else's
// (no heal8s trailer), as a person with push access could before heal8s proposes.
func (s *Server) PushForeignBranch(fullName, branch string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return err
	}
	if _, ok := r.refs["heads/"+branch]; ok {
		return fmt.Errorf("branch %s exists", branch)
	}
	base := r.refs["heads/"+r.defaultBranch]
	r.refs["heads/"+branch] = r.commitFiles(base, map[string][]byte{"foreign.txt": []byte("not heal8s's\n")},
		"someone else's change", s.clock.Now())
	return nil
}

// OpenForeignPR opens a pull request from branch into the default branch, as a person would,
// and returns its number.
func (s *Server) OpenForeignPR(fullName, branch string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return 0, err
	}
	body, err := json.Marshal(map[string]string{"title": "someone else's pull request", "head": branch, "base": r.defaultBranch})
	if err != nil {
		return 0, err
	}
	rep := s.createPull(r, body, s.clock.Now())
	if rep.status != http.StatusCreated {
		return 0, fmt.Errorf("opening a pull request from %s: %s", branch, rep.body)
	}
	return r.nextNumber - 1, nil
}

// PullRequestNodeID is the node_id the server gives pull request number of repository.
func (s *Server) PullRequestNodeID(fullName string, number int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, p, err := s.pullOf(fullName, number)
	if err != nil {
		return "", err
	}
	return nodeID(r, p), nil
}

// ReadFile returns a file's content at the head of branch.
func (s *Server) ReadFile(fullName, branch, path string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return "", err
	}
	head, ok := r.refs["heads/"+branch]
	if !ok {
		return "", fmt.Errorf("branch %s: %w", branch, gitprovider.ErrNotFound)
	}
	sha, ok := r.treeOf(head)[path]
	if !ok {
		return "", fmt.Errorf("%s on %s: %w", path, branch, gitprovider.ErrNotFound)
	}
	return string(r.blobs[sha]), nil
}

// Branches lists the repository's branches, sorted.
func (s *Server) Branches(fullName string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return nil, err
	}
	var out []string
	for ref := range r.refs {
		if b, ok := strings.CutPrefix(ref, "heads/"); ok {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out, nil
}

// DeleteBranch removes a branch, as GitHub does after a merge when so configured.
func (s *Server) DeleteBranch(fullName, branch string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return err
	}
	if _, ok := r.refs["heads/"+branch]; !ok {
		return fmt.Errorf("branch %s: %w", branch, gitprovider.ErrNotFound)
	}
	delete(r.refs, "heads/"+branch)
	return nil
}

// BranchDiff describes what a branch holds relative to another: the commits only it has and the
// files those change. Tests use it to prove "one commit, only the edited file".
type BranchDiff struct {
	Commits  []string // messages, newest first
	Files    []string
	Parents  [][]string
	HeadSHA  string
	MergeSHA string
}

// Diff compares head with base as GitHub's three-dot compare does.
func (s *Server) Diff(fullName, base, head string) (BranchDiff, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return BranchDiff{}, err
	}
	b, okB := r.resolveCommit(base)
	h, okH := r.resolveCommit(head)
	if !okB || !okH {
		return BranchDiff{}, fmt.Errorf("%s...%s: %w", base, head, gitprovider.ErrNotFound)
	}
	inBase := r.ancestors(b)
	d := BranchDiff{HeadSHA: h, MergeSHA: r.mergeBase(b, h)}
	for c := h; c != "" && !inBase[c]; {
		cm := r.commits[c]
		d.Commits = append(d.Commits, cm.message)
		d.Parents = append(d.Parents, slices.Clone(cm.parents))
		if len(cm.parents) == 0 {
			break
		}
		c = cm.parents[0]
	}
	d.Files = r.changedPaths(d.MergeSHA, h)
	return d, nil
}

// PullRequestInfo is the fake's view of a pull request, for assertions.
type PullRequestInfo struct {
	Number       int
	Title, Body  string
	Head, Base   string
	State        gitprovider.State
	Labels       []string
	Comments     []string
	MergedAt     *time.Time
	ClosedAt     *time.Time
	HeadSHA      string
	MergeCommit  string
	LastModified time.Time
}

// PullRequests lists every pull request of the repository in number order.
func (s *Server) PullRequests(fullName string) ([]PullRequestInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repo(fullName)
	if err != nil {
		return nil, err
	}
	var out []PullRequestInfo
	for _, p := range r.pulls {
		st := gitprovider.StateOpen
		switch {
		case p.merged:
			st = gitprovider.StateMerged
		case p.state == "closed":
			st = gitprovider.StateClosed
		}
		out = append(out, PullRequestInfo{
			Number: p.number, Title: p.title, Body: p.body, Head: p.head, Base: p.base, State: st,
			Labels: slices.Clone(r.issueLabels[p.number]), Comments: slices.Clone(r.comments[p.number]), MergedAt: p.mergedAt, ClosedAt: p.closedAt,
			HeadSHA: r.headOf(p), MergeCommit: p.mergeSHA, LastModified: p.updatedAt,
		})
	}
	return out, nil
}

// MergePR merges a pull request into its base, as a reviewer pressing Merge.
func (s *Server) MergePR(fullName string, number int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, p, err := s.pullOf(fullName, number)
	if err != nil {
		return err
	}
	_, err = r.merge(p, s.clock.Now())
	return err
}

// ClosePR closes a pull request without merging: a human veto.
func (s *Server) ClosePR(fullName string, number int) error {
	return s.setState(fullName, number, "closed")
}

// Comments returns the comments on a pull request, oldest first.
func (s *Server) Comments(fullName string, number int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, p, err := s.pullOf(fullName, number)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.comments[p.number]), nil
}

// ReopenPR reopens a closed, unmerged pull request.
func (s *Server) ReopenPR(fullName string, number int) error {
	return s.setState(fullName, number, "open")
}

func (s *Server) setState(fullName string, number int, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, p, err := s.pullOf(fullName, number)
	if err != nil {
		return err
	}
	rep := s.patchPull(r, p, []byte(`{"state":"`+state+`"}`), s.clock.Now())
	if rep.status != http.StatusOK {
		return fmt.Errorf("setting pull request #%d %s: %s", number, state, rep.body)
	}
	return nil
}

// RegisterApp lets a GitHub App authenticate: JWTs for appID are checked against pub, and
// installationID may exchange one for an installation token.
func (s *Server) RegisterApp(appID, installationID int64, pub *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[appID] = pub
	s.instOf[installationID] = appID
}

// IssuedTokens is how many installation tokens the server handed out.
func (s *Server) IssuedTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.issued)
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// ResetCalls forgets the call log (the fault counters count from the log, so they restart too).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// SetLatency delays every response by d (real time).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.latency = d
}

// FailNext answers the next n calls with status (e.g. 502) and no effect.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failNext, s.faults.failStatus = n, status
}

// SecondaryRateLimit answers the next n calls with 403 and Retry-After; any call before that
// window ends is refused the same way, as GitHub does.
func (s *Server) SecondaryRateLimit(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.secondaryNext, s.faults.retryAfter = n, retryAfter
}

// SetRateLimit sets the primary budget: remaining calls until reset.
func (s *Server) SetRateLimit(remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remaining, s.reset = remaining, reset
}

// CrashAfter lets the next n calls through and then drops every later connection without effect,
// like a process that died (or a network that vanished) after its nth call.
func (s *Server) CrashAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.crash.CrashAfter(len(s.calls), n)
}

// LoseResponseOf applies the nth next call but drops its response, then drops every later call:
// the worst crash, where GitHub did the work and the client never learned of it.
func (s *Server) LoseResponseOf(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.crash.LoseResponseOf(len(s.calls), n)
}

// ClearFaults turns every fault off.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faults{}
}

func (s *Server) repo(fullName string) (*repo, error) {
	r, ok := s.repos[fullName]
	if !ok {
		return nil, fmt.Errorf("repository %s: %w", fullName, gitprovider.ErrNotFound)
	}
	return r, nil
}

func (s *Server) pullOf(fullName string, number int) (*repo, *pull, error) {
	r, err := s.repo(fullName)
	if err != nil {
		return nil, nil, err
	}
	p := r.pull(number)
	if p == nil {
		return nil, nil, fmt.Errorf("pull request %s#%d: %w", fullName, number, gitprovider.ErrNotFound)
	}
	return r, p, nil
}

func toBytes(files map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for k, v := range files {
		out[k] = []byte(v)
	}
	return out
}

// BranchCommits returns the messages of the commits branch has beyond base (newest first) and
// the files they change; it serves the provider contract in gitprovider/providertest.
func (s *Server) BranchCommits(fullName, base, branch string) ([]string, []string, error) {
	d, err := s.Diff(fullName, base, branch)
	if err != nil {
		return nil, nil, err
	}
	return d.Commits, d.Files, nil
}

// PullRequestCount counts the repository's pull requests in every state.
func (s *Server) PullRequestCount(fullName string) (int, error) {
	prs, err := s.PullRequests(fullName)
	return len(prs), err
}

// PushForeignCommit adds someone else's commit (no heal8s trailer) on top of an existing branch,
// as a reviewer pushing a fix-up to a heal8s pull request would.
func (s *Server) PushForeignCommit(fullName, branch string) error {
	_, err := s.CommitFiles(fullName, branch, map[string]string{"foreign.txt": "a reviewer's fix-up\n"}, "a reviewer's fix-up")
	return err
}
