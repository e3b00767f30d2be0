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

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults filled in by the defaulting webhook. They are v1alpha1's values where it had one, and
// are documented in docs/policies.md; changing one changes behaviour for every existing policy
// that leaves the field empty, so treat them as API.
const (
	DefaultMemoryPercent      int32 = 25
	DefaultMemoryMinIncrease        = "64Mi"
	DefaultMemoryRoundTo            = "64Mi"
	DefaultMemoryMax                = "2Gi"
	DefaultCPUPercent         int32 = 25
	DefaultCPUMax                   = "4"
	DefaultScaleUpPercent     int32 = 50
	DefaultScaleUpMaxReplicas int32 = 10
	DefaultMaxRevisions       int32 = 5

	DefaultCooldown            = 30 * time.Minute
	DefaultMaxConcurrent int32 = 5
	DefaultMaxPerHour    int32 = 10
	DefaultMaxPerTarget  int32 = 3
	DefaultBudgetWindow        = 168 * time.Hour
	DefaultVetoPeriod          = 168 * time.Hour
	DefaultVerifyWindow        = 10 * time.Minute
	DefaultApplyTimeout        = 30 * time.Minute

	DefaultTTLSecondsAfterFinished int32 = 7 * 24 * 3600
	DefaultHistoryLimit            int32 = 10

	DefaultGitProvider   = GitProviderGitHub
	DefaultGitBaseBranch = "main"
)

// Well-known labels and annotations. They are API: users select on them and other tools set them.
const (
	// LabelPolicy on a Remediation names the RemediationPolicy that created it.
	LabelPolicy = "heal8s.io/policy"
	// LabelRule on a Remediation names the rule that matched.
	LabelRule = "heal8s.io/rule"
	// LabelFingerprint on a Remediation holds the Alertmanager fingerprint of the alert.
	LabelFingerprint = "heal8s.io/fingerprint"
	// LabelStable on a ReplicaSet marks a revision that ran fully available for long enough to be
	// a rollback candidate preferred over others.
	LabelStable = "heal8s.io/stable"
	// AnnotationSourcePath on a live object names the file (optionally "#n" for the document
	// index) in the Git repository that holds its manifest.
	AnnotationSourcePath = "heal8s.io/source-path"
)

// LabelAction on a Remediation holds its ActionType, for selection and the Action print column.
const LabelAction = "heal8s.io/action"

// Sighting annotations: what the receiver and the pull request webhook observe, recorded on the
// Remediation's metadata. Only the Remediation controller writes status; it folds these into
// status.alertCount, status.lastSeen, status.alertResolvedAt and status.pullRequest
// (docs/architecture.md, "Who writes what").
const (
	// AnnotationAlertCount is how many times Alertmanager sent the alert while firing, as a
	// decimal number, counted by the receiver.
	AnnotationAlertCount = "heal8s.io/alert-count"
	// AnnotationAlertLastSeen is when the receiver last saw the alert firing (RFC 3339).
	AnnotationAlertLastSeen = "heal8s.io/alert-last-seen"
	// AnnotationAlertResolvedAt is when Alertmanager reported the alert resolved (RFC 3339).
	AnnotationAlertResolvedAt = "heal8s.io/alert-resolved-at"
	// AnnotationPullRequest is the last state of the Remediation's pull request a GitHub webhook
	// delivery or the repository poller reported, as JSON (PullRequestSighting).
	AnnotationPullRequest = "heal8s.io/pull-request"
)

// PullRequestSighting is the JSON of the heal8s.io/pull-request annotation: what GitHub said of
// a pull request, matched by the controller against status.pullRequest before it counts.
type PullRequestSighting struct {
	Repository string           `json:"repository"`
	Number     int32            `json:"number"`
	Branch     string           `json:"branch,omitempty"`
	NodeID     string           `json:"nodeID,omitempty"`
	URL        string           `json:"url,omitempty"`
	State      PullRequestState `json:"state"`
	UpdatedAt  *metav1.Time     `json:"updatedAt,omitempty"`
}
