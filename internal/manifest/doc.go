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

// Package manifest finds the YAML document that declares a live Kubernetes object in a Git
// repository and applies a plan (an RFC 6902 JSON patch) to it so that a pull request changes
// only the planned values: comments, key order, quoting, indentation, flow style, other documents,
// separators and line endings stay byte for byte as the author wrote them.
//
// Edits are computed on the kyaml node tree and then spliced into the original bytes at the nodes'
// positions, as Flux's image automation does; every result is re-parsed and compared with the
// patch applied to the JSON form of the document, so a layout the splicer cannot handle is an
// error, never a silently wrong file.
//
// The package is pure: it reads the repository through the small Repo interface and never talks
// to Kubernetes or the network itself.
package manifest
