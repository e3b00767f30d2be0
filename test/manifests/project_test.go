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

package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// projectResource is one entry of PROJECT's resources, as kubebuilder v4 writes it.
type projectResource struct {
	API *struct {
		CRDVersion string `json:"crdVersion"`
		Namespaced bool   `json:"namespaced"`
	} `json:"api"`
	Controller bool   `json:"controller"`
	Domain     string `json:"domain"`
	Kind       string `json:"kind"`
	Path       string `json:"path"`
	Version    string `json:"version"`
	Webhooks   *struct {
		Conversion bool `json:"conversion"`
		Defaulting bool `json:"defaulting"`
		Validation bool `json:"validation"`
	} `json:"webhooks"`
}

// TestPROJECTListsEveryAPI holds that PROJECT, which kubebuilder reads before scaffolding
// anything, records every kind and version the CRDs serve (config/crd/bases), with the scope
// they have and the controllers and webhooks that exist for them.
func TestPROJECTListsEveryAPI(t *testing.T) {
	g := NewWithT(t)
	raw, err := os.ReadFile(filepath.Join(suite.root, "PROJECT"))
	g.Expect(err).NotTo(HaveOccurred())
	var project struct {
		Domain    string            `json:"domain"`
		Repo      string            `json:"repo"`
		Resources []projectResource `json:"resources"`
	}
	g.Expect(yaml.Unmarshal(raw, &project)).To(Succeed())
	listed := map[string]projectResource{}
	for _, r := range project.Resources {
		key := r.Kind + "/" + r.Version
		g.Expect(listed).NotTo(HaveKey(key), "PROJECT lists %s twice", key)
		listed[key] = r
	}

	crds, err := filepath.Glob(filepath.Join(suite.root, "config", "crd", "bases", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(crds).NotTo(BeEmpty())
	served := map[string]bool{}
	for _, path := range crds {
		raw, err := os.ReadFile(path)
		g.Expect(err).NotTo(HaveOccurred())
		var crd apiextensionsv1.CustomResourceDefinition
		g.Expect(yaml.Unmarshal(raw, &crd)).To(Succeed(), path)
		g.Expect(crd.Spec.Group).To(Equal(project.Domain), "%s: PROJECT's domain is the API group", path)
		kind := crd.Spec.Names.Kind
		lower := strings.ToLower(kind)
		for _, v := range crd.Spec.Versions {
			key := kind + "/" + v.Name
			served[key] = true
			r, ok := listed[key]
			if !g.Expect(ok).To(BeTrue(), "PROJECT does not list %s", key) {
				continue
			}
			g.Expect(r.Domain).To(Equal(project.Domain), key)
			g.Expect(r.Path).To(Equal(project.Repo+"/api/"+v.Name), key)
			g.Expect(r.API).NotTo(BeNil(), "%s: no api", key)
			g.Expect(r.API.CRDVersion).To(Equal("v1"), key)
			g.Expect(r.API.Namespaced).To(Equal(crd.Spec.Scope == apiextensionsv1.NamespaceScoped), "%s: scope", key)
			if !v.Storage {
				// Spokes: kubebuilder records the controller and webhooks on the hub only.
				g.Expect(r.Controller).To(BeFalse(), "%s is not the storage version", key)
				g.Expect(r.Webhooks).To(BeNil(), "%s is not the storage version", key)
				continue
			}
			_, err := os.Stat(filepath.Join(suite.root, "internal", "controller", lower+"_controller.go"))
			g.Expect(r.Controller).To(Equal(err == nil), "%s: controller: true exactly when internal/controller/%s_controller.go exists", key, lower)
			_, err = os.Stat(filepath.Join(suite.root, "internal", "webhook", v.Name, lower+"_webhook.go"))
			g.Expect(r.Webhooks != nil).To(Equal(err == nil), "%s: webhooks exactly when internal/webhook/%s/%s_webhook.go exists", key, v.Name, lower)
			if r.Webhooks != nil {
				g.Expect(r.Webhooks.Conversion).To(Equal(len(crd.Spec.Versions) > 1), "%s: conversion webhook", key)
			}
		}
	}
	for key := range listed {
		g.Expect(served).To(HaveKey(key), "PROJECT lists %s, which no CRD serves", key)
	}
}
