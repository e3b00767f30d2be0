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

package dashboard

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/heal8s/heal8s/api/v1beta1"
	engine "github.com/heal8s/heal8s/internal/remediation"
)

// allPhases lists the phases in the order the state machine walks them, for the filter and the
// summary.
var allPhases = []v1beta1.Phase{
	v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseAwaitingApproval, v1beta1.PhaseProposed, v1beta1.PhaseAwaitingMerge,
	v1beta1.PhaseApplying, v1beta1.PhaseVerifying, v1beta1.PhaseSucceeded, v1beta1.PhaseFailed,
	v1beta1.PhaseSkipped, v1beta1.PhaseSuperseded,
}

// allActions lists the action types for the filter.
var allActions = []v1beta1.ActionType{
	v1beta1.ActionIncreaseMemory, v1beta1.ActionIncreaseCPU, v1beta1.ActionScaleUp, v1beta1.ActionRollbackImage,
}

// phaseOf is the phase shown: a Remediation the engine has not reached yet is Pending.
func phaseOf(r *v1beta1.Remediation) v1beta1.Phase {
	if r.Status.Phase == "" {
		return v1beta1.PhasePending
	}
	return r.Status.Phase
}

// phaseClass is the CSS class that colours a phase. Unknown values get a neutral class rather
// than a class name built from untrusted text.
func phaseClass(p v1beta1.Phase) string {
	if slices.Contains(allPhases, p) {
		return "phase-" + strings.ToLower(string(p))
	}
	return "phase-unknown"
}

// actionOf prefers the label the receiver sets and falls back to the spec's union member.
func actionOf(r *v1beta1.Remediation) string {
	if a := r.Labels[v1beta1.LabelAction]; a != "" {
		return a
	}
	return string(r.Spec.Action.Type())
}

func age(t time.Time, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	return duration.HumanDuration(now.Sub(t))
}

func detailURL(namespace, name string) string {
	return "/remediations/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

// filter is the list page's query: empty fields match everything. Limit is the page size
// asked for (0: the default), kept in the links the page builds.
type filter struct {
	Namespace, Phase, Action string
	Limit                    int
}

func filterFrom(q url.Values) filter {
	f := filter{
		Namespace: strings.TrimSpace(q.Get("namespace")),
		Phase:     strings.TrimSpace(q.Get("phase")),
		Action:    strings.TrimSpace(q.Get("action")),
	}
	if q.Get("limit") != "" {
		f.Limit = pageFrom(q).Size
	}
	return f
}

func (f filter) matches(r *v1beta1.Remediation) bool {
	return (f.Namespace == "" || r.Namespace == f.Namespace) &&
		(f.Phase == "" || string(phaseOf(r)) == f.Phase) &&
		(f.Action == "" || actionOf(r) == f.Action)
}

// with renders the filter with the phase replaced, for the summary's links (on page one).
func (f filter) with(phase string) string { return f.url(phase, 1) }

// url renders the list's address for the filter with phase, on page (1 is left out).
func (f filter) url(phase string, page int) string {
	q := url.Values{}
	if f.Namespace != "" {
		q.Set("namespace", f.Namespace)
	}
	if phase != "" {
		q.Set("phase", phase)
	}
	if f.Action != "" {
		q.Set("action", f.Action)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// pagination is the page of the list asked for: Number from 1, Size rows.
type pagination struct {
	Number, Size int
}

// row is one Remediation as the list shows it.
type row struct {
	Namespace, Name, DetailURL string
	Phase, PhaseClass          string
	Action, Target, Policy     string
	Rule, Alert, Summary       string
	Age, InPhase               string
	Reason, Message            string
	PRURL, PRState             string
	PRNumber                   int32
	AlertCount                 int32
}

func rowFor(r *v1beta1.Remediation, now time.Time) row {
	p := phaseOf(r)
	out := row{
		Namespace:  r.Namespace,
		Name:       r.Name,
		DetailURL:  detailURL(r.Namespace, r.Name),
		Phase:      string(p),
		PhaseClass: phaseClass(p),
		Action:     actionOf(r),
		Target:     targetString(r.Spec.Target),
		Policy:     r.Spec.PolicyRef.Namespace + "/" + r.Spec.PolicyRef.Name,
		Rule:       r.Spec.Rule,
		Alert:      r.Spec.Alert.Name,
		Summary:    r.Spec.Alert.Annotations["summary"],
		Age:        age(r.CreationTimestamp.Time, now),
		InPhase:    age(enteredAt(r), now),
		Reason:     r.Status.Reason,
		Message:    r.Status.Message,
		AlertCount: r.Status.AlertCount,
	}
	if pr := r.Status.PullRequest; pr != nil {
		out.PRURL, out.PRNumber, out.PRState = pr.URL, pr.Number, string(pr.State)
	}
	return out
}

// enteredAt is when the Remediation entered its current phase, as far as its history tells.
func enteredAt(r *v1beta1.Remediation) time.Time {
	if n := len(r.Status.History); n > 0 && r.Status.History[n-1].Phase == phaseOf(r) {
		return r.Status.History[n-1].Time.Time
	}
	return r.CreationTimestamp.Time
}

func targetString(t v1beta1.TargetRef) string {
	s := string(t.Kind) + "/" + t.Name
	if t.Container != "" {
		s += " (" + t.Container + ")"
	}
	return s
}

// phaseCount is one cell of the at-a-glance summary.
type phaseCount struct {
	Phase, Class, URL string
	Count             int
}

// listView is the list page. Rows holds one page: rows From to To (from 1) of Total.
type listView struct {
	Filter           filter
	Rows             []row
	Total            int
	Page, Pages      int
	From, To         int
	PrevURL, NextURL string
	Summary          []phaseCount
	Namespaces       []string
	Phases           []v1beta1.Phase
	Actions          []v1beta1.ActionType
}

// buildList filters and sorts: the unfinished first (they need attention), then newest first;
// and builds rows for one page only. items are read, never changed (they may be the cache's).
func buildList(items []*v1beta1.Remediation, f filter, pg pagination, now time.Time) listView {
	v := listView{Filter: f, Phases: allPhases, Actions: allActions}
	counts := map[v1beta1.Phase]int{}
	nsSet := map[string]struct{}{}
	var sel []*v1beta1.Remediation
	for _, r := range items {
		nsSet[r.Namespace] = struct{}{}
		if f.Namespace != "" && r.Namespace != f.Namespace {
			continue
		}
		counts[phaseOf(r)]++
		if f.matches(r) {
			sel = append(sel, r)
		}
	}
	for _, p := range allPhases {
		if counts[p] > 0 {
			v.Summary = append(v.Summary, phaseCount{Phase: string(p), Class: phaseClass(p), URL: f.with(string(p)), Count: counts[p]})
		}
	}
	for ns := range nsSet {
		v.Namespaces = append(v.Namespaces, ns)
	}
	if f.Namespace != "" && !slices.Contains(v.Namespaces, f.Namespace) {
		v.Namespaces = append(v.Namespaces, f.Namespace)
	}
	slices.Sort(v.Namespaces)
	slices.SortStableFunc(sel, func(a, b *v1beta1.Remediation) int {
		if ta, tb := phaseOf(a).IsTerminal(), phaseOf(b).IsTerminal(); ta != tb {
			if ta {
				return 1
			}
			return -1
		}
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	v.Total = len(sel)
	pg.Size = max(pg.Size, 1)
	v.Pages = max((v.Total+pg.Size-1)/pg.Size, 1)
	v.Page = min(max(pg.Number, 1), v.Pages)
	start := (v.Page - 1) * pg.Size
	end := min(start+pg.Size, v.Total)
	for _, r := range sel[start:end] {
		v.Rows = append(v.Rows, rowFor(r, now))
	}
	if end > start {
		v.From, v.To = start+1, end
	}
	if v.Page > 1 {
		v.PrevURL = f.url(f.Phase, v.Page-1)
	}
	if v.Page < v.Pages {
		v.NextURL = f.url(f.Phase, v.Page+1)
	}
	return v
}

// kv is one key/value pair, for labels, annotations and plan fields in a stable order.
type kv struct{ Key, Value string }

func sortedKV(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	slices.SortFunc(out, func(a, b kv) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// planField is one field the plan reads and writes.
type planField struct{ Field, Before, After string }

// step is one entry of the timeline.
type step struct {
	Phase, Class, Reason, Time, Age string
}

// eventRow is one Kubernetes Event about a Remediation.
type eventRow struct {
	Type, Reason, Note, Time, Age string
	Count                         int32
	Warning                       bool
}

// detailView is a Remediation's page.
type detailView struct {
	Row                       row
	Strategy, Fingerprint     string
	ActionSpec                string
	Labels, Annotations       []kv
	StartsAt, GeneratorURL    string
	Plan                      []planField
	PlanReason, Patch         string
	HasPlan                   bool
	Timeline                  []step
	Events                    []eventRow
	Attempts                  int32
	LastSeen, ResolvedAt      string
	StartedAt, CompletedAt    string
	SupersededBy, SupersedURL string
	PRBranch                  string
	// Approval is the approval state of a plan that needs one (status.approval); nil otherwise.
	Approval *approvalView
}

// approvalView is status.approval as the detail page shows it.
type approvalView struct {
	Waiting                 bool
	Decision, User, Reason  string
	Expires, Decided        string
	Refused, Digest, Remedy string
}

func stamp(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func buildDetail(r *v1beta1.Remediation, evs []eventsv1.Event, now time.Time) detailView {
	v := detailView{
		Row:          rowFor(r, now),
		Strategy:     string(r.Spec.Strategy),
		Fingerprint:  r.Spec.Alert.Fingerprint,
		Labels:       sortedKV(r.Spec.Alert.Labels),
		Annotations:  sortedKV(r.Spec.Alert.Annotations),
		StartsAt:     stamp(r.Spec.Alert.StartsAt),
		GeneratorURL: r.Spec.Alert.GeneratorURL,
		Attempts:     r.Status.Attempts,
		LastSeen:     stamp(r.Status.LastSeen),
		ResolvedAt:   stamp(r.Status.AlertResolvedAt),
		StartedAt:    stamp(r.Status.StartedAt),
		CompletedAt:  stamp(r.Status.CompletedAt),
		SupersededBy: r.Status.SupersededBy,
	}
	if v.SupersededBy != "" {
		v.SupersedURL = detailURL(r.Namespace, v.SupersededBy)
	}
	if b, err := json.Marshal(r.Spec.Action); err == nil {
		v.ActionSpec = string(b)
	}
	if pr := r.Status.PullRequest; pr != nil {
		v.PRBranch = pr.Branch
	}
	if a := r.Status.Approval; a != nil {
		v.Approval = &approvalView{Waiting: phaseOf(r) == v1beta1.PhaseAwaitingApproval, Decision: string(a.Decision), User: a.User,
			Reason: a.Reason, Expires: stamp(a.ExpiresAt), Decided: stamp(a.Time), Refused: a.Refused, Digest: a.PlanDigest}
		if v.Approval.Waiting {
			v.Approval.Remedy = "kubectl heal8s approve " + r.Name + " -n " + r.Namespace
		}
	}
	if p := r.Status.Plan; p != nil {
		v.HasPlan = true
		v.PlanReason, v.Patch = p.Reason, p.Patch
		fields := map[string]struct{}{}
		for k := range p.Before {
			fields[k] = struct{}{}
		}
		for k := range p.After {
			fields[k] = struct{}{}
		}
		for _, f := range slices.Sorted(maps.Keys(fields)) {
			v.Plan = append(v.Plan, planField{Field: f, Before: p.Before[f], After: p.After[f]})
		}
	}
	for _, h := range r.Status.History {
		v.Timeline = append(v.Timeline, step{
			Phase: string(h.Phase), Class: phaseClass(h.Phase), Reason: h.Reason,
			Time: h.Time.UTC().Format(time.RFC3339), Age: age(h.Time.Time, now),
		})
	}
	slices.SortStableFunc(evs, func(a, b eventsv1.Event) int { return engine.EventTime(&b).Compare(engine.EventTime(&a)) })
	for _, e := range evs {
		t := engine.EventTime(&e)
		er := eventRow{Type: e.Type, Reason: e.Reason, Note: e.Note, Age: age(t, now), Warning: e.Type == "Warning", Count: 1}
		if !t.IsZero() {
			er.Time = t.UTC().Format(time.RFC3339)
		}
		if e.Series != nil {
			er.Count = e.Series.Count
		} else if e.DeprecatedCount > 0 {
			er.Count = e.DeprecatedCount
		}
		v.Events = append(v.Events, er)
	}
	return v
}

// policyRow is one RemediationPolicy as the policies page shows it.
type policyRow struct {
	Namespace, Name      string
	Ready, ReadyClass    string
	Reason, Message      string
	Strategy             string
	Rules, CompiledRules int
	Suspended, Stale     bool
	// Paused are the policy's pause requests (spec.safety.pauseRequests), each shown by name.
	Paused          []string
	LastMatch, Age  string
	Active, Total   int
	RemediationsURL string
	ClusterWide     bool
	// Expired is what retention deleted of the policy's finished Remediations
	// (status.expired); nil when it deleted none.
	Expired *expiredView
}

// expiredView is a policy's status.expired as the viewer may see it: the counts are the
// policy's (readable by whoever may read the policy), the recent entries only those in
// namespaces where the viewer may list Remediations.
type expiredView struct {
	Total        int64
	LastDeletion string
	ByOutcome    []outcomeView
	Recent       []expiredRow
	// Hidden counts the recent entries in namespaces the viewer may not list.
	Hidden int
}

type outcomeView struct {
	Phase, Reason, Class string
	Count                int64
}

type expiredRow struct {
	Namespace, Name, Target, Action string
	Phase, Reason, Class            string
	Completed, Deleted              string
}

func buildExpired(e *v1beta1.ExpiredOutcomes, mayList func(namespace string) bool, now time.Time) *expiredView {
	if e == nil || e.Total == 0 {
		return nil
	}
	v := &expiredView{Total: e.Total, LastDeletion: age(timeOrZero(e.LastDeletionTime), now)}
	for _, c := range e.ByOutcome {
		v.ByOutcome = append(v.ByOutcome, outcomeView{Phase: string(c.Phase), Reason: c.Reason, Class: phaseClass(c.Phase), Count: c.Count})
	}
	for _, x := range e.Recent {
		if !mayList(x.Namespace) {
			v.Hidden++
			continue
		}
		v.Recent = append(v.Recent, expiredRow{
			Namespace: x.Namespace, Name: x.Name, Target: x.Target, Action: string(x.Action),
			Phase: string(x.Phase), Reason: x.Reason, Class: phaseClass(x.Phase),
			Completed: age(timeOrZero(x.CompletedAt), now), Deleted: age(x.DeletedAt.Time, now),
		})
	}
	return v
}

// buildPolicies builds the policies page; mayList says whether the viewer may list Remediations
// in a namespace, for the expired Remediations each policy records.
func buildPolicies(pols []*v1beta1.RemediationPolicy, rems []*v1beta1.Remediation, mayList func(namespace string) bool, now time.Time) []policyRow {
	type counts struct{ active, total int }
	byPolicy := map[string]counts{}
	for _, r := range rems {
		k := r.Spec.PolicyRef.Namespace + "/" + r.Spec.PolicyRef.Name
		c := byPolicy[k]
		c.total++
		if !phaseOf(r).IsTerminal() {
			c.active++
		}
		byPolicy[k] = c
	}
	out := make([]policyRow, 0, len(pols))
	for _, p := range pols {
		c := byPolicy[p.Namespace+"/"+p.Name]
		pr := policyRow{
			Namespace:     p.Namespace,
			Name:          p.Name,
			Ready:         "Unknown",
			ReadyClass:    "ready-unknown",
			Strategy:      string(p.Spec.Strategy),
			Rules:         len(p.Spec.Rules),
			CompiledRules: int(p.Status.CompiledRules),
			Suspended:     p.Spec.Safety.Suspend,
			Paused:        slices.Sorted(slices.Values(p.Spec.Safety.PauseRequests)),
			Stale:         p.Status.ObservedGeneration < p.Generation,
			LastMatch:     age(timeOrZero(p.Status.LastMatchTime), now),
			Age:           age(p.CreationTimestamp.Time, now),
			Active:        c.active,
			Total:         c.total,
			ClusterWide:   p.Spec.NamespaceSelector != nil,
			Expired:       buildExpired(p.Status.Expired, mayList, now),
		}
		if c := meta.FindStatusCondition(p.Status.Conditions, v1beta1.ConditionReady); c != nil {
			pr.Ready, pr.Reason, pr.Message = string(c.Status), c.Reason, c.Message
			switch c.Status {
			case metav1.ConditionTrue:
				pr.ReadyClass = "ready-true"
			case metav1.ConditionFalse:
				pr.ReadyClass = "ready-false"
			case metav1.ConditionUnknown:
			}
		}
		out = append(out, pr)
	}
	slices.SortFunc(out, func(a, b policyRow) int {
		return cmp.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out
}

func timeOrZero(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

// activityRow is one feed entry as shown.
type activityRow struct {
	Activity
	Class, DetailURL, Time, Age string
}

func buildFeed(as []Activity, now time.Time) []activityRow {
	out := make([]activityRow, 0, len(as))
	for _, a := range as {
		out = append(out, activityRow{
			Activity: a, Class: phaseClass(a.Phase), DetailURL: detailURL(a.Namespace, a.Name),
			Time: a.Time.UTC().Format(time.RFC3339), Age: age(a.Time, now),
		})
	}
	return out
}
