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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AnnotationNotifierSecret must be "true" on a Secret a Notifier uses: a Secret says what it
// is for, so no other credential of the namespace is sent to a webhook.
const AnnotationNotifierSecret = "heal8s.io/notifier-secret" //nolint:gosec // G101: an annotation name, not a credential.

// NotifierType is where a Notifier's messages go and how they are encoded.
// +kubebuilder:validation:Enum=slack;msteams;generic
type NotifierType string

const (
	// NotifierSlack posts Block Kit messages to a Slack incoming webhook (the Secret's address),
	// or with chat.postMessage when the Secret holds a bot token.
	NotifierSlack NotifierType = "slack"
	// NotifierMSTeams posts an Adaptive Card to a Microsoft Teams Workflows webhook.
	NotifierMSTeams NotifierType = "msteams"
	// NotifierGeneric posts heal8s's own JSON schema (docs/notifications.md), HMAC-signed.
	NotifierGeneric NotifierType = "generic"
)

// NotificationEvent is a kind of moment in a Remediation's life a Notifier can report.
// +kubebuilder:validation:Enum=Proposed;Succeeded;Failed;Skipped;BudgetExhausted;BudgetLow
type NotificationEvent string

const (
	// EventProposed: a pull request was opened (its link), or a Direct plan is about to be applied.
	EventProposed NotificationEvent = "Proposed"
	// EventSucceeded: the change is live and the alert resolved.
	EventSucceeded NotificationEvent = "Succeeded"
	// EventFailed: the remediation ended without healing (a veto, a failed verification, ...).
	EventFailed NotificationEvent = "Failed"
	// EventSkipped: heal8s decided not to act (a veto within vetoPeriod, a VPA, a suspended
	// policy, ...), except for an exhausted budget, which is EventBudgetExhausted.
	EventSkipped NotificationEvent = "Skipped"
	// EventBudgetExhausted: skipped because the target used its maxPerTarget within
	// budgetWindow: a leak is suspected.
	EventBudgetExhausted NotificationEvent = "BudgetExhausted"
	// EventBudgetLow: a remediation succeeded and the target has at most one remediation left in
	// its budget: the next alert will be skipped, and a leak is likely.
	EventBudgetLow NotificationEvent = "BudgetLow"
)

// NotificationSeverity orders events for minSeverity, like Flux's eventSeverity.
// +kubebuilder:validation:Enum=info;warning;error
type NotificationSeverity string

const (
	// SeverityInfo is Proposed and Succeeded.
	SeverityInfo NotificationSeverity = "info"
	// SeverityWarning is Skipped and BudgetLow.
	SeverityWarning NotificationSeverity = "warning"
	// SeverityError is Failed and BudgetExhausted.
	SeverityError NotificationSeverity = "error"
)

// NotifierSecretReference names a Secret in the Notifier's own namespace.
type NotifierSecretReference struct {
	// name of the Secret, annotated heal8s.io/notifier-secret: "true". It holds the key address (the webhook URL), and optionally token (a
	// Slack bot token, sent with chat.postMessage) and hmacKey (signs generic messages).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// NotifierSpec says where a namespace's Remediation news goes and which of it.
type NotifierSpec struct {
	// type of the destination.
	// +required
	Type NotifierType `json:"type"`

	// secretRef names the Secret, in this namespace, holding the address and credentials. The
	// address is a secret: a webhook URL is its own credential.
	// +required
	SecretRef NotifierSecretReference `json:"secretRef"`

	// channel is the Slack channel chat.postMessage posts to, with a bot token. Ignored otherwise.
	// +kubebuilder:validation:MaxLength=80
	// +optional
	Channel string `json:"channel,omitempty"`

	// policies names the RemediationPolicies whose Remediations are reported. Empty with no
	// policySelector reports every Remediation in this namespace.
	// +kubebuilder:validation:MaxItems=50
	// +listType=set
	// +optional
	Policies []string `json:"policies,omitempty"`

	// policySelector selects RemediationPolicies by label, in addition to policies.
	// +optional
	PolicySelector *metav1.LabelSelector `json:"policySelector,omitempty"`

	// events lists the events reported; empty reports all of them.
	// +kubebuilder:validation:MaxItems=6
	// +listType=set
	// +optional
	Events []NotificationEvent `json:"events,omitempty"`

	// minSeverity drops events below it: info reports all, warning drops Proposed and
	// Succeeded, error keeps Failed and BudgetExhausted.
	// +kubebuilder:default=info
	// +optional
	MinSeverity NotificationSeverity `json:"minSeverity,omitempty"`

	// rateLimit bounds how many messages this Notifier sends.
	// +optional
	RateLimit NotifierRateLimit `json:"rateLimit,omitempty"`

	// suspend stops sending; events that happen while suspended are not sent later.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// NotifierRateLimit is a token bucket: burst messages at once, then one every interval. Events
// that arrive while it is empty are summarised into the next message, never dropped for rate.
type NotifierRateLimit struct {
	// burst is how many messages may go at once.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=5
	// +optional
	Burst int32 `json:"burst,omitempty"`

	// interval is how often one more message may go once the burst is used. Defaults to 10s.
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// NotifierStatus is what the notifier controller observed and delivered.
type NotifierStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready is True when the Secret is usable and the address allowed, and the last
	// delivery (if any) succeeded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// handledUntil is a high-water mark: every phase change before it was delivered or given
	// up on. After a restart heal8s reports the phase changes from this time on, so a restart
	// neither loses nor, except for this second, repeats messages.
	// +optional
	HandledUntil *metav1.Time `json:"handledUntil,omitempty"`

	// lastDeliveryTime is when the last message was delivered.
	// +optional
	LastDeliveryTime *metav1.Time `json:"lastDeliveryTime,omitempty"`

	// lastDeliveryError is the last delivery failure, empty after a success.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	LastDeliveryError string `json:"lastDeliveryError,omitempty"`

	// delivered counts messages delivered since the manager started.
	// +optional
	Delivered int64 `json:"delivered,omitempty"`

	// dropped counts messages given up on since the manager started.
	// +optional
	Dropped int64 `json:"dropped,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ntf,categories=heal8s
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`,priority=1
// +kubebuilder:printcolumn:name="Last Error",type=string,JSONPath=`.status.lastDeliveryError`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Notifier sends news of the Remediations in its namespace to Slack, Microsoft Teams or a
// generic webhook, like a Flux notification Provider and Alert in one object.
type Notifier struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is a standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is where and what to send.
	// +required
	Spec NotifierSpec `json:"spec"`

	// status is what was delivered.
	// +optional
	Status NotifierStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// NotifierList contains a list of Notifier.
type NotifierList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []Notifier `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(SchemeGroupVersion, &Notifier{}, &NotifierList{})
		return nil
	})
}
