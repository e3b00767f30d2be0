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

// Command demo tells heal8s's story on a throw-away local control plane: an OOMKill alert goes
// through a real Alertmanager to the receiver, becomes a Remediation, a pull request against the
// manifest in (a fake) GitHub, or GitLab with PROVIDER=gitlab, a merge, a rollout and a resolved alert. Every phase is printed as
// it happens. Ctrl-C, or DEMO_EXIT=1 for an unattended run, stops every process it started and
// removes its temporary files.
//
// Run it with `make demo` (or `make demo STRATEGY=Direct` to patch the live object instead;
// `make demo LAYOUT=overlay` for a kustomize base with overlays, found from Flux, where the pull
// request carries its proof by rendering).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/test/harness"
)

const (
	operatorNamespace = "heal8s-system"
	appNamespace      = "demo"
	repository        = "acme/deploy"
	manifestPath      = "apps/demo/web.yaml"
)

type options struct {
	root, manager, alertmanager, assets string
	strategy                            v1beta1.Strategy
	provider                            v1beta1.GitProvider
	layout                              string
	exitEarly                           bool
}

func main() {
	var o options
	var strategy string
	flag.StringVar(&o.root, "root", ".", "The project's root directory.")
	flag.StringVar(&o.manager, "manager", "bin/manager", "The manager binary.")
	flag.StringVar(&o.alertmanager, "alertmanager", "bin/alertmanager", "The Alertmanager binary.")
	flag.StringVar(&o.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "The directory with the envtest binaries.")
	flag.StringVar(&strategy, "strategy", envOr("STRATEGY", string(v1beta1.StrategyGitOps)), "GitOps or Direct.")
	var provider string
	flag.StringVar(&provider, "provider", envOr("PROVIDER", string(v1beta1.GitProviderGitHub)), "github or gitlab: the fake Git host the pull (merge) request goes to.")
	flag.StringVar(&o.layout, "layout", envOr("LAYOUT", LayoutPlain), "plain (one annotated manifest) or overlay (a kustomize base with overlays, applied by a Flux Kustomization).")
	flag.Parse()
	o.strategy = v1beta1.Strategy(strategy)
	o.provider = v1beta1.GitProvider(provider)
	if o.provider != v1beta1.GitProviderGitHub && o.provider != v1beta1.GitProviderGitLab {
		fmt.Fprintf(os.Stderr, "PROVIDER must be github or gitlab, not %q\n", provider)
		os.Exit(2)
	}
	o.exitEarly = os.Getenv("DEMO_EXIT") == "1"
	if o.strategy != v1beta1.StrategyGitOps && o.strategy != v1beta1.StrategyDirect {
		fmt.Fprintf(os.Stderr, "STRATEGY must be GitOps or Direct, not %q\n", strategy)
		os.Exit(2)
	}

	if o.layout == LayoutOverlay && (o.strategy != v1beta1.StrategyGitOps || o.provider != v1beta1.GitProviderGitHub) {
		fmt.Fprintln(os.Stderr, "LAYOUT=overlay runs with STRATEGY=GitOps and PROVIDER=github")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo failed: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	lay, err := newLayout(o.root, o.layout)
	if err != nil {
		return err
	}
	files := make(map[string]string, len(lay.files))
	maps.Copy(files, lay.files)
	host := "a fake GitHub"
	if o.provider == v1beta1.GitProviderGitLab {
		host = "a fake GitLab"
	}
	step("Starting a local control plane, %s, the heal8s manager and Alertmanager", host)
	st, err := harness.StartStack(ctx, harness.StackOptions{
		Root: o.root, Assets: o.assets, Manager: o.manager, Alertmanager: o.alertmanager,
		OperatorNamespace: operatorNamespace, AppNamespaces: []string{appNamespace},
		Repository: repository, Files: files, PollInterval: 2 * time.Second, GitProvider: o.provider,
	})
	if err != nil {
		return err
	}
	defer func() {
		step("Stopping everything the demo started")
		if stopErr := st.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		fmt.Println("    stopped; temporary files removed")
	}()
	c := st.ControlPlane.Client
	say("API server       %s", st.ControlPlane.Config.Host)
	if st.ControlPlane.HasControllerManager {
		say("controllers      kube-controller-manager (real ReplicaSets and rollouts); a stand-in kubelet marks Pods ready")
	} else {
		say("controllers      none built: a stand-in marks rollouts finished (make setup-envtest-full builds kube-controller-manager)")
	}
	if st.GitLab != nil {
		say("fake GitLab      %s (project %s)", st.GitLab.URL(), repository)
	} else {
		say("fake GitHub      %s (repository %s)", st.GitHub.URL(), repository)
	}
	say("heal8s receiver  %s (bearer token in %s)", st.Manager.ReceiverURL, st.TokenFile)
	if st.GitLab != nil {
		say("GitLab webhook   %s (its own port; X-Gitlab-Token in %s)", st.Manager.GitLabWebhookURL, st.GitLabWebhookSecretFile)
	} else {
		say("GitHub webhook   %s (its own port; HMAC secret in %s)", st.Manager.GitHubWebhookURL, st.GitHubWebhookSecretFile)
	}
	// The dashboard wants a Kubernetes token: a ServiceAccount that may read heal8s objects.
	dashboardToken, err := st.DashboardTokenFile(ctx)
	if err != nil {
		return err
	}
	say("dashboard        %s (sign in with the token in %s)", st.Manager.DashboardURL, dashboardToken)
	say("Alertmanager     %s", st.Alertmanager.URL)

	if lay.name == LayoutOverlay {
		step("Installing Flux's CRDs and the objects Flux would have: the production overlay of %s", repository)
		if err := lay.installFlux(ctx, st, o.root); err != nil {
			return err
		}
	}
	step("Deploying the demo application from %s@main (as Flux would)", repository)
	if err := lay.deploy(ctx, st); err != nil {
		return err
	}
	pod, err := waitRolledOut(ctx, c, "web")
	if err != nil {
		return err
	}
	say("deployment demo/web is available; pod %s runs with a 256Mi memory limit", pod)

	step("Creating a RemediationPolicy (%s): OOMKilled containers get 25%% more memory, at most 2Gi", o.strategy)
	if lay.discovered {
		say("the policy names no repository and no path: heal8s follows the Deployment's Flux labels")
	}
	if err := createPolicy(ctx, st, o.strategy, lay.discovered); err != nil {
		return err
	}

	alert := harness.Alert{
		Labels: map[string]string{
			"alertname": "KubePodOOMKilled", "namespace": appNamespace, "pod": pod, "container": "app",
			"severity": "warning", "job": "kube-state-metrics",
		},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("Container app in pod %s/%s was OOMKilled", appNamespace, pod),
			"runbook_url": "https://runbooks.example/KubePodOOMKilled",
		},
		StartsAt:     time.Now().UTC(),
		GeneratorURL: "http://prometheus.example/graph?g0.expr=kube_pod_container_status_last_terminated_reason%7Breason%3D%22OOMKilled%22%7D",
	}
	step("Prometheus fires KubePodOOMKilled into Alertmanager; Alertmanager routes it to heal8s")
	if err := st.Alertmanager.Fire(ctx, alert); err != nil {
		return err
	}

	step("Following the Remediation")
	rem, err := follow(ctx, st, alert, lay)
	if err != nil {
		return err
	}

	step("Summary")
	summarize(ctx, st, rem)

	kubectl := st.ControlPlane.Kubectl
	step("Look around (while the demo runs)")
	say("export KUBECONFIG=%s", st.ControlPlane.Kubeconfig)
	say("%s get remediationpolicies,remediations -A     # short names: rempol, rem", kubectl)
	say("%s describe remediation -n %s                  # status, plan and Events", kubectl, appNamespace)
	say("%s get remediations -n %s -o yaml              # the whole object: plan, history, pull request", kubectl, appNamespace)
	say("open %s and paste the token in %s   # the dashboard", st.Manager.DashboardURL, dashboardToken)
	say("%s -n %s create token %s   # another dashboard token", kubectl, operatorNamespace, harness.DashboardViewer)
	say("logs: %s", filepath.Dir(st.Manager.Log))
	if o.exitEarly {
		say("DEMO_EXIT=1: stopping now.")
		return nil
	}
	say("Press Ctrl-C to stop the demo and remove everything it started.")
	<-ctx.Done()
	return nil
}

// follow prints each phase of the Remediation as it happens and plays the humans and tools
// around heal8s: the reviewer who merges, Flux which applies main, Prometheus which resolves
// the alert once the rollout is healthy.
func follow(ctx context.Context, st *harness.Stack, alert harness.Alert, lay *layout) (*v1beta1.Remediation, error) {
	c := st.ControlPlane.Client
	deadline := time.Now().Add(5 * time.Minute)
	printed, announced, merged, applied, resolved := 0, false, false, false, false
	for {
		if time.Now().After(deadline) {
			return nil, errors.New("the Remediation did not finish within five minutes; see the logs")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		list := &v1beta1.RemediationList{}
		if err := c.List(ctx, list, client.InNamespace(appNamespace)); err != nil {
			return nil, fmt.Errorf("listing Remediations: %w", err)
		}
		if len(list.Items) == 0 {
			continue
		}
		rem := &list.Items[0]
		if !announced {
			announced = true
			say("Remediation %s/%s created by the receiver (alert %s, fingerprint %s)",
				rem.Namespace, rem.Name, rem.Spec.Alert.Name, rem.Spec.Alert.Fingerprint)
			say("    target %s %s, container %s; action %s; strategy %s",
				rem.Spec.Target.Kind, rem.Spec.Target.Name, rem.Spec.Target.Container, rem.Spec.Action.Type(), rem.Spec.Strategy)
		}
		for _, h := range rem.Status.History[min(printed, len(rem.Status.History)):] {
			say("%s  %-13s %s", h.Time.Format("15:04:05"), h.Phase, h.Reason)
			if h.Phase == v1beta1.PhasePlanning || h.Phase == rem.Status.Phase {
				if msg := rem.Status.Message; msg != "" && h.Phase == rem.Status.Phase {
					say("                        %s", msg)
				}
			}
			if h.Phase == v1beta1.PhaseProposed && rem.Status.Plan != nil {
				printPlan(rem.Status.Plan)
			}
		}
		printed = max(printed, len(rem.Status.History))

		switch rem.Status.Phase {
		case v1beta1.PhaseAwaitingMerge:
			if !merged && rem.Status.PullRequest != nil {
				if err := lay.review(st, rem); err != nil {
					return nil, err
				}
				if err := merge(st, rem.Status.PullRequest); err != nil {
					return nil, err
				}
				merged = true
			}
		case v1beta1.PhaseApplying:
			if !applied {
				say("    Flux notices the new commit on main and applies it")
				if err := lay.deploy(ctx, st); err != nil {
					return nil, err
				}
				applied = true
			}
		case v1beta1.PhaseVerifying:
			if !resolved {
				if _, err := waitRolledOut(ctx, c, "web"); err != nil {
					return nil, err
				}
				d := &appsv1.Deployment{}
				if err := c.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: "web"}, d); err == nil {
					say("    rollout finished: %d/%d pods available with a %s memory limit",
						d.Status.AvailableReplicas, d.Status.Replicas, memoryLimit(d))
				}
				say("    the container stops being OOMKilled; Prometheus resolves the alert")
				if err := st.Alertmanager.Resolve(ctx, alert); err != nil {
					return nil, err
				}
				resolved = true
			}
		case v1beta1.PhaseSucceeded, v1beta1.PhaseFailed, v1beta1.PhaseSkipped, v1beta1.PhaseSuperseded:
			return rem, nil
		case v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseAwaitingApproval, v1beta1.PhaseProposed, "":
		}
	}
}

func printPlan(p *v1beta1.Plan) {
	keys := make([]string, 0, len(p.After))
	for k := range p.After {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		say("                        %s: %s -> %s", k, orNone(p.Before[k]), p.After[k])
	}
	if p.Reason != "" {
		say("                        why: %s", p.Reason)
	}
}

func prKind(pr *v1beta1.PullRequestStatus) (string, string) {
	if pr.Provider == v1beta1.GitProviderGitLab {
		return "merge request", fmt.Sprintf("!%d", pr.Number)
	}
	return "pull request", fmt.Sprintf("#%d", pr.Number)
}

// showDiff prints the pull request's change of one file.
func showDiff(st *harness.Stack, pr *v1beta1.PullRequestStatus, file string) error {
	kind, ref := prKind(pr)
	say("    %s %s on branch %s: %s", kind, ref, pr.Branch, pr.URL)
	before, err := st.Git().ReadFile(repository, "main", file)
	if err != nil {
		before = "" // a file the pull request adds
	}
	after, err := st.Git().ReadFile(repository, pr.Branch, file)
	if err != nil {
		return fmt.Errorf("reading %s on %s: %w", file, pr.Branch, err)
	}
	say("    the diff a reviewer sees (comments and layout kept):")
	for l := range strings.SplitSeq(strings.TrimRight(harness.UnifiedDiff(file, before, after), "\n"), "\n") {
		say("      %s", l)
	}
	return nil
}

func merge(st *harness.Stack, pr *v1beta1.PullRequestStatus) error {
	kind, ref := prKind(pr)
	say("    a reviewer approves and merges %s %s", kind, ref)
	if err := st.Git().MergePR(repository, int(pr.Number)); err != nil {
		return fmt.Errorf("merging %s %s: %w", kind, ref, err)
	}
	return nil
}

func createPolicy(ctx context.Context, st *harness.Stack, strategy v1beta1.Strategy, discovered bool) error {
	p := &v1beta1.RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: appNamespace},
		Spec: v1beta1.RemediationPolicySpec{
			Strategy: strategy,
			Rules: []v1beta1.Rule{{
				Name:     "oom",
				Matchers: []string{`alertname="KubePodOOMKilled"`},
				Action:   v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}},
			}},
			Verify: v1beta1.VerifySpec{Window: &metav1.Duration{Duration: 2 * time.Minute}},
		},
	}
	if strategy == v1beta1.StrategyGitOps {
		p.Spec.Git = st.GitSpec()
		if discovered {
			p.Spec.Git.Repository = ""
		}
	}
	c := st.ControlPlane.Client
	if err := c.Create(ctx, p); err != nil {
		return fmt.Errorf("creating the policy: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(p), p); err == nil {
			if cond := meta.FindStatusCondition(p.Status.Conditions, v1beta1.ConditionReady); cond != nil {
				say("policy demo/demo: Ready=%s (%s), %d rule compiled into the routing table", cond.Status, cond.Reason, p.Status.CompiledRules)
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the policy was not compiled within 30s; see the manager's log")
}

// waitRolledOut waits until the Deployment is fully rolled out and returns one of its pods.
func waitRolledOut(ctx context.Context, c client.Client, name string) (string, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: name}, d); err == nil {
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			s := d.Status
			if s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want {
				return podOf(ctx, c, d), nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("deployment %s/%s did not roll out within a minute", appNamespace, name)
}

func podOf(ctx context.Context, c client.Client, d *appsv1.Deployment) string {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(appNamespace), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err == nil {
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				return p.Name
			}
		}
	}
	return d.Name + "-0000000000-demo0" // no kube-controller-manager: a name the receiver resolves by its ReplicaSet part
}

func memoryLimit(d *appsv1.Deployment) string {
	for _, ctr := range d.Spec.Template.Spec.Containers {
		if ctr.Name == "app" {
			q := ctr.Resources.Limits[corev1.ResourceMemory]
			return q.String()
		}
	}
	return "?"
}

func summarize(ctx context.Context, st *harness.Stack, rem *v1beta1.Remediation) {
	say("Remediation %s/%s ended %s (%s)", rem.Namespace, rem.Name, rem.Status.Phase, rem.Status.Reason)
	say("    %s", rem.Status.Message)
	if rem.Status.StartedAt != nil && rem.Status.CompletedAt != nil {
		say("    from alert to %s in %s", rem.Status.Phase, rem.Status.CompletedAt.Sub(rem.CreationTimestamp.Time).Round(time.Second))
	}
	if pr := rem.Status.PullRequest; pr != nil {
		say("    pull request #%d (%s): %s", pr.Number, pr.State, pr.URL)
	}
	if p := rem.Status.Plan; p != nil {
		printPlan(p)
	}
	say("    alert sent %d time(s) by Alertmanager; resolved at %s", rem.Status.AlertCount, timeOrNever(rem.Status.AlertResolvedAt))
	say("    metrics (%s):", st.Manager.MetricsURL)
	for _, l := range heal8sMetrics(ctx, st.Manager.MetricsURL) {
		say("      %s", l)
	}
}

func heal8sMetrics(ctx context.Context, url string) []string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return []string{"(metrics unavailable: " + err.Error() + ")"}
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	var out []string
	for l := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(l, "heal8s_") && !strings.Contains(l, "_bucket{") && !strings.HasSuffix(l, " 0") {
			out = append(out, l)
		}
	}
	return out
}

func step(format string, args ...any) {
	fmt.Printf("\n\033[1m==> "+format+"\033[0m\n", args...)
}

func say(format string, args ...any) { fmt.Printf("    "+format+"\n", args...) }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func timeOrNever(t *metav1.Time) string {
	if t == nil {
		return "never"
	}
	return t.Format("15:04:05")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
