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

package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/gitaccess"
)

// GitCredentials is a credential a policy was allowed to use, and the one endpoint it may be
// sent to. Provider and poller factories receive only this: they never see the policy, so they
// cannot send the credential anywhere else.
type GitCredentials struct {
	// Secret names the Secret the data came from, in the operator namespace.
	Secret types.NamespacedName
	// Endpoint is the Git host the Secret was issued for, and the API root to use.
	Endpoint gitaccess.Endpoint
	// Data is the Secret's data.
	Data map[string][]byte
	// Provider is the hosting service the policy names (github when unset).
	Provider v1beta1.GitProvider
}

// loadGitCredentials reads the Secret a policy's git.secretRef names, in the operator namespace
// whatever the policy's namespace, and lets gitaccess decide whether the policy may use it for
// repository. A refusal wraps gitaccess.ErrDenied and carries no Secret data; the data is
// returned only with a grant.
func loadGitCredentials(ctx context.Context, reader client.Reader, cfg gitaccess.Config,
	policy *v1beta1.RemediationPolicy, repository string) (GitCredentials, error) {
	git := policy.Spec.Git
	key := types.NamespacedName{Namespace: cfg.OperatorNamespace, Name: git.SecretRef.Name}
	var secret corev1.Secret
	if err := reader.Get(ctx, key, &secret); err != nil {
		return GitCredentials{}, fmt.Errorf("reading Secret %s of RemediationPolicy %s/%s: %w", key, policy.Namespace, policy.Name, err)
	}
	ep, err := cfg.Authorize(gitaccess.Request{
		PolicyNamespace: policy.Namespace, PolicyName: policy.Name, Repository: repository,
		BaseURL: git.EffectiveBaseURL(), SecretName: key.Name, SecretAnnotations: secret.Annotations,
	})
	if err != nil {
		return GitCredentials{}, fmt.Errorf("RemediationPolicy %s/%s using Secret %s for %s: %w", policy.Namespace, policy.Name, key, repository, err)
	}
	provider := git.Provider
	if provider == "" {
		provider = v1beta1.DefaultGitProvider
	}
	return GitCredentials{Secret: key, Endpoint: ep, Data: secret.Data, Provider: provider}, nil
}

// gitAccessConfig fills the operator namespace into cfg when the caller left it empty.
func gitAccessConfig(cfg gitaccess.Config, operatorNamespace string) gitaccess.Config {
	if cfg.OperatorNamespace == "" {
		cfg.OperatorNamespace = operatorNamespace
	}
	return cfg
}
