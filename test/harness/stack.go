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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider/fake"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlabfake"
)

// StackOptions configures a whole local heal8s installation.
type StackOptions struct {
	// Root is the project's root directory.
	Root string
	// Assets holds the envtest binaries (and kube-controller-manager where built).
	Assets string
	// Manager and Alertmanager are the binaries to run.
	Manager, Alertmanager string
	// Dir holds every file the stack writes; empty means a new temporary directory that Stop
	// removes.
	Dir string
	// OperatorNamespace is where heal8s runs and reads its Secrets.
	OperatorNamespace string
	// AppNamespaces get the stand-in kubelet.
	AppNamespaces []string
	// GitNamespaces are the namespaces whose policies may use the fake GitHub's Secret
	// (annotation heal8s.io/allowed-namespaces); empty means AppNamespaces.
	GitNamespaces []string
	// Repository is the fake GitHub repository ("owner/name") and Files its first commit.
	Repository string
	Files      map[string]string
	// GitProvider gitlab also starts a fake GitLab holding Repository (a project path), with its
	// own Secret (GitLabSecretName) and webhook; Git() then returns it. Empty means github.
	GitProvider v1beta1.GitProvider
	// WithGitLab starts the fake GitLab (and its Secret and webhook) beside GitHub while GitHub
	// stays the Git host in use: a suite with specs for both.
	WithGitLab bool
	// PollInterval is how often the manager looks again at waiting remediations and open pull
	// requests; short in demos and tests.
	PollInterval time.Duration
	// NoAlertmanager skips starting Alertmanager.
	NoAlertmanager bool
	// Kubeconfig, when set, runs against that existing cluster instead of a local control plane
	// (see ControlPlaneOptions.Kubeconfig); the namespaces the stack creates are deleted on Stop.
	Kubeconfig string
}

// Stack is a running local heal8s installation.
type Stack struct {
	Options      StackOptions
	ControlPlane *ControlPlane
	GitHub       *fake.Server
	// GitLab is the fake GitLab, with StackOptions.GitProvider gitlab only.
	GitLab       *gitlabfake.Server
	Manager      *Manager
	Alertmanager *Alertmanager
	// TokenFile holds the receiver's bearer token; GitHubSecret names the Secret with the fake
	// GitHub's token in the operator namespace; GitHubWebhookSecretFile holds the HMAC secret of
	// GitHub's webhook, which the manager serves on its own port.
	TokenFile               string
	GitHubSecret            string
	GitHubWebhookSecretFile string
	// GitLabSecret and GitLabWebhookSecretFile are GitLab's, with a fake GitLab only.
	GitLabSecret            string
	GitLabWebhookSecretFile string

	ownDir bool
	cancel context.CancelFunc
}

// GitHubSecretName is the Secret the stack creates with the fake GitHub's token.
const GitHubSecretName = "heal8s-github"

// GitLabSecretName is the Secret the stack creates with the fake GitLab's token.
const GitLabSecretName = "heal8s-gitlab"

// GitHost is what demos and tests do on the Git host in use, as a reviewer would.
type GitHost interface {
	ReadFile(repository, branch, path string) (string, error)
	MergePR(repository string, number int) error
	ClosePR(repository string, number int) error
	Comments(repository string, number int) ([]string, error)
	PullRequestCount(repository string) (int, error)
}

// Git is the fake Git host the stack's policies use: the fake GitLab with GitProvider gitlab,
// else the fake GitHub.
func (st *Stack) Git() GitHost {
	if st.GitLab != nil && st.Options.GitProvider == v1beta1.GitProviderGitLab {
		return st.GitLab
	}
	return st.GitHub
}

// GitSpec is the git section of a policy for the stack's repository on the Git host in use.
func (st *Stack) GitSpec() *v1beta1.GitSpec {
	if st.GitLab != nil && st.Options.GitProvider == v1beta1.GitProviderGitLab {
		return st.GitLabSpec()
	}
	return &v1beta1.GitSpec{Repository: st.Options.Repository, BaseBranch: "main", BaseURL: st.GitHub.URL(),
		SecretRef: corev1.LocalObjectReference{Name: st.GitHubSecret}}
}

// GitLabSpec is the git section of a policy for the stack's repository on the fake GitLab.
func (st *Stack) GitLabSpec() *v1beta1.GitSpec {
	return &v1beta1.GitSpec{Provider: v1beta1.GitProviderGitLab, Repository: st.Options.Repository, BaseBranch: "main",
		BaseURL: st.GitLab.URL(), SecretRef: corev1.LocalObjectReference{Name: st.GitLabSecret}}
}

// StartStack starts the control plane, the stand-in kubelet, a fake GitHub holding the
// repository, the manager and Alertmanager routed to its receiver. On error everything already
// started is stopped.
func StartStack(ctx context.Context, o StackOptions) (st *Stack, err error) {
	st = &Stack{Options: o, GitHubSecret: GitHubSecretName}
	if st.Options.Dir == "" {
		if st.Options.Dir, err = os.MkdirTemp("", "heal8s-"); err != nil {
			return nil, fmt.Errorf("creating a temporary directory: %w", err)
		}
		st.ownDir = true
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, st.Stop())
		}
	}()
	ctx, st.cancel = context.WithCancel(ctx)

	if st.ControlPlane, err = StartControlPlane(ctx, ControlPlaneOptions{
		Root: o.Root, Assets: o.Assets, Dir: st.Options.Dir, ControllerManager: true, Kubeconfig: o.Kubeconfig,
	}); err != nil {
		return st, err
	}
	cp := st.ControlPlane
	for _, ns := range append([]string{o.OperatorNamespace}, o.AppNamespaces...) {
		if err = cp.EnsureNamespace(ctx, ns, nil); err != nil {
			return st, err
		}
	}
	if !cp.Existing {
		go (&Kubelet{Client: cp.Client, Namespaces: o.AppNamespaces, SimulateWorkloads: !cp.HasControllerManager}).Run(ctx)
	}

	if st.GitHub, err = fake.New(fake.Options{Token: randomToken()}); err != nil {
		return st, fmt.Errorf("starting the fake GitHub: %w", err)
	}
	if o.Repository != "" {
		if err = st.GitHub.NewRepo(o.Repository, o.Files); err != nil {
			return st, fmt.Errorf("creating repository %s: %w", o.Repository, err)
		}
	}
	// The credential says what it is for, as a platform team's would: the fake GitHub's host
	// (plain http on loopback, allowed by the manager's --git-allow-insecure-http) and the
	// namespaces whose policies may use it.
	gitNamespaces := o.GitNamespaces
	if len(gitNamespaces) == 0 {
		gitNamespaces = o.AppNamespaces
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: GitHubSecretName, Namespace: o.OperatorNamespace, Annotations: map[string]string{
			gitaccess.AnnotationGitHost:           st.GitHubHost(),
			gitaccess.AnnotationAllowedNamespaces: strings.Join(gitNamespaces, ","),
		}},
		StringData: map[string]string{"token": st.GitHub.Token()},
	}
	if err = cp.Client.Create(ctx, secret); err != nil {
		return st, fmt.Errorf("creating the GitHub secret: %w", err)
	}
	if o.GitProvider == v1beta1.GitProviderGitLab || o.WithGitLab {
		if err = st.startGitLab(ctx, gitNamespaces); err != nil {
			return st, err
		}
	}

	st.TokenFile = filepath.Join(st.Options.Dir, "receiver-token")
	if err = os.WriteFile(st.TokenFile, []byte(randomToken()), 0o600); err != nil {
		return st, fmt.Errorf("writing the receiver token: %w", err)
	}
	st.GitHubWebhookSecretFile = filepath.Join(st.Options.Dir, "github-webhook-secret")
	if err = os.WriteFile(st.GitHubWebhookSecretFile, []byte(randomToken()), 0o600); err != nil {
		return st, fmt.Errorf("writing the GitHub webhook secret: %w", err)
	}
	if err = st.StartManager(ctx, "manager"); err != nil {
		return st, err
	}
	if o.NoAlertmanager {
		return st, nil
	}
	amDir := filepath.Join(st.Options.Dir, "alertmanager")
	if err = os.MkdirAll(amDir, 0o750); err != nil {
		return st, fmt.Errorf("creating %s: %w", amDir, err)
	}
	st.Alertmanager, err = StartAlertmanager(ctx, AlertmanagerOptions{
		Binary: o.Alertmanager, Dir: amDir, ReceiverURL: st.Manager.ReceiverURL, TokenFile: st.TokenFile,
	})
	return st, err
}

// StartManager (re)starts the manager process under name, for a restart test after Kill.
func (st *Stack) StartManager(ctx context.Context, name string) error {
	hosts := st.GitHubHost()
	if st.GitLab != nil {
		hosts += "," + hostOf(st.GitLab.URL())
	}
	args := []string{"--pr-poll-interval=" + st.Options.PollInterval.String(),
		// The fake GitHub (and GitLab) are the only Git hosts, on loopback over plain http.
		"--git-hosts=" + hosts, "--git-allow-insecure-http",
		// Notifiers post to the specs' local receivers.
		"--notification-allow-private-addresses", "--dashboard-url=https://heal8s.e2e.test"}
	m, err := StartManager(ctx, ManagerOptions{
		Binary:            st.Options.Manager,
		Kubeconfig:        st.ControlPlane.Kubeconfig,
		Webhook:           st.ControlPlane.WebhookOptions(),
		Dir:               st.Options.Dir,
		OperatorNamespace: st.Options.OperatorNamespace,
		ReceiverTokenFile: st.TokenFile,
		// GitHub's webhook on its own port, as config/default serves it.
		GitHubWebhookSecretFile: st.GitHubWebhookSecretFile,
		GitLabWebhookSecretFile: st.GitLabWebhookSecretFile,
		PollInterval:            st.Options.PollInterval,
		ExtraArgs:               args,
		Name:                    name,
		Port:                    st.receiverPort(),
	})
	if err != nil {
		return err
	}
	st.Manager = m
	return nil
}

// GitHubHost is the fake GitHub's host:port, as --git-hosts and heal8s.io/git-host name it.
func (st *Stack) GitHubHost() string { return hostOf(st.GitHub.URL()) }

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// startGitLab starts the fake GitLab with the repository, its Secret (issued for its host, for
// the same namespaces as GitHub's) and its webhook token file.
func (st *Stack) startGitLab(ctx context.Context, gitNamespaces []string) error {
	var err error
	if st.GitLab, err = gitlabfake.New(gitlabfake.Options{Token: randomToken()}); err != nil {
		return fmt.Errorf("starting the fake GitLab: %w", err)
	}
	if st.Options.Repository != "" {
		if err := st.GitLab.NewRepo(st.Options.Repository, st.Options.Files); err != nil {
			return fmt.Errorf("creating project %s: %w", st.Options.Repository, err)
		}
	}
	st.GitLabSecret = GitLabSecretName
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: GitLabSecretName, Namespace: st.Options.OperatorNamespace, Annotations: map[string]string{
			gitaccess.AnnotationGitHost:           hostOf(st.GitLab.URL()),
			gitaccess.AnnotationAllowedNamespaces: strings.Join(gitNamespaces, ","),
		}},
		StringData: map[string]string{"token": st.GitLab.Token()},
	}
	if err := st.ControlPlane.Client.Create(ctx, secret); err != nil {
		return fmt.Errorf("creating the GitLab secret: %w", err)
	}
	st.GitLabWebhookSecretFile = filepath.Join(st.Options.Dir, "gitlab-webhook-secret")
	if err := os.WriteFile(st.GitLabWebhookSecretFile, []byte(randomToken()), 0o600); err != nil {
		return fmt.Errorf("writing the GitLab webhook token: %w", err)
	}
	return nil
}

// receiverPort keeps the receiver on the same port across manager restarts, so Alertmanager's
// configuration stays right.
func (st *Stack) receiverPort() int {
	if st.Manager == nil {
		return 0
	}
	return st.Manager.ReceiverPort
}

// Stop stops everything the stack started and removes its directory if it made it.
func (st *Stack) Stop() error {
	var errs []error
	if st.Alertmanager != nil {
		errs = append(errs, st.Alertmanager.Stop())
	}
	if st.Manager != nil {
		errs = append(errs, st.Manager.Stop(15*time.Second))
	}
	if st.cancel != nil {
		st.cancel()
	}
	if st.GitHub != nil {
		st.GitHub.Close()
	}
	if st.GitLab != nil {
		st.GitLab.Close()
	}
	if st.ControlPlane != nil {
		if st.ControlPlane.Existing {
			errs = append(errs, st.deleteNamespaces())
		}
		errs = append(errs, st.ControlPlane.Stop())
	}
	if st.ownDir {
		if err := os.RemoveAll(st.Options.Dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", st.Options.Dir, err))
		}
	}
	return errors.Join(errs...)
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deleteNamespaces removes, from an existing cluster, the namespaces the stack created.
func (st *Stack) deleteNamespaces() error {
	var errs []error
	for _, name := range append([]string{st.Options.OperatorNamespace}, st.Options.AppNamespaces...) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := st.ControlPlane.Client.Delete(context.Background(), ns); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting namespace %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
