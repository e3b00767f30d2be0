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

// Package dashboard serves heal8s's read-only web page for the person on call: what heal8s has
// done, is doing and refused to do, and why.
//
// It serves nobody it has not identified: every request carries a Kubernetes bearer token (the
// Authorization header, or the HttpOnly SameSite=Strict cookie its login page sets), reviewed by
// the API server (TokenReview), and each viewer sees the namespaces where a SubjectAccessReview
// lets them list Remediations (RemediationPolicies on the policies page); both answers are
// cached for a minute. The activity feed and the live stream are filtered the same way, live
// streams are limited per user and in all, and the list is paginated.
//
// Everything it shows comes from the manager's informer cache (Remediations, RemediationPolicies
// and events.k8s.io Events), so opening the page costs the API server nothing. The
// recent-activity feed is a bounded in-memory buffer fed by an informer event handler on
// Remediations: every phase transition recorded in status.history, seeded from the history of
// the Remediations already in the cache when the dashboard starts, so every replica shows the
// same feed. Pages are rendered with html/template, which escapes alert labels and annotations
// (untrusted text); the CSS and JavaScript are embedded, so the page works offline, and a
// Content-Security-Policy forbids anything else. Live updates arrive over server-sent events:
// the stream says "something changed" and the page fetches the HTML fragment it shows again.
package dashboard

// RBAC for reading the Events shown on a Remediation's page. Remediations and policies are
// already readable by the manager.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=get;list;watch
