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
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func TestEventTime(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }
	micro := func(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(t0.Add(d)) }
	tests := []struct {
		name string
		e    eventsv1.Event
		want time.Time
	}{
		{"a series' last observation wins", eventsv1.Event{Series: &eventsv1.EventSeries{LastObservedTime: micro(4 * time.Minute)},
			DeprecatedLastTimestamp: at(3 * time.Minute), EventTime: micro(time.Minute)}, t0.Add(4 * time.Minute)},
		{"core API's last timestamp", eventsv1.Event{DeprecatedLastTimestamp: at(3 * time.Minute), EventTime: micro(time.Minute)}, t0.Add(3 * time.Minute)},
		{"events.k8s.io's event time", eventsv1.Event{EventTime: micro(time.Minute), DeprecatedFirstTimestamp: at(0)}, t0.Add(time.Minute)},
		{"core API's first timestamp", eventsv1.Event{DeprecatedFirstTimestamp: at(2 * time.Minute)}, t0.Add(2 * time.Minute)},
		{"creation as a last resort", eventsv1.Event{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: at(5 * time.Minute)}}, t0.Add(5 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { NewWithT(t).Expect(EventTime(&tt.e).Equal(tt.want)).To(BeTrue()) })
	}
}

func TestEventIsAbout(t *testing.T) {
	r := &v1beta1.Remediation{ObjectMeta: metav1.ObjectMeta{Name: "oom-1", Namespace: "shop", UID: "u1"}}
	ref := func(kind, ns, name, uid string) *eventsv1.Event {
		return &eventsv1.Event{Regarding: corev1.ObjectReference{Kind: kind, Namespace: ns, Name: name, UID: types.UID(uid)}}
	}
	g := NewWithT(t)
	g.Expect(EventIsAbout(ref("Remediation", "shop", "oom-1", "u1"), r)).To(BeTrue())
	g.Expect(EventIsAbout(ref("Remediation", "shop", "oom-1", "u2"), r)).To(BeFalse(), "a recreated namesake")
	g.Expect(EventIsAbout(ref("Remediation", "shop", "oom-1", ""), r)).To(BeTrue())
	g.Expect(EventIsAbout(ref("Remediation", "", "oom-1", ""), r)).To(BeTrue())
	g.Expect(EventIsAbout(ref("Remediation", "bank", "oom-1", ""), r)).To(BeFalse())
	g.Expect(EventIsAbout(ref("Deployment", "shop", "oom-1", ""), r)).To(BeFalse())
}
