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

package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// storm is a digest's worth of events: 12 targets that each succeeded.
func storm() []Event {
	var out []Event
	for i := range 12 {
		r := gitopsSucceeded("u-storm-" + string(rune('a'+i)))
		r.Name = "oom-" + string(rune('a'+i))
		r.Spec.Target.Name = "worker-" + string(rune('a'+i))
		evs := EventsOf(r, Context{}, t0.Add(time.Minute))
		out = append(out, evs...)
	}
	return out
}

func samples() map[string][]Event {
	ctx := Context{DashboardURL: "https://heal8s.example.com"}
	ok := EventsOf(gitopsSucceeded("u-ok"), ctx, t0)
	budget := oomRemediation("u-budget", v1beta1.StrategyGitOps, step(v1beta1.PhaseSkipped, remediation.BudgetExhaustedReason, 0))
	budget.Status.Message = "Deployment checkout received 3 remediations within 168h0m0s (maxPerTarget 3): a leak or a deeper fault is likely; fix the cause instead of bumping again"
	budget.Status.Plan = nil
	be := EventsOf(budget, Context{DashboardURL: ctx.DashboardURL, Others: []v1beta1.Remediation{*gitopsSucceeded("1"), *gitopsSucceeded("2"), *gitopsSucceeded("3")}, Now: t0}, t0)
	return map[string][]Event{
		"proposed":        ok[:1],
		"succeeded":       ok[1:],
		"budgetexhausted": be,
		"digest":          storm(),
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s is not JSON: %v", name, err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run go test -update): %v", path, err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from %s:\n%s", name, path, pretty.String())
	}
}

func TestSlackGolden(t *testing.T) {
	for name, evs := range samples() {
		b, err := SlackPayload(evs, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		checkSlack(t, b, "")
		golden(t, "slack-"+name, b)
	}
	b, err := SlackPayload(samples()["succeeded"], 0, "#ops")
	if err != nil {
		t.Fatal(err)
	}
	checkSlack(t, b, "#ops")
	golden(t, "slack-bot-succeeded", b)
}

// checkSlack holds a payload to the rules of Slack's Block Kit reference (testdata/README.md):
// a fallback text, at most 50 blocks, known block types, header text plain_text up to 150
// characters, at most 10 fields of up to 2000 characters, section text up to 3000, and link
// buttons with a url.
func checkSlack(t *testing.T, b []byte, channel string) {
	t.Helper()
	var m struct {
		Channel string `json:"channel"`
		Text    string `json:"text"`
		Blocks  []struct {
			Type string `json:"type"`
			Text *struct {
				Type, Text string
			} `json:"text"`
			Fields []struct {
				Type, Text string
			} `json:"fields"`
			Elements []map[string]any `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Text == "" || len(m.Blocks) == 0 || len(m.Blocks) > 50 || m.Channel != channel {
		t.Fatalf("text %q, %d blocks, channel %q", m.Text, len(m.Blocks), m.Channel)
	}
	for _, bl := range m.Blocks {
		switch bl.Type {
		case "header":
			if bl.Text == nil || bl.Text.Type != "plain_text" || len([]rune(bl.Text.Text)) > 150 {
				t.Errorf("bad header %+v", bl.Text)
			}
		case "section":
			if bl.Text == nil && len(bl.Fields) == 0 {
				t.Error("section without text or fields")
			}
			if bl.Text != nil && len([]rune(bl.Text.Text)) > 3000 {
				t.Error("section text over 3000")
			}
			if len(bl.Fields) > 10 {
				t.Error("more than 10 fields")
			}
			for _, f := range bl.Fields {
				if len([]rune(f.Text)) > 2000 {
					t.Error("field over 2000")
				}
			}
		case "actions":
			for _, e := range bl.Elements {
				if e["type"] != "button" || !strings.HasPrefix(e["url"].(string), "https://") {
					t.Errorf("bad button %v", e)
				}
			}
		case "context":
		default:
			t.Errorf("unexpected block type %q", bl.Type)
		}
	}
}

func TestTeamsGolden(t *testing.T) {
	for name, evs := range samples() {
		b, err := TeamsPayload(evs, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkTeams(t, b)
		golden(t, "teams-"+name, b)
	}
}

// checkTeams holds a payload to what a Teams Workflows webhook expects (testdata/README.md): a
// message whose attachments hold one Adaptive Card with known elements.
func checkTeams(t *testing.T, b []byte) {
	t.Helper()
	var m struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string          `json:"contentType"`
			ContentURL  *string         `json:"contentUrl"`
			Content     json.RawMessage `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "message" || len(m.Attachments) != 1 || m.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || m.Attachments[0].ContentURL != nil {
		t.Fatalf("bad envelope: %s", b)
	}
	var card struct {
		Type    string           `json:"type"`
		Version string           `json:"version"`
		Body    []map[string]any `json:"body"`
		Actions []map[string]any `json:"actions"`
	}
	if err := json.Unmarshal(m.Attachments[0].Content, &card); err != nil {
		t.Fatal(err)
	}
	if card.Type != "AdaptiveCard" || card.Version != "1.4" || len(card.Body) == 0 {
		t.Fatalf("bad card %+v", card)
	}
	for _, el := range card.Body {
		switch el["type"] {
		case "TextBlock":
			if s, _ := el["text"].(string); s == "" {
				t.Error("empty TextBlock")
			}
		case "FactSet":
			for _, f := range el["facts"].([]any) {
				fm := f.(map[string]any)
				if fm["title"] == "" || fm["value"] == "" {
					t.Errorf("empty fact %v", fm)
				}
			}
		default:
			t.Errorf("unexpected element %v", el["type"])
		}
	}
	for _, a := range card.Actions {
		if a["type"] != "Action.OpenUrl" || !strings.HasPrefix(a["url"].(string), "https://") {
			t.Errorf("bad action %v", a)
		}
	}
}

func TestGenericGolden(t *testing.T) {
	for name, evs := range samples() {
		b, err := GenericPayload(messageID(evs), "shop/oncall", evs, 0)
		if err != nil {
			t.Fatal(err)
		}
		var m GenericMessage
		if err := json.Unmarshal(b, &m); err != nil || m.Version != GenericVersion || len(m.Events) != len(evs) {
			t.Fatalf("round trip: %v %+v", err, m)
		}
		golden(t, "generic-"+name, b)
	}
}

// Untrusted text from alert annotations must not mention @channel, forge Slack links or Teams
// markdown links.
func TestUntrustedTextIsEscaped(t *testing.T) {
	r := gitopsSucceeded("u-evil")
	r.Spec.Alert.Annotations["summary"] = "<!channel> see <https://evil.example|the runbook> [click](https://evil.example)"
	r.Status.Message = "<!here>"
	evs := EventsOf(r, Context{}, t0)
	s, _ := SlackPayload(evs[1:], 0, "")
	if strings.Contains(string(s), "<!channel>") || strings.Contains(string(s), "<!here>") || strings.Contains(string(s), "<https://evil") {
		t.Errorf("Slack payload carries live mrkdwn: %s", s)
	}
	tm, _ := TeamsPayload(evs[1:], 0)
	if strings.Contains(string(tm), "[click](") {
		t.Errorf("Teams payload carries a live link: %s", tm)
	}
}

func TestDigestCountsWhatItDoesNotList(t *testing.T) {
	evs := storm()
	s, _ := SlackPayload(evs, 3, "")
	if !strings.Contains(string(s), "and 5 more") { // 12 - 10 listed + 3 omitted
		t.Errorf("digest does not count the rest: %s", s)
	}
	tm, _ := TeamsPayload(evs, 3)
	if !strings.Contains(string(tm), "and 5 more") {
		t.Errorf("Teams digest does not count the rest: %s", tm)
	}
}
