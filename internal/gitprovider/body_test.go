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
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// Set UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change of the text.
func TestRenderBodyGolden(t *testing.T) {
	full := BodyInput{
		AlertName:    "KubePodOOMKilled",
		AlertLabels:  map[string]string{"alertname": "KubePodOOMKilled", "namespace": "shop", "severity": "warning", "container": "app"},
		FiringSince:  time.Date(2026, 11, 28, 1, 2, 3, 0, time.FixedZone("CET", 3600)),
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=kube_pod_container_status_last_terminated_reason(x)",
		Summary:      "Container app in shop/web was OOMKilled | 3 times <script>",
		Target:       BodyTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Container: "app"},
		Action:       "IncreaseMemory",
		Path:         "apps/shop/web.yaml",
		Changes: []BodyChange{
			{Field: "resources.limits.memory", Before: "256Mi", After: "384Mi"},
			{Field: "resources.requests.memory", Before: "", After: "384Mi"},
		},
		Reason:               "+50% of 256Mi is 384Mi, rounded up to a multiple of 64Mi; below the policy's max of 2Gi.",
		RemediationName:      "oom-web-1a2b3c",
		RemediationNamespace: "shop",
		DashboardURL:         "http://heal8s.example/remediations/shop/oom-web-1a2b3c",
	}
	minimal := BodyInput{
		AlertName:            "HighCPU",
		Target:               BodyTarget{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "db", Name: "pg"},
		Action:               "ScaleUp",
		RemediationName:      "cpu-pg-9f",
		RemediationNamespace: "db",
	}
	for _, tc := range []struct {
		name string
		in   BodyInput
	}{{"full", full}, {"minimal", minimal}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := renderBody(tc.in)
			golden := filepath.Join("testdata", "body_"+tc.name+".golden.md")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				g.Expect(os.WriteFile(golden, []byte(got), 0o644)).To(Succeed())
			}
			want, err := os.ReadFile(golden)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(string(want)))
			g.Expect(renderBody(tc.in)).To(Equal(got), "rendering is deterministic")
		})
	}
}

func TestRenderBodyEscapesUntrustedText(t *testing.T) {
	tests := []struct {
		name    string
		in      BodyInput
		absent  []string
		present []string
	}{
		{
			name:    "backticks in a label cannot close the code span",
			in:      BodyInput{AlertName: "A", AlertLabels: map[string]string{"x": "a`b``c"}},
			present: []string{"`x=\"a\u02cbb\u02cb\u02cbc\"`"},
			absent:  []string{"a`b"},
		},
		{
			name:    "a pipe or newline in the summary cannot break the table",
			in:      BodyInput{AlertName: "A", Summary: "one | two\n| three |"},
			present: []string{"| Summary | `one \\| two \\| three \\|` |"},
		},
		{
			name:    "a pipe in a label value stays inside its cell",
			in:      BodyInput{AlertName: "A", AlertLabels: map[string]string{"severity": "warning|critical"}},
			present: []string{"| Labels | `severity=\"warning\\|critical\"` |"},
		},
		{
			name:    "the generatorURL is shown, not linked",
			in:      BodyInput{AlertName: "A", GeneratorURL: "javascript:alert(1)//http://prometheus/graph"},
			present: []string{"| Expression | `javascript:alert(1)//http://prometheus/graph` |"},
			absent:  []string{"]("},
		},
		{
			name:    "a reason with backtick fences cannot close its block",
			in:      BodyInput{AlertName: "A", Reason: "line one\n```\n@someone fixes #1\n```"},
			present: []string{"```text\nline one\n\u02cb\u02cb\u02cb\n@someone fixes #1\n\u02cb\u02cb\u02cb\n```\n"},
		},
		{
			name:    "the undo instruction is always there",
			in:      BodyInput{AlertName: "A"},
			present: []string{"### How to undo", "Revert this pull request"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := renderBody(tc.in)
			for _, s := range tc.present {
				g.Expect(got).To(ContainSubstring(s))
			}
			for _, s := range tc.absent {
				g.Expect(strings.Contains(got, s)).To(BeFalse(), "body must not contain %q:\n%s", s, got)
			}
		})
	}
}

// outsideCode is what GitHub renders as markdown in a body RenderBody wrote: the text outside
// its fenced blocks and inline code spans. RenderBody never leaves a backtick in untrusted text,
// so single backticks delimit every span.
func outsideCode(md string) string {
	var out strings.Builder
	inFence := false
	for line := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		parts := strings.Split(line, "`")
		for i, p := range parts {
			if i%2 == 0 {
				out.WriteString(p)
			}
		}
		out.WriteString("\n")
	}
	return out.String()
}

// TestRenderBodyHostileAlertIsInert: an alert whose every field carries markdown that would
// link, embed an image, notify a team, close an issue or inject HTML renders all of it as text.
func TestRenderBodyHostileAlertIsInert(t *testing.T) {
	g := NewWithT(t)
	const hostile = "![x](http://evil) @org/team fixes #1 <script>alert(1)</script> [click](http://evil) http://evil.example/autolink"
	in := BodyInput{
		AlertName:       hostile,
		AlertLabels:     map[string]string{"description": hostile, "evil`key": hostile + " `` ` "},
		GeneratorURL:    "http://evil.example/graph?x=" + hostile,
		Summary:         hostile + "\n\n" + hostile + " `close the span` " + hostile,
		Target:          BodyTarget{Kind: "Deployment", Namespace: "shop", Name: "web", Container: hostile},
		Action:          "IncreaseMemory",
		Path:            hostile,
		Changes:         []BodyChange{{Field: "image", Before: hostile, After: "x`y"}},
		Reason:          "Roll back to " + hostile + "\n```\n" + hostile + "\n```",
		RemediationName: "oom-web", RemediationNamespace: "shop",
	}
	got := renderBody(in)
	g.Expect(strings.Count(got, "```")).To(Equal(2), "one fenced block, opened and closed by heal8s:\n%s", got)
	rendered := outsideCode(got)
	for _, bad := range []string{"![", "](", "@org", "fixes #1", "<script", "http://evil", "evil.example", "click"} {
		g.Expect(rendered).NotTo(ContainSubstring(bad), "outside code:\n%s\nbody:\n%s", rendered, got)
	}
	g.Expect(got).To(ContainSubstring("`![x](http://evil) @org/team fixes #1"), "the text is still there, as text")
	for line := range strings.SplitSeq(got, "\n") {
		if strings.HasPrefix(line, "|") {
			g.Expect(strings.Count(line, "`")%2).To(BeZero(), "every span in a table row is closed: %s", line)
		}
	}
}

func TestProposalValidate(t *testing.T) {
	ok := Proposal{Repository: "o/r", BaseBranch: "main", Branch: "heal8s/x", Title: "t", CommitMessage: "m",
		Edit: func(_ context.Context, _ Repo) (string, []byte, error) { return "", nil, nil }}
	tests := []struct {
		name    string
		mutate  func(*Proposal)
		wantErr string
	}{
		{"complete", func(*Proposal) {}, ""},
		{"no repository", func(p *Proposal) { p.Repository = "" }, "missing repository"},
		{"no edit and no title", func(p *Proposal) { p.Edit = nil; p.Title = "" }, "missing title, edit"},
		{"branch is base", func(p *Proposal) { p.Branch = "main" }, "branch equals baseBranch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := ok
			tc.mutate(&p)
			err := p.Validate()
			if tc.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ErrInvalidProposal))
			g.Expect(err.Error()).To(ContainSubstring(tc.wantErr))
		})
	}
}

func TestNewProposalRendersWhatAReviewerReads(t *testing.T) {
	g := NewWithT(t)
	about := BodyInput{AlertName: "KubePodOOMKilled", Action: "IncreaseMemory", Reason: "25% of 256Mi, rounded to 64Mi",
		Target:          BodyTarget{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Container: "app"},
		RemediationName: "r1", RemediationNamespace: "shop"}
	p := NewProposal(Change{Repository: "acme/deploy", BaseBranch: "main", Branch: "heal8s/r1", Owner: "uid-1",
		Edit: func(context.Context, Repo) (string, []byte, error) { return "", nil, nil }, About: about})
	g.Expect(p.Validate()).To(Succeed())
	g.Expect(p.Title).To(Equal("heal8s: IncreaseMemory Deployment shop/web"))
	g.Expect(p.CommitMessage).To(Equal("heal8s: IncreaseMemory Deployment shop/web\n\n25% of 256Mi, rounded to 64Mi"))
	g.Expect(p.Labels).To(Equal([]string{"heal8s", "increasememory"}))
	g.Expect(p.Body).To(Equal(renderBody(about)))
	g.Expect(p.Owner).To(Equal("uid-1"))
}
