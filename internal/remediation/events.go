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

package remediation

import (
	"time"

	eventsv1 "k8s.io/api/events/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// EventTime is when an Event last happened, whichever API (events.k8s.io or core) wrote it.
// The dashboard and `kubectl heal8s explain` both order a Remediation's Events by it.
func EventTime(e *eventsv1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.DeprecatedFirstTimestamp.IsZero():
		return e.DeprecatedFirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// EventIsAbout reports whether Event e regards Remediation r: by UID when both have one, else by
// kind, name and namespace (an Event written without a namespace in its reference counts).
func EventIsAbout(e *eventsv1.Event, r *v1beta1.Remediation) bool {
	o := e.Regarding
	if o.UID != "" && r.UID != "" {
		return o.UID == r.UID
	}
	return o.Kind == "Remediation" && o.Name == r.Name && (o.Namespace == "" || o.Namespace == r.Namespace)
}
