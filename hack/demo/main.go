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

// Command demo runs heal8s on a throw-away local control plane: etcd and kube-apiserver (the
// envtest binaries), the CRDs and webhooks installed, the manager started as a process with its
// webhooks served to the API server, and the samples applied. It prints how to look around with
// kubectl and, on Ctrl-C (or at once with DEMO_EXIT=1), stops everything it started and removes
// its temporary files.
//
// Run it with `make demo`, which builds the manager and the envtest binaries first.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/heal8s/heal8s/api/v1alpha1"
	"github.com/heal8s/heal8s/api/v1beta1"
)

type options struct {
	root      string // the project's root directory
	manager   string // the manager binary
	assets    string // the envtest binaries
	exitEarly bool   // stop right after set-up, for unattended runs
}

func main() {
	var o options
	flag.StringVar(&o.root, "root", ".", "The project's root directory (config/ is read from there).")
	flag.StringVar(&o.manager, "manager", "bin/manager", "The manager binary to run.")
	flag.StringVar(&o.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "The directory with kube-apiserver, etcd and kubectl.")
	flag.Parse()
	o.exitEarly = os.Getenv("DEMO_EXIT") == "1"

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo failed: %v\n", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n\033[1m==> "+format+"\033[0m\n", args...)
}

func run(ctx context.Context, o options) (err error) {
	if o.assets == "" {
		return errors.New("no envtest binaries: set KUBEBUILDER_ASSETS or run through 'make demo'")
	}
	tmp, err := os.MkdirTemp("", "heal8s-demo-")
	if err != nil {
		return fmt.Errorf("creating the demo's temporary directory: %w", err)
	}
	defer func() {
		step("Cleaning up")
		if rmErr := os.RemoveAll(tmp); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("removing %s: %w", tmp, rmErr))
		}
		fmt.Println("    removed", tmp)
	}()

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1beta1.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return fmt.Errorf("building the scheme: %w", err)
		}
	}

	step("Starting a local control plane (etcd, kube-apiserver) from %s", o.assets)
	env := &envtest.Environment{
		BinaryAssetsDirectory: o.assets,
		CRDDirectoryPaths:     []string{filepath.Join(o.root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join(o.root, "config", "webhook")},
		},
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		fmt.Println("    stopping the control plane")
		if stopErr := env.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stopping the control plane: %w", stopErr))
		}
	}()
	fmt.Println("    API server:", cfg.Host)
	fmt.Println("    CRDs installed: remediations.heal8s.io, remediationpolicies.heal8s.io (v1alpha1, v1beta1; stored as v1beta1)")

	user, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("creating the demo's admin user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing a kubeconfig: %w", err)
	}
	kubeconfigPath := filepath.Join(tmp, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", kubeconfigPath, err)
	}

	step("Starting the heal8s manager with its webhooks")
	probePort, err := freePort()
	if err != nil {
		return err
	}
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(tmp, "manager.log")
	mgr, err := startManager(o, kubeconfigPath, logPath, &env.WebhookInstallOptions, probePort, metricsPort)
	if err != nil {
		return err
	}
	defer mgr.stop()
	if err := waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort), mgr, logPath); err != nil {
		return err
	}
	fmt.Println("    manager ready; logs in", logPath)
	fmt.Printf("    metrics on http://127.0.0.1:%d/metrics\n", metricsPort)

	step("Applying the samples in config/samples")
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("creating a client: %w", err)
	}
	if err := applySamples(ctx, c, filepath.Join(o.root, "config", "samples")); err != nil {
		return err
	}

	kubectl := filepath.Join(o.assets, "kubectl")
	step("What heal8s shows (kubectl get remediationpolicies,remediations -A)")
	time.Sleep(2 * time.Second) // let the controllers write their first status
	get := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfigPath, "get", "remediationpolicies,remediations", "-A")
	get.Stdout, get.Stderr = os.Stdout, os.Stderr
	if err := get.Run(); err != nil {
		return fmt.Errorf("running kubectl: %w", err)
	}

	step("Look around")
	fmt.Printf("    export KUBECONFIG=%s\n", kubeconfigPath)
	fmt.Printf("    %s get remediationpolicies,remediations -A          # short names: rempol, rem\n", kubectl)
	fmt.Printf("    %s get remediations.v1alpha1.heal8s.io -A -o yaml   # the seed's shape, converted\n", kubectl)
	fmt.Printf("    %s explain remediationpolicy.spec.rules.action\n", kubectl)
	if o.exitEarly {
		fmt.Println("\n    DEMO_EXIT=1: stopping now.")
		return nil
	}
	fmt.Println("\n    Press Ctrl-C to stop the demo and remove everything it started.")
	<-ctx.Done()
	return nil
}

// process is a child process the demo started, waited for exactly once.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (p *process) stop() {
	fmt.Println("    stopping the manager")
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func startManager(o options, kubeconfig, logPath string, wh *envtest.WebhookInstallOptions, probePort, metricsPort int) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the manager's log: %w", err)
	}
	cmd := exec.Command(o.manager,
		"--webhook-cert-path="+wh.LocalServingCertDir,
		"--webhook-port="+strconv.Itoa(wh.LocalServingPort),
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(probePort),
		"--metrics-bind-address=127.0.0.1:"+strconv.Itoa(metricsPort),
		"--metrics-secure=false",
		"--leader-elect=false",
		"--operator-namespace=default",
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s (run 'make build' first): %w", o.manager, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func waitReady(ctx context.Context, url string, mgr *process, logPath string) error {
	deadline := time.After(60 * time.Second)
	for {
		resp, err := http.Get(url) //nolint:gosec // the demo's own loopback probe
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-mgr.done:
			return fmt.Errorf("the manager exited before it was ready (%v); see %s", mgr.err, logPath)
		case <-deadline:
			return fmt.Errorf("the manager was not ready within a minute; see %s", logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func applySamples(ctx context.Context, c client.Client, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*_*.yaml"))
	if err != nil {
		return fmt.Errorf("listing samples: %w", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
			return fmt.Errorf("decoding %s: %w", f, err)
		}
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("applying %s: %w", f, err)
		}
		fmt.Printf("    created %s %s/%s (%s)\n", obj.GetKind(), obj.GetNamespace(), obj.GetName(), obj.GetAPIVersion())
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
