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

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/plugin"
)

// The commands that act: list, approve, reject, retry, pause, resume. Their writes and checks
// live in internal/plugin (actions.go); these wire flags to them.

func newListCommand(g *globalOptions) *cobra.Command {
	var (
		output        string
		pending       bool
		allNamespaces bool
	)
	cmd := &cobra.Command{
		Use:   "list [--pending] [-A]",
		Short: "List Remediations; --pending lists the plans awaiting approval, with their before and after values",
		Example: `  kubectl heal8s list --pending -A
  kubectl heal8s list -n shop -o wide`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := plugin.ListOptions{AllNamespaces: allNamespaces}
			if strings.EqualFold(output, "wide") {
				o.Format, o.Wide = plugin.FormatText, true
			} else {
				f, err := plugin.ParseFormat(output)
				if err != nil {
					return fmt.Errorf("%w (or wide)", err)
				}
				o.Format = f
			}
			c, _, err := g.connect()
			if err != nil {
				return err
			}
			ns := g.defaultNamespace()
			if allNamespaces {
				ns = ""
			}
			items, err := plugin.ListRemediations(cmd.Context(), c, ns, pending)
			if err != nil {
				return err
			}
			if len(items) == 0 && o.Format == plugin.FormatText {
				where := "in namespace " + ns
				if allNamespaces {
					where = "in any namespace"
				}
				what := "Remediations"
				if pending {
					what = "Remediations awaiting approval"
				}
				_, err := fmt.Fprintf(g.stderr, "No %s found %s.\n", what, where)
				return err
			}
			return plugin.PrintRemediations(g.stdout, items, o, time.Now())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "Output format: text, wide, yaml or json")
	cmd.Flags().BoolVar(&pending, "pending", false, "Only the Remediations awaiting approval")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "List across all namespaces")
	return cmd
}

func newDecideCommand(g *globalOptions, decision v1beta1.ApprovalDecision) *cobra.Command {
	var reason string
	verb, short := "approve", "Approve the plan of a Remediation awaiting approval: heal8s applies it"
	if decision == v1beta1.ApprovalRejected {
		verb = "reject"
		short = "Reject the plan of a Remediation awaiting approval: " +
			"a veto of the same action on the same target for the policy's vetoPeriod"
	}
	cmd := &cobra.Command{
		Use:   verb + " REMEDIATION [--reason TEXT]",
		Short: short,
		Long: short + `.

The decision is written on the Remediation as annotations naming you (as the API server knows you)
and the plan you saw; heal8s acts on it only if you hold the verb approve on remediations/approval
in the Remediation's namespace (the ClusterRole heal8s-approver), and only for that plan.`,
		Example: fmt.Sprintf("  kubectl heal8s %s oom-kill-3f9a1c2b7d -n shop "+
			"--reason \"checked the dashboard\"", verb),
		Args:              oneName(verb),
		ValidArgsFunction: completeRemediations(g, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := remediationName(args[0])
			if err != nil {
				return err
			}
			c, _, err := g.connect()
			if err != nil {
				return err
			}
			user, err := plugin.WhoAmI(cmd.Context(), c)
			if err != nil {
				return err
			}
			key := types.NamespacedName{Namespace: g.defaultNamespace(), Name: name}
			rem, err := plugin.Decide(cmd.Context(), c, key, decision, user, reason)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "remediation.heal8s.io/%s %s by %s (plan %s)\n", rem.Name,
				strings.ToLower(string(decision)), user, plugin.PlanSummary(rem.Status.Plan))
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "Why, for the record (at most 1024 bytes)")
	return cmd
}

func newRetryCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "retry REMEDIATION",
		Short: "Try a Failed or Skipped Remediation again, from Pending: every safety guard decides again",
		Long: `Ask heal8s to try a Failed or Skipped Remediation once more. It goes back to Pending and the guards
(suspend, pauses, veto, budget, cooldown, hourly rate, concurrency) decide again, so a retry never
passes a bound. A Remediation that changed its target already, was rejected (a veto), or opened a
pull request is not retried. The retry is recorded in status.retry.`,
		Example:           "  kubectl heal8s retry oom-kill-3f9a1c2b7d -n shop",
		Args:              oneName("retry"),
		ValidArgsFunction: completeRemediations(g, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := remediationName(args[0])
			if err != nil {
				return err
			}
			c, _, err := g.connect()
			if err != nil {
				return err
			}
			key := types.NamespacedName{Namespace: g.defaultNamespace(), Name: name}
			rem, err := plugin.RequestRetry(cmd.Context(), c, key, time.Now())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "remediation.heal8s.io/%s retry requested (it was %s: %s)\n",
				rem.Name, rem.Status.Phase, rem.Status.Reason)
			return err
		},
	}
}

func newPauseCommand(g *globalOptions, pause bool) *cobra.Command {
	var name string
	verb := "pause"
	short := "Add a named pause request to a RemediationPolicy: it starts no remediation while any pause is present"
	if !pause {
		verb, short = "resume", "Remove one named pause request from a RemediationPolicy, leaving every other"
	}
	cmd := &cobra.Command{
		Use:               verb + " POLICY --name NAME",
		Short:             short,
		Example:           fmt.Sprintf("  kubectl heal8s %s memory -n shop --name maintenance-window", verb),
		Args:              oneName(verb),
		ValidArgsFunction: completePolicies(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return errors.New("--name is required: each pause has a name, so several can pause and resume independently")
			}
			policy, err := policyName(args[0])
			if err != nil {
				return err
			}
			c, _, err := g.connect()
			if err != nil {
				return err
			}
			key := types.NamespacedName{Namespace: g.defaultNamespace(), Name: policy}
			var changed bool
			if pause {
				changed, err = plugin.Pause(cmd.Context(), c, key, name)
			} else {
				changed, err = plugin.Resume(cmd.Context(), c, key, name)
			}
			if err != nil {
				return err
			}
			state := map[bool]string{true: "paused", false: "resumed"}[pause]
			if !changed {
				state = map[bool]string{true: "already paused", false: "not paused"}[pause]
			}
			_, err = fmt.Fprintf(g.stdout, "remediationpolicy.heal8s.io/%s %s (%s)\n", policy, state, name)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "",
		"The pause request's name (who or what pauses: maintenance, deploy-freeze, alice)")
	return cmd
}

func oneName(verb string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("%s takes one name, got %d arguments", verb, len(args))
		}
		return nil
	}
}

// policyName accepts NAME or TYPE/NAME as kubectl does with the RemediationPolicy's names.
func policyName(arg string) (string, error) {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok {
		kind, name = "", arg
	}
	switch strings.ToLower(kind) {
	case "", "remediationpolicy", "remediationpolicies", "rempol",
		"remediationpolicy.heal8s.io", "remediationpolicies.heal8s.io":
	default:
		return "", fmt.Errorf("pause and resume act on RemediationPolicies, not %q", kind)
	}
	if name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("%q is not a RemediationPolicy name", arg)
	}
	return name, nil
}

// completeRemediations completes Remediation names of the namespace (awaiting approval only,
// when pending), reading the cluster; nothing when it cannot.
func completeRemediations(g *globalOptions, pending bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, _, err := g.connect()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		defer cancel()
		items, err := plugin.ListRemediations(ctx, c, g.defaultNamespace(), pending)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := make([]cobra.Completion, 0, len(items))
		for i := range items {
			out = append(out, cobra.CompletionWithDesc(items[i].Name, plugin.PlanSummary(items[i].Status.Plan)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completePolicies completes RemediationPolicy names of the namespace.
func completePolicies(g *globalOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, _, err := g.connect()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		defer cancel()
		ps, err := plugin.ListPolicies(ctx, c, g.defaultNamespace())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := make([]cobra.Completion, 0, len(ps))
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
