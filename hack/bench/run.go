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
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/test/harness"
)

const (
	operatorNamespace = "heal8s-system"
	nsRaw             = "bench-raw"
	nsIntake          = "bench-intake"
	nsStorm           = "bench-storm"
	nsHeal            = "bench-heal"
	nsMem             = "bench-mem"
	nsRetention       = "bench-retention"
	nsSteady          = "bench-steady"
	nsRollback        = "bench-rollback"

	// managerUser is who the manager is to the API server: the name its ServiceAccount has when
	// installed from config/default (namespace heal8s-system, namePrefix heal8s-, ServiceAccount
	// controller-manager in config/rbac), so admission webhooks' matchConditions on the
	// requesting user tell its writes apart from everyone else's.
	managerUser = "system:serviceaccount:" + operatorNamespace + ":heal8s-controller-manager"
)

// bench is one run: the control plane, an unthrottled admin client, the manager and what the
// rows measured so far.
type bench struct {
	o      options
	cp     *harness.ControlPlane
	c      client.Client
	mgr    *harness.Manager
	token  string
	nextFP uint64
	rawSeq float64 // ConfigMaps/s, sequential
	rawPar float64 // ConfigMaps/s, 8-way parallel
	// rawRemPar and rawRemSeq are Remediations/s, 8-way parallel and sequential, through the
	// manager's webhooks.
	rawRemPar float64
	rawRemSeq float64
	// mc is a client with the manager's identity (managerUser), whose Remediation creates skip
	// the admission webhooks (their matchConditions); rawMgrPar and rawMgrSeq are its
	// Remediations/s, the fair reference for the receiver's own creates.
	mc                   client.Client
	rawMgrPar, rawMgrSeq float64
	rows                 []row
	started              time.Time
	// pid is the manager's process id, found once (managerPID).
	pid string
}

func run(ctx context.Context, o options) (err error) {
	b := &bench{o: o, started: time.Now()}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "heal8s-bench-"); err != nil {
			return fmt.Errorf("creating a temporary directory: %w", err)
		}
		defer func() {
			if rmErr := os.RemoveAll(dir); rmErr != nil {
				err = errors.Join(err, rmErr)
			}
		}()
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if o.json != "" {
		defer func() {
			if jsonErr := writeJSON(o.json, b.rows); jsonErr != nil {
				err = errors.Join(err, jsonErr)
			}
		}()
	}
	webhooks, source, err := webhookManifests(ctx, o, dir)
	if err != nil {
		return err
	}
	progress("starting a control plane (etcd, kube-apiserver, heal8s CRDs and webhooks from %s)", source)
	b.cp, err = harness.StartControlPlane(ctx, harness.ControlPlaneOptions{Root: o.root, Assets: o.assets, Dir: dir, WebhookPaths: webhooks})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.cp.Stop()) }()
	managerKubeconfig, err := b.managerKubeconfig(dir)
	if err != nil {
		return err
	}

	// envtest's rest.Config has no QPS, so client-go would throttle it to 5 requests/s; the
	// reference must measure the API server, not a client-side limiter. The manager's config
	// (controller-runtime's loader) disables the limiter the same way.
	cfg := rest.CopyConfig(b.cp.Config)
	cfg.QPS, cfg.Burst = -1, 0
	if b.c, err = client.New(cfg, client.Options{Scheme: b.cp.Scheme}); err != nil {
		return fmt.Errorf("creating an unthrottled client: %w", err)
	}
	for _, ns := range []string{operatorNamespace, nsRaw, nsIntake, nsStorm, nsHeal, nsMem, nsRetention, nsSteady, nsRollback} {
		if err := b.cp.EnsureNamespace(ctx, ns, nil); err != nil {
			return err
		}
	}

	// The memory row's Pods name the namespace's default ServiceAccount, which no controller
	// creates here.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: nsMem}}
	if err := b.c.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the ServiceAccount %s/default: %w", nsMem, err)
	}

	if err := b.raw(ctx); err != nil {
		return err
	}

	tokenFile := filepath.Join(dir, "receiver-token")
	b.token = "bench-token-" + fmt.Sprint(time.Now().UnixNano())
	if err := os.WriteFile(tokenFile, []byte(b.token), 0o600); err != nil {
		return fmt.Errorf("writing the receiver token: %w", err)
	}
	progress("starting the manager")
	b.mgr, err = harness.StartManager(ctx, harness.ManagerOptions{
		Binary: o.manager, Kubeconfig: managerKubeconfig, Webhook: b.cp.WebhookOptions(), Dir: dir,
		OperatorNamespace: operatorNamespace, ReceiverTokenFile: tokenFile, PollInterval: time.Second,
		// One replica: no lease renewals among the counted writes.
		ExtraArgs: managerArgs(o),
		ExtraEnv:  managerEnv(o),
	})
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := b.mgr.Stop(15 * time.Second); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "the manager's log was %s (removed with the run's directory)\n", b.mgr.Log)
		}
	}()
	for _, ns := range []string{nsIntake, nsStorm, nsHeal, nsMem} {
		if err := b.createPolicy(ctx, ns); err != nil {
			return err
		}
	}
	if err := b.rawRemediations(ctx); err != nil {
		return err
	}

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"intake", b.intake}, {"storm", b.storm}, {"healing", b.heal}, {"memory", b.memory}, {"gitops", b.gitops},
		{"retention", b.retention}, {"steady", b.steady},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			b.print()
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	b.print()
	return b.apiserverLatencies(ctx)
}

// alertName is the alert each namespace's policy matches.
func alertName(ns string) string { return "Bench" + strings.TrimPrefix(ns, "bench-") }

// createPolicy writes a Direct ScaleUp policy whose safety limits are far above what the run
// sends, so the figures measure heal8s's throughput and not its rate limits (defaults: 5 at once,
// 10 an hour, 30 minutes cooldown, 3 per target), and whose verify window is one second.
func (b *bench) createPolicy(ctx context.Context, ns string) error {
	return b.createPolicyWith(ctx, ns, func(*v1beta1.RemediationPolicy) {})
}

// createPolicyWith writes createPolicy's policy as changed by edit and waits until it is ready.
func (b *bench) createPolicyWith(ctx context.Context, ns string, edit func(*v1beta1.RemediationPolicy)) error {
	p := &v1beta1.RemediationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: ns},
		Spec: v1beta1.RemediationPolicySpec{
			Strategy: v1beta1.StrategyDirect,
			Rules: []v1beta1.Rule{{
				Name:     "scale",
				Matchers: []string{fmt.Sprintf("alertname=%q", alertName(ns))},
				Action:   v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{MaxReplicas: ptr[int32](100)}},
			}},
			Safety: v1beta1.SafetySpec{
				Cooldown:      &metav1.Duration{Duration: time.Second},
				MaxConcurrent: ptr[int32](100000),
				MaxPerHour:    ptr[int32](100000),
				MaxPerTarget:  ptr[int32](100),
			},
			Verify: v1beta1.VerifySpec{Window: &metav1.Duration{Duration: benchWindow}},
		},
	}
	edit(p)
	if err := b.c.Create(ctx, p); err != nil {
		return fmt.Errorf("creating the policy in %s: %w", ns, err)
	}
	return poll(ctx, 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		if err := b.c.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return false, nil
		}
		c := meta.FindStatusCondition(p.Status.Conditions, v1beta1.ConditionReady)
		if c != nil && c.Status != metav1.ConditionTrue {
			return false, fmt.Errorf("policy %s/bench is not ready: %s", ns, c.Message)
		}
		return c != nil, nil
	})
}

func ptr[T any](v T) *T { return &v }

// poll calls f every interval until it is done, fails, or the timeout or ctx ends.
func poll(ctx context.Context, timeout, interval time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}

// managerKubeconfig writes a kubeconfig for managerUser, a member of system:masters (the rights
// of the cluster-admin role binding) and of the ServiceAccount groups, and returns its path.
func (b *bench) managerKubeconfig(dir string) (string, error) {
	user, err := b.cp.Env.AddUser(envtest.User{Name: managerUser,
		Groups: []string{"system:masters", "system:serviceaccounts", "system:serviceaccounts:" + operatorNamespace}}, nil)
	if err != nil {
		return "", fmt.Errorf("creating the manager's user %s: %w", managerUser, err)
	}
	mcfg := rest.CopyConfig(user.Config())
	mcfg.QPS, mcfg.Burst = -1, 0
	if b.mc, err = client.New(mcfg, client.Options{Scheme: b.cp.Scheme}); err != nil {
		return "", fmt.Errorf("creating a client as the manager's user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("writing the manager's kubeconfig: %w", err)
	}
	path := filepath.Join(dir, "manager.kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// webhookManifests returns where the control plane reads the webhook configurations from, and
// says which: config/default rendered by kustomize when --kustomize names an executable (the
// configurations as installed, with every kustomize patch and matchConditions), else the
// generated files in config/webhook as they are.
func webhookManifests(ctx context.Context, o options, dir string) ([]string, string, error) {
	raw := filepath.Join(o.root, "config", "webhook")
	if o.kustomize == "" {
		return []string{raw}, "config/webhook", nil
	}
	if _, err := os.Stat(o.kustomize); err != nil {
		progress("no %s (make kustomize): reading config/webhook as it is", o.kustomize)
		return []string{raw}, "config/webhook", nil
	}
	out, err := exec.CommandContext(ctx, o.kustomize, "build", filepath.Join(o.root, "config", "default")).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = strings.TrimSpace(string(ee.Stderr))
		}
		return nil, "", fmt.Errorf("rendering config/default with %s: %s: %w", o.kustomize, stderr, err)
	}
	docs, err := webhookDocuments(out)
	if err != nil {
		return nil, "", err
	}
	if len(docs) == 0 {
		return nil, "", errors.New("config/default renders no webhook configuration")
	}
	wdir := filepath.Join(dir, "webhook")
	if err := os.MkdirAll(wdir, 0o750); err != nil {
		return nil, "", fmt.Errorf("creating %s: %w", wdir, err)
	}
	path := filepath.Join(wdir, "webhooks.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")), 0o600); err != nil {
		return nil, "", fmt.Errorf("writing %s: %w", path, err)
	}
	return []string{path}, "config/default (kustomize build)", nil
}

// webhookDocuments keeps the Mutating- and ValidatingWebhookConfigurations of a multi-document
// YAML stream.
func webhookDocuments(stream []byte) ([]string, error) {
	var docs []string
	for doc := range strings.SplitSeq(string(stream), "\n---\n") {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("reading the rendered configuration: %w", err)
		}
		if tm.APIVersion == "admissionregistration.k8s.io/v1" && (tm.Kind == "MutatingWebhookConfiguration" || tm.Kind == "ValidatingWebhookConfiguration") {
			docs = append(docs, doc)
		}
	}
	return docs, nil
}

// benchWindow is the verify window of the benchmark's policies.
const benchWindow = time.Second

// pprofAddr is where the manager serves pprof when --heap-profile asks for a profile.
var pprofAddr = "127.0.0.1:16060"

func managerEnv(o options) []string {
	if o.memLimit == "" {
		return nil
	}
	return []string{"GOMEMLIMIT=" + o.memLimit}
}

func managerArgs(o options) []string {
	args := []string{"--leader-elect=false", "--receiver-flush-interval=" + o.flush.String()}
	if o.heapProfile != "" || o.pprof {
		args = append(args, "--pprof-bind-address="+pprofAddr)
	}
	return append(args, o.managerArgs...)
}

// writeHeapProfile saves the manager's heap profile (after a GC) to path.
func writeHeapProfile(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+pprofAddr+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return fmt.Errorf("asking for the heap profile: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reading the manager's heap profile: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reading the manager's heap profile: HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the manager's heap profile: %w", err)
	}
	if err := os.WriteFile(path, body, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	progress("row 5: the manager's heap profile is in %s (go tool pprof -top %s)", path, path)
	return nil
}
