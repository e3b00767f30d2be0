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

package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ManagerOptions configures the heal8s manager process.
type ManagerOptions struct {
	Binary     string
	Kubeconfig string
	// Webhook says where to serve the webhooks; nil runs the manager without them.
	Webhook *envtest.WebhookInstallOptions
	// Dir holds the log; it must exist.
	Dir               string
	OperatorNamespace string
	// ReceiverTokenFile is the Alertmanager receiver's bearer token.
	ReceiverTokenFile string
	// GitHubWebhookSecretFile, when set, enables POST /webhook/github on its own port.
	GitHubWebhookSecretFile string
	// GitLabWebhookSecretFile, when set, enables POST /webhook/gitlab on the same port.
	GitLabWebhookSecretFile string
	// PollInterval is how often waiting remediations look again (pull requests, rollouts).
	PollInterval time.Duration
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
	// ExtraEnv is added to the manager's environment (NAME=value), e.g. GOMEMLIMIT.
	ExtraEnv []string
	// Name tells several managers apart in logs; empty means "manager".
	Name string
	// Port is the receiver's port; zero picks a free one.
	Port int
}

// Manager is a running heal8s manager and the loopback addresses of its servers.
type Manager struct {
	*Process
	ReceiverURL  string
	ReceiverPort int
	// GitHubWebhookURL is GitHub's webhook, on its own port (it answers with
	// ManagerOptions.GitHubWebhookSecretFile only).
	GitHubWebhookURL string
	// GitLabWebhookURL is GitLab's webhook, on the GitHub webhook's port (it answers with
	// ManagerOptions.GitLabWebhookSecretFile only).
	GitLabWebhookURL string
	MetricsURL       string
	DashboardURL     string
	ProbeURL         string
}

// StartManager runs the manager binary against the control plane, serving its webhooks where
// the API server expects them, and waits until it is ready.
func StartManager(ctx context.Context, o ManagerOptions) (*Manager, error) {
	ports := make([]int, 5)
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	probe, metrics, receiver, dashboard, github := ports[0], ports[1], ports[2], ports[3], ports[4]
	if o.Port != 0 {
		receiver = o.Port
	}
	name := o.Name
	if name == "" {
		name = "manager"
	}
	args := []string{
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(probe),
		"--metrics-bind-address=127.0.0.1:" + strconv.Itoa(metrics),
		"--metrics-secure=false",
		"--leader-elect=true",
		"--leader-election-namespace=" + o.OperatorNamespace,
		"--operator-namespace=" + o.OperatorNamespace,
		"--receiver-bind-address=127.0.0.1:" + strconv.Itoa(receiver),
		"--receiver-token-file=" + o.ReceiverTokenFile,
		"--dashboard-bind-address=127.0.0.1:" + strconv.Itoa(dashboard),
		"--github-webhook-bind-address=127.0.0.1:" + strconv.Itoa(github),
		"--gitlab-webhook-bind-address=127.0.0.1:" + strconv.Itoa(github),
	}
	if o.Webhook != nil {
		args = append(args,
			"--webhook-cert-path="+o.Webhook.LocalServingCertDir,
			"--webhook-port="+strconv.Itoa(o.Webhook.LocalServingPort))
	}
	if o.GitHubWebhookSecretFile != "" {
		args = append(args, "--github-webhook-secret-file="+o.GitHubWebhookSecretFile)
	}
	if o.GitLabWebhookSecretFile != "" {
		args = append(args, "--gitlab-webhook-secret-file="+o.GitLabWebhookSecretFile)
	}
	if o.PollInterval > 0 {
		args = append(args, "--poll-interval="+o.PollInterval.String())
	}
	args = append(args, o.ExtraArgs...)
	env := []string{"KUBECONFIG=" + o.Kubeconfig}
	if o.Webhook == nil {
		env = append(env, "ENABLE_WEBHOOKS=false")
	}
	env = append(env, o.ExtraEnv...)
	proc, err := StartProcess(ctx, ProcessOptions{
		Name:   name,
		Binary: o.Binary,
		Args:   args,
		Env:    env,
		Log:    filepath.Join(o.Dir, name+".log"),
	})
	if err != nil {
		return nil, err
	}
	m := &Manager{
		Process:          proc,
		ReceiverURL:      fmt.Sprintf("http://127.0.0.1:%d/webhook/alertmanager", receiver),
		ReceiverPort:     receiver,
		GitHubWebhookURL: fmt.Sprintf("http://127.0.0.1:%d/webhook/github", github),
		GitLabWebhookURL: fmt.Sprintf("http://127.0.0.1:%d/webhook/gitlab", github),
		MetricsURL:       fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics),
		DashboardURL:     fmt.Sprintf("http://127.0.0.1:%d/", dashboard),
		ProbeURL:         fmt.Sprintf("http://127.0.0.1:%d/readyz?exclude=receiver-token", probe),
	}
	if err := WaitHTTP(ctx, m.ProbeURL, proc, 90*time.Second); err != nil {
		_ = proc.Stop(5 * time.Second)
		return nil, err
	}
	return m, nil
}
