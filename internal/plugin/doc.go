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

// Package plugin is the logic of the kubectl plugin, kubectl heal8s, kept free of flags and
// commands so it can be tested without a cluster and compared with the receiver.
//
// route test answers "what would heal8s do with this alert?" with the receiver's own code: the
// policies are compiled with routing.Compile into a routing.Table built with the manager's
// options, and every firing alert is routed with Table.Decide, the call the receiver makes.
// Offline, an OfflineResolver answers routing.ErrUnresolved to every question only the cluster
// can answer, and the Decision says what was not checked; with a cluster, the receiver's
// alertmanager.ClusterResolver answers them.
//
// explain reads one Remediation and the Events about it and prints its story: the alert, the
// rule, the target, the plan, the pull request, the phases.
package plugin
