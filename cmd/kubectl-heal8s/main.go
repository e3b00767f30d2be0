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

// kubectl-heal8s is the kubectl plugin of heal8s: kubectl heal8s route test says what heal8s
// would do with an alert, with the receiver's own routing code; kubectl heal8s explain tells a
// Remediation's story. The logic lives in internal/plugin; this file holds the commands and flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/plugin"
	"github.com/heal8s/heal8s/internal/routing"
)

// version is stamped in at build time with -ldflags "-X main.version=...".
var version = "dev"

// requestTimeout bounds each request to the API server.
const requestTimeout = 30 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit code: 0, or 1 with the error on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// controller-runtime's client logs through its global logger; nothing here needs its logs.
	ctrllog.SetLogger(logr.Discard())
	cmd := newRootCommand(stdout, stderr)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	return 0
}

// globalOptions are the flags every command shares, as kubectl names them.
type globalOptions struct {
	kubeconfig string
	context    string
	namespace  string
	stdout     io.Writer
	stderr     io.Writer
}

// clientConfig loads the kubeconfig as kubectl does: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config; --context and -n override the current context and its namespace.
func (g *globalOptions) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: g.context}
	overrides.Context.Namespace = g.namespace
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// defaultNamespace is -n, else the context's namespace, else "default"; reading the kubeconfig
// file is local, so it is done offline too, and a missing kubeconfig is no error.
func (g *globalOptions) defaultNamespace() string {
	if g.namespace != "" {
		return g.namespace
	}
	if ns, _, err := g.clientConfig().Namespace(); err == nil && ns != "" {
		return ns
	}
	return "default"
}

// connect returns a client of the kubeconfig's cluster.
func (g *globalOptions) connect() (client.Client, *rest.Config, error) {
	cfg, err := g.clientConfig().ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.Timeout = requestTimeout
	cfg.UserAgent = "kubectl-heal8s/" + version
	c, err := plugin.NewClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	return c, cfg, nil
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &globalOptions{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "kubectl-heal8s",
		Short: "Test heal8s's alert routing, list, explain, approve and retry its Remediations, pause its policies",
		Long: `kubectl heal8s works with heal8s, the operator that turns Prometheus alerts into reviewed fixes.

  route test   what would heal8s do with this alert? (the receiver's own routing, offline or against a cluster)
  explain      a Remediation's story: alert, rule, target, plan, pull request, phases and Events
  list         Remediations (--pending: the plans awaiting approval, with before and after values)
  approve      approve a plan awaiting approval (needs verb approve on remediations/approval)
  reject       reject a plan awaiting approval: a veto for the policy's vetoPeriod
  retry        try a Failed or Skipped Remediation again, within every safety guard
  pause        add a named pause request to a RemediationPolicy
  resume       remove one named pause request
  completion   shell completion (bash, zsh, fish, powershell)`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl heal8s"},
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help'", err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	pf.StringVar(&g.context, "context", "", "The kubeconfig context to use")
	pf.StringVarP(&g.namespace, "namespace", "n", "", "The namespace (default: the context's namespace)")

	root.AddCommand(newRouteCommand(g), newExplainCommand(g), newVersionCommand(g), newListCommand(g),
		newDecideCommand(g, v1beta1.ApprovalApproved), newDecideCommand(g, v1beta1.ApprovalRejected), newRetryCommand(g),
		newPauseCommand(g, true), newPauseCommand(g, false))
	return root
}

func newVersionCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(g.stdout, "kubectl-heal8s %s (%s, %s/%s)\n",
				version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

func newRouteCommand(g *globalOptions) *cobra.Command {
	route := &cobra.Command{
		Use:   "route",
		Short: "Work with heal8s's alert routing",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	route.AddCommand(newRouteTestCommand(g))
	return route
}

// routeTestOptions are route test's flags.
type routeTestOptions struct {
	filenames           []string
	alerts              []string
	output              string
	cluster             bool
	operatorNamespace   string
	protectedNamespaces string
	clusterName         string
	clusterLabel        string
}

func newRouteTestCommand(g *globalOptions) *cobra.Command {
	o := &routeTestOptions{}
	cmd := &cobra.Command{
		Use:   "test [-f POLICIES]... [--alert PAYLOAD]... [label=value ...]",
		Short: "Say what heal8s would do with an alert: the policy, rule, action and target, or why it skips it",
		Long: `Route alerts through RemediationPolicies with the receiver's own code, as amtool config routes test
does for Alertmanager's routes.

Policies come from -f (files or directories of YAML, v1beta1 or v1alpha1; - reads stdin), or, with
no -f, from the cluster. Alerts come from --alert (an Alertmanager webhook payload, exactly what
Alertmanager POSTs) or from label=value arguments forming one alert.

Offline (the default), what only the cluster can tell (which workload owns a pod, whether the pod
is the scraped exporter, a namespace's labels, an HPA's controller) is not checked and the result
says so. --cluster (or --kubeconfig, --context) reads the cluster as the receiver does.
--operator-namespace, --protected-namespaces, --cluster-name and --cluster-label mirror the
manager's flags of the same names: give them the values the manager runs with.`,
		Example: `  # Which rule takes kube-prometheus-stack's crash-loop alert, offline:
  kubectl heal8s route test -f examples/policies/kube-prometheus-stack.yaml \
    alertname=KubePodCrashLooping namespace=shop pod=checkout-5f7b8c9d4-abcde container=app

  # Every alert of a payload Alertmanager sent, against the cluster's policies and objects:
  kubectl heal8s route test --cluster --alert payload.json -o yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), g, cmd.Flags().Changed("kubeconfig") || cmd.Flags().Changed("context"), args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.filenames, "filename", "f", nil,
		"A file or directory of RemediationPolicies (YAML, multi-document; - for stdin); repeatable")
	f.StringArrayVar(&o.alerts, "alert", nil,
		"A file holding an Alertmanager webhook payload (- for stdin); repeatable")
	f.StringVarP(&o.output, "output", "o", "text", "Output format: text, yaml or json")
	f.BoolVar(&o.cluster, "cluster", false,
		"Read the current context's cluster: its RemediationPolicies when no -f is given, and pods, owners, namespaces")
	f.StringVar(&o.operatorNamespace, "operator-namespace", "heal8s-system",
		"The manager's --operator-namespace: its policies may act cluster-wide, and it is always protected")
	f.StringVar(&o.protectedNamespaces, "protected-namespaces", strings.Join(routing.DefaultProtectedNamespaces, ","),
		"The manager's --protected-namespaces: comma-separated path.Match patterns heal8s never changes")
	f.StringVar(&o.clusterName, "cluster-name", "",
		"The manager's --cluster-name: alerts whose cluster label names another cluster are skipped")
	f.StringVar(&o.clusterLabel, "cluster-label", "cluster",
		"The manager's --cluster-label: the alert label naming the cluster")
	return cmd
}

func (o *routeTestOptions) run(ctx context.Context, g *globalOptions, kubeconfigFlags bool, args []string) error {
	format, err := plugin.ParseFormat(o.output)
	if err != nil {
		return err
	}
	if n := countStdin(o.filenames) + countStdin(o.alerts); n > 1 {
		return errors.New("standard input (-) can be read only once: give -f - or --alert -, not both")
	}
	useCluster := o.cluster || kubeconfigFlags

	// Alerts first: a typo in a label is the cheapest error to report.
	var alerts []plugin.AlertInput
	if len(args) > 0 {
		a, err := plugin.AlertFromLabels(args)
		if err != nil {
			return err
		}
		alerts = append(alerts, a)
	}
	for _, path := range o.alerts {
		as, err := plugin.LoadAlerts(path)
		if err != nil {
			return err
		}
		alerts = append(alerts, as...)
	}
	if len(alerts) == 0 {
		return errors.New("no alert to route: give label=value arguments (alertname=... namespace=... pod=...) " +
			"or --alert PAYLOAD")
	}

	var (
		c        client.Client
		resolver routing.Resolver = plugin.OfflineResolver{}
		policies []*v1beta1.RemediationPolicy
		notes    []string
	)
	if useCluster {
		var cfg *rest.Config
		if c, cfg, err = g.connect(); err != nil {
			return err
		}
		resolver = plugin.NewClusterResolver(c)
		if len(o.filenames) == 0 {
			if policies, err = plugin.ListPolicies(ctx, c, ""); err != nil {
				return fmt.Errorf("reading the cluster's policies (%s): %w", cfg.Host, err)
			}
			kind := "RemediationPolicies"
			if len(policies) == 1 {
				kind = "RemediationPolicy"
			}
			notes = append(notes, fmt.Sprintf("%d %s read from the cluster at %s", len(policies), kind, cfg.Host))
		}
	}
	if len(o.filenames) > 0 {
		var ns []string
		if policies, ns, err = plugin.LoadPolicies(o.filenames); err != nil {
			return err
		}
		notes = append(notes, ns...)
		notes = append(notes, plugin.SetDefaultNamespace(policies, g.defaultNamespace())...)
	} else if !useCluster {
		return errors.New("no policies: give -f FILE|DIR (repeatable), or --cluster to use the cluster's RemediationPolicies")
	}

	table, reports, err := plugin.BuildTable(policies, routing.TableOptions{
		OperatorNamespace:   o.operatorNamespace,
		ProtectedNamespaces: splitList(o.protectedNamespaces),
		ClusterName:         o.clusterName,
		ClusterLabel:        o.clusterLabel,
	})
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(g.stderr, "note: %s\n", n)
	}
	if len(policies) == 0 {
		fmt.Fprintln(g.stderr, "warning: no RemediationPolicy: every alert is skipped (no_rule)")
	}
	for _, r := range reports {
		if r.Reason == v1beta1.CompileFailedReason {
			fmt.Fprintf(g.stderr, "warning: RemediationPolicy %s is not ready (Ready=False, %s): %s\n",
				r.Policy, r.Reason, r.Message)
		}
		for _, e := range r.Invalid {
			fmt.Fprintf(g.stderr, "warning: RemediationPolicy %s would be refused by heal8s's validating webhook: %v\n",
				r.Policy, e)
		}
	}

	results, routeErr := plugin.RouteTest(ctx, table, alerts, resolver)
	if err := plugin.PrintRouteResults(g.stdout, results, format); err != nil {
		return err
	}
	if routeErr != nil {
		return fmt.Errorf("some alerts could not be routed: %w", routeErr)
	}
	return nil
}

func countStdin(paths []string) int {
	n := 0
	for _, p := range paths {
		if p == plugin.Stdin {
			n++
		}
	}
	return n
}

// splitList splits a comma-separated flag as the manager does.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// explainOptions are explain's flags.
type explainOptions struct {
	output string
	events int
}

func newExplainCommand(g *globalOptions) *cobra.Command {
	o := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain REMEDIATION",
		Short: "Tell a Remediation's story: alert, rule, target, plan, pull request, phases and Events",
		Long: `Read a Remediation (heal8s.io/v1beta1) and the latest Events about it and print, for a person: the
alert (name, the labels that decided the target, when it started, how often it was sent), the
policy and rule, the action, the target, the phase and conditions, the plan (before, after,
reason, the patch), the pull request, the history and the Events. -o yaml|json prints the object.`,
		Example: `  kubectl heal8s explain crash-looping-3f9a1c2b7d -n shop
  kubectl heal8s explain remediation/crash-looping-3f9a1c2b7d -n shop -o yaml`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("explain takes one Remediation name, got %d arguments "+
					"(kubectl get remediations -A lists them)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd.Context(), g, args[0]) },
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "Output format: text, yaml or json (the object)")
	cmd.Flags().IntVar(&o.events, "events", plugin.DefaultMaxEvents, "How many of the latest Events to show (0: all)")
	return cmd
}

func (o *explainOptions) run(ctx context.Context, g *globalOptions, arg string) error {
	format, err := plugin.ParseFormat(o.output)
	if err != nil {
		return err
	}
	name, err := remediationName(arg)
	if err != nil {
		return err
	}
	if o.events < 0 {
		return fmt.Errorf("--events must be 0 or more, not %d", o.events)
	}
	c, _, err := g.connect()
	if err != nil {
		return err
	}
	key := types.NamespacedName{Namespace: g.defaultNamespace(), Name: name}
	e, err := plugin.Explain(ctx, c, key, o.events)
	if err != nil {
		return err
	}
	return plugin.PrintExplanation(g.stdout, e, format, time.Now())
}

// remediationName accepts NAME, or TYPE/NAME as kubectl does with the Remediation's names.
func remediationName(arg string) (string, error) {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok {
		kind, name = "", arg
	}
	switch strings.ToLower(kind) {
	case "", "remediation", "remediations", "rem", "remediation.heal8s.io", "remediations.heal8s.io":
	default:
		return "", fmt.Errorf("this command acts on Remediations, not %q", kind)
	}
	if name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("%q is not a Remediation name", arg)
	}
	return name, nil
}
