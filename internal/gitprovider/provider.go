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

// Package gitprovider is how heal8s proposes a change to the Git repository that holds a
// workload's manifest: a branch, one commit and a pull request a human reviews. The interface is
// small so the state machine does not care which hosting service sits behind it; the GitHub
// implementation lives in gitprovider/github and a stateful fake GitHub in gitprovider/fake.
package gitprovider

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// Provider opens and follows pull requests. Implementations must be safe for concurrent use.
type Provider interface {
	// Propose makes the change on a branch and opens a pull request; calling it again with the same
	// Proposal returns the same pull request, whatever point an earlier call crashed at.
	Propose(ctx context.Context, p Proposal) (PullRequest, error)
	// Status reads the pull request's current state, for when no webhook tells heal8s about it.
	Status(ctx context.Context, pr PullRequest) (PullRequest, error)
	// Close closes an open pull request without merging it, after a comment saying why (rendered
	// from why) and the SupersededLabel, and returns it closed. Calling it again returns the same
	// closed pull request (the label tells it was closed by heal8s). A pull request that is merged,
	// or was closed by someone else, is left as it is and returned with an error wrapping
	// ErrNotOpen: a merge must be followed, and a person's close is a veto, not a supersession.
	Close(ctx context.Context, pr PullRequest, why Closure) (PullRequest, error)
}

// SupersededLabel marks a pull request heal8s closed because a newer Remediation took over.
const SupersededLabel = "heal8s-superseded"

// Closure says why heal8s closes a pull request; the provider renders the comment from it.
type Closure struct {
	// RemediationNamespace and RemediationName name the Remediation whose pull request it is.
	RemediationNamespace, RemediationName string
	// SupersededBy names the newer Remediation (same namespace) that took over.
	SupersededBy string
}

// Comment is the comment a reviewer reads on the closed pull request.
func (c Closure) Comment() string {
	return fmt.Sprintf("heal8s closed this pull request: the Remediation %s superseded the Remediation %s, which this pull request "+
		"belongs to. It was opened for an earlier alert of the same action on the same target, and the newer Remediation "+
		"proposes the change anew from the live values.\n\nNothing was applied from this pull request; do not reopen it.\n",
		code(c.RemediationNamespace+"/"+c.SupersededBy), code(c.RemediationNamespace+"/"+c.RemediationName))
}

// Repo reads the repository at one fixed commit, so that the file Edit reads and the commit the
// branch starts from are the same. Propose hands Edit one over the base branch's head.
type Repo interface {
	// ListFiles lists every file path in the tree, with one recursive call that is cached.
	ListFiles(ctx context.Context) ([]string, error)
	// ReadFile returns a file's content; a missing file is an error wrapping ErrNotFound.
	ReadFile(ctx context.Context, path string) ([]byte, error)
}

// EditFunc computes the change against the base commit: which file, and its whole new content.
// It is a function, not data, so the manifest is found and patched against exactly the commit the
// branch will start from.
type EditFunc func(ctx context.Context, repo Repo) (path string, content []byte, err error)

// Proposal is everything needed to open one pull request. The same Proposal (same Branch) always
// leads to the same pull request.
type Proposal struct {
	// Repository is "owner/name".
	Repository string
	// BaseBranch is the branch the pull request merges into, e.g. "main".
	BaseBranch string
	// Branch is the head branch, "heal8s/<remediation-name>"; deterministic, it is the identity
	// of the proposal.
	Branch string
	// Title, Body and CommitMessage are what the reviewer reads.
	Title, Body, CommitMessage string
	// Labels are added to the pull request: "heal8s" and the action's name.
	Labels []string
	// Owner identifies who proposes (the Remediation's UID). When set, the commit carries it in
	// an OwnerTrailer line, and a branch or pull request from Branch whose head commit does not
	// carry it is refused (ErrBranchNotOwned) instead of adopted.
	Owner string
	// Edit computes the change against the base commit.
	Edit EditFunc
	// Evidence, when set, returns what Edit learned (how the file was found, the rendered proof);
	// providers call AfterEdit after Edit so it reaches the body and labels. It returns nil when
	// Edit recorded nothing.
	Evidence func() *Evidence
}

// OwnerTrailer is the Git trailer heal8s writes into its commits with the Remediation's UID.
const OwnerTrailer = "Heal8s-Remediation-UID"

// CommitMessageFor is message with the owner's trailer appended (message alone when owner is
// empty).
func CommitMessageFor(message, owner string) string {
	if owner == "" {
		return message
	}
	return strings.TrimRight(message, "\n") + "\n\n" + OwnerTrailer + ": " + owner + "\n"
}

// OwnedBy reports whether a commit message carries owner's trailer on a line of its own.
func OwnedBy(message, owner string) bool {
	if owner == "" {
		return false
	}
	want := OwnerTrailer + ": " + owner
	for line := range strings.SplitSeq(message, "\n") {
		if strings.TrimSpace(line) == want {
			return true
		}
	}
	return false
}

// HasOwnerTrailer reports whether a commit message carries an OwnerTrailer line for any owner:
// whether heal8s made the commit.
func HasOwnerTrailer(message string) bool {
	for line := range strings.SplitSeq(message, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), OwnerTrailer+": ") {
			return true
		}
	}
	return false
}

// BranchPrefix starts the head branch of every pull request heal8s opens; the rest of the branch
// name is the Remediation's name.
const BranchPrefix = "heal8s/"

// PullRequestCallback receives a pull request's new state (from a provider's webhook or poller).
// An error asks for the state to be delivered again.
type PullRequestCallback func(ctx context.Context, pr PullRequest) error

// State is a pull request's state as heal8s cares about it. The values match
// api/v1beta1.PullRequestState so callers can convert with a plain type conversion.
type State string

const (
	// StateOpen is open for review (including after a reopen).
	StateOpen State = "open"
	// StateMerged was merged: the change will reach the cluster.
	StateMerged State = "merged"
	// StateClosed was closed without merging: a human veto.
	StateClosed State = "closed"
)

// PullRequest identifies a pull request and carries its last known state.
type PullRequest struct {
	// Repository is "owner/name".
	Repository string
	// Number is the pull request's number in its repository.
	Number int
	// URL is the web address a person opens.
	URL string
	// Branch is the head branch.
	Branch string
	// HeadSHA is the head commit.
	HeadSHA string
	// State is open, merged or closed.
	State State
	// Labels are the pull request's labels.
	Labels []string
	// MergedAt and ClosedAt are set once the pull request was merged or closed.
	MergedAt, ClosedAt *time.Time
	// NodeID is the provider's global identifier of the pull request (GitHub's node_id): unlike
	// the number it is never shared with a pull request of another repository.
	NodeID string
	// UpdatedAt is when the provider last changed the pull request; zero when unknown. An event
	// older than what heal8s recorded is a replay.
	UpdatedAt time.Time
	// Edited says someone else pushed to heal8s's branch: its head commit is not heal8s's, an
	// earlier one is. heal8s then leaves the pull request alone (as Renovate does): it commented
	// once (EditedLabel marks that), it adds no label and never closes it; a person decides.
	Edited bool
}

// EditedLabel marks a pull request heal8s left alone because someone else pushed to its branch;
// it is also how the provider knows it already said so.
const EditedLabel = "heal8s-edited"

// EditedComment is the one comment heal8s writes on a pull request someone else pushed to.
func EditedComment(branch string) string {
	return fmt.Sprintf("heal8s sees commits on %s that it did not make, so it leaves this pull request alone from now on: "+
		"it will not push to the branch, relabel or close it. Merge it or close it as you see fit; heal8s follows what you "+
		"decide (a merge is verified on the live object, a close is a veto).\n", code(branch))
}

// MaxOwnershipWalk bounds how many commits below a branch's head a provider reads to find
// heal8s's own commit under someone else's.
const MaxOwnershipWalk = 10

var (
	// ErrGaveUp means the provider kept meeting rate limits or server errors and stopped retrying
	// after its time budget; the error's text carries the last reason. Callers requeue later.
	ErrGaveUp = errors.New("gave up talking to the git provider")
	// ErrNoChange means Edit produced the content the base branch already has and no earlier pull
	// request exists for the branch: there is nothing to propose.
	ErrNoChange = errors.New("edit changes nothing")
	// ErrNotOpen means Close found the pull request merged, or closed by someone else, and left
	// it as it is.
	ErrNotOpen = errors.New("pull request is not open")
	// ErrNotFound means a file, branch or pull request does not exist. It is also
	// fs.ErrNotExist, so internal/manifest tells a missing file from a failed read.
	ErrNotFound error = notFound{}
	// ErrInvalidProposal means the Proposal misses a field; retrying will not help.
	ErrInvalidProposal = errors.New("invalid proposal")
	// ErrBranchNotOwned means the proposal's branch, or a pull request from it, exists and none
	// of its recent commits carries the proposal's OwnerTrailer: someone else made it, and heal8s
	// does not adopt it.
	ErrBranchNotOwned = errors.New("branch exists and was not made by heal8s for this proposal")
	// ErrEdited means Close found the pull request open with someone else's commits on top of
	// heal8s's and left it open (after the one EditedComment). It wraps ErrNotOpen's meaning for
	// callers that only ask "did it close": errors.Is(err, ErrNotOpen) holds too.
	ErrEdited error = editedErr{}
)

type editedErr struct{}

func (editedErr) Error() string {
	return "someone else pushed to the pull request's branch; heal8s leaves it alone"
}

// Is makes errors.Is(ErrEdited, ErrNotOpen) hold: a caller that handles "not closed by heal8s"
// handles this too.
func (editedErr) Is(target error) bool { return target == ErrNotOpen }

type notFound struct{}

func (notFound) Error() string { return "not found" }

// Is makes errors.Is(ErrNotFound, fs.ErrNotExist) hold.
func (notFound) Is(target error) bool { return target == fs.ErrNotExist }

// Validate checks that a Proposal has what Propose needs, so a mistake is reported before any
// API call.
func (p Proposal) Validate() error {
	var missing []string
	if p.Repository == "" {
		missing = append(missing, "repository")
	}
	if p.BaseBranch == "" {
		missing = append(missing, "baseBranch")
	}
	if p.Branch == "" {
		missing = append(missing, "branch")
	}
	if p.Branch != "" && p.Branch == p.BaseBranch {
		return fmt.Errorf("%w: branch equals baseBranch %q", ErrInvalidProposal, p.BaseBranch)
	}
	if p.Title == "" {
		missing = append(missing, "title")
	}
	if p.CommitMessage == "" {
		missing = append(missing, "commitMessage")
	}
	if p.Edit == nil {
		missing = append(missing, "edit")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrInvalidProposal, strings.Join(missing, ", "))
	}
	return nil
}
