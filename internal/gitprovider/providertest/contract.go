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

// Package providertest is the contract every gitprovider.Provider must meet, written once and run
// against each implementation's test backend.
package providertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider"
)

// Backend is what the contract needs to see and steer behind the provider: the hosting service's
// own view, and a reviewer's buttons.
type Backend interface {
	ReadFile(repository, branch, path string) (string, error)
	Branches(repository string) ([]string, error)
	MergePR(repository string, number int) error
	ClosePR(repository string, number int) error
	ReopenPR(repository string, number int) error
	// BranchCommits returns the messages of the commits branch has beyond base, and the files they
	// change.
	BranchCommits(repository, base, branch string) (messages, files []string, err error)
	// PullRequestCount counts the repository's pull requests in every state.
	PullRequestCount(repository string) (int, error)
	// Comments returns the comments on a pull request, oldest first.
	Comments(repository string, number int) ([]string, error)
	// PushForeignBranch creates branch with a commit of someone else's (no heal8s trailer).
	PushForeignBranch(repository, branch string) error
	// OpenForeignPR opens a pull request from branch, as a person would; it returns the number.
	OpenForeignPR(repository, branch string) (int, error)
	// PushForeignCommit adds a commit of someone else's (no heal8s trailer) on top of branch.
	PushForeignCommit(repository, branch string) error
	// DeleteBranch deletes a branch, as a reviewer (or the host's "delete source branch" option)
	// does after closing or merging.
	DeleteBranch(repository, branch string) error
}

// Faults stops the client mid-way, for the crash tests of the contract.
type Faults interface {
	// CrashAfter lets the next n calls through, then drops every later connection without effect.
	CrashAfter(n int)
	// LoseResponseOf applies the nth next call but drops its answer, then drops every later call.
	LoseResponseOf(n int)
	// ClearFaults turns every fault off.
	ClearFaults()
}

// maxCrashPoint bounds the crash tests: no provider's happy path is longer.
const maxCrashPoint = 8

// Harness is one fresh backend with repository Repository, whose main branch holds Files, and a
// Provider talking to it.
type Harness struct {
	Provider   gitprovider.Provider
	Backend    Backend
	Repository string
	// Faults, when set, runs the crash tests; leave it nil where a retry's backoff would run on
	// the wall clock.
	Faults Faults
}

// Files is what the repository must hold when a Harness starts.
func Files() map[string]string {
	return map[string]string{
		"README.md":            "# demo\n",
		"apps/shop/web.yaml":   "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # the shop\nspec:\n  memory: 256Mi\n",
		"apps/shop/other.yaml": "kind: Service\n",
	}
}

// EditPath is the file ReplaceEdit changes.
const EditPath = "apps/shop/web.yaml"

// ReplaceEdit returns an Edit that reads EditPath and replaces old with new in it.
func ReplaceEdit(old, new string) gitprovider.EditFunc {
	return func(ctx context.Context, repo gitprovider.Repo) (string, []byte, error) {
		b, err := repo.ReadFile(ctx, EditPath)
		if err != nil {
			return "", nil, err
		}
		return EditPath, bytes.Replace(b, []byte(old), []byte(new), 1), nil
	}
}

// CommitMessage is the message of NewProposal's commit, before the owner trailer.
const CommitMessage = "heal8s: raise memory of shop/web to 384Mi"

// NewProposal is a Proposal for branch heal8s/<name> that raises the memory, owned by
// "uid-<name>".
func NewProposal(repository, name string) gitprovider.Proposal {
	return gitprovider.Proposal{
		Repository: repository, BaseBranch: "main", Branch: "heal8s/" + name,
		Title: "heal8s: IncreaseMemory for shop/web", Body: "body of " + name,
		CommitMessage: CommitMessage,
		Labels:        []string{"heal8s", "IncreaseMemory"},
		Owner:         "uid-" + name,
		Edit:          ReplaceEdit("256Mi", "384Mi"),
	}
}

// Run runs the contract. newHarness must return an independent backend each call.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	ctx := context.Background()

	t.Run("propose opens one pull request with one commit changing only the file", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		pr, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr.Number).To(BeNumerically(">", 0))
		g.Expect(pr.URL).NotTo(BeEmpty())
		g.Expect(pr.Repository).To(Equal(h.Repository))
		g.Expect(pr.Branch).To(Equal("heal8s/a"))
		g.Expect(pr.HeadSHA).NotTo(BeEmpty())
		g.Expect(pr.State).To(Equal(gitprovider.StateOpen))
		g.Expect(pr.Labels).To(ConsistOf("heal8s", "IncreaseMemory"))
		g.Expect(pr.NodeID).NotTo(BeEmpty(), "the pull request's global id, unlike its number, is unique across repositories")
		g.Expect(pr.UpdatedAt.IsZero()).To(BeFalse())

		got, err := h.Backend.ReadFile(h.Repository, "heal8s/a", EditPath)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(bytesReplace(Files()[EditPath], "256Mi", "384Mi")), "comments and layout survive: only the edit differs")
		base, err := h.Backend.ReadFile(h.Repository, "main", EditPath)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(base).To(Equal(Files()[EditPath]), "the base branch is untouched")
		msgs, files, err := h.Backend.BranchCommits(h.Repository, "main", "heal8s/a")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(msgs).To(Equal([]string{gitprovider.CommitMessageFor(CommitMessage, "uid-a")}), "the commit carries the owner trailer")
		g.Expect(gitprovider.OwnedBy(msgs[0], "uid-a")).To(BeTrue())
		g.Expect(files).To(Equal([]string{EditPath}))
	})

	t.Run("propose again returns the same pull request and changes nothing", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		first, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		second, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(second.Number).To(Equal(first.Number))
		g.Expect(second.URL).To(Equal(first.URL))
		expectOne(g, h, "heal8s/a")
	})

	t.Run("two proposals open two pull requests", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		a, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		p := NewProposal(h.Repository, "b")
		p.Edit = ReplaceEdit("kind: Deployment", "kind: Deployment\n# b")
		b, err := h.Provider.Propose(ctx, p)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(b.Number).NotTo(Equal(a.Number))
		n, err := h.Backend.PullRequestCount(h.Repository)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(n).To(Equal(2))
	})

	t.Run("status follows merge, and propose after the merge returns the merged pull request", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		pr, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		st, err := h.Provider.Status(ctx, pr)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.State).To(Equal(gitprovider.StateOpen))

		g.Expect(h.Backend.MergePR(h.Repository, pr.Number)).To(Succeed())
		st, err = h.Provider.Status(ctx, pr)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.State).To(Equal(gitprovider.StateMerged))
		g.Expect(st.MergedAt).NotTo(BeNil())
		base, err := h.Backend.ReadFile(h.Repository, "main", EditPath)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(base).To(ContainSubstring("384Mi"))

		again, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(again.Number).To(Equal(pr.Number))
		g.Expect(again.State).To(Equal(gitprovider.StateMerged))
		n, err := h.Backend.PullRequestCount(h.Repository)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(n).To(Equal(1))
	})

	t.Run("status follows close and reopen; propose after a veto returns the closed pull request", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		pr, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(h.Backend.ClosePR(h.Repository, pr.Number)).To(Succeed())
		st, err := h.Provider.Status(ctx, pr)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.State).To(Equal(gitprovider.StateClosed))
		g.Expect(st.ClosedAt).NotTo(BeNil())
		g.Expect(st.MergedAt).To(BeNil())

		again, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(again.Number).To(Equal(pr.Number))
		g.Expect(again.State).To(Equal(gitprovider.StateClosed))

		g.Expect(h.Backend.ReopenPR(h.Repository, pr.Number)).To(Succeed())
		st, err = h.Provider.Status(ctx, pr)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.State).To(Equal(gitprovider.StateOpen))
		g.Expect(st.ClosedAt).To(BeNil())
		expectOne(g, h, "heal8s/a")
	})

	t.Run("an edit that changes nothing is ErrNoChange and leaves no branch", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		p := NewProposal(h.Repository, "a")
		p.Edit = ReplaceEdit("not-there", "x")
		_, err := h.Provider.Propose(ctx, p)
		g.Expect(err).To(MatchError(gitprovider.ErrNoChange))
		expectBranches(g, h, "main")
	})

	t.Run("an edit error is returned and leaves no branch", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		boom := errors.New("document not found")
		p := NewProposal(h.Repository, "a")
		p.Edit = func(context.Context, gitprovider.Repo) (string, []byte, error) { return "", nil, boom }
		_, err := h.Provider.Propose(ctx, p)
		g.Expect(err).To(MatchError(boom))
		expectBranches(g, h, "main")
	})

	t.Run("the repo lists the tree and reports a missing file as ErrNotFound", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		p := NewProposal(h.Repository, "new-file")
		var listed []string
		var missingErr error
		p.Edit = func(ctx context.Context, repo gitprovider.Repo) (string, []byte, error) {
			var err error
			if listed, err = repo.ListFiles(ctx); err != nil {
				return "", nil, err
			}
			if _, err := repo.ListFiles(ctx); err != nil {
				return "", nil, err
			}
			_, missingErr = repo.ReadFile(ctx, "apps/shop/new.yaml")
			return "apps/shop/new.yaml", []byte("kind: ConfigMap\n"), nil
		}
		_, err := h.Provider.Propose(ctx, p)
		g.Expect(err).NotTo(HaveOccurred())
		want := make([]string, 0, len(Files()))
		for f := range Files() {
			want = append(want, f)
		}
		slices.Sort(want)
		g.Expect(listed).To(Equal(want))
		g.Expect(missingErr).To(MatchError(gitprovider.ErrNotFound))
		_, files, err := h.Backend.BranchCommits(h.Repository, "main", "heal8s/new-file")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(files).To(Equal([]string{"apps/shop/new.yaml"}))
	})

	t.Run("an invalid proposal is refused", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		p := NewProposal(h.Repository, "a")
		p.Edit = nil
		_, err := h.Provider.Propose(ctx, p)
		g.Expect(err).To(MatchError(gitprovider.ErrInvalidProposal))
		p = NewProposal("no-slash", "a")
		_, err = h.Provider.Propose(ctx, p)
		g.Expect(err).To(MatchError(gitprovider.ErrInvalidProposal))
	})

	t.Run("a branch heal8s did not make is refused, not adopted", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		g.Expect(h.Backend.PushForeignBranch(h.Repository, "heal8s/a")).To(Succeed())
		_, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).To(MatchError(gitprovider.ErrBranchNotOwned))
		n, err := h.Backend.PullRequestCount(h.Repository)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(n).To(BeZero(), "no pull request opened from someone else's branch")
		msgs, _, err := h.Backend.BranchCommits(h.Repository, "main", "heal8s/a")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(msgs).To(Equal([]string{"someone else's change"}), "nothing was committed onto it")
	})

	t.Run("a pull request someone else opened from the branch is refused, not adopted", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		g.Expect(h.Backend.PushForeignBranch(h.Repository, "heal8s/a")).To(Succeed())
		_, err := h.Backend.OpenForeignPR(h.Repository, "heal8s/a")
		g.Expect(err).NotTo(HaveOccurred())
		_, err = h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).To(MatchError(gitprovider.ErrBranchNotOwned))
	})

	t.Run("another Remediation's pull request from the same branch name is refused", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		_, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		other := NewProposal(h.Repository, "a")
		other.Owner = "uid-of-another-remediation"
		_, err = h.Provider.Propose(ctx, other)
		g.Expect(err).To(MatchError(gitprovider.ErrBranchNotOwned))
	})

	why := gitprovider.Closure{RemediationNamespace: "shop", RemediationName: "a", SupersededBy: "b"}

	t.Run("close comments naming the newer Remediation, closes, and is idempotent", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		pr, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		closed, err := h.Provider.Close(ctx, pr, why)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(closed.State).To(Equal(gitprovider.StateClosed))
		g.Expect(closed.Labels).To(ContainElement(gitprovider.SupersededLabel))
		comments, err := h.Backend.Comments(h.Repository, pr.Number)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(comments).To(HaveLen(1))
		g.Expect(comments[0]).To(ContainSubstring("`shop/b`"))
		g.Expect(comments[0]).To(ContainSubstring("superseded"))

		again, err := h.Provider.Close(ctx, pr, why)
		g.Expect(err).NotTo(HaveOccurred(), "closing a pull request heal8s closed is done")
		g.Expect(again.State).To(Equal(gitprovider.StateClosed))
		comments, err = h.Backend.Comments(h.Repository, pr.Number)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(comments).To(HaveLen(1), "no second comment")
		st, err := h.Provider.Status(ctx, pr)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.State).To(Equal(gitprovider.StateClosed))
	})

	t.Run("close leaves a merged pull request or one a person closed as it is: ErrNotOpen", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		merged, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		vetoed, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "b"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(h.Backend.MergePR(h.Repository, merged.Number)).To(Succeed())
		got, err := h.Provider.Close(ctx, merged, why)
		g.Expect(err).To(MatchError(gitprovider.ErrNotOpen))
		g.Expect(got.State).To(Equal(gitprovider.StateMerged))

		g.Expect(h.Backend.ClosePR(h.Repository, vetoed.Number)).To(Succeed())
		got, err = h.Provider.Close(ctx, vetoed, why)
		g.Expect(err).To(MatchError(gitprovider.ErrNotOpen))
		g.Expect(got.State).To(Equal(gitprovider.StateClosed))
		for _, n := range []int{merged.Number, vetoed.Number} {
			comments, err := h.Backend.Comments(h.Repository, n)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(comments).To(BeEmpty())
		}
	})

	t.Run("a pull request closed and its branch deleted before heal8s recorded it is found, not opened again", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		pr, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		// The reconciler crashed before it recorded pr; meanwhile a reviewer closed it and
		// deleted the branch.
		g.Expect(h.Backend.ClosePR(h.Repository, pr.Number)).To(Succeed())
		g.Expect(h.Backend.DeleteBranch(h.Repository, "heal8s/a")).To(Succeed())
		again, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(again.Number).To(Equal(pr.Number))
		g.Expect(again.State).To(Equal(gitprovider.StateClosed), "the veto is followed")
		n, err := h.Backend.PullRequestCount(h.Repository)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(n).To(Equal(1), "no second pull request")
		expectBranches(g, h, "main")
	})

	t.Run("a pull request merged and its branch deleted is found, not opened again", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		pr, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(h.Backend.MergePR(h.Repository, pr.Number)).To(Succeed())
		g.Expect(h.Backend.DeleteBranch(h.Repository, "heal8s/a")).To(Succeed())
		again, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(again.Number).To(Equal(pr.Number))
		g.Expect(again.State).To(Equal(gitprovider.StateMerged))
		n, err := h.Backend.PullRequestCount(h.Repository)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(n).To(Equal(1))
		expectBranches(g, h, "main")
	})

	t.Run("a closed pull request from the branch that is not heal8s's is refused after the branch is gone", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		g.Expect(h.Backend.PushForeignBranch(h.Repository, "heal8s/a")).To(Succeed())
		n, err := h.Backend.OpenForeignPR(h.Repository, "heal8s/a")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(h.Backend.ClosePR(h.Repository, n)).To(Succeed())
		g.Expect(h.Backend.DeleteBranch(h.Repository, "heal8s/a")).To(Succeed())
		_, err = h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).To(MatchError(gitprovider.ErrBranchNotOwned))
	})

	t.Run("a pull request someone else pushed to is left alone, with one comment", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		pr, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(pr.Edited).To(BeFalse())
		g.Expect(h.Backend.PushForeignCommit(h.Repository, "heal8s/a")).To(Succeed())

		// A retry of the proposal (heal8s lost its record) follows the pull request without
		// touching it again.
		for range 2 {
			again, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(again.Number).To(Equal(pr.Number))
			g.Expect(again.State).To(Equal(gitprovider.StateOpen))
			g.Expect(again.Edited).To(BeTrue())
		}
		comments, err := h.Backend.Comments(h.Repository, pr.Number)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(comments).To(HaveLen(1), "one comment, however often heal8s looks")
		g.Expect(comments[0]).To(ContainSubstring("leaves this pull request alone"))

		// A newer Remediation does not close it: a person's commits make it theirs.
		for range 2 {
			got, err := h.Provider.Close(ctx, pr, why)
			g.Expect(err).To(MatchError(gitprovider.ErrEdited))
			g.Expect(err).To(MatchError(gitprovider.ErrNotOpen), "callers that ask whether heal8s closed it hear no")
			g.Expect(got.State).To(Equal(gitprovider.StateOpen))
			g.Expect(got.Edited).To(BeTrue())
		}
		comments, err = h.Backend.Comments(h.Repository, pr.Number)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(comments).To(HaveLen(1))
		st, err := h.Provider.Status(ctx, pr)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.State).To(Equal(gitprovider.StateOpen))
		g.Expect(st.Edited).To(BeTrue(), "status tells it too")
		msgs, _, err := h.Backend.BranchCommits(h.Repository, "main", "heal8s/a")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(msgs).To(HaveLen(2), "heal8s pushed nothing more")
		g.Expect(msgs[0]).To(Equal("a reviewer's fix-up"))

		// The person merges: heal8s follows.
		g.Expect(h.Backend.MergePR(h.Repository, pr.Number)).To(Succeed())
		st, err = h.Provider.Status(ctx, pr)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.State).To(Equal(gitprovider.StateMerged))
	})

	t.Run("a pull request whose head is someone else's and holds no commit of this proposal is refused", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		_, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(h.Backend.PushForeignCommit(h.Repository, "heal8s/a")).To(Succeed())
		other := NewProposal(h.Repository, "a")
		other.Owner = "uid-of-another-remediation"
		_, err = h.Provider.Propose(ctx, other)
		g.Expect(err).To(MatchError(gitprovider.ErrBranchNotOwned))
	})

	if newHarness(t).Faults != nil {
		t.Run("propose survives a crash at any point", func(t *testing.T) {
			for _, lose := range []bool{false, true} {
				for n := 0; n <= maxCrashPoint; n++ {
					if lose && n == 0 {
						continue
					}
					t.Run(fmt.Sprintf("lose-response=%t/after-%d-calls", lose, n), func(t *testing.T) {
						g := NewWithT(t)
						h := newHarness(t)
						f := h.Faults
						if lose {
							f.LoseResponseOf(n)
						} else {
							f.CrashAfter(n)
						}
						_, _ = h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
						f.ClearFaults()
						pr, err := h.Provider.Propose(ctx, NewProposal(h.Repository, "a"))
						g.Expect(err).NotTo(HaveOccurred())
						g.Expect(pr.State).To(Equal(gitprovider.StateOpen))
						g.Expect(pr.Labels).To(ConsistOf("heal8s", "IncreaseMemory"))
						expectOne(g, h, "heal8s/a")
						st, err := h.Provider.Status(ctx, pr)
						g.Expect(err).NotTo(HaveOccurred())
						g.Expect(st.Labels).To(ConsistOf("heal8s", "IncreaseMemory"))
					})
				}
			}
		})
	}

	t.Run("status of a missing pull request is ErrNotFound", func(t *testing.T) {
		g := NewWithT(t)
		h := newHarness(t)
		_, err := h.Provider.Status(ctx, gitprovider.PullRequest{Repository: h.Repository, Number: 99})
		g.Expect(err).To(MatchError(gitprovider.ErrNotFound))
	})
}

// ExpectOne asserts the end state every successful Propose must leave for branch: exactly one
// heal8s branch besides main, exactly one commit on it touching only EditPath, one pull request.
func ExpectOne(g Gomega, h Harness, branch string) { expectOne(g, h, branch) }

func expectOne(g Gomega, h Harness, branch string) {
	expectBranches(g, h, "main", branch)
	msgs, files, err := h.Backend.BranchCommits(h.Repository, "main", branch)
	g.ExpectWithOffset(2, err).NotTo(HaveOccurred())
	g.ExpectWithOffset(2, msgs).To(HaveLen(1), "exactly one commit on %s", branch)
	g.ExpectWithOffset(2, files).To(Equal([]string{EditPath}), "the diff touches only the edited file")
	n, err := h.Backend.PullRequestCount(h.Repository)
	g.ExpectWithOffset(2, err).NotTo(HaveOccurred())
	g.ExpectWithOffset(2, n).To(Equal(1), "exactly one pull request")
}

func expectBranches(g Gomega, h Harness, want ...string) {
	got, err := h.Backend.Branches(h.Repository)
	g.ExpectWithOffset(2, err).NotTo(HaveOccurred())
	g.ExpectWithOffset(2, got).To(ConsistOf(want), fmt.Sprintf("branches of %s", h.Repository))
}

func bytesReplace(s, old, new string) string {
	return string(bytes.Replace([]byte(s), []byte(old), []byte(new), 1))
}
