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
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
)

// ListOptions say how PrintRemediations prints: the format (text, yaml, json), wide adds
// columns, allNamespaces adds the namespace column (kubectl get -A).
type ListOptions struct {
	Format        Format
	Wide          bool
	AllNamespaces bool
}

// PrintRemediations prints Remediations as kubectl get does: a table for people (the plan's
// before and after values for the ones awaiting approval), or a v1 List in yaml or json.
func PrintRemediations(w io.Writer, items []v1beta1.Remediation, o ListOptions, now time.Time) error {
	switch o.Format {
	case FormatYAML, FormatJSON:
		list := v1beta1.RemediationList{Items: items}
		list.APIVersion, list.Kind = "v1", "List"
		for i := range list.Items {
			list.Items[i].APIVersion, list.Items[i].Kind = v1beta1.GroupVersion.String(), remediationKind
			list.Items[i].ManagedFields = nil
		}
		var out []byte
		var err error
		if o.Format == FormatJSON {
			out, err = json.MarshalIndent(list, "", "    ")
			out = append(out, '\n')
		} else {
			out, err = yaml.Marshal(list)
		}
		if err != nil {
			return fmt.Errorf("encoding the Remediations: %w", err)
		}
		_, err = w.Write(out)
		return err
	case FormatText:
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	head := []string{"NAME", "PHASE", "ACTION", "TARGET", "PLAN", "AGE"}
	if o.AllNamespaces {
		head = append([]string{"NAMESPACE"}, head...)
	}
	if o.Wide {
		head = append(head, "POLICY", "REASON", "APPROVAL")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i := range items {
		r := &items[i]
		t := r.Spec.Target
		row := []string{r.Name, string(remediation.Current(r.Status.Phase)), string(r.Spec.Action.Type()),
			fmt.Sprintf("%s/%s", t.Kind, t.Name), PlanSummary(r.Status.Plan), age(r.CreationTimestamp.Time, now)}
		if o.AllNamespaces {
			row = append([]string{r.Namespace}, row...)
		}
		if o.Wide {
			row = append(row, r.Spec.PolicyRef.Namespace+"/"+r.Spec.PolicyRef.Name, orDash(r.Status.Reason), approvalSummary(r.Status.Approval, now))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// PlanSummary is a plan's changes on one line: "field before->after, ...", or "-".
func PlanSummary(p *v1beta1.Plan) string {
	if p == nil || len(p.After) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p.After)) {
		parts = append(parts, fmt.Sprintf("%s %s->%s", k, orDash(p.Before[k]), p.After[k]))
	}
	return oneLine(strings.Join(parts, ", "))
}

func approvalSummary(a *v1beta1.ApprovalStatus, now time.Time) string {
	switch {
	case a == nil:
		return "-"
	case a.Decision != "" && a.User != "":
		return fmt.Sprintf("%s by %s", a.Decision, a.User)
	case a.Decision != "":
		return string(a.Decision)
	case a.ExpiresAt != nil:
		return "expires " + ago(a.ExpiresAt, now)
	}
	return "waiting"
}

func age(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
