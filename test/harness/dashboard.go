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
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// DashboardViewer is the ServiceAccount (in the operator namespace) the demo and the e2e suite
// sign in to the dashboard as; it may read heal8s objects in the namespaces it is granted.
const DashboardViewer = "dashboard-viewer"

// dashboardViewerRole lets its subjects read what the dashboard shows.
const dashboardViewerRole = "heal8s-dashboard-viewer"

// DashboardToken makes sure a ServiceAccount name exists in the operator namespace, allowed to
// read Remediations and RemediationPolicies in namespaces (every namespace when none is given),
// and returns a token for it from the TokenRequest API (what `kubectl create token` does), valid
// for an hour.
func (st *Stack) DashboardToken(ctx context.Context, name string, namespaces ...string) (string, error) {
	c, ns := st.ControlPlane.Client, st.Options.OperatorNamespace
	create := func(obj interface {
		GetName() string
	}, err error) error {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s for the dashboard: %w", obj.GetName(), err)
		}
		return nil
	}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: dashboardViewerRole},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"heal8s.io"}, Resources: []string{"remediations", "remediationpolicies"},
			Verbs: []string{"get", "list", "watch"},
		}},
	}
	if err := create(role, c.Create(ctx, role)); err != nil {
		return "", err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := create(sa, c.Create(ctx, sa)); err != nil {
		return "", err
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: dashboardViewerRole}
	if len(namespaces) == 0 {
		b := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: dashboardViewerRole + "-" + ns + "-" + name},
			Subjects:   subjects, RoleRef: ref,
		}
		if err := create(b, c.Create(ctx, b)); err != nil {
			return "", err
		}
	}
	for _, target := range namespaces {
		b := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: target, Name: dashboardViewerRole + "-" + name},
			Subjects:   subjects, RoleRef: ref,
		}
		if err := create(b, c.Create(ctx, b)); err != nil {
			return "", err
		}
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", ns, name, err)
	}
	return tr.Status.Token, nil
}

// DashboardTokenFile writes a cluster-wide viewer's token into the stack's directory, for a
// person to paste into the dashboard's login page, and returns the file's path.
func (st *Stack) DashboardTokenFile(ctx context.Context) (string, error) {
	token, err := st.DashboardToken(ctx, DashboardViewer)
	if err != nil {
		return "", err
	}
	path := filepath.Join(st.Options.Dir, "dashboard-token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the dashboard token: %w", err)
	}
	return path, nil
}
