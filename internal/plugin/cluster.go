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

package plugin

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1alpha1"
	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/alertmanager"
	"github.com/heal8s/heal8s/internal/routing"
)

// NewScheme returns the scheme the plugin reads the cluster with: client-go's types (Pods,
// ReplicaSets, HPAs, events.k8s.io Events) and heal8s's v1beta1 and v1alpha1.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1beta1.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building the scheme: %w", err)
		}
	}
	return s, nil
}

// NewClient returns an uncached client for cfg: the plugin reads a few objects once.
func NewClient(cfg *rest.Config) (client.Client, error) {
	s, err := NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("creating a Kubernetes client for %s: %w", cfg.Host, err)
	}
	return c, nil
}

// NewClusterResolver returns the receiver's own resolver, reading the cluster through c: pod
// owners, scrape targets, namespace labels and HPA controllers are checked as the receiver
// checks them.
func NewClusterResolver(c client.Reader) routing.Resolver {
	return &alertmanager.ClusterResolver{Reader: c, Live: c}
}

// ListPolicies lists the cluster's RemediationPolicies (as v1beta1, the storage version) in
// namespace, or in every namespace when it is empty, ordered by namespace and name.
func ListPolicies(ctx context.Context, c client.Reader, namespace string) ([]*v1beta1.RemediationPolicy, error) {
	list := &v1beta1.RemediationPolicyList{}
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing RemediationPolicies: %w", err)
	}
	out := make([]*v1beta1.RemediationPolicy, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	slices.SortFunc(out, func(a, b *v1beta1.RemediationPolicy) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}
