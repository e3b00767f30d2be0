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

package gitprovider

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Change is what heal8s proposes, as data: where the pull request goes, the edit, and what a
// reviewer reads about it. NewProposal renders the texts (title, commit message, labels, body)
// from it, so callers never format them.
type Change struct {
	// Repository is "owner/name"; BaseBranch the branch to merge into; Branch the head branch,
	// heal8s/<remediation-name>.
	Repository, BaseBranch, Branch string
	// Owner is the Remediation's UID (see Proposal.Owner).
	Owner string
	// Edit computes the change against the base commit.
	Edit EditFunc
	// About is what the pull request says about the change.
	About BodyInput
	// Evidence is what Edit learned about the change (see Proposal.Evidence).
	Evidence func() *Evidence
}

// NewProposal is the Proposal for c: the title "heal8s: <action> <kind> <namespace>/<name>", the
// commit message (the title and the plan's reason), the labels "heal8s" and the action's name in
// lower case, and the body RenderBody writes.
func NewProposal(c Change) Proposal {
	in := c.About
	title := fmt.Sprintf("heal8s: %s %s %s/%s", word(in.Action), word(in.Target.Kind), in.Target.Namespace, in.Target.Name)
	msg := title
	if in.Reason != "" {
		msg += "\n\n" + in.Reason
	}
	return Proposal{
		Repository: c.Repository, BaseBranch: c.BaseBranch, Branch: c.Branch, Owner: c.Owner, Edit: c.Edit, Evidence: c.Evidence,
		Title: title, CommitMessage: msg, Labels: []string{"heal8s", strings.ToLower(word(in.Action))},
		Body: renderBody(in),
	}
}

// BodyInput is what a reviewer needs to judge a heal8s pull request without opening anything
// else: which alert, which object, what changes, why these numbers and how to undo it.
type BodyInput struct {
	// AlertName is the alertname that fired.
	AlertName string
	// AlertLabels are the alert's labels, shown sorted.
	AlertLabels map[string]string
	// FiringSince is when the alert started firing; zero when unknown.
	FiringSince time.Time
	// GeneratorURL links to the expression that fired; empty when unknown.
	GeneratorURL string
	// Summary is the alert's summary annotation; untrusted text, shown in a code span.
	Summary string
	// Target is the object the change applies to.
	Target BodyTarget
	// Action is the action's name, e.g. IncreaseMemory.
	Action string
	// Path is the file the pull request changes.
	Path string
	// Changes are the before/after values, one row each.
	Changes []BodyChange
	// Reason explains why these numbers (the percent, the rounding, the cap that applied).
	Reason string
	// RemediationName and RemediationNamespace name the Remediation that tracks the change.
	RemediationName, RemediationNamespace string
	// DashboardURL links to the Remediation on the heal8s dashboard; empty when not exposed.
	DashboardURL string
}

// BodyTarget identifies the changed object in the body.
type BodyTarget struct {
	APIVersion, Kind, Namespace, Name, Container string
}

// BodyChange is one row of the before/after table.
type BodyChange struct {
	// Field is where the value lives, e.g. spec.template.spec.containers[app].resources.limits.memory.
	Field string
	// Before and After are the values; empty means absent.
	Before, After string
}

// renderBody builds the pull request description. It is a pure function of its input so the text
// is golden-tested and the same Remediation always gets the same body.
//
// Everything that comes from the alert or the cluster (alert name, labels, summary,
// generatorURL, object names, values, the plan's reason, which quotes images) is untrusted: a
// tenant or whoever can make Prometheus fire writes it. It is rendered only inside code spans
// (one line, backticks replaced by ˋ so a span cannot be closed early) or a fenced block, where
// GitHub shows text as text: no links or images, no autolinks, no @mentions that notify, no
// closing keywords ("fixes #1") that close issues, no HTML.
func renderBody(in BodyInput) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("heal8s proposes **%s** on %s because the alert %s is firing.\n\n",
		word(in.Action), targetText(in.Target), code(in.AlertName))
	w("Merge to apply the change; close without merging to reject it.\n\n")

	w("### Alert\n\n")
	w("| | |\n|---|---|\n")
	w("| Alert | %s |\n", code(in.AlertName))
	if !in.FiringSince.IsZero() {
		w("| Firing since | %s |\n", in.FiringSince.UTC().Format(time.RFC3339))
	}
	if in.GeneratorURL != "" {
		// Shown, not linked: the address is the alert's, and a link would be clicked.
		w("| Expression | %s |\n", code(in.GeneratorURL))
	}
	if in.Summary != "" {
		w("| Summary | %s |\n", code(in.Summary))
	}
	if len(in.AlertLabels) > 0 {
		keys := make([]string, 0, len(in.AlertLabels))
		for k := range in.AlertLabels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		pairs := make([]string, 0, len(keys))
		for _, k := range keys {
			pairs = append(pairs, code(fmt.Sprintf("%s=%q", k, in.AlertLabels[k])))
		}
		w("| Labels | %s |\n", strings.Join(pairs, " "))
	}

	w("\n### Target\n\n")
	w("%s", targetText(in.Target))
	if in.Target.Container != "" {
		w(", container %s", code(in.Target.Container))
	}
	if in.Path != "" {
		w(", declared in %s", code(in.Path))
	}
	w(".\n")

	w("\n### Change\n\n")
	if len(in.Changes) == 0 {
		w("No field-level summary was recorded; see the diff.\n")
	} else {
		w("| Field | Before | After |\n|---|---|---|\n")
		for _, c := range in.Changes {
			w("| %s | %s | %s |\n", code(c.Field), valueText(c.Before), valueText(c.After))
		}
	}

	if in.Reason != "" {
		w("\n### Why these numbers\n\n%s", fenced(in.Reason))
	}

	w("\n### Tracking\n\n")
	w("The Remediation %s follows this pull request: after the merge it waits until the cluster "+
		"carries the new values, then verifies that the alert stays resolved.", code(in.RemediationNamespace+"/"+in.RemediationName))
	if in.DashboardURL != "" {
		// The operator's own address, not the alert's.
		w(" [Open it on the dashboard](%s).", linkTarget(in.DashboardURL))
	}
	w("\n")

	w("\n### How to undo\n\n")
	w("Revert this pull request (the **Revert** button on the merged pull request) and let your " +
		"GitOps tool apply the revert. Closing it unmerged tells heal8s not to propose the same " +
		"action on this target again during the policy's veto period.\n")
	return b.String()
}

func targetText(t BodyTarget) string {
	return fmt.Sprintf("%s %s", word(t.Kind), code(t.Namespace+"/"+t.Name))
}

// word keeps only the letters and digits of a name from heal8s's own vocabulary (an action, a
// kind), so it can stand in prose as plain text.
func word(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, s)
}

func valueText(v string) string {
	if v == "" {
		return "_(unset)_"
	}
	return code(v)
}

// graveLookalike replaces a backtick in untrusted text: U+02CB MODIFIER LETTER GRAVE ACCENT
// reads the same and cannot open or close a code span or fence.
const graveLookalike = "\u02cb"

// code renders untrusted s as an inline code span that shows it as text: one line, backticks
// replaced so nothing in s can close the span, and a pipe escaped so a table row stays one row
// (GitHub renders `\|` inside a code span in a table as a pipe).
func code(s string) string {
	s = strings.ReplaceAll(oneLine(s), "`", graveLookalike)
	s = strings.ReplaceAll(s, "|", `\|`)
	if s == "" {
		return "_(empty)_"
	}
	return "`" + s + "`"
}

// fenced renders untrusted multi-line text as a fenced code block; with its backticks replaced
// no line of it can close the fence.
func fenced(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "`", graveLookalike)
	s = strings.ReplaceAll(s, "\r", "")
	return "```text\n" + s + "\n```\n"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// linkTarget keeps a URL from closing the markdown link early.
func linkTarget(u string) string {
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "\n", "").Replace(u)
}
