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
	"crypto/sha1" //nolint:gosec // Git object names are SHA-1; nothing here is a security boundary.
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"
)

// project is one repository: commits holding whole file maps, branches, merge requests.
type project struct {
	id            int64
	path          string
	defaultBranch string
	commits       map[string]*commit
	branches      map[string]string // name -> commit sha
	mrs           []*mergeRequest
	notes         map[int][]note
	nextIID       int
	seq           int
}

type commit struct {
	sha, message string
	parents      []string
	files        map[string][]byte
	at           time.Time
}

type note struct {
	id     int64
	body   string
	system bool
	at     time.Time
}

type mergeRequest struct {
	id                   int64
	iid                  int
	title, description   string
	source, target       string
	sha                  string // last head seen, kept when the branch is deleted
	state                string // opened, closed, merged
	labels               []string
	mergeSHA             string
	createdAt, updatedAt time.Time
	mergedAt, closedAt   *time.Time
}

func newProject(id int64, path string) *project {
	return &project{id: id, path: path, defaultBranch: "main", commits: map[string]*commit{},
		branches: map[string]string{}, notes: map[int][]note{}, nextIID: 1}
}

// commitFiles makes a commit on parent that sets (or, with a nil value, deletes) files.
func (p *project) commitFiles(parent string, files map[string][]byte, message string, at time.Time) string {
	tree := map[string][]byte{}
	var parents []string
	if c, ok := p.commits[parent]; ok {
		maps.Copy(tree, c.files)
		parents = []string{parent}
	}
	for k, v := range files {
		if v == nil {
			delete(tree, k)
		} else {
			tree[k] = slices.Clone(v)
		}
	}
	return p.putCommit(tree, message, at, parents...)
}

func (p *project) putCommit(tree map[string][]byte, message string, at time.Time, parents ...string) string {
	p.seq++
	h := sha1.New() //nolint:gosec // Git object name.
	fmt.Fprintf(h, "%s\n%v\n%d\n%s", p.path, parents, p.seq, message)
	sha := hex.EncodeToString(h.Sum(nil))
	p.commits[sha] = &commit{sha: sha, message: message, parents: parents, files: tree, at: at}
	return sha
}

// resolve turns a branch name or a commit sha into a commit sha.
func (p *project) resolve(ref string) (string, bool) {
	if ref == "" {
		ref = p.defaultBranch
	}
	if sha, ok := p.branches[ref]; ok {
		return sha, true
	}
	if _, ok := p.commits[ref]; ok {
		return ref, true
	}
	return "", false
}

func (p *project) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{sha}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		if c, ok := p.commits[s]; ok {
			stack = append(stack, c.parents...)
		}
	}
	return seen
}

// only lists commits reachable from head and not from base, newest first.
func (p *project) only(head, base string) []*commit {
	inBase := p.ancestors(base)
	var out []*commit
	for s := range p.ancestors(head) {
		if !inBase[s] {
			out = append(out, p.commits[s])
		}
	}
	slices.SortFunc(out, func(a, b *commit) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return len(p.ancestors(b.sha)) - len(p.ancestors(a.sha))
	})
	return out
}

// mergeBase is the newest common ancestor of a and b.
func (p *project) mergeBase(a, b string) string {
	inA := p.ancestors(a)
	queue := []string{b}
	seen := map[string]bool{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if seen[s] {
			continue
		}
		seen[s] = true
		if inA[s] {
			return s
		}
		if c, ok := p.commits[s]; ok {
			queue = append(queue, c.parents...)
		}
	}
	return ""
}

// changed lists paths whose content differs between two commits.
func (p *project) changed(from, to string) []string {
	a, b := p.files(from), p.files(to)
	var out []string
	for k, v := range b {
		if old, ok := a[k]; !ok || string(old) != string(v) {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (p *project) files(sha string) map[string][]byte {
	if c, ok := p.commits[sha]; ok {
		return c.files
	}
	return nil
}

func (p *project) mr(iid int) *mergeRequest {
	for _, m := range p.mrs {
		if m.iid == iid {
			return m
		}
	}
	return nil
}

// head is the merge request's current head: its source branch while open and present.
func (p *project) head(m *mergeRequest) string {
	if sha, ok := p.branches[m.source]; ok && m.state == "opened" {
		m.sha = sha
	}
	return m.sha
}

// merge applies the merge request's changes onto its target with a merge commit.
func (p *project) merge(m *mergeRequest, at time.Time) error {
	if m.state != "opened" {
		return fmt.Errorf("merge request !%d is not open", m.iid)
	}
	head := p.head(m)
	base, ok := p.branches[m.target]
	if !ok {
		return fmt.Errorf("target branch %s does not exist", m.target)
	}
	mb := p.mergeBase(base, head)
	tree := maps.Clone(p.files(base))
	mbFiles, headFiles := p.files(mb), p.files(head)
	for _, path := range p.changed(mb, head) {
		if string(tree[path]) != string(mbFiles[path]) && string(tree[path]) != string(headFiles[path]) {
			return fmt.Errorf("merge conflict in %s", path)
		}
		if c, ok := headFiles[path]; ok {
			tree[path] = c
		} else {
			delete(tree, path)
		}
	}
	sha := p.putCommit(tree, fmt.Sprintf("Merge branch '%s' into '%s'\n\nSee merge request %s!%d", m.source, m.target, p.path, m.iid), at, base, head)
	p.branches[m.target] = sha
	m.state, m.mergeSHA, m.mergedAt, m.updatedAt = "merged", sha, &at, at
	return nil
}
