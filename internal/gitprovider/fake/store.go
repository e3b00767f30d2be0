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

// Package fake is a stateful, in-memory GitHub served over HTTP. The real go-github client (and
// so the real provider code in gitprovider/github) talks to it, which makes it the test bed for
// the provider, for controller tests and for the demo: repositories with files at commits,
// branches, trees, contents, commits, pull requests with merge, close and reopen, labels, ETags,
// rate limits, GitHub App installation tokens, and switches for faults.
package fake

import (
	"crypto/sha1" //nolint:gosec // Git object names are SHA-1; nothing here is a security boundary.
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// repo is one repository's object store and refs.
type repo struct {
	owner, name   string
	defaultBranch string
	blobs         map[string][]byte
	trees         map[string]map[string]string // tree sha -> path -> blob sha
	commits       map[string]*commit
	refs          map[string]string // "heads/main" -> commit sha
	pulls         []*pull
	issueLabels   map[int][]string
	comments      map[int][]string
	nextNumber    int
	seq           int
}

type commit struct {
	sha, tree, message string
	parents            []string
	at                 time.Time
}

type pull struct {
	number               int
	title, body          string
	head, base           string
	headSHA              string // last head seen, kept when the branch is deleted
	state                string // open or closed
	merged               bool
	mergeSHA             string
	createdAt, updatedAt time.Time
	mergedAt, closedAt   *time.Time
}

func newRepo(owner, name string) *repo {
	return &repo{
		owner: owner, name: name, defaultBranch: "main",
		blobs: map[string][]byte{}, trees: map[string]map[string]string{},
		commits: map[string]*commit{}, refs: map[string]string{}, issueLabels: map[int][]string{},
		comments: map[int][]string{}, nextNumber: 1,
	}
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

func blobSHA(content []byte) string {
	h := sha1.New() //nolint:gosec // Git object name.
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

func (r *repo) putBlob(content []byte) string {
	sha := blobSHA(content)
	r.blobs[sha] = slices.Clone(content)
	return sha
}

func (r *repo) putTree(entries map[string]string) string {
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	h := sha1.New() //nolint:gosec // Git object name.
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%s\n", p, entries[p])
	}
	sha := hex.EncodeToString(h.Sum(nil))
	cp := make(map[string]string, len(entries))
	maps.Copy(cp, entries)
	r.trees[sha] = cp
	return sha
}

func (r *repo) putCommit(tree, message string, at time.Time, parents ...string) string {
	r.seq++
	h := sha1.New() //nolint:gosec // Git object name.
	fmt.Fprintf(h, "tree %s\n%s\n%d\n%s", tree, strings.Join(parents, ","), r.seq, message)
	sha := hex.EncodeToString(h.Sum(nil))
	r.commits[sha] = &commit{sha: sha, tree: tree, message: message, parents: slices.Clone(parents), at: at}
	return sha
}

// treeOf returns the flat file map of a commit.
func (r *repo) treeOf(commitSHA string) map[string]string {
	c, ok := r.commits[commitSHA]
	if !ok {
		return nil
	}
	return r.trees[c.tree]
}

// resolve turns a branch name, "heads/x", a commit sha or a tree sha into a tree sha.
func (r *repo) resolveTree(ref string) (string, bool) {
	if sha, ok := r.resolveCommit(ref); ok {
		return r.commits[sha].tree, true
	}
	if _, ok := r.trees[ref]; ok {
		return ref, true
	}
	return "", false
}

func (r *repo) resolveCommit(ref string) (string, bool) {
	if ref == "" {
		ref = r.defaultBranch
	}
	if sha, ok := r.refs["heads/"+strings.TrimPrefix(ref, "heads/")]; ok {
		return sha, true
	}
	if _, ok := r.commits[ref]; ok {
		return ref, true
	}
	return "", false
}

// commitFiles makes a commit on top of parent that sets (or, with a nil value, deletes) files.
func (r *repo) commitFiles(parent string, files map[string][]byte, message string, at time.Time) string {
	entries := map[string]string{}
	if parent != "" {
		maps.Copy(entries, r.treeOf(parent))
	}
	for p, content := range files {
		if content == nil {
			delete(entries, p)
			continue
		}
		entries[p] = r.putBlob(content)
	}
	tree := r.putTree(entries)
	if parent == "" {
		return r.putCommit(tree, message, at)
	}
	return r.putCommit(tree, message, at, parent)
}

// ancestors returns every commit reachable from sha, itself included.
func (r *repo) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{sha}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		if c, ok := r.commits[s]; ok {
			stack = append(stack, c.parents...)
		}
	}
	return seen
}

// mergeBase finds the nearest common ancestor of a and b (breadth first from b).
func (r *repo) mergeBase(a, b string) string {
	inA := r.ancestors(a)
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
		if c, ok := r.commits[s]; ok {
			queue = append(queue, c.parents...)
		}
	}
	return ""
}

// changedPaths lists the paths whose blob differs between two commits.
func (r *repo) changedPaths(from, to string) []string {
	a, b := r.treeOf(from), r.treeOf(to)
	var out []string
	for p, sha := range b {
		if a[p] != sha {
			out = append(out, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// countOnly counts commits reachable from head but not from base.
func (r *repo) countOnly(head, base string) int {
	inBase := r.ancestors(base)
	n := 0
	for s := range r.ancestors(head) {
		if !inBase[s] {
			n++
		}
	}
	return n
}

func (r *repo) pull(number int) *pull {
	for _, p := range r.pulls {
		if p.number == number {
			return p
		}
	}
	return nil
}

// headOf is the pull request's current head: the branch while it exists, else the last seen.
func (r *repo) headOf(p *pull) string {
	if sha, ok := r.refs["heads/"+p.head]; ok && p.state == "open" {
		p.headSHA = sha
	}
	return p.headSHA
}

// merge applies the pull request's changes onto its base with a merge commit.
func (r *repo) merge(p *pull, at time.Time) (string, error) {
	if p.state != "open" {
		return "", fmt.Errorf("pull request #%d is not open", p.number)
	}
	head := r.headOf(p)
	baseSHA, ok := r.refs["heads/"+p.base]
	if !ok {
		return "", fmt.Errorf("base branch %s does not exist", p.base)
	}
	mb := r.mergeBase(baseSHA, head)
	headTree, mbTree, baseTree := r.treeOf(head), r.treeOf(mb), r.treeOf(baseSHA)
	entries := map[string]string{}
	maps.Copy(entries, baseTree)
	for _, path := range r.changedPaths(mb, head) {
		if baseTree[path] != mbTree[path] && baseTree[path] != headTree[path] {
			return "", fmt.Errorf("merge conflict in %s", path)
		}
		if sha, ok := headTree[path]; ok {
			entries[path] = sha
		} else {
			delete(entries, path)
		}
	}
	tree := r.putTree(entries)
	sha := r.putCommit(tree, fmt.Sprintf("Merge pull request #%d from %s/%s", p.number, r.owner, p.head), at, baseSHA, head)
	r.refs["heads/"+p.base] = sha
	p.state, p.merged, p.mergeSHA = "closed", true, sha
	p.mergedAt, p.closedAt = &at, &at
	p.updatedAt = at
	return sha, nil
}
