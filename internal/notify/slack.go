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
	"encoding/json"
	"fmt"
	"strings"
)

// Slack's Block Kit, as documented at https://api.slack.com/reference/block-kit/blocks and
// https://api.slack.com/methods/chat.postMessage (see testdata/README.md).

// Text object types: plain text, and Slack's markdown (mrkdwn).
const (
	slackPlainText = "plain_text"
	slackMrkdwn    = "mrkdwn"
)

// slackSection is the block type of text and fields.
const slackSection = "section"

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// slackElement is a button (Text a *slackText) or a context element (Text a string).
type slackElement struct {
	Type     string `json:"type"`
	Text     any    `json:"text,omitempty"`
	URL      string `json:"url,omitempty"`
	ActionID string `json:"action_id,omitempty"`
}

type slackBlock struct {
	Type     string         `json:"type"`
	Text     *slackText     `json:"text,omitempty"`
	Fields   []slackText    `json:"fields,omitempty"`
	Elements []slackElement `json:"elements,omitempty"`
}

type slackMessage struct {
	Channel string       `json:"channel,omitempty"`
	Text    string       `json:"text"`
	Blocks  []slackBlock `json:"blocks"`
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning to, so untrusted text
// (alert annotations, status messages) cannot mention @channel or forge links.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// SlackPayload is the JSON body for an incoming webhook, or for chat.postMessage when channel
// is set, carrying one event in detail or several as a digest.
func SlackPayload(events []Event, omitted int, channel string) ([]byte, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("building a Slack message: no events")
	}
	m := slackMessage{Channel: channel}
	if len(events) == 1 && omitted == 0 {
		e := &events[0]
		m.Text = Title(e)
		m.Blocks = append(m.Blocks, slackBlock{Type: "header", Text: &slackText{Type: slackPlainText, Text: clip(Title(e), 150), Emoji: true}})
		if e.Message != "" {
			m.Blocks = append(m.Blocks, slackBlock{Type: slackSection, Text: &slackText{Type: slackMrkdwn, Text: slackEscape(clip(e.Message, maxText))}})
		}
		var fields []slackText
		for _, f := range Facts(e) {
			fields = append(fields, slackText{Type: slackMrkdwn, Text: clip("*"+f[0]+"*\n"+slackEscape(f[1]), 2000)})
		}
		// A section holds at most 10 fields.
		for len(fields) > 0 {
			n := min(len(fields), 10)
			m.Blocks = append(m.Blocks, slackBlock{Type: slackSection, Fields: fields[:n]})
			fields = fields[n:]
		}
		if links := Links(e); len(links) > 0 {
			b := slackBlock{Type: "actions"}
			for i, l := range links {
				b.Elements = append(b.Elements, slackElement{Type: "button", Text: &slackText{Type: slackPlainText, Text: l[0]}, URL: l[1], ActionID: fmt.Sprintf("heal8s-link-%d", i)})
			}
			m.Blocks = append(m.Blocks, b)
		}
		m.Blocks = append(m.Blocks, slackBlock{Type: "context", Elements: []slackElement{{Type: slackMrkdwn,
			Text: slackEscape(fmt.Sprintf("heal8s \u00b7 %s/%s \u00b7 %s", e.Namespace, e.Remediation, e.Time.Format("2006-01-02 15:04:05 UTC")))}}})
	} else {
		title := DigestTitle(events)
		m.Text = title
		m.Blocks = append(m.Blocks, slackBlock{Type: "header", Text: &slackText{Type: slackPlainText, Text: clip(title, 150), Emoji: true}})
		var lines []string
		for i := range events {
			if i == MaxDetailed {
				break
			}
			l := "\u2022 " + slackEscape(Line(&events[i]))
			if u := firstLink(&events[i]); u != "" {
				l += " <" + u + "|open>"
			}
			lines = append(lines, l)
		}
		if more := len(events) - min(len(events), MaxDetailed) + omitted; more > 0 {
			lines = append(lines, fmt.Sprintf("\u2026and %d more; see the dashboard or `kubectl get remediations`", more))
		}
		m.Blocks = append(m.Blocks, slackBlock{Type: slackSection, Text: &slackText{Type: slackMrkdwn, Text: clip(strings.Join(lines, "\n"), 3000)}})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding a Slack message: %w", err)
	}
	return b, nil
}

// firstLink is the pull request, else the dashboard link, made safe for Slack's <url|text>.
func firstLink(e *Event) string {
	u := e.PullRequestURL
	if u == "" {
		u = e.DashboardURL
	}
	if strings.ContainsAny(u, "<>| ") {
		return ""
	}
	return u
}
