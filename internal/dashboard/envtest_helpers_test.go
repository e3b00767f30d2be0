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

package dashboard

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/heal8s/heal8s/test/utils"
)

// viewersNamespace holds the ServiceAccounts the envtest specs sign in as.
const viewersNamespace = "viewers"

// viewerRole lets its subjects read Remediations and RemediationPolicies, like the aggregated
// view role config/rbac installs; bound with a RoleBinding it applies in one namespace.
const viewerRole = "heal8s-dashboard-test-viewer"

// testCluster is an envtest control plane (its kube-apiserver issues and reviews ServiceAccount
// tokens) with the heal8s CRDs.
type testCluster struct {
	cfg *rest.Config
	k8s client.Client
	cs  *kubernetes.Clientset
}

// startCluster starts envtest for one test and stops it when the test ends.
func startCluster(t *testing.T, ctx context.Context) *testCluster {
	t.Helper()
	g := NewWithT(t)
	assets, err := utils.EnvtestAssets()
	g.Expect(err).NotTo(HaveOccurred())
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		Scheme:                testScheme(),
	}
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	k8s, err := client.New(cfg, client.Options{Scheme: testScheme()})
	g.Expect(err).NotTo(HaveOccurred())
	cs, err := kubernetes.NewForConfig(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	c := &testCluster{cfg: cfg, k8s: k8s, cs: cs}
	c.namespace(t, ctx, viewersNamespace)
	g.Expect(k8s.Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: viewerRole},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"heal8s.io"}, Resources: []string{"remediations", "remediationpolicies"},
			Verbs: []string{"get", "list", "watch"},
		}},
	})).To(Succeed())
	return c
}

func (c *testCluster) namespace(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	err := c.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// clusterWide, as viewer's namespace, grants reading heal8s objects in every namespace.
const clusterWide = "*"

// viewer creates a ServiceAccount allowed to read heal8s objects in the namespaces given (or
// everywhere, with clusterWide; or nowhere, with none), and returns a token for it from the
// TokenRequest API, as `kubectl create token` gets one.
func (c *testCluster) viewer(t *testing.T, ctx context.Context, name string, namespaces ...string) string {
	t.Helper()
	g := NewWithT(t)
	g.Expect(c.k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: viewersNamespace, Name: name}})).To(Succeed())
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: viewersNamespace, Name: name}}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: viewerRole}
	for _, ns := range namespaces {
		if ns == clusterWide {
			g.Expect(c.k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects, RoleRef: ref,
			})).To(Succeed())
			continue
		}
		g.Expect(c.k8s.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Subjects: subjects, RoleRef: ref,
		})).To(Succeed())
	}
	tr, err := c.cs.CoreV1().ServiceAccounts(viewersNamespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	return tr.Status.Token
}

// serve starts a manager against the cluster serving a dashboard from its cache, as
// cmd/main.go wires it (KubernetesAuth with ttl), and returns the dashboard's base URL.
func (c *testCluster) serve(t *testing.T, ctx context.Context, ttl time.Duration, mutate func(*Options)) (*Dashboard, string) {
	t.Helper()
	g := NewWithT(t)
	mgr, err := ctrl.NewManager(c.cfg, ctrl.Options{
		Scheme: testScheme(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		// What docs/dashboard.md advises: the cache holds only the Events about Remediations.
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&eventsv1.Event{}: {Field: fields.OneTermEqualSelector("regarding.kind", "Remediation")},
		}},
	})
	g.Expect(err).NotTo(HaveOccurred())
	authn, authz, err := KubernetesAuth(mgr.GetConfig(), mgr.GetHTTPClient(), ttl)
	g.Expect(err).NotTo(HaveOccurred())
	opts := Options{
		BindAddress: "127.0.0.1:0", Reader: mgr.GetCache(), Informers: mgr.GetCache(),
		Authenticator: authn, Authorizer: authz, Debounce: 50 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&opts)
	}
	dash, err := New(opts)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(mgr.Add(dash)).To(Succeed())
	mgrCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	t.Cleanup(func() { stop(); <-done })
	addr, err := dash.Addr(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	scheme := "http"
	if opts.CertDir != "" {
		scheme = "https"
	}
	g.Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
	return dash, scheme + "://" + addr.String()
}
