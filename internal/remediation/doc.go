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

// Package remediation is the Remediation state machine of docs/architecture.md as pure functions: Transition
// takes a Remediation and what the reconciler observed and returns the next phase with a reason,
// and the guards of the Pending phase are a chain of pure functions over plain data. Nothing here
// talks to the API server, so every decision is pinned down by table tests that run in
// milliseconds; the reconciler in internal/controller gathers the observations, acts and writes.
package remediation
