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
	"fmt"
	"slices"
	"strings"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// MaxDetailed is how many events a digest lists one by one; the rest are counted.
const MaxDetailed = 10

// maxText bounds any one untrusted string (alert summary, status message) in a message.
const maxText = 500

// Title is the one-line headline of an event, the same for every provider.
func Title(e *Event) string {
	verb := map[v1beta1.NotificationEvent]string{
		v1beta1.EventProposed:        "proposed",
		v1beta1.EventSucceeded:       "succeeded",
		v1beta1.EventFailed:          "failed",
		v1beta1.EventSkipped:         "skipped",
		v1beta1.EventBudgetExhausted: "skipped: budget exhausted, leak suspected",
		v1beta1.EventBudgetLow:       "succeeded: budget running out, leak suspected",
	}[e.Type]
	if e.Type == v1beta1.EventProposed && e.PullRequestURL == "" {
		verb = "planned, about to be applied"
	}
	if e.Type == v1beta1.EventProposed && e.PullRequestURL != "" {
		verb = "proposed in a pull request"
	}
	if e.Type == v1beta1.EventProposed && e.Phase == string(v1beta1.PhaseAwaitingApproval) {
		verb = "planned, awaiting approval (kubectl heal8s approve " + e.Remediation + " -n " + e.Namespace + ")"
	}
	return fmt.Sprintf("%s %s %s on %s/%s", icon(e.Type), e.Action, verb, e.Namespace, e.Target)
}

func icon(t v1beta1.NotificationEvent) string {
	switch t {
	case v1beta1.EventProposed:
		return "\U0001F4DD" // memo
	case v1beta1.EventSucceeded:
		return "\u2705" // check mark
	case v1beta1.EventFailed:
		return "\u274C" // cross mark
	case v1beta1.EventSkipped:
		return "\u23ED\uFE0F" // next track
	case v1beta1.EventBudgetExhausted, v1beta1.EventBudgetLow:
		return "\u26A0\uFE0F" // warning
	}
	return ""
}

// Change is the plan's before and after values, one "key: before → after" per line, sorted.
func Change(e *Event) []string {
	keys := make([]string, 0, len(e.After))
	for k := range e.After {
		keys = append(keys, k)
	}
	for k := range e.Before {
		if _, ok := e.After[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		b, a := e.Before[k], e.After[k]
		if b == "" {
			b = "(unset)"
		}
		if a == "" {
			a = "(unchanged)"
		}
		out = append(out, fmt.Sprintf("%s: %s \u2192 %s", clip(k, 120), clip(b, 120), clip(a, 120)))
	}
	return out
}

// Line is an event in one line, for digests.
func Line(e *Event) string {
	s := fmt.Sprintf("%s %s %s/%s %s", icon(e.Type), e.Type, e.Namespace, e.Target, e.Action)
	if ch := Change(e); len(ch) > 0 {
		s += " (" + strings.Join(ch, "; ") + ")"
	}
	if e.Reason != "" {
		s += " \u2014 " + e.Reason
	}
	return clip(s, 300)
}

// DigestTitle heads a message that carries several events.
func DigestTitle(events []Event) string {
	ns := map[string]bool{}
	for i := range events {
		ns[events[i].Namespace] = true
	}
	where := "several namespaces"
	if len(ns) == 1 {
		where = events[0].Namespace
	}
	return fmt.Sprintf("heal8s: %d remediation updates in %s (rate limited, summarised)", len(events), where)
}

// Facts are the label/value pairs a single-event message shows, in order.
func Facts(e *Event) [][2]string {
	f := [][2]string{{"Alert", alertText(e)}, {"Target", targetText(e)}}
	if ch := Change(e); len(ch) > 0 {
		b, a := make([]string, 0, len(ch)), make([]string, 0, len(ch))
		for _, l := range ch {
			k, rest, _ := strings.Cut(l, ": ")
			before, after, _ := strings.Cut(rest, " \u2192 ")
			b = append(b, k+": "+before)
			a = append(a, k+": "+after)
		}
		f = append(f, [2]string{"Before", strings.Join(b, "\n")}, [2]string{"After", strings.Join(a, "\n")})
	}
	f = append(f, [2]string{"Policy", e.Policy + " (rule " + e.Rule + ", " + e.Strategy + ")"})
	if e.Reason != "" {
		f = append(f, [2]string{"Reason", e.Reason})
	}
	if e.Budget != nil && (e.Type == v1beta1.EventBudgetLow || e.Type == v1beta1.EventBudgetExhausted) {
		f = append(f, [2]string{"Budget", fmt.Sprintf("%d of %d used within %s", e.Budget.Used, e.Budget.Max, e.Budget.Window)})
	}
	f = append(f, [2]string{"Remediation", e.Namespace + "/" + e.Remediation})
	return f
}

func alertText(e *Event) string {
	s := e.Alert
	if e.AlertSeverity != "" {
		s += " (" + e.AlertSeverity + ")"
	}
	if e.Summary != "" {
		s += ": " + clip(e.Summary, 200)
	}
	return s
}

func targetText(e *Event) string {
	s := e.Namespace + "/" + e.Target
	if e.Container != "" {
		s += " container " + e.Container
	}
	return s
}

// Links are the buttons of a message: the pull request and the dashboard, when known.
func Links(e *Event) [][2]string {
	var l [][2]string
	if e.PullRequestURL != "" {
		l = append(l, [2]string{"Open pull request", e.PullRequestURL})
	}
	if e.DashboardURL != "" {
		l = append(l, [2]string{"Open in dashboard", e.DashboardURL})
	}
	return l
}

// clip shortens s to n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "\u2026"
}
