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
	"fmt"
	"slices"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlab"
)

// The fake is a server, not a Provider: Server.Provider hands out the real GitLab provider.
var _ gitprovider.Provider = (*gitlab.Provider)(nil)

// NewRepo creates project path ("group/project" or "group/sub/project") whose main branch has one
// commit holding files.
func (s *Server) NewRepo(path string, files map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.projects[path]; ok {
		return fmt.Errorf("project %s exists", path)
	}
	s.nextID++
	p := newProject(s.nextID, path)
	p.branches[p.defaultBranch] = p.commitFiles("", toBytes(files), "Initial commit", s.clock.Now())
	s.projects[path] = p
	return nil
}

// CommitFiles commits files (an empty string deletes one) on top of branch, as a person pushing
// would, and returns the new commit's sha.
func (s *Server) CommitFiles(path, branch string, files map[string]string, message string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.proj(path)
	if err != nil {
		return "", err
	}
	head, ok := p.branches[branch]
	if !ok {
		return "", fmt.Errorf("branch %s: %w", branch, gitprovider.ErrNotFound)
	}
	b := toBytes(files)
	for k, v := range files {
		if v == "" {
			b[k] = nil
		}
	}
	sha := p.commitFiles(head, b, message, s.clock.Now())
	p.branches[branch] = sha
	return sha, nil
}

// PushForeignBranch creates branch from the default branch with one commit of someone else's.
func (s *Server) PushForeignBranch(path, branch string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.proj(path)
	if err != nil {
		return err
	}
	if _, ok := p.branches[branch]; ok {
		return fmt.Errorf("branch %s exists", branch)
	}
	p.branches[branch] = p.commitFiles(p.branches[p.defaultBranch], map[string][]byte{"foreign.txt": []byte("not heal8s's\n")},
		"someone else's change", s.clock.Now())
	return nil
}

// PushForeignCommit adds someone else's commit (no heal8s trailer) on top of an existing branch,
// as a reviewer pushing a fix-up to a heal8s merge request would.
func (s *Server) PushForeignCommit(path, branch string) error {
	_, err := s.CommitFiles(path, branch, map[string]string{"foreign.txt": "a reviewer's fix-up\n"}, "a reviewer's fix-up")
	return err
}

// OpenForeignPR opens a merge request from branch into the default branch, as a person would.
func (s *Server) OpenForeignPR(path, branch string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.proj(path)
	if err != nil {
		return 0, err
	}
	rep := s.createMR(p, fmt.Appendf(nil, `{"source_branch":%q,"target_branch":%q,"title":"someone else's merge request"}`, branch, p.defaultBranch), s.clock.Now())
	if rep.status != 201 {
		return 0, fmt.Errorf("opening a merge request from %s: %s", branch, rep.body)
	}
	return p.nextIID - 1, nil
}

// ReadFile returns a file's content at the head of branch.
func (s *Server) ReadFile(path, branch, file string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.proj(path)
	if err != nil {
		return "", err
	}
	sha, ok := p.branches[branch]
	if !ok {
		return "", fmt.Errorf("branch %s: %w", branch, gitprovider.ErrNotFound)
	}
	b, ok := p.files(sha)[file]
	if !ok {
		return "", fmt.Errorf("%s on %s: %w", file, branch, gitprovider.ErrNotFound)
	}
	return string(b), nil
}

// Branches lists the project's branches, sorted.
func (s *Server) Branches(path string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.proj(path)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(p.branches))
	for b := range p.branches {
		out = append(out, b)
	}
	slices.Sort(out)
	return out, nil
}

// DeleteBranch deletes a branch, as GitLab's "delete source branch" on close or a person would.
func (s *Server) DeleteBranch(path, branch string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.proj(path)
	if err != nil {
		return err
	}
	if _, ok := p.branches[branch]; !ok {
		return fmt.Errorf("branch %s: %w", branch, gitprovider.ErrNotFound)
	}
	for _, m := range p.mrs {
		p.head(m)
	}
	delete(p.branches, branch)
	return nil
}

// BranchCommits returns the messages of the commits branch has beyond base (newest first) and
// the files they change.
func (s *Server) BranchCommits(path, base, branch string) ([]string, []string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.proj(path)
	if err != nil {
		return nil, nil, err
	}
	b, ok1 := p.branches[base]
	h, ok2 := p.branches[branch]
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("branch %s or %s: %w", base, branch, gitprovider.ErrNotFound)
	}
	var msgs []string
	for _, c := range p.only(h, b) {
		msgs = append(msgs, c.message)
	}
	return msgs, p.changed(p.mergeBase(b, h), h), nil
}

// PullRequestCount counts the project's merge requests in every state.
func (s *Server) PullRequestCount(path string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.proj(path)
	if err != nil {
		return 0, err
	}
	return len(p.mrs), nil
}

// MergeRequest is what a test reads of one merge request.
type MergeRequest struct {
	// ID is the instance-wide id, IID the number in the project.
	ID          int64
	IID         int
	Title, Body string
	Source      string
	State       string
	Labels      []string
	HeadSHA     string
}

// MergeRequests lists the project's merge requests, by iid.
func (s *Server) MergeRequests(path string) ([]MergeRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.proj(path)
	if err != nil {
		return nil, err
	}
	var out []MergeRequest
	for _, m := range p.mrs {
		out = append(out, MergeRequest{ID: m.id, IID: m.iid, Title: m.title, Body: m.description, Source: m.source, State: m.state,
			Labels: slices.Clone(m.labels), HeadSHA: p.head(m)})
	}
	return out, nil
}

// MergePR merges a merge request with a merge commit.
func (s *Server) MergePR(path string, iid int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, m, err := s.mrOf(path, iid)
	if err != nil {
		return err
	}
	return p.merge(m, s.clock.Now())
}

// ClosePR closes a merge request, as a reviewer would.
func (s *Server) ClosePR(path string, iid int) error { return s.setState(path, iid, "close") }

// ReopenPR reopens a closed merge request.
func (s *Server) ReopenPR(path string, iid int) error { return s.setState(path, iid, "reopen") }

func (s *Server) setState(path string, iid int, event string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, m, err := s.mrOf(path, iid)
	if err != nil {
		return err
	}
	rep := s.updateMR(p, m, fmt.Appendf(nil, `{"state_event":%q}`, event), s.clock.Now())
	if rep.status != 200 {
		return fmt.Errorf("%s merge request !%d: %s", event, iid, rep.body)
	}
	return nil
}

// Comments returns the notes people (and heal8s) wrote on a merge request, oldest first,
// without GitLab's system notes.
func (s *Server) Comments(path string, iid int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, m, err := s.mrOf(path, iid)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range p.notes[m.iid] {
		if !n.system {
			out = append(out, n.body)
		}
	}
	return out, nil
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// ResetCalls forgets the requests received so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// FailNext answers the next n calls with status (a 5xx, say) without effect.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failNext, s.faults.failStatus = n, status
}

// RateLimitNext answers the next n authenticated calls with 429 and Retry-After retryAfter.
func (s *Server) RateLimitNext(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.limitNext, s.faults.retryAfter = n, retryAfter
}

// CrashAfter lets the next n calls through and then drops every later connection without effect.
func (s *Server) CrashAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.crash.CrashAfter(len(s.calls), n)
}

// LoseResponseOf applies the nth next call but drops its answer, then drops every later call.
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

func (s *Server) proj(path string) (*project, error) {
	p, ok := s.projects[path]
	if !ok {
		return nil, fmt.Errorf("project %s: %w", path, gitprovider.ErrNotFound)
	}
	return p, nil
}

func (s *Server) mrOf(path string, iid int) (*project, *mergeRequest, error) {
	p, err := s.proj(path)
	if err != nil {
		return nil, nil, err
	}
	m := p.mr(iid)
	if m == nil {
		return nil, nil, fmt.Errorf("merge request %s!%d: %w", path, iid, gitprovider.ErrNotFound)
	}
	return p, m, nil
}

func toBytes(files map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for k, v := range files {
		out[k] = []byte(v)
	}
	return out
}
