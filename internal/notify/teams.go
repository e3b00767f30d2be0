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
	"maps"
	"strings"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// A Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is received")
// takes a message whose attachments hold an Adaptive Card; see testdata/README.md for the
// documents this follows.

type teamsMessage struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string       `json:"contentType"`
	ContentURL  *string      `json:"contentUrl"`
	Content     adaptiveCard `json:"content"`
}

type adaptiveCard struct {
	Schema  string           `json:"$schema"`
	Type    string           `json:"type"`
	Version string           `json:"version"`
	Body    []map[string]any `json:"body"`
	Actions []map[string]any `json:"actions,omitempty"`
	MSTeams map[string]any   `json:"msteams,omitempty"`
}

// Adaptive Card: the property that says what an element is, and the element most messages use.
const (
	cardType      = "type"
	cardTextBlock = "TextBlock"
)

// textBlock is a wrapped Adaptive Card TextBlock showing text, with further properties.
func textBlock(text string, props map[string]any) map[string]any {
	b := map[string]any{cardType: cardTextBlock, "text": text, "wrap": true}
	maps.Copy(b, props)
	return b
}

// cardHeading is the TextBlock that titles a card.
func cardHeading(text string) map[string]any {
	return textBlock(text, map[string]any{"weight": "Bolder", "size": "Medium", "style": "heading"})
}

func teamsColor(t v1beta1.NotificationEvent) string {
	switch SeverityOf(t) {
	case v1beta1.SeverityError:
		return "Attention"
	case v1beta1.SeverityWarning:
		return "Warning"
	case v1beta1.SeverityInfo:
		if t == v1beta1.EventSucceeded {
			return "Good"
		}
		return "Accent"
	}
	return "Default"
}

// teamsEscape keeps untrusted text from becoming a markdown link in a TextBlock or FactSet
// (the subset Teams renders), by breaking "](" with a zero-width space; other text stays as is.
func teamsEscape(s string) string {
	return strings.ReplaceAll(s, "](", "]\u200b(")
}

// TeamsPayload is the JSON body for a Teams Workflows webhook.
func TeamsPayload(events []Event, omitted int) ([]byte, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("building a Teams message: no events")
	}
	card := adaptiveCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		MSTeams: map[string]any{"width": "Full"},
	}
	if len(events) == 1 && omitted == 0 {
		e := &events[0]
		title := cardHeading(teamsEscape(Title(e)))
		title["color"] = teamsColor(e.Type)
		card.Body = append(card.Body, title)
		if e.Message != "" {
			card.Body = append(card.Body, textBlock(teamsEscape(clip(e.Message, maxText)), nil))
		}
		var facts []map[string]any
		for _, f := range Facts(e) {
			facts = append(facts, map[string]any{"title": f[0], "value": teamsEscape(f[1])})
		}
		card.Body = append(card.Body, map[string]any{cardType: "FactSet", "facts": facts})
		card.Body = append(card.Body, textBlock("heal8s \u00b7 "+e.Time.Format("2006-01-02 15:04:05 UTC"),
			map[string]any{"isSubtle": true, "size": "Small"}))
		for _, l := range Links(e) {
			card.Actions = append(card.Actions, map[string]any{cardType: "Action.OpenUrl", "title": l[0], "url": l[1]})
		}
	} else {
		card.Body = append(card.Body, cardHeading(DigestTitle(events)))
		for i := range events {
			if i == MaxDetailed {
				break
			}
			card.Body = append(card.Body, textBlock("- "+teamsEscape(Line(&events[i])),
				map[string]any{"spacing": "Small", "color": teamsColor(events[i].Type)}))
		}
		if more := len(events) - min(len(events), MaxDetailed) + omitted; more > 0 {
			card.Body = append(card.Body, textBlock(fmt.Sprintf("\u2026and %d more; see the dashboard or kubectl get remediations", more),
				map[string]any{"isSubtle": true}))
		}
	}
	m := teamsMessage{Type: "message", Attachments: []teamsAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding a Teams message: %w", err)
	}
	return b, nil
}
