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

package alertmanager

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/heal8s/heal8s/api/v1beta1"
)

func controlled(kind, name string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID(name), Controller: ptr.To(true)}}
}

func TestResolveOwner(t *testing.T) {
	objs := append(podObjects("ns", "api", "7d9f8b6c5d", "x2k4q"),
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pg-0", OwnerReferences: controlled("StatefulSet", "pg")}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "agent-abcde", OwnerReferences: controlled("DaemonSet", "agent")}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bare"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "job-x-abcde", OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "job-x", UID: "j", Controller: ptr.To(true)}}}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "lonely-55f"}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-6c8d9", OwnerReferences: controlled("Deployment", "web")}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kafka"}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "fluent"}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "job-x"}},
	)
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(objs...).Build()
	tests := []struct {
		pod      string
		wantKind v1beta1.TargetKind
		wantName string
		wantErr  bool
	}{
		{pod: "api-7d9f8b6c5d-x2k4q", wantKind: v1beta1.TargetKindDeployment, wantName: "api"},
		{pod: "pg-0", wantKind: v1beta1.TargetKindStatefulSet, wantName: "pg"},
		{pod: "agent-abcde", wantKind: v1beta1.TargetKindDaemonSet, wantName: "agent"},
		{pod: "web-6c8d9-zzzzz", wantKind: v1beta1.TargetKindDeployment, wantName: "web"}, // gone: through its ReplicaSet's name
		{pod: "kafka-2", wantKind: v1beta1.TargetKindStatefulSet, wantName: "kafka"},      // gone: StatefulSet ordinal
		{pod: "fluent-q8w7e", wantKind: v1beta1.TargetKindDaemonSet, wantName: "fluent"},  // gone: DaemonSet
		{pod: "bare", wantErr: true},
		{pod: "job-x-abcde", wantErr: true},
		{pod: "lonely-55f-aaaaa", wantErr: true},
		{pod: "ghost-5c4b3a2d1e-aaaaa", wantErr: true},
		{pod: "nodash", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.pod, func(t *testing.T) {
			g := NewWithT(t)
			kind, name, err := resolveOwner(context.Background(), c, "ns", tt.pod)
			if tt.wantErr {
				g.Expect(err).To(MatchError(ErrTargetNotFound))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(kind).To(Equal(tt.wantKind))
			g.Expect(name).To(Equal(tt.wantName))
		})
	}
}

func TestResolveOwnerReadsMetadataOnly(t *testing.T) {
	g := NewWithT(t)
	var kinds []string
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(podObjects("ns", "api", "abc", "12345")...).Build()
	spy := getSpy{Reader: c, seen: &kinds}
	_, _, err := resolveOwner(context.Background(), spy, "ns", "api-abc-12345")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(kinds).To(Equal([]string{"*v1.PartialObjectMetadata", "*v1.PartialObjectMetadata"}))
}

type getSpy struct {
	client.Reader
	seen *[]string
}

func (s getSpy) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	*s.seen = append(*s.seen, fmt.Sprintf("%T", obj))
	return s.Reader.Get(ctx, key, obj, opts...)
}

func TestRemediationName(t *testing.T) {
	g := NewWithT(t)
	pol := types.NamespacedName{Namespace: "shop", Name: "seed"}
	a := RemediationName(pol, "memory", "abc", testStart)
	g.Expect(a).To(MatchRegexp(`^memory-[0-9a-f]{10}$`))
	g.Expect(RemediationName(pol, "memory", "abc", testStart)).To(Equal(a), "the same alert instance maps to the same name")
	g.Expect(RemediationName(pol, "memory", "abc", testStart.In(time.FixedZone("x", 3600)))).To(Equal(a), "time zones do not matter")
	for _, other := range []string{
		RemediationName(pol, "memory", "abc", testStart.Add(time.Second)),
		RemediationName(pol, "memory", "abd", testStart),
		RemediationName(pol, "cpu", "abc", testStart),
		RemediationName(types.NamespacedName{Namespace: "shop", Name: "other"}, "memory", "abc", testStart),
		RemediationName(types.NamespacedName{Namespace: "other", Name: "seed"}, "memory", "abc", testStart),
	} {
		g.Expect(other).NotTo(Equal(a))
	}
	long := RemediationName(pol, strings.Repeat("a", 51)+"-b"+strings.Repeat("c", 10), "abc", testStart)
	g.Expect(len(long)).To(BeNumerically("<=", 63))
	g.Expect(validation.IsDNS1123Label(long)).To(BeEmpty())
	g.Expect(validation.IsDNS1123Label(RemediationName(pol, strings.Repeat("r", 63), "abc", testStart))).To(BeEmpty())
}
