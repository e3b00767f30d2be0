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

package controller

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestCacheTransform(t *testing.T) {
	g := NewWithT(t)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web",
		Annotations:   map[string]string{corev1.LastAppliedConfigAnnotation: `{"big":"copy"}`, "heal8s.io/source-path": "apps/web.yaml"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	out, err := CacheTransform()(d)
	g.Expect(err).NotTo(HaveOccurred())
	got := out.(*appsv1.Deployment)
	g.Expect(got.ManagedFields).To(BeEmpty())
	g.Expect(got.Annotations).To(Equal(map[string]string{"heal8s.io/source-path": "apps/web.yaml"}))

	// What is not an object passes through.
	out, err = CacheTransform()("tombstone")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("tombstone"))
}

func TestOwnedBySelector(t *testing.T) {
	g := NewWithT(t)
	opts, err := ownedBySelector(&metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, client.InNamespace("shop"))
	g.Expect(err).NotTo(HaveOccurred())
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	g.Expect(lo.Namespace).To(Equal("shop"))
	g.Expect(lo.LabelSelector.String()).To(Equal("app=web"))

	// Without a selector, the namespace.
	opts, err = ownedBySelector(nil, client.InNamespace("shop"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect((&client.ListOptions{}).ApplyOptions(opts).LabelSelector).To(BeNil())

	_, err = ownedBySelector(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}})
	g.Expect(err).To(HaveOccurred())
}
