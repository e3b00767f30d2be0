//go:build e2e

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

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/test/harness"
)

// The GitOps layouts of internal/gitops/overlay/testdata (see its README for what each models),
// each served as its own repository by the fake GitHub and claimed in the cluster by the Flux or
// Argo CD objects those tools would have created. The policies of these namespaces name no
// repository and no path: heal8s must find both from the live Deployment.
const (
	fluxNamespace  = "podinfo"      // flux-kustomize-helm's production overlay applies podinfo here
	argoNamespace  = "guestbook"    // the Argo CD Application's destination.namespace
	shopNamespace  = "shop-staging" // base-overlays' staging overlay
	argoCDNS       = "argocd"
	fluxSystemNS   = "flux-system"
	scaleAlertName = "HighRequestLatency"
)

// overlayNamespaces need the stand-in kubelet and the fake GitHub's credential (e2e_suite_test.go).
var overlayNamespaces = []string{fluxNamespace, argoNamespace, shopNamespace}

// layout is one fixture repository and the environment heal8s must edit.
type layout struct {
	fixture, repository string
	// dir is the kustomization the GitOps tool applies; namespace is where the target lives.
	dir, namespace, target, container string
	// previousImage is the image of the revision before the rendered one, for the rollback.
	previousImage string
	// claim creates the Flux or Argo CD objects that claim the target and returns the labels and
	// annotations the tool puts on what it applies.
	claim func(l layout) (labels, annotations map[string]string)
}

func (l layout) fixtureFiles() map[string]string {
	GinkgoHelper()
	files, err := harness.ReadRepoDir(filepath.Join("..", "..", "internal", "gitops", "overlay", "testdata", l.fixture))
	Expect(err).NotTo(HaveOccurred())
	return files
}

func repoURL(repository string) string {
	return strings.TrimSuffix(st.GitHub.URL(), "/") + "/" + repository + ".git"
}

// fluxClaims creates a GitRepository and a Kustomization of path, as flux bootstrap lays them
// out, whose status.inventory lists the target as kustomize-controller records it.
func fluxClaims(name string) func(l layout) (map[string]string, map[string]string) {
	return func(l layout) (map[string]string, map[string]string) {
		GinkgoHelper()
		Expect(st.ControlPlane.EnsureNamespace(ctx, fluxSystemNS, nil)).To(Succeed())
		repo := gitopsObject("source.toolkit.fluxcd.io/v1", "GitRepository", fluxSystemNS, name, map[string]any{
			"interval": "1m0s", "url": repoURL(l.repository), "ref": map[string]any{"branch": "main"}})
		Expect(k8s.Create(ctx, repo)).To(Succeed())
		ks := gitopsObject("kustomize.toolkit.fluxcd.io/v1", "Kustomization", fluxSystemNS, name, map[string]any{
			"interval": "10m0s", "path": "./" + l.dir, "prune": true, "wait": true,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": name}})
		Expect(k8s.Create(ctx, ks)).To(Succeed())
		Expect(unstructured.SetNestedField(ks.Object, map[string]any{"entries": []any{
			map[string]any{"id": l.namespace + "_" + l.target + "_apps_Deployment", "v": "v1"},
		}}, "status", "inventory")).To(Succeed())
		Expect(k8s.Status().Update(ctx, ks)).To(Succeed())
		return map[string]string{"kustomize.toolkit.fluxcd.io/name": name, "kustomize.toolkit.fluxcd.io/namespace": fluxSystemNS}, nil
	}
}

// argoClaims creates an Argo CD Application of the kustomization whose status.resources lists
// the target, and tracks the target with Argo CD's annotation (its default tracking method).
func argoClaims(name string) func(l layout) (map[string]string, map[string]string) {
	return func(l layout) (map[string]string, map[string]string) {
		GinkgoHelper()
		Expect(st.ControlPlane.EnsureNamespace(ctx, argoCDNS, nil)).To(Succeed())
		app := gitopsObject("argoproj.io/v1alpha1", "Application", argoCDNS, name, map[string]any{
			"project":     "default",
			"source":      map[string]any{"repoURL": repoURL(l.repository), "targetRevision": "HEAD", "path": l.dir},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": l.namespace},
		})
		// Application has no status subresource: Argo CD writes status with the object.
		app.Object["status"] = map[string]any{"resources": []any{
			map[string]any{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": l.namespace, "name": l.target,
				"status": "Synced", "health": map[string]any{"status": "Healthy"}},
		}}
		Expect(k8s.Create(ctx, app)).To(Succeed())
		return nil, map[string]string{"argocd.argoproj.io/tracking-id": name + ":apps/Deployment:" + l.namespace + "/" + l.target}
	}
}

func gitopsObject(apiVersion, kind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

var layouts = []layout{
	{fixture: "flux-kustomize-helm", repository: "acme/flux-fleet", dir: "apps/production", namespace: fluxNamespace,
		target: "podinfo", container: "podinfod", previousImage: "ghcr.io/stefanprodan/podinfo:6.7.0", claim: fluxClaims("apps")},
	{fixture: "argocd-example-apps", repository: "acme/argocd-example-apps", dir: "kustomize-guestbook", namespace: argoNamespace,
		target: "kustomize-guestbook-ui", container: "guestbook-ui", previousImage: "gcr.io/google-samples/gb-frontend:v4",
		claim: argoClaims("guestbook")},
	{fixture: "base-overlays", repository: "acme/shop", dir: "overlays/staging", namespace: shopNamespace,
		target: "web", container: "web", previousImage: "registry.example.com/shop/web:1.4.2", claim: fluxClaims("shop-staging")},
}

// overlayPolicy routes heal8s's three Deployment actions and names no repository and no path.
func overlayPolicy(ns string) *v1beta1.RemediationPolicy {
	p := policy(ns)
	p.Spec.Git.Repository = ""
	p.Spec.Rules = []v1beta1.Rule{
		{Name: "oom", Matchers: []string{`alertname="KubePodOOMKilled"`},
			Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}},
		{Name: "latency", Matchers: []string{`alertname="` + scaleAlertName + `"`},
			Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}},
		{Name: "crash", Matchers: []string{`alertname="KubePodCrashLooping"`},
			Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}},
	}
	return p
}

// rendered is one kustomization's output, keyed by apiVersion/kind/namespace/name.
type rendered map[string]map[string]any

// renderDir runs kustomize build on dir of files with kustomize's Go API, independently of heal8s.
func renderDir(files map[string]string, dir string) rendered {
	GinkgoHelper()
	fs := filesys.MakeFsInMemory()
	for p, c := range files {
		Expect(fs.MkdirAll("/" + path.Dir(p))).To(Succeed())
		Expect(fs.WriteFile("/"+p, []byte(c))).To(Succeed())
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/"+dir)
	Expect(err).NotTo(HaveOccurred(), "kustomize build %s", dir)
	out := rendered{}
	for _, r := range m.Resources() {
		obj, err := r.Map()
		Expect(err).NotTo(HaveOccurred())
		// Through JSON, as the plan's patch is applied, so numbers compare alike.
		out[strings.Join([]string{r.GetApiVersion(), r.GetKind(), r.GetNamespace(), r.GetName()}, "/")] = deepCopyJSON(obj)
	}
	return out
}

// kustomizationDirs lists every directory of the repository that kustomize can build.
func kustomizationDirs(files map[string]string) []string {
	var dirs []string
	for p := range files {
		switch path.Base(p) {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			dirs = append(dirs, path.Dir(p))
		}
	}
	slices.Sort(dirs)
	return dirs
}

// targetID finds the target in a render: with its namespace, or without one when the tool
// applies the kustomization to the target's namespace (Argo CD's destination.namespace).
func targetID(r rendered, l layout) string {
	GinkgoHelper()
	for _, ns := range []string{l.namespace, ""} {
		if id := "apps/v1/Deployment/" + ns + "/" + l.target; r[id] != nil {
			return id
		}
	}
	Fail(fmt.Sprintf("%s does not render Deployment %s", l.dir, l.target))
	return ""
}

// applyAsGitOps applies the rendered target to the cluster as the GitOps tool would, with its
// labels and annotations, image set to image when given.
func applyAsGitOps(l layout, obj map[string]any, labels, annotations map[string]string, image string) {
	GinkgoHelper()
	u := &unstructured.Unstructured{Object: deepCopyJSON(obj)}
	u.SetNamespace(l.namespace)
	lb := u.GetLabels()
	if lb == nil {
		lb = map[string]string{}
	}
	maps.Copy(lb, labels)
	u.SetLabels(lb)
	an := u.GetAnnotations()
	if an == nil {
		an = map[string]string{}
	}
	maps.Copy(an, annotations)
	u.SetAnnotations(an)
	if image != "" {
		cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		cs[0].(map[string]any)["image"] = image
		Expect(unstructured.SetNestedSlice(u.Object, cs, "spec", "template", "spec", "containers")).To(Succeed())
	}
	ac := client.ApplyConfigurationFromUnstructured(u)
	Expect(k8s.Apply(ctx, ac, client.FieldOwner(harness.GitOpsFieldManager), client.ForceOwnership)).To(Succeed())
}

func deepCopyJSON(m map[string]any) map[string]any {
	GinkgoHelper()
	b, err := json.Marshal(m)
	Expect(err).NotTo(HaveOccurred())
	out := map[string]any{}
	Expect(json.Unmarshal(b, &out)).To(Succeed())
	return out
}

// wantAfter is the target of the render before the change with the plan's writes applied (its
// tests guard API defaults of the live object, which Git leaves out).
func wantAfter(before map[string]any, patch string) map[string]any {
	GinkgoHelper()
	var ops []map[string]any
	Expect(json.Unmarshal([]byte(patch), &ops)).To(Succeed())
	writes := slices.DeleteFunc(ops, func(o map[string]any) bool { return o["op"] == "test" })
	Expect(writes).NotTo(BeEmpty(), "the plan writes something")
	wb, err := json.Marshal(writes)
	Expect(err).NotTo(HaveOccurred())
	jp, err := jsonpatch.DecodePatch(wb)
	Expect(err).NotTo(HaveOccurred())
	bj, err := json.Marshal(before)
	Expect(err).NotTo(HaveOccurred())
	aj, err := jp.ApplyWithOptions(bj, &jsonpatch.ApplyOptions{EnsurePathExistsOnAdd: true})
	Expect(err).NotTo(HaveOccurred())
	out := map[string]any{}
	Expect(json.Unmarshal(aj, &out)).To(Succeed())
	return out
}

// overlayAction is one action, the alert that routes to it and how the spec checks the plan.
type overlayAction struct {
	name  string
	alert func(l layout, pod string) harness.Alert
}

var overlayActions = []overlayAction{
	{name: "increase memory", alert: func(l layout, pod string) harness.Alert {
		a := oomAlert(l.namespace, pod)
		a.Labels["container"] = l.container
		return a
	}},
	{name: "scale up", alert: func(l layout, pod string) harness.Alert {
		return harness.Alert{Labels: map[string]string{"alertname": scaleAlertName, "namespace": l.namespace, "pod": pod,
			"container": l.container, "severity": "warning"}, StartsAt: time.Now().UTC()}
	}},
	{name: "roll back the image", alert: func(l layout, pod string) harness.Alert {
		return harness.Alert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": l.namespace, "pod": pod,
			"container": l.container, "reason": "CrashLoopBackOff", "severity": "warning", "job": "kube-state-metrics"},
			StartsAt: time.Now().UTC()}
	}},
}

var _ = Describe("heal8s on GitOps repositories with overlays, the source discovered from Flux or Argo CD", Ordered, func() {
	BeforeAll(func() {
		if st.ControlPlane.Existing {
			Skip("these specs install Flux's and Argo CD's CRDs and create objects in flux-system and argocd: only on the suite's own control plane")
		}
		By("installing Flux's and Argo CD's CRDs (trimmed, test/fixtures/gitops-crds)")
		_, err := envtest.InstallCRDs(st.ControlPlane.Config, envtest.CRDInstallOptions{
			Paths: []string{filepath.Join("..", "fixtures", "gitops-crds")}, ErrorIfPathMissing: true})
		Expect(err).NotTo(HaveOccurred())
		for _, ns := range overlayNamespaces {
			Expect(k8s.Create(ctx, overlayPolicy(ns))).To(Succeed())
		}
		Eventually(func(g Gomega) {
			for _, ns := range overlayNamespaces {
				p := &v1beta1.RemediationPolicy{}
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "e2e"}, p)).To(Succeed())
				g.Expect(p.Status.CompiledRules).To(BeEquivalentTo(3))
			}
		}).Should(Succeed())
	})

	for _, l := range layouts {
		Context(fmt.Sprintf("%s, %s applied to %s", l.fixture, l.dir, l.namespace), Ordered, func() {
			var (
				files  map[string]string
				before map[string]rendered
				id     string
			)
			BeforeAll(func() {
				files = l.fixtureFiles()
				Expect(st.GitHub.NewRepo(l.repository, files)).To(Succeed())
				before = map[string]rendered{}
				for _, d := range kustomizationDirs(files) {
					before[d] = renderDir(files, d)
				}
				id = targetID(before[l.dir], l)
				labels, annotations := l.claim(l)
				By("applying the previous image's revision, then the rendered one, as the tool did over time")
				applyAsGitOps(l, before[l.dir][id], labels, annotations, l.previousImage)
				rolledOut(l.namespace, l.target)
				applyAsGitOps(l, before[l.dir][id], labels, annotations, "")
				rolledOut(l.namespace, l.target)
			})

			for _, a := range overlayActions {
				It("proposes to "+a.name+" with one pull request whose change renders to exactly the plan in "+l.dir+" and nothing else", func() {
					pod := rolledOut(l.namespace, l.target)
					alert := a.alert(l, pod)
					Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())

					var rem *v1beta1.Remediation
					Eventually(func(g Gomega) {
						list := &v1beta1.RemediationList{}
						g.Expect(k8s.List(ctx, list, client.InNamespace(l.namespace))).To(Succeed())
						var open []v1beta1.Remediation
						for _, r := range list.Items {
							if r.Spec.Target.Name == l.target && r.Status.Phase != v1beta1.PhaseFailed {
								open = append(open, r)
							}
						}
						g.Expect(open).To(HaveLen(1))
						rem = &open[0]
					}).Should(Succeed())
					rem = waitPhase(rem, v1beta1.PhaseAwaitingMerge)

					By("discovery found the repository and kustomization with no spec.git.repository or path")
					Expect(rem.Status.Source).NotTo(BeNil())
					Expect(rem.Status.Source.Repository).To(Equal(l.repository))
					Expect(rem.Status.Source.Branch).To(Equal("main"))
					Expect(rem.Status.Source.Render).To(Equal(v1beta1.RenderVerified), "%+v", rem.Status.Source)
					Expect(rem.Status.Plan).NotTo(BeNil())
					pr := rem.Status.PullRequest
					Expect(pr).NotTo(BeNil())
					Expect(pr.Repository).To(Equal(l.repository))

					By("one commit on the branch; its files rendered independently before and after")
					diff, err := st.GitHub.Diff(l.repository, "main", pr.Branch)
					Expect(err).NotTo(HaveOccurred())
					Expect(diff.Commits).To(HaveLen(1))
					Expect(diff.Files).To(HaveLen(1), "one file edited")
					Expect(diff.Files[0]).To(Equal(rem.Status.Source.Path))
					after := maps.Clone(files)
					for _, f := range diff.Files {
						after[f], err = st.GitHub.ReadFile(l.repository, pr.Branch, f)
						Expect(err).NotTo(HaveOccurred())
					}
					for _, d := range kustomizationDirs(files) {
						got := renderDir(after, d)
						Expect(slices.Sorted(maps.Keys(got))).To(Equal(slices.Sorted(maps.Keys(before[d]))), "%s renders the same objects", d)
						for oid, obj := range before[d] {
							if d == l.dir && oid == id {
								want := wantAfter(obj, rem.Status.Plan.Patch)
								Expect(apiequality.Semantic.DeepEqual(got[oid], want)).To(BeTrue(),
									"the target renders to exactly the plan:\n%s\nwant\n%s", toYAML(got[oid]), toYAML(want))
								Expect(apiequality.Semantic.DeepEqual(got[oid], obj)).To(BeFalse(), "the target changes")
								continue
							}
							Expect(apiequality.Semantic.DeepEqual(got[oid], obj)).To(BeTrue(),
								"%s in %s is unchanged:\n%s\nwas\n%s", oid, d, toYAML(got[oid]), toYAML(obj))
						}
					}

					By("the pull request carries the rendered diff")
					prs, err := st.GitHub.PullRequests(l.repository)
					Expect(err).NotTo(HaveOccurred())
					var body string
					for _, p := range prs {
						if p.Head == pr.Branch {
							body = p.Body
						}
					}
					Expect(body).To(ContainSubstring("### Proof by rendering"))

					By("a reviewer closes it, leaving the target as it was for the next action")
					Expect(st.GitHub.ClosePR(l.repository, int(pr.Number))).To(Succeed())
					rem = waitPhase(rem, v1beta1.PhaseFailed)
					Expect(rem.Status.Reason).To(Equal(remediation.RejectedReason))
					Expect(st.Alertmanager.Resolve(ctx, alert)).To(Succeed())
				})
			}
		})
	}
})

func toYAML(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
