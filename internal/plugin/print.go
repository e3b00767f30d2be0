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
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/routing"
)

// Format is an output format: text for people, yaml or json for programs.
type Format string

// The output formats of -o.
const (
	FormatText Format = "text"
	FormatYAML Format = "yaml"
	FormatJSON Format = "json"
)

// ParseFormat checks an -o value; "" is text.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "", FormatText:
		return FormatText, nil
	case FormatYAML, FormatJSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown output format %q: want text, yaml or json", s)
}

// resultView is a RouteResult as yaml and json show it: every field of routing.Decision, with
// the alert and the outcome.
type resultView struct {
	Source      string           `json:"source"`
	Alert       alertView        `json:"alert"`
	Decision    *decisionView    `json:"decision,omitempty"`
	Remediation *remediationView `json:"remediation,omitempty"`
	Resolution  string           `json:"resolution,omitempty"`
	Error       string           `json:"error,omitempty"`
	Outcome     string           `json:"outcome"`
}

type alertView struct {
	Name        string            `json:"name"`
	Status      string            `json:"status"`
	Fingerprint string            `json:"fingerprint,omitempty"`
	StartsAt    *time.Time        `json:"startsAt,omitempty"`
	Labels      map[string]string `json:"labels"`
}

// decisionView holds every field of routing.Decision, Match and Target; decisionFieldsTest
// keeps it complete.
type decisionView struct {
	Policy     *policyRef         `json:"policy,omitempty"`
	Rule       string             `json:"rule,omitempty"`
	ActionType string             `json:"actionType,omitempty"`
	Action     *v1beta1.Action    `json:"action,omitempty"`
	Strategy   v1beta1.Strategy   `json:"strategy,omitempty"`
	Target     *targetView        `json:"target,omitempty"`
	Reason     routing.SkipReason `json:"reason,omitempty"`
	Protective bool               `json:"protective,omitempty"`
	Detail     string             `json:"detail"`
	Unresolved bool               `json:"unresolved"`
}

type policyRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

type targetView struct {
	Kind      v1beta1.TargetKind `json:"kind,omitempty"`
	Name      string             `json:"name,omitempty"`
	Namespace string             `json:"namespace,omitempty"`
	Container string             `json:"container"`
	Pod       string             `json:"pod,omitempty"`
	WantKind  v1beta1.TargetKind `json:"wantKind,omitempty"`
	Source    routing.Source     `json:"source,omitempty"`
	Exported  bool               `json:"exported"`
	Instance  string             `json:"instance,omitempty"`
}

type remediationView struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name,omitempty"`
}

// Outcome is a one-word summary of a result: match, unresolved (a match offline, with checks
// left to the cluster), skip, resolved or error.
func (r RouteResult) Outcome() string {
	switch {
	case r.Err != nil:
		return "error"
	case r.Resolved():
		return "resolved"
	case r.Decision.Reason != "":
		return "skip"
	case r.Decision.Unresolved:
		return "unresolved"
	case r.Decision.Rule != "":
		return "match"
	}
	return "skip"
}

func (r RouteResult) view() resultView {
	v := resultView{
		Source:     r.Source,
		Alert:      alertView{Name: r.AlertName, Status: r.Status, Fingerprint: r.Fingerprint, Labels: r.Labels},
		Resolution: r.Resolution,
		Outcome:    r.Outcome(),
	}
	if !r.StartsAt.IsZero() {
		t := r.StartsAt.UTC()
		v.Alert.StartsAt = &t
	}
	if r.Err != nil {
		v.Error = r.Err.Error()
	}
	if r.Remediation.Namespace != "" {
		v.Remediation = &remediationView{Namespace: r.Remediation.Namespace, Name: r.Remediation.Name}
	}
	if r.Resolved() {
		return v
	}
	d := r.Decision
	dv := &decisionView{Rule: d.Rule, Strategy: d.Strategy, Reason: d.Reason, Protective: d.Reason.Protective(),
		Detail: d.Detail, Unresolved: d.Unresolved}
	if d.Policy.Name != "" {
		dv.Policy = &policyRef{Namespace: d.Policy.Namespace, Name: d.Policy.Name}
	}
	if t := d.Action.Type(); t != "" {
		dv.ActionType = string(t)
		a := d.Action
		dv.Action = &a
	}
	if t := d.Target; t != (routing.Target{}) {
		dv.Target = &targetView{Kind: t.Kind, Name: t.Name, Namespace: t.Namespace, Container: t.Container, Pod: t.Pod,
			WantKind: t.WantKind, Source: t.Source, Exported: t.Exported, Instance: t.Instance}
	}
	v.Decision = dv
	return v
}

// MarshalJSON writes the result as -o json shows it.
func (r RouteResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.view())
}

// PrintRouteResults writes the results: text for people (one block per alert: the alert, the
// policy and rule, the action, the target, or the skip reason, and the explanation), or a yaml
// or json list with every field of each Decision.
func PrintRouteResults(w io.Writer, results []RouteResult, format Format) error {
	switch format {
	case FormatJSON:
		if results == nil {
			results = []RouteResult{}
		}
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return fmt.Errorf("writing route test results as json: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case FormatYAML:
		if results == nil {
			results = []RouteResult{}
		}
		b, err := yaml.Marshal(results)
		if err != nil {
			return fmt.Errorf("writing route test results as yaml: %w", err)
		}
		_, err = w.Write(b)
		return err
	case FormatText, "":
		return printRouteText(w, results)
	}
	return fmt.Errorf("writing route test results: unknown output format %q", format)
}

func printRouteText(w io.Writer, results []RouteResult) error {
	tw := &errWriter{w: w}
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		name := r.AlertName
		if name == "" {
			name = "(no alertname)"
		}
		head := []string{r.Status}
		if r.Source != "" {
			head = append(head, "from "+r.Source)
		}
		if r.Fingerprint != "" {
			head = append(head, "fingerprint "+r.Fingerprint)
		}
		fmt.Fprintf(tw, "%s (%s)\n", name, strings.Join(head, ", "))
		row := func(k, v string) { fmt.Fprintf(tw, "  %-12s %s\n", k+":", v) }
		row("labels", formatLabels(r.Labels, nil))
		if r.Resolved() {
			row("result", "resolved")
			row("receiver", r.Resolution)
			if r.Remediation.Name != "" {
				row("remediation", r.Remediation.String())
			}
			continue
		}
		d := r.Decision
		switch {
		case r.Err != nil:
			row("result", "error: "+r.Err.Error())
		case d.Reason != "":
			reason := string(d.Reason)
			if d.Reason.Protective() {
				reason += " (protective: the receiver records a Warning Event on the policy)"
			}
			row("result", "skip: "+reason)
		case d.Unresolved:
			row("result", "match, not fully checked offline (run with --cluster to resolve it)")
		default:
			row("result", "match: the receiver creates a Remediation")
		}
		if d.Policy.Name != "" {
			row("policy", d.Policy.String())
			row("rule", d.Rule)
		}
		if d.Action.Type() != "" {
			row("action", DescribeAction(d.Action))
			row("strategy", string(d.Strategy))
		}
		if t := d.Target; t != (routing.Target{}) {
			row("target", describeTarget(t))
			container := t.Container
			if container == "" {
				container = "(none)"
			}
			row("container", container)
		}
		if r.Remediation.Name != "" {
			row("remediation", r.Remediation.String())
		}
		if d.Detail != "" {
			row("why", d.Detail)
		}
	}
	return tw.err
}

// errWriter keeps the first write error, so a block of Fprintf calls is checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func describeTarget(t routing.Target) string {
	var b strings.Builder
	if t.Kind != "" {
		fmt.Fprintf(&b, "%s %s/%s", t.Kind, t.Namespace, t.Name)
	} else {
		fmt.Fprintf(&b, "pod %s/%s", t.Namespace, t.Pod)
		if t.WantKind != "" {
			fmt.Fprintf(&b, ", owned by a %s", t.WantKind)
		}
		b.WriteString(" (owner not resolved)")
	}
	var notes []string
	if t.Source != "" {
		notes = append(notes, "from the "+string(t.Source))
	}
	if t.Exported {
		notes = append(notes, "exported_* labels")
	}
	if t.Kind != "" && t.Pod != "" {
		notes = append(notes, "pod "+t.Pod)
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(notes, ", "))
	}
	return b.String()
}

// DescribeAction writes an action and its parameters on one line, e.g.
// "IncreaseMemory (percent 25, minIncrease 64Mi, roundTo 64Mi, max 2Gi)".
func DescribeAction(a v1beta1.Action) string {
	var params []string
	i32 := func(name string, v *int32) {
		if v != nil {
			params = append(params, fmt.Sprintf("%s %d", name, *v))
		}
	}
	qty := func(name string, v *resource.Quantity) {
		if v != nil {
			params = append(params, name+" "+v.String())
		}
	}
	switch {
	case a.IncreaseMemory != nil:
		m := a.IncreaseMemory
		i32("percent", m.Percent)
		qty("minIncrease", m.MinIncrease)
		qty("roundTo", m.RoundTo)
		qty("max", m.Max)
	case a.IncreaseCPU != nil:
		i32("percent", a.IncreaseCPU.Percent)
		qty("max", a.IncreaseCPU.Max)
	case a.ScaleUp != nil:
		i32("percent", a.ScaleUp.Percent)
		i32("maxReplicas", a.ScaleUp.MaxReplicas)
	case a.RollbackImage != nil:
		i32("maxRevisions", a.RollbackImage.MaxRevisions)
	default:
		return "(none)"
	}
	if len(params) == 0 {
		return string(a.Type())
	}
	return fmt.Sprintf("%s (%s)", a.Type(), strings.Join(params, ", "))
}

// formatLabels writes labels sorted as name=value, those in only (when non-nil) alone.
func formatLabels(ls map[string]string, only func(string) bool) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		if only == nil || only(k) {
			parts = append(parts, k+"="+ls[k])
		}
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, " ")
}
