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

// Package harness starts a local heal8s installation from the project's own binaries: a control
// plane (etcd, kube-apiserver and, where built, kube-controller-manager), the CRDs and webhooks,
// a stand-in kubelet that marks Pods ready, the manager as a process, a fake GitHub and a real
// Alertmanager. `make demo`, the e2e suite and the benchmarks share it, so what the demo shows
// is what the tests prove.
package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/heal8s/heal8s/api/v1alpha1"
	"github.com/heal8s/heal8s/api/v1beta1"
)

// ControlPlaneOptions configures a local control plane.
type ControlPlaneOptions struct {
	// Root is the project's root directory; config/ is read from there.
	Root string
	// Assets is the directory with kube-apiserver, etcd, kubectl and, optionally,
	// kube-controller-manager.
	Assets string
	// Dir holds the kubeconfig and logs; it must exist.
	Dir string
	// ControllerManager starts kube-controller-manager when its binary is in Assets, so that
	// Deployments get real ReplicaSets, revisions and rollout status.
	ControllerManager bool
	// Kubeconfig, when set, uses the existing cluster it points at instead of starting a control
	// plane: the CRDs are installed there, the manager runs without webhooks, and its kubelets
	// and controllers are the cluster's own.
	Kubeconfig string
	// WebhookPaths are the files or directories the webhook configurations are read from
	// (pointed at the local webhook server); empty reads config/webhook under Root.
	WebhookPaths []string
}

// ControlPlane is a running local control plane with heal8s's CRDs and webhook configurations.
type ControlPlane struct {
	Env        *envtest.Environment
	Config     *rest.Config
	Client     client.Client
	Scheme     *runtime.Scheme
	Kubeconfig string
	// Kubectl is the kubectl binary matching the API server.
	Kubectl string
	// HasControllerManager tells whether kube-controller-manager runs.
	HasControllerManager bool
	// Existing is true for a cluster the harness did not start (ControlPlaneOptions.Kubeconfig).
	Existing bool

	kcm *Process
}

// NewScheme is the scheme heal8s's own objects and the built-in ones decode with. It keeps the
// unserved v1alpha1 because envtest reads the scheme to point each CRD's conversion at the
// manager's webhook, as config/crd does in a cluster.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1beta1.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building the scheme: %w", err)
		}
	}
	return s, nil
}

// StartControlPlane starts etcd and kube-apiserver, installs the CRDs and webhook
// configurations (pointing at a local webhook server the manager serves), writes an admin
// kubeconfig and, if asked and available, starts kube-controller-manager.
func StartControlPlane(ctx context.Context, o ControlPlaneOptions) (*ControlPlane, error) {
	if o.Kubeconfig != "" {
		return useCluster(o)
	}
	if o.Assets == "" {
		return nil, errors.New("no envtest binaries: set KUBEBUILDER_ASSETS or run through make")
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	webhookPaths := o.WebhookPaths
	if len(webhookPaths) == 0 {
		webhookPaths = []string{filepath.Join(o.Root, "config", "webhook")}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: o.Assets,
		CRDDirectoryPaths:     []string{filepath.Join(o.Root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: webhookPaths,
		},
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	cp := &ControlPlane{Env: env, Config: cfg, Scheme: scheme, Kubectl: filepath.Join(o.Assets, "kubectl")}
	if err := cp.init(ctx, o); err != nil {
		return nil, errors.Join(err, cp.Stop())
	}
	return cp, nil
}

func (cp *ControlPlane) init(ctx context.Context, o ControlPlaneOptions) error {
	user, err := cp.Env.AddUser(envtest.User{Name: "heal8s-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("creating an admin user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing a kubeconfig: %w", err)
	}
	cp.Kubeconfig = filepath.Join(o.Dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", cp.Kubeconfig, err)
	}
	if cp.Client, err = client.New(cp.Config, client.Options{Scheme: cp.Scheme}); err != nil {
		return fmt.Errorf("creating a client: %w", err)
	}
	if !o.ControllerManager {
		return nil
	}
	kcm := filepath.Join(o.Assets, "kube-controller-manager")
	if _, err := os.Stat(kcm); err != nil {
		return nil // not built: Deployments then get no ReplicaSets, and callers fall back
	}
	cp.kcm, err = StartProcess(ctx, ProcessOptions{
		Name:   "kube-controller-manager",
		Binary: kcm,
		Args: []string{
			"--kubeconfig=" + cp.Kubeconfig,
			"--leader-elect=false",
			"--controllers=deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller,garbage-collector-controller,namespace-controller",
			"--secure-port=0",
			"--concurrent-deployment-syncs=5",
		},
		Log: filepath.Join(o.Dir, "kube-controller-manager.log"),
	})
	if err != nil {
		return err
	}
	cp.HasControllerManager = true
	return nil
}

// useCluster connects to an existing cluster and installs heal8s's CRDs there.
func useCluster(o ControlPlaneOptions) (*ControlPlane, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", o.Kubeconfig, err)
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(o.Root, "config", "crd", "bases")}, ErrorIfPathMissing: true,
	}); err != nil {
		return nil, fmt.Errorf("installing the CRDs: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("creating a client: %w", err)
	}
	return &ControlPlane{Config: cfg, Client: c, Scheme: scheme, Kubeconfig: o.Kubeconfig, Kubectl: "kubectl",
		HasControllerManager: true, Existing: true}, nil
}

// Stop stops everything the control plane started; an existing cluster is left running.
func (cp *ControlPlane) Stop() error {
	if cp.Existing {
		return nil
	}
	var errs []error
	if cp.kcm != nil {
		errs = append(errs, cp.kcm.Stop(10*time.Second))
	}
	if err := cp.Env.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stopping the control plane: %w", err))
	}
	return errors.Join(errs...)
}

// WebhookOptions are where the manager must serve its webhooks for the API server to reach them;
// nil for an existing cluster, whose API server cannot reach a manager on this machine.
func (cp *ControlPlane) WebhookOptions() *envtest.WebhookInstallOptions {
	if cp.Existing {
		return nil
	}
	return &cp.Env.WebhookInstallOptions
}

// EnsureNamespace creates a namespace if it does not exist.
func (cp *ControlPlane) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{}
	ns.Name = name
	ns.Labels = labels
	if err := cp.Client.Create(ctx, ns); err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
