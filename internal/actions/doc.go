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

// Package actions turns a live object and an action's parameters into a Plan: the values read, the
// values to write, an RFC 6902 JSON patch that guards every value it read with a "test" operation,
// and a sentence explaining the numbers. It has no Kubernetes client: the engine reads the objects
// and passes them in, so every decision here is a pure function that a table test can pin down.
//
// The planners and their arithmetic:
//
//   - IncreaseMemory: new limit = min(max, roundUp(max(current*(1+percent/100), current+minIncrease),
//     roundTo)); defaults 25%, 64Mi, 64Mi and 2Gi. The request rises by the same factor (new/old
//     limit), rounded up to roundTo, never above the new limit; a container without a request keeps
//     none (Kubernetes then defaults it to the limit). A container without a limit is based on its
//     request; one with neither is treated as if its limit were MemoryFloor (256Mi). A container
//     already at or above max is skipped with ErrAtMaximum. VPAOOMBump gives what the Vertical Pod
//     Autoscaler would propose after an OOM kill, for comparison.
//   - IncreaseCPU: the same in millicores: new limit = min(max, ceil(current*(1+percent/100))),
//     defaults 25% and 4 cores; the floor for a container with neither limit nor request is
//     CPUFloor (100m).
//   - ScaleUp: new = min(maxReplicas, max(current+1, ceil(current*(1+percent/100)))) applied to an
//     HPA's spec.maxReplicas, or to a Deployment's or StatefulSet's spec.replicas when no HPA
//     controls it (see ControllingHPA; PlanFor always goes through the HPA when one is given).
//   - RollbackImage: the newest earlier revision (ReplicaSets of a Deployment, ControllerRevisions
//     of a StatefulSet), within maxRevisions, whose image for the container differs from the
//     current one; revisions labelled heal8s.io/stable=true are preferred (see ShouldMarkStable).
//
// Quantities are written readably: memory in binary SI when it is a whole number of Mi ("640Mi",
// "1Gi"), otherwise in the shorter canonical form ("700M"); CPU in millicores or whole cores
// ("1500m", "2"). These are the forms the API server stores them in.
//
// Before and After are keyed by readable field paths such as
// spec.template.spec.containers[app].resources.limits.memory. A key in After that is missing from
// Before is a field the plan adds. A skip is a sentinel error (ErrAtMaximum, ErrContainerNotFound,
// ErrNoCandidate, ErrNoChange, ErrUnsupportedTarget) wrapped with the detail a reviewer needs.
package actions
