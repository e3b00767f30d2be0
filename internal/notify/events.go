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
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/remediation"
)

// Event is one thing a Notifier reports: a phase change of one Remediation, with what a person
// on call needs to judge it without opening the cluster.
type Event struct {
	// Key identifies the phase change (Remediation UID, event type, transition time): the unit of
	// deduplication. Two deliveries of the same Key are the same message.
	Key string `json:"key"`
	// Type is the kind of event.
	Type v1beta1.NotificationEvent `json:"type"`
	// Severity is info, warning or error.
	Severity v1beta1.NotificationSeverity `json:"severity"`
	// Time is when the Remediation entered the phase.
	Time time.Time `json:"time"`
	// Namespace and Remediation name the Remediation.
	Namespace   string `json:"namespace"`
	Remediation string `json:"remediation"`
	// Policy is namespace/name of the RemediationPolicy, Rule its matching rule.
	Policy string `json:"policy"`
	Rule   string `json:"rule"`
	// Alert is the alertname, AlertSeverity its severity label, Summary its summary annotation.
	Alert         string `json:"alert"`
	AlertSeverity string `json:"alertSeverity,omitempty"`
	Summary       string `json:"summary,omitempty"`
	// Target is Kind/name of the workload, Container the container changed.
	Target    string `json:"target"`
	Container string `json:"container,omitempty"`
	// Action and Strategy are the Remediation's.
	Action   string `json:"action"`
	Strategy string `json:"strategy"`
	// Phase, Reason and Message are the Remediation's at the phase change.
	Phase   string `json:"phase"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Before and After are the plan's values, keyed by field path.
	Before map[string]string `json:"before,omitempty"`
	After  map[string]string `json:"after,omitempty"`
	// PullRequestURL links the pull request of a GitOps remediation.
	PullRequestURL string `json:"pullRequestURL,omitempty"`
	// DashboardURL links the Remediation on heal8s's dashboard, when --dashboard-url is set.
	DashboardURL string `json:"dashboardURL,omitempty"`
	// Budget is the target's remediation budget, for BudgetLow and BudgetExhausted.
	Budget *Budget `json:"budget,omitempty"`
}

// Budget is how much of maxPerTarget a target used within budgetWindow.
type Budget struct {
	Used   int32  `json:"used"`
	Max    int32  `json:"max"`
	Window string `json:"window"`
}

// SeverityOf is the severity of an event type.
func SeverityOf(t v1beta1.NotificationEvent) v1beta1.NotificationSeverity {
	switch t {
	case v1beta1.EventFailed, v1beta1.EventBudgetExhausted:
		return v1beta1.SeverityError
	case v1beta1.EventSkipped, v1beta1.EventBudgetLow:
		return v1beta1.SeverityWarning
	case v1beta1.EventProposed, v1beta1.EventSucceeded:
		return v1beta1.SeverityInfo
	}
	return v1beta1.SeverityInfo
}

func severityRank(s v1beta1.NotificationSeverity) int {
	switch s {
	case v1beta1.SeverityError:
		return 2
	case v1beta1.SeverityWarning:
		return 1
	case v1beta1.SeverityInfo:
		return 0
	}
	return 0
}

// Wants reports whether a Notifier with spec hears events of type t (events and minSeverity;
// the policy selection is the controller's, which reads the policy's labels).
func Wants(spec *v1beta1.NotifierSpec, t v1beta1.NotificationEvent) bool {
	if len(spec.Events) > 0 && !slices.Contains(spec.Events, t) {
		return false
	}
	return severityRank(SeverityOf(t)) >= severityRank(spec.MinSeverity)
}

// Context is what the controller read besides the Remediation: its policy (nil when gone), the
// other Remediations of its namespace (for the budget), the dashboard's external URL and now.
type Context struct {
	Policy       *v1beta1.RemediationPolicy
	Others       []v1beta1.Remediation
	DashboardURL string
	Now          time.Time
}

// EventsOf lists the reportable phase changes in r's history entered at or after since, oldest
// first: entering AwaitingMerge (GitOps, the pull request), AwaitingApproval (Direct: the plan
// waiting for a person, docs/approvals.md) or Proposed (Direct: the plan about to be applied) is
// Proposed; Succeeded, Failed and Skipped are themselves, except a Skipped for
// BudgetExhausted; a Succeeded that leaves the target at most one remediation of its budget adds
// BudgetLow. Superseded and the intermediate phases are not reported.
func EventsOf(r *v1beta1.Remediation, c Context, since time.Time) []Event {
	var out []Event
	for i, h := range r.Status.History {
		if h.Time.Time.Before(since) {
			continue
		}
		var t v1beta1.NotificationEvent
		switch h.Phase {
		case v1beta1.PhaseAwaitingMerge, v1beta1.PhaseAwaitingApproval:
			t = v1beta1.EventProposed
		case v1beta1.PhaseProposed:
			if r.Spec.Strategy != v1beta1.StrategyDirect {
				continue
			}
			t = v1beta1.EventProposed
		case v1beta1.PhaseSucceeded:
			t = v1beta1.EventSucceeded
		case v1beta1.PhaseFailed:
			t = v1beta1.EventFailed
		case v1beta1.PhaseSkipped:
			t = v1beta1.EventSkipped
			if h.Reason == remediation.BudgetExhaustedReason {
				t = v1beta1.EventBudgetExhausted
			}
		default:
			continue
		}
		ev := newEvent(r, c, t, h)
		// The status's message belongs to the last transition only.
		if i == len(r.Status.History)-1 {
			ev.Message = r.Status.Message
		}
		if t == v1beta1.EventBudgetExhausted || t == v1beta1.EventSucceeded {
			ev.Budget = budgetOf(r, c)
		}
		out = append(out, ev)
		if t == v1beta1.EventSucceeded && ev.Budget != nil && ev.Budget.Max-ev.Budget.Used <= 1 &&
			r.Spec.Strategy != v1beta1.StrategyDryRun {
			low := ev
			low.Type, low.Severity = v1beta1.EventBudgetLow, SeverityOf(v1beta1.EventBudgetLow)
			low.Key = keyOf(r, v1beta1.EventBudgetLow, h.Time.Time)
			low.Message = fmt.Sprintf("%s has used %d of its %d remediations within %s; a leak or a deeper fault is likely, and the next alert will be skipped once none are left",
				ev.Target, ev.Budget.Used, ev.Budget.Max, ev.Budget.Window)
			out = append(out, low)
		}
	}
	return out
}

func keyOf(r *v1beta1.Remediation, t v1beta1.NotificationEvent, at time.Time) string {
	return fmt.Sprintf("%s/%s/%d", r.UID, t, at.Unix())
}

func newEvent(r *v1beta1.Remediation, c Context, t v1beta1.NotificationEvent, h v1beta1.PhaseTransition) Event {
	s := r.Spec
	ev := Event{
		Key:           keyOf(r, t, h.Time.Time),
		Type:          t,
		Severity:      SeverityOf(t),
		Time:          h.Time.UTC(),
		Namespace:     r.Namespace,
		Remediation:   r.Name,
		Policy:        s.PolicyRef.Namespace + "/" + s.PolicyRef.Name,
		Rule:          s.Rule,
		Alert:         s.Alert.Name,
		AlertSeverity: s.Alert.Labels["severity"],
		Summary:       s.Alert.Annotations["summary"],
		Target:        string(s.Target.Kind) + "/" + s.Target.Name,
		Container:     s.Target.Container,
		Action:        string(s.Action.Type()),
		Strategy:      string(s.Strategy),
		Phase:         string(h.Phase),
		Reason:        h.Reason,
	}
	if p := r.Status.Plan; p != nil {
		ev.Before, ev.After = p.Before, p.After
	}
	if pr := r.Status.PullRequest; pr != nil && safeLink(pr.URL) {
		ev.PullRequestURL = pr.URL
	}
	if c.DashboardURL != "" {
		ev.DashboardURL = DashboardLink(c.DashboardURL, r.Namespace, r.Name)
	}
	return ev
}

// DashboardLink is the dashboard's page of one Remediation under its external base URL.
func DashboardLink(base, namespace, name string) string {
	return strings.TrimRight(base, "/") + "/remediations/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

// safeLink keeps only http(s) links in messages: a status field is not trusted to be one.
func safeLink(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// budgetOf counts, like the WithinBudget guard of internal/remediation/guards.go, the
// remediations of r's target that acted within the policy's budgetWindow, r included.
func budgetOf(r *v1beta1.Remediation, c Context) *Budget {
	var s v1beta1.SafetySpec
	if c.Policy != nil {
		c.Policy.Spec.Safety.DeepCopyInto(&s)
	}
	defaults.Safety(&s)
	if s.MaxPerTarget == nil || s.BudgetWindow == nil {
		return nil
	}
	window := s.BudgetWindow.Duration
	var n int32
	for i := range c.Others {
		o := &c.Others[i]
		t, u := o.Spec.Target, r.Spec.Target
		if t.Kind != u.Kind || t.Name != u.Name || t.Namespace != u.Namespace {
			continue
		}
		if o.Status.StartedAt == nil || o.Status.Phase == v1beta1.PhaseSkipped || o.Status.Phase == v1beta1.PhaseSuperseded ||
			o.Spec.Strategy == v1beta1.StrategyDryRun {
			continue
		}
		if c.Now.Sub(o.Status.StartedAt.Time) < window {
			n++
		}
	}
	return &Budget{Used: n, Max: *s.MaxPerTarget, Window: window.String()}
}
