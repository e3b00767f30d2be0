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

package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/internal/routing"
)

// DefaultMaxEvents is how many of the latest Events explain shows.
const DefaultMaxEvents = 10

// Explanation is a Remediation and the latest Events about it.
type Explanation struct {
	// Remediation as read from the API server.
	Remediation *v1beta1.Remediation
	// Events about the Remediation (events.k8s.io, regarding it), oldest first, the latest
	// maxEvents of them.
	Events []eventsv1.Event
	// EventsError says why the Events could not be listed (RBAC, say); the rest still explains.
	EventsError string
}

// Explain reads the Remediation at key and the latest maxEvents Events about it (all of them
// when maxEvents <= 0). A Remediation that does not exist is an error that says so; Events
// that cannot be listed are not.
func Explain(ctx context.Context, c client.Reader, key types.NamespacedName, maxEvents int) (*Explanation, error) {
	rem := &v1beta1.Remediation{}
	if err := c.Get(ctx, key, rem); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading Remediation %s: not found (kubectl get remediations -n %s lists them)", key, key.Namespace)
		}
		return nil, fmt.Errorf("reading Remediation %s: %w", key, err)
	}
	e := &Explanation{Remediation: rem}
	evs, err := eventsAbout(ctx, c, rem)
	if err != nil {
		e.EventsError = err.Error()
	}
	slices.SortStableFunc(evs, func(a, b eventsv1.Event) int { return remediation.EventTime(&a).Compare(remediation.EventTime(&b)) })
	if maxEvents > 0 && len(evs) > maxEvents {
		evs = evs[len(evs)-maxEvents:]
	}
	e.Events = evs
	return e, nil
}

// eventsAbout lists the Events regarding rem: by field selector where the API server takes it,
// else every Event of the namespace, filtered here.
func eventsAbout(ctx context.Context, c client.Reader, rem *v1beta1.Remediation) ([]eventsv1.Event, error) {
	list := &eventsv1.EventList{}
	err := c.List(ctx, list, client.InNamespace(rem.Namespace),
		client.MatchingFields{"regarding.kind": remediationKind, "regarding.name": rem.Name})
	if err != nil {
		list = &eventsv1.EventList{}
		if err := c.List(ctx, list, client.InNamespace(rem.Namespace)); err != nil {
			return nil, fmt.Errorf("listing Events in namespace %s: %w", rem.Namespace, err)
		}
	}
	var out []eventsv1.Event
	for i := range list.Items {
		if remediation.EventIsAbout(&list.Items[i], rem) {
			out = append(out, list.Items[i])
		}
	}
	return out, nil
}

// relevantLabels are the alert labels that decide the rule and the target.
var relevantLabels = map[string]bool{
	routing.LabelAlertName: true, routing.LabelNamespace: true, routing.LabelPod: true, routing.LabelContainer: true,
	routing.LabelDeployment: true, routing.LabelStatefulSet: true, routing.LabelDaemonSet: true, routing.LabelHPA: true,
	routing.LabelInstance: true, "severity": true, "cluster": true, "reason": true, "job": true,
	routing.ExportedPrefix + routing.LabelNamespace: true, routing.ExportedPrefix + routing.LabelPod: true,
	routing.ExportedPrefix + routing.LabelContainer: true,
}

// PrintExplanation writes the explanation: for text, the alert, the policy and rule, the action,
// the target, the phase and conditions, the plan, the pull request, the history and the Events,
// with ages relative to now; for yaml and json, the Remediation object itself (without
// managedFields, as kubectl get shows it).
func PrintExplanation(w io.Writer, e *Explanation, format Format, now time.Time) error {
	if e == nil || e.Remediation == nil {
		return fmt.Errorf("explaining: no Remediation")
	}
	switch format {
	case FormatJSON, FormatYAML:
		obj := e.Remediation.DeepCopy()
		obj.APIVersion, obj.Kind = v1beta1.GroupVersion.String(), remediationKind
		obj.ManagedFields = nil
		var (
			b   []byte
			err error
		)
		if format == FormatJSON {
			b, err = json.MarshalIndent(obj, "", "    ")
			b = append(b, '\n')
		} else {
			b, err = yaml.Marshal(obj)
		}
		if err != nil {
			return fmt.Errorf("writing Remediation %s/%s as %s: %w", obj.Namespace, obj.Name, format, err)
		}
		_, err = w.Write(b)
		return err
	case FormatText, "":
		return printExplanationText(w, e, now)
	}
	return fmt.Errorf("explaining: unknown output format %q", format)
}

func printExplanationText(w io.Writer, e *Explanation, now time.Time) error {
	r := e.Remediation
	s, st := r.Spec, r.Status
	tw := &errWriter{w: w}
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "%-15s %s\n", k+":", fmt.Sprintf(format, args...))
	}
	age := func(t *metav1.Time) string { return ago(t, now) }

	row("Remediation", "%s/%s (created %s)", r.Namespace, r.Name, age(&r.CreationTimestamp))
	phase := string(st.Phase)
	if phase == "" {
		phase = "(none yet: the controller has not seen it)"
	}
	if st.Reason != "" {
		phase += "  reason " + st.Reason
	}
	row("Phase", "%s", phase)
	if st.Message != "" {
		row("Message", "%s", st.Message)
	}
	if st.SupersededBy != "" {
		row("Superseded by", "%s", st.SupersededBy)
	}

	fmt.Fprintln(tw)
	row("Alert", "%s (fingerprint %s)", s.Alert.Name, s.Alert.Fingerprint)
	labels := formatLabels(s.Alert.Labels, func(k string) bool { return relevantLabels[k] })
	if n := len(s.Alert.Labels) - countLabels(s.Alert.Labels); n > 0 {
		labels += fmt.Sprintf(" (+%d more: -o yaml)", n)
	}
	row("  labels", "%s", labels)
	if sum := s.Alert.Annotations["summary"]; sum != "" {
		row("  summary", "%s", sum)
	}
	if s.Alert.StartsAt != nil {
		row("  started", "%s", stampAgo(s.Alert.StartsAt, now))
	}
	seen := fmt.Sprintf("%d times", st.AlertCount)
	if st.LastSeen != nil {
		seen += ", last " + stampAgo(st.LastSeen, now)
	}
	row("  sent", "%s", seen)
	if st.AlertResolvedAt != nil {
		row("  resolved", "%s", stampAgo(st.AlertResolvedAt, now))
	} else {
		row("  resolved", "not yet")
	}

	fmt.Fprintln(tw)
	row("Policy", "%s/%s, rule %s", s.PolicyRef.Namespace, s.PolicyRef.Name, s.Rule)
	row("Action", "%s", DescribeAction(s.Action))
	row("Strategy", "%s", s.Strategy)
	target := fmt.Sprintf("%s %s/%s (%s)", s.Target.Kind, s.Target.Namespace, s.Target.Name, s.Target.APIVersion)
	if s.Target.Container != "" {
		target += ", container " + s.Target.Container
	}
	row("Target", "%s", target)
	if st.StartedAt != nil {
		row("Started", "%s", stampAgo(st.StartedAt, now))
	}
	if st.CompletedAt != nil {
		row("Completed", "%s", stampAgo(st.CompletedAt, now))
	}
	if st.Attempts > 0 {
		row("Attempts", "%d", st.Attempts)
	}
	if a := st.Approval; a != nil {
		switch {
		case a.Decision != "" && a.User != "":
			row("Approval", "%s by %s, %s%s", a.Decision, a.User, maybeStamp(a.Time, now), withReason(a.Reason))
		case a.Decision != "":
			row("Approval", "%s", a.Decision)
		case a.ExpiresAt != nil:
			row("Approval", "waiting until %s: kubectl heal8s approve|reject %s -n %s", stampAgo(a.ExpiresAt, now), r.Name, r.Namespace)
		}
		if a.Refused != "" {
			row("  refused", "%s", a.Refused)
		}
	}
	if rt := st.Retry; rt != nil {
		if rt.Refused != "" {
			row("Retry", "refused: %s", rt.Refused)
		} else if rt.Count > 0 {
			row("Retry", "%d asked for, the last %s (it had ended %s %s)", rt.Count, maybeStamp(rt.Time, now), rt.PreviousPhase, rt.PreviousReason)
		}
	}
	if tw.err != nil {
		return tw.err
	}

	printConditions(w, st, now)
	printPlan(w, st)
	printPullRequest(w, s, st)
	printHistory(w, st, now)
	printEvents(w, e, now)
	return nil
}

func printConditions(w io.Writer, st v1beta1.RemediationStatus, now time.Time) {
	section(w, "Conditions")
	if len(st.Conditions) == 0 {
		fmt.Fprintln(w, "  (none)")
	} else {
		t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(t, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
		for _, c := range st.Conditions {
			fmt.Fprintf(t, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, ago(&c.LastTransitionTime, now), oneLine(c.Message))
		}
		_ = t.Flush()
	}
}

func printPlan(w io.Writer, st v1beta1.RemediationStatus) {
	section(w, "Plan")
	if p := st.Plan; p == nil {
		fmt.Fprintln(w, "  (none yet)")
	} else {
		if p.Reason != "" {
			fmt.Fprintf(w, "  Reason: %s\n", p.Reason)
		}
		fields := map[string]bool{}
		for k := range p.Before {
			fields[k] = true
		}
		for k := range p.After {
			fields[k] = true
		}
		if len(fields) > 0 {
			t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(t, "  FIELD\tBEFORE\tAFTER")
			for _, f := range slices.Sorted(maps.Keys(fields)) {
				fmt.Fprintf(t, "  %s\t%s\t%s\n", f, orDash(p.Before[f]), orDash(p.After[f]))
			}
			_ = t.Flush()
		}
		if p.Patch != "" {
			fmt.Fprintln(w, "  Patch:")
			for _, l := range patchLines(p.Patch) {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
}

func printPullRequest(w io.Writer, s v1beta1.RemediationSpec, st v1beta1.RemediationStatus) {
	section(w, "Pull request")
	if pr := st.PullRequest; pr == nil {
		if s.Strategy == v1beta1.StrategyGitOps {
			fmt.Fprintln(w, "  (none yet)")
		} else {
			fmt.Fprintf(w, "  (none: strategy %s)\n", s.Strategy)
		}
	} else {
		fmt.Fprintf(w, "  %s\n", orDash(pr.URL))
		fmt.Fprintf(w, "  #%d, %s, branch %s (%s)\n", pr.Number, orDash(string(pr.State)), orDash(pr.Branch), orDash(string(pr.Provider)))
	}
}

func printHistory(w io.Writer, st v1beta1.RemediationStatus, now time.Time) {
	section(w, "History")
	if len(st.History) == 0 {
		fmt.Fprintln(w, "  (none)")
	} else {
		t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(t, "  TIME\tAGE\tPHASE\tREASON")
		for _, h := range st.History {
			fmt.Fprintf(t, "  %s\t%s\t%s\t%s\n", h.Time.UTC().Format(time.RFC3339), ago(&h.Time, now), h.Phase, orDash(h.Reason))
		}
		_ = t.Flush()
	}
}

func printEvents(w io.Writer, e *Explanation, now time.Time) {
	section(w, "Events")
	switch {
	case e.EventsError != "":
		fmt.Fprintf(w, "  (could not list them: %s)\n", e.EventsError)
	case len(e.Events) == 0:
		fmt.Fprintln(w, "  (none: Events expire after an hour by default)")
	default:
		t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(t, "  AGE\tTYPE\tREASON\tCOUNT\tFROM\tMESSAGE")
		for _, ev := range e.Events {
			at := metav1.NewTime(remediation.EventTime(&ev))
			count := int32(1)
			if ev.Series != nil {
				count = ev.Series.Count
			} else if ev.DeprecatedCount > 0 {
				count = ev.DeprecatedCount
			}
			from := ev.ReportingController
			if from == "" {
				from = ev.DeprecatedSource.Component
			}
			fmt.Fprintf(t, "  %s\t%s\t%s\t%d\t%s\t%s\n", ago(&at, now), ev.Type, ev.Reason, count, orDash(from), oneLine(ev.Note))
		}
		_ = t.Flush()
	}
}

func section(w io.Writer, title string) { fmt.Fprintf(w, "\n%s:\n", title) }

func countLabels(ls map[string]string) int {
	n := 0
	for k := range ls {
		if relevantLabels[k] {
			n++
		}
	}
	return n
}

// ago is a time's age as kubectl prints it (5m, 3h), or "-" when unset.
func ago(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	d := now.Sub(t.Time)
	if d < 0 {
		return "in " + duration.HumanDuration(-d)
	}
	return duration.HumanDuration(d) + " ago"
}

// stampAgo is a time in RFC 3339, UTC, with its age.
func stampAgo(t *metav1.Time, now time.Time) string {
	return fmt.Sprintf("%s (%s)", t.UTC().Format(time.RFC3339), ago(t, now))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a message on its table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// patchLines writes a JSON patch one operation a line; text that is not a JSON array is
// returned as its lines.
func patchLines(s string) []string {
	var ops []json.RawMessage
	if err := json.Unmarshal([]byte(s), &ops); err != nil {
		return strings.Split(strings.TrimSpace(s), "\n")
	}
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		var b bytes.Buffer
		if err := json.Compact(&b, op); err != nil {
			out = append(out, string(op))
			continue
		}
		out = append(out, b.String())
	}
	return out
}

func withReason(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// maybeStamp is stampAgo, or "-" for a time status does not hold (written by hand).
func maybeStamp(t *metav1.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return stampAgo(t, now)
}
