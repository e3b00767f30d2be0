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

package v1beta1

// RenderProof says whether heal8s proved a GitOps change by rendering.
// +kubebuilder:validation:Enum=Verified;Unverified
type RenderProof string

const (
	// RenderVerified: the kustomization the GitOps tool applies, and every other kustomization in
	// the repository, were rendered before and after the edit, and the only difference is the
	// planned change on the target.
	RenderVerified RenderProof = "Verified"
	// RenderUnverified: the change could not be (fully) proved by rendering (a plain manifest, a
	// Helm chart, a remote base); the pull request says so and carries heal8s-unverified-render.
	RenderUnverified RenderProof = "Unverified"
)

// GitSourceStatus is where a GitOps change was proposed and how heal8s found it.
type GitSourceStatus struct {
	// repository is the repository the pull request was opened in ("owner/name").
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Repository string `json:"repository,omitempty"`

	// branch is the branch the pull request targets.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Branch string `json:"branch,omitempty"`

	// path is the file the pull request changes.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Path string `json:"path,omitempty"`

	// foundBy says how the repository and directory were found: the policy's spec.git, or the
	// Flux Kustomization or HelmRelease, or Argo CD Application, that claims the target.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	FoundBy string `json:"foundBy,omitempty"`

	// layer says which file was edited and why that one (an overlay's patch, the images
	// transformer, a new patch in the overlay, or how the search chose the manifest).
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Layer string `json:"layer,omitempty"`

	// render is Verified when rendering proved the change, Unverified otherwise.
	// +optional
	Render RenderProof `json:"render,omitempty"`

	// renderMessage says what could not be proved, when render is Unverified.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	RenderMessage string `json:"renderMessage,omitempty"`
}
