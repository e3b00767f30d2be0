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
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/heal8s/heal8s/api/v1alpha1"
	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/alertmanager"
	"github.com/heal8s/heal8s/internal/controller"
	"github.com/heal8s/heal8s/internal/dashboard"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/github"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlab"
	"github.com/heal8s/heal8s/internal/httpserver"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/routing"
	webhookv1beta1 "github.com/heal8s/heal8s/internal/webhook/v1beta1"
	// +kubebuilder:scaffold:imports
)

// version is stamped in at build time with -ldflags "-X main.version=...".
var version = "dev"

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1beta1.AddToScheme(scheme))
	// v1alpha1 is not served, but the conversion webhook still converts objects stored as it.
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	// +kubebuilder:scaffold:scheme
}

// options are the manager's flags.
type options struct {
	metricsAddr, probeAddr, pprofAddr                string
	metricsCertPath, metricsCertName, metricsCertKey string
	webhookCertPath, webhookCertName, webhookCertKey string
	webhookPort                                      int
	argoCDNamespaces                                 string
	leaderElect                                      bool
	leaderElectionNamespace                          string
	secureMetrics, enableHTTP2                       bool
	operatorNamespace                                string
	protectedNamespaces                              string
	gitHosts                                         string
	gitAllowInsecureHTTP                             bool
	clusterName, clusterLabel                        string

	receiver                alertmanager.Options
	githubWebhookSecretFile string
	githubWebhookAddr       string
	githubWebhookCertDir    string
	gitlabWebhookSecretFile string
	gitlabWebhookAddr       string
	gitlabWebhookCertDir    string
	dashboardAddr           string
	dashboardCertDir        string
	dashboardMaxStreams     int
	dashboardStreamsPerUser int
	activitySize            int
	pollInterval            time.Duration
	prPollInterval          time.Duration
	stableAfter             time.Duration
	reconcileTimeout        time.Duration
	remediationWorkers      int
	defaultServiceAccount   string
}

func (o *options) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0",
		"The address Go's pprof endpoints (/debug/pprof/, plain HTTP, no authentication) listen on, for a memory or CPU profile; 0 disables them. Bind it to 127.0.0.1 and port-forward.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false,
		"Enable leader election for controller manager. "+
			"Enabling this will ensure there is only one active controller manager.")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "",
		"The namespace of the leader election lease; empty means the namespace the manager runs in.")
	fs.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	fs.StringVar(&o.webhookCertPath, "webhook-cert-path", "", "The directory that contains the webhook certificate.")
	fs.StringVar(&o.webhookCertName, "webhook-cert-name", "tls.crt", "The name of the webhook certificate file.")
	fs.StringVar(&o.webhookCertKey, "webhook-cert-key", "tls.key", "The name of the webhook key file.")
	fs.IntVar(&o.webhookPort, "webhook-port", 9443, "Port the webhook server listens on.")
	fs.StringVar(&o.metricsCertPath, "metrics-cert-path", "",
		"The directory that contains the metrics server certificate.")
	fs.StringVar(&o.metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	fs.StringVar(&o.metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics and webhook servers")
	fs.StringVar(&o.operatorNamespace, "operator-namespace", envOr("POD_NAMESPACE", "heal8s-system"),
		"The operator's own namespace: policies there may act cluster-wide, and Secrets are read there only.")

	fs.StringVar(&o.argoCDNamespaces, "argocd-namespaces", strings.Join(controller.DefaultArgoCDNamespaces, ","),
		"Comma-separated namespaces Argo CD Applications are read from when heal8s discovers a target's Git source from its tracking annotation or instance label; an Application elsewhere is never read.")
	fs.StringVar(&o.gitHosts, "git-hosts", gitaccess.DefaultHost,
		"Comma-separated Git hosts heal8s may send credentials to: github.com (https://api.github.com), GitHub Enterprise hosts "+
			"(ghe.example.com means https://ghe.example.com/api/v3/), gitlab.com and self-managed GitLab hosts. "+
			"A policy's baseURL (gitlab.com for a GitLab policy without one) must name one, and the Secret's heal8s.io/git-host must match it.")
	fs.BoolVar(&o.gitAllowInsecureHTTP, "git-allow-insecure-http", false,
		"Allow a policy's baseURL to use plain http. Only for local tests against a fake GitHub: credentials would cross the network in clear.")
	fs.StringVar(&o.protectedNamespaces, "protected-namespaces", strings.Join(routing.DefaultProtectedNamespaces, ","),
		"Comma-separated namespaces (path.Match patterns such as kube-*) heal8s never changes, whatever a policy says; the operator namespace is always protected.")
	fs.StringVar(&o.clusterName, "cluster-name", "",
		"The name of this cluster as alerts' cluster label gives it: alerts whose label names another cluster are skipped (reason other_cluster). Empty checks nothing.")
	fs.StringVar(&o.clusterLabel, "cluster-label", "cluster",
		"The alert label that names the cluster, for --cluster-name (usually a Prometheus external label).")

	fs.StringVar(&o.receiver.BindAddress, "receiver-bind-address", alertmanager.DefaultBindAddress,
		"The address the Alertmanager webhook receiver (POST /webhook/alertmanager) listens on.")
	fs.StringVar(&o.receiver.TokenFile, "receiver-token-file", "",
		"A file holding the bearer token Alertmanager must send (a mounted Secret; reread when it changes).")
	fs.BoolVar(&o.receiver.Insecure, "receiver-insecure", false,
		"Accept alerts without a bearer token. Only for local experiments: anyone who reaches the port can create Remediations.")
	fs.StringVar(&o.receiver.CertDir, "receiver-cert-dir", "",
		"A directory with tls.crt and tls.key to serve the receiver over HTTPS; empty serves plain HTTP.")
	fs.DurationVar(&o.receiver.FlushInterval, "receiver-flush-interval", alertmanager.DefaultFlushInterval,
		"How often repeated alerts' counts are written to their Remediations (one write per Remediation per interval).")
	fs.StringVar(&o.githubWebhookSecretFile, "github-webhook-secret-file", "",
		"A file holding the secret GitHub signs pull_request webhooks with; enables POST /webhook/github on --github-webhook-bind-address.")
	fs.StringVar(&o.githubWebhookAddr, "github-webhook-bind-address", ":9096",
		"The address GitHub's pull_request webhook (POST /webhook/github) listens on, apart from the Alertmanager receiver so each can be exposed on its own; "+
			"the receiver's address instead serves both on the receiver's port (as before, with --receiver-cert-dir).")
	fs.StringVar(&o.githubWebhookCertDir, "github-webhook-cert-dir", "",
		"A directory with tls.crt and tls.key to serve the GitHub webhook over HTTPS; empty serves plain HTTP.")
	fs.StringVar(&o.gitlabWebhookSecretFile, "gitlab-webhook-secret-file", "",
		"A file holding the secret token GitLab sends (X-Gitlab-Token) with merge request webhooks; enables POST /webhook/gitlab on --gitlab-webhook-bind-address.")
	fs.StringVar(&o.gitlabWebhookAddr, "gitlab-webhook-bind-address", ":9097",
		"The address GitLab's merge request webhook (POST /webhook/gitlab) listens on; the receiver's address serves it on the receiver's port, "+
			"and the GitHub webhook's address on that port.")
	fs.StringVar(&o.gitlabWebhookCertDir, "gitlab-webhook-cert-dir", "",
		"A directory with tls.crt and tls.key to serve the GitLab webhook over HTTPS; empty serves plain HTTP.")
	fs.StringVar(&o.dashboardAddr, "dashboard-bind-address", dashboard.DefaultBindAddress,
		"The address the read-only dashboard listens on; 0 disables it. Every request needs a Kubernetes bearer token (TokenReview), "+
			"and each viewer sees the namespaces where they may list Remediations (SubjectAccessReview).")
	fs.StringVar(&o.dashboardCertDir, "dashboard-cert-dir", "",
		"A directory with tls.crt and tls.key to serve the dashboard over HTTPS; empty serves plain HTTP.")
	fs.IntVar(&o.dashboardMaxStreams, "dashboard-max-streams", dashboard.DefaultMaxStreams,
		"How many live-update streams the dashboard serves at once, all viewers together.")
	fs.IntVar(&o.dashboardStreamsPerUser, "dashboard-max-streams-per-user", dashboard.DefaultMaxStreamsPerUser,
		"How many live-update streams (open dashboard tabs) one viewer may have at once.")
	fs.IntVar(&o.activitySize, "dashboard-activity-size", dashboard.DefaultActivitySize,
		"How many phase transitions the dashboard's recent-activity feed keeps.")
	fs.DurationVar(&o.pollInterval, "poll-interval", 0,
		"How often waiting remediations look again at their target (0 means the built-in default).")
	fs.DurationVar(&o.prPollInterval, "pr-poll-interval", time.Minute,
		"How often the open pull requests of each repository are listed from GitHub (one conditional request per repository), for when no webhook reports them.")
	fs.StringVar(&o.defaultServiceAccount, "default-service-account", "",
		"A ServiceAccount name: the Direct patches of a policy outside the operator namespace that names no spec.serviceAccountName are made with the rights of this ServiceAccount of the policy's namespace (impersonated). Empty uses heal8s's own rights.")
	fs.IntVar(&o.remediationWorkers, "remediation-workers", 4,
		"How many Remediations are reconciled at once (a reconcile mostly waits for the API server, so more workers overlap those waits, but their status writes compete with the receiver's creates; raise it where the API server has headroom). Safety budgets stay exact at any number: a Remediation leaving Pending reserves its place under a per-target and per-policy lock.")
	fs.DurationVar(&o.reconcileTimeout, "reconcile-timeout", 3*time.Minute,
		"The longest one reconcile of any controller may take; past it its context ends and the object is retried with backoff (a hung Git host or API call cannot hold a worker).")
	fs.DurationVar(&o.stableAfter, "stable-after", 0,
		"How long a Deployment must be fully available on a revision before heal8s marks it a stable rollback candidate (0 means the built-in default).")
}

func main() {
	var o options
	o.bind(flag.CommandLine)
	zapOpts := zap.Options{Development: true}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		setupLog.Error(err, "Manager stopped with an error")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.remediationWorkers < 1 || o.remediationWorkers > 64 {
		return fmt.Errorf("--remediation-workers must be between 1 and 64, not %d", o.remediationWorkers)
	}
	if soft := setMemoryLimit(os.Getenv, os.ReadFile); soft > 0 {
		setupLog.Info("Set the Go memory limit from the container's",
			"GOMEMLIMIT", soft, "percentOfLimit", memoryLimitPercent)
	}
	mgr, err := newManager(o)
	if err != nil {
		return err
	}
	recorder := metrics.NewRecorder(ctrlmetrics.Registry)
	table := routing.NewTable(routing.TableOptions{
		OperatorNamespace:   o.operatorNamespace,
		ProtectedNamespaces: splitList(o.protectedNamespaces),
		ClusterName:         o.clusterName,
		ClusterLabel:        o.clusterLabel,
	})
	access, err := o.gitAccess()
	if err != nil {
		return err
	}
	if err := setupControllers(mgr, o, recorder, table, access); err != nil {
		return err
	}
	if err := setupNotifications(mgr, notifyOpts); err != nil {
		return err
	}
	if os.Getenv("ENABLE_WEBHOOKS") != "false" {
		if err := webhookv1beta1.SetupRemediationWebhookWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the Remediation webhooks: %w", err)
		}
		if err := webhookv1beta1.SetupRemediationPolicyWebhookWithManager(mgr, o.operatorNamespace, access); err != nil {
			return fmt.Errorf("setting up the RemediationPolicy webhooks: %w", err)
		}
	}
	// +kubebuilder:scaffold:builder
	if err := setupServers(mgr, o, recorder, table); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("setting up the health check: %w", err)
	}
	ready := healthz.Ping
	if os.Getenv("ENABLE_WEBHOOKS") != "false" {
		ready = mgr.GetWebhookServer().StartedChecker()
	}
	if err := mgr.AddReadyzCheck("readyz", ready); err != nil {
		return fmt.Errorf("setting up the ready check: %w", err)
	}
	setupLog.Info("Starting manager", "version", version, "operatorNamespace", o.operatorNamespace)
	return mgr.Start(ctx)
}

func newManager(o options) (ctrl.Manager, error) {
	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		// HTTP/2 stays off by default: see the HTTP/2 Stream Cancellation and Rapid Reset CVEs
		// (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8).
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	webhookOpts := webhook.Options{TLSOpts: tlsOpts, Port: o.webhookPort}
	if o.webhookCertPath != "" {
		webhookOpts.CertDir, webhookOpts.CertName, webhookOpts.KeyName =
			o.webhookCertPath, o.webhookCertName, o.webhookCertKey
	}
	metricsOpts := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.secureMetrics, TLSOpts: tlsOpts}
	if o.secureMetrics {
		// Only authenticated and authorized clients (RBAC in config/rbac) may read metrics.
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	if o.metricsCertPath != "" {
		metricsOpts.CertDir, metricsOpts.CertName, metricsOpts.KeyName =
			o.metricsCertPath, o.metricsCertName, o.metricsCertKey
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		WebhookServer:           webhook.NewServer(webhookOpts),
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		Controller:              config.Controller{ReconciliationTimeout: o.reconcileTimeout},
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "heal8s.heal8s.io",
		LeaderElectionNamespace: o.leaderElectionNamespace,
		// The manager exits as soon as it stops, so stepping down at once is safe and lets the
		// other replica take over without waiting for the lease to expire.
		LeaderElectionReleaseOnCancel: true,
		// Workloads are cached slim (controller.CacheTransform): the client refuses any write of
		// one but a JSON patch, so no write can carry a slim copy's missing fields.
		NewClient: func(cfg *rest.Config, opts client.Options) (client.Client, error) {
			c, err := client.New(cfg, opts)
			if err != nil {
				return nil, err
			}
			return controller.GuardWorkloadWrites(c), nil
		},
		Client: client.Options{Cache: &client.CacheOptions{
			// Never cached, whoever reads them: a cluster holds several of each per workload
			// (20,000 ReplicaSets for 5,000 Deployments). The rollback planner and the
			// stable-revision controller list one workload's with its selector, and the
			// receiver reads one ReplicaSet's owner, from the API server (docs/operations.md).
			// Pods likewise: the receiver reads one pod's owner (its metadata) once per new
			// alert, which a cluster-wide metadata informer of every Pod would cost memory for.
			DisableFor: []client.Object{&appsv1.ReplicaSet{}, &appsv1.ControllerRevision{}, &corev1.Pod{}},
		}},
		Cache: cache.Options{
			// heal8s never reads managedFields nor kubectl's last-applied-configuration;
			// dropping them halves the cache of large objects. Deployments, StatefulSets and
			// DaemonSets keep only replicas, selector, their containers' names, images and
			// resources, and status (internal/controller/cache_workloads.go).
			DefaultTransform: controller.CacheTransform(),
			ByObject: map[client.Object]cache.ByObject{
				// The dashboard shows Events about Remediations only; cache nothing else.
				&eventsv1.Event{}: {Field: fields.OneTermEqualSelector("regarding.kind", "Remediation")},
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	return mgr, nil
}

// gitAccess is the platform's rule for Git credentials, from the flags.
func (o options) gitAccess() (gitaccess.Config, error) {
	hosts, err := gitaccess.ParseHosts(o.gitHosts)
	if err != nil {
		return gitaccess.Config{}, fmt.Errorf("reading --git-hosts: %w", err)
	}
	return gitaccess.Config{
		OperatorNamespace: o.operatorNamespace, Hosts: hosts, AllowInsecureHTTP: o.gitAllowInsecureHTTP,
	}, nil
}

// reconcileGitHubWait bounds how long one GitHub operation of a reconcile may wait on rate
// limits and retries (github.Options.MaxWait) before it gives up and the Remediation is retried.
const reconcileGitHubWait = 10 * time.Second

func setupControllers(
	mgr ctrl.Manager, o options, recorder *metrics.Recorder, table *routing.Table, access gitaccess.Config,
) error {
	providers := &github.ProviderCache{Adjust: func(o *github.Options) {
		// A reconcile never waits out a rate limit: past this it ends with ErrGaveUp and the
		// Remediation is looked at again later, leaving the worker free.
		o.MaxWait = reconcileGitHubWait
	}}
	gitlabProviders := &gitlab.ProviderCache{Adjust: func(o *gitlab.Options) { o.MaxWait = reconcileGitHubWait }}
	if err := controller.SetupIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return fmt.Errorf("setting up the Remediation field indexes: %w", err)
	}
	if err := (&controller.RemediationPolicyReconciler{
		Client:    mgr.GetClient(),
		Table:     table,
		APIReader: mgr.GetAPIReader(),
		GitAccess: access,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the RemediationPolicy controller: %w", err)
	}
	if err := (&controller.RemediationReconciler{
		Client:                mgr.GetClient(),
		Scheme:                mgr.GetScheme(),
		Metrics:               recorder,
		OperatorNamespace:     o.operatorNamespace,
		ProtectedNamespaces:   splitList(o.protectedNamespaces),
		DefaultServiceAccount: o.defaultServiceAccount,
		Impersonate: func(user string) (client.Client, error) {
			cfg := rest.CopyConfig(mgr.GetConfig())
			cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
			return client.New(cfg, client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
		},
		PollInterval: o.pollInterval,
		Workers:      o.remediationWorkers,
		// The poller below follows pull requests with one call per repository; the
		// reconciler's own per-pull-request check is a slow safety net.
		PullRequestPollInterval: max(10*o.prPollInterval, 5*time.Minute),
		GitAccess:               access,
		ArgoCDNamespaces:        splitList(o.argoCDNamespaces),
		// The factories see only credentials gitaccess granted, with the one endpoint they may
		// go to.
		Providers: func(creds controller.GitCredentials) (gitprovider.Provider, error) {
			if creds.Provider == v1beta1.GitProviderGitLab {
				return gitlabProviders.Get(creds.Secret.String(), creds.Data, creds.Endpoint.BaseURL)
			}
			return providers.Get(creds.Secret.String(), creds.Data, creds.Endpoint.BaseURL)
		},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Remediation controller: %w", err)
	}
	sync := &controller.PullRequestSync{Client: mgr.GetClient()}
	if err := mgr.Add(&controller.PullRequestPoller{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		OperatorNamespace: o.operatorNamespace,
		Interval:          o.prPollInterval,
		Sync:              sync,
		GitAccess:         access,
		Pollers: func(creds controller.GitCredentials) (controller.RepositoryPoller, error) {
			if creds.Provider == v1beta1.GitProviderGitLab {
				return gitlabProviders.Poller(creds.Secret.String(), creds.Data, creds.Endpoint.BaseURL)
			}
			return providers.Poller(creds.Secret.String(), creds.Data, creds.Endpoint.BaseURL)
		},
	}); err != nil {
		return fmt.Errorf("adding the pull request poller: %w", err)
	}
	if err := (&controller.RemediationRetentionReconciler{
		Client:            mgr.GetClient(),
		OperatorNamespace: o.operatorNamespace,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Remediation retention controller: %w", err)
	}
	if err := (&controller.StableRevisionReconciler{
		Client:            mgr.GetClient(),
		StableAfter:       o.stableAfter,
		OperatorNamespace: o.operatorNamespace,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the stable revision controller: %w", err)
	}
	return nil
}

// setupServers adds the servers every replica runs, leader or not: the Alertmanager receiver,
// the GitHub webhook on its own port (or the receiver's, when given its address) and the
// dashboard.
func setupServers(mgr ctrl.Manager, o options, recorder *metrics.Recorder, table *routing.Table) error {
	o.receiver.Events = mgr.GetEventRecorder("heal8s-receiver")
	receiver, err := alertmanager.New(o.receiver, mgr.GetClient(), mgr.GetAPIReader(), table, recorder)
	if err != nil {
		if errors.Is(err, alertmanager.ErrNoToken) {
			return fmt.Errorf("refusing to start the Alertmanager receiver without a token: %w", err)
		}
		return fmt.Errorf("setting up the Alertmanager receiver: %w", err)
	}
	if o.receiver.Insecure && o.receiver.TokenFile == "" {
		setupLog.Info("WARNING: the Alertmanager receiver accepts alerts without a token (--receiver-insecure)")
	}
	// /readyz/receiver-token says whether alerts are accepted; the Deployments' probes exclude it
	// so that the webhooks these pods serve stay up without a token (docs/operations.md).
	if err := mgr.AddReadyzCheck(alertmanager.TokenCheckName, receiver.TokenCheck); err != nil {
		return fmt.Errorf("setting up the receiver token check: %w", err)
	}
	var githubServer *http.Server
	if o.githubWebhookSecretFile != "" {
		sync := &controller.PullRequestSync{Client: mgr.GetClient()}
		gh, err := github.NewWebhookHandlerFromFile(o.githubWebhookSecretFile, sync.Update)
		if err != nil {
			return fmt.Errorf("setting up the GitHub webhook: %w", err)
		}
		if o.githubWebhookAddr == o.receiver.BindAddress {
			// One port for both, as before: Alertmanager's and GitHub's can then not be exposed
			// (or restricted) apart.
			receiver.Handle(github.WebhookPath, gh)
		} else {
			githubServer = github.NewWebhookServer(o.githubWebhookAddr, gh)
			if err := mgr.Add(&httpserver.Server{
				Name: "github-webhook", BindAddress: o.githubWebhookAddr, CertDir: o.githubWebhookCertDir, Server: githubServer,
			}); err != nil {
				return fmt.Errorf("adding the GitHub webhook server: %w", err)
			}
		}
	}
	if o.gitlabWebhookSecretFile != "" {
		// The same sync as GitHub's: a merge request event becomes the heal8s.io/pull-request
		// annotation, which the Remediation reconciler folds into status.
		sync := &controller.PullRequestSync{Client: mgr.GetClient()}
		gl, err := gitlab.NewWebhookHandlerFromFile(o.gitlabWebhookSecretFile, sync.Update)
		if err != nil {
			return fmt.Errorf("setting up the GitLab webhook: %w", err)
		}
		switch {
		case o.gitlabWebhookAddr == o.receiver.BindAddress:
			receiver.Handle(gitlab.WebhookPath, gl)
		case githubServer != nil && o.gitlabWebhookAddr == o.githubWebhookAddr:
			mux, ok := githubServer.Handler.(*http.ServeMux)
			if !ok {
				return errors.New("setting up the GitLab webhook: the GitHub webhook server has no mux to share")
			}
			mux.Handle(gitlab.WebhookPath, gl)
		default:
			if err := mgr.Add(&httpserver.Server{
				Name: "gitlab-webhook", BindAddress: o.gitlabWebhookAddr, CertDir: o.gitlabWebhookCertDir,
				Server: gitlab.NewWebhookServer(o.gitlabWebhookAddr, gl),
			}); err != nil {
				return fmt.Errorf("adding the GitLab webhook server: %w", err)
			}
		}
	}
	if err := mgr.Add(receiver); err != nil {
		return fmt.Errorf("adding the Alertmanager receiver: %w", err)
	}
	// The dashboard asks the API server who a viewer is and what they may list, as the metrics
	// endpoint does.
	authn, authz, err := dashboard.KubernetesAuth(mgr.GetConfig(), mgr.GetHTTPClient(), dashboard.DefaultAuthCacheTTL)
	if err != nil {
		return fmt.Errorf("setting up the dashboard's authentication: %w", err)
	}
	dash, err := dashboard.New(dashboard.Options{
		BindAddress:       o.dashboardAddr,
		CertDir:           o.dashboardCertDir,
		Reader:            mgr.GetCache(),
		Informers:         mgr.GetCache(),
		Authenticator:     authn,
		Authorizer:        authz,
		ActivitySize:      o.activitySize,
		MaxStreams:        o.dashboardMaxStreams,
		MaxStreamsPerUser: o.dashboardStreamsPerUser,
	})
	if err != nil {
		return fmt.Errorf("setting up the dashboard: %w", err)
	}
	if err := mgr.Add(dash); err != nil {
		return fmt.Errorf("adding the dashboard: %w", err)
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// envOr returns the environment variable's value, or def when it is unset or empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
