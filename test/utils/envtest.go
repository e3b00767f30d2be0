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

package utils

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// EnvtestK8sVersion is the Kubernetes version of the envtest control plane; it must match
// ENVTEST_K8S_VERSION in the Makefile.
const EnvtestK8sVersion = "1.37.2"

// ErrEnvtestAssetsMissing means kube-apiserver or etcd is not where the tests look for them.
var ErrEnvtestAssetsMissing = errors.New("envtest binaries missing")

// EnvtestAssets returns the directory holding kube-apiserver and etcd for envtest:
// $KUBEBUILDER_ASSETS when set, else setup-envtest's own store for EnvtestK8sVersion. A missing
// binary is an error that says how to get it, so a suite fails loudly instead of skipping.
func EnvtestAssets() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locating setup-envtest's store: %w", err)
		}
		dir = filepath.Join(home, ".local", "share", "kubebuilder-envtest", "k8s",
			fmt.Sprintf("%s-%s-%s", EnvtestK8sVersion, runtime.GOOS, runtime.GOARCH))
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%w: %s not found in %s; run 'make setup-envtest' (it downloads them, or builds them from their Go modules when offline)",
				ErrEnvtestAssetsMissing, bin, dir)
		}
	}
	return dir, nil
}
