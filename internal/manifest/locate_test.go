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

package manifest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	heal8sv1beta1 "github.com/heal8s/heal8s/api/v1beta1"
)

// memRepo is a repository held in memory: path -> content.
type memRepo map[string]string

func (r memRepo) ListFiles(context.Context) ([]string, error) {
	out := make([]string, 0, len(r))
	for p := range r {
		out = append(out, p)
	}
	return out, nil
}

func (r memRepo) ReadFile(_ context.Context, p string) ([]byte, error) {
	c, ok := r[p]
	if !ok {
		return nil, fmt.Errorf("reading %s: %w", p, fs.ErrNotExist)
	}
	return []byte(c), nil
}

func deployment(name, namespace string) string {
	ns := ""
	if namespace != "" {
		ns = "\n  namespace: " + namespace
	}
	return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + ns + "\nspec:\n  replicas: 1\n"
}

func TestLocate(t *testing.T) {
	web := Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	annotated := func(v string) Object {
		o := web
		o.Annotations = map[string]string{heal8sv1beta1.AnnotationSourcePath: v}
		return o
	}
	multi := "# bundle\n" + deployment("api", "shop") + "---\n" + deployment("web", "shop") + "---\n---\n" + deployment("web", "other")
	list := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: web, namespace: shop}\n" +
		"- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: web, namespace: shop}\n"
	big := "# " + strings.Repeat("x", 200) + "\n" + deployment("web", "shop")

	cases := []struct {
		name  string
		repo  memRepo
		obj   Object
		hints Hints
		want  Location
		err   []error
		msg   []string
	}{
		{
			name: "annotation without index finds the document in the file",
			repo: memRepo{"apps/bundle.yaml": multi},
			obj:  annotated("apps/bundle.yaml"),
			want: Location{Path: "apps/bundle.yaml", Index: 1},
		},
		{
			name: "annotation with index, leading slash",
			repo: memRepo{"apps/bundle.yaml": multi},
			obj:  annotated("/apps/bundle.yaml#1"),
			want: Location{Path: "apps/bundle.yaml", Index: 1},
		},
		{
			name: "annotation index at another object",
			repo: memRepo{"apps/bundle.yaml": multi},
			obj:  annotated("apps/bundle.yaml#0"),
			err:  []error{ErrNotFound},
			msg:  []string{"no document in apps/bundle.yaml#0 declares apps/v1 Deployment shop/web"},
		},
		{
			name: "annotation index past the end",
			repo: memRepo{"apps/bundle.yaml": multi},
			obj:  annotated("apps/bundle.yaml#7"),
			err:  []error{ErrNotFound},
			msg:  []string{"has 3 documents"},
		},
		{
			name: "annotation with a bad index",
			repo: memRepo{"apps/bundle.yaml": multi},
			obj:  annotated("apps/bundle.yaml#one"),
			err:  []error{ErrNotFound},
		},
		{
			name: "annotation to a missing file",
			repo: memRepo{"apps/bundle.yaml": multi},
			obj:  annotated("apps/nope.yaml"),
			err:  []error{ErrNotFound, fs.ErrNotExist},
		},
		{
			name: "annotation leaving the repository",
			repo: memRepo{"apps/bundle.yaml": multi},
			obj:  annotated("../etc/passwd"),
			err:  []error{ErrNotFound},
		},
		{
			name:  "annotation wins over template and search",
			repo:  memRepo{"a.yaml": deployment("web", "shop"), "b.yaml": deployment("web", "shop")},
			obj:   annotated("b.yaml"),
			hints: Hints{PathTemplate: "a.yaml"},
			want:  Location{Path: "b.yaml"},
		},
		{
			name: "annotation into a List",
			repo: memRepo{"list.yaml": list},
			obj:  annotated("list.yaml#0"),
			want: Location{Path: "list.yaml", Pointer: "/items/1"},
		},
		{
			name:  "template with a pipeline",
			repo:  memRepo{"clusters/prod/shop/web.deployment.yaml": deployment("web", ""), "other.yaml": deployment("web", "shop")},
			obj:   web,
			hints: Hints{PathTemplate: "clusters/prod/{{.Namespace}}/{{.Name}}.{{.Kind | printf \"%s\" | lower}}.yaml"},
			err:   []error{ErrPathTemplate},
			msg:   []string{"is not one of"},
		},
		{
			name:  "template expands to the file",
			repo:  memRepo{"clusters/prod/shop/Deployment-web.yaml": deployment("web", ""), "other.yaml": deployment("web", "shop")},
			obj:   web,
			hints: Hints{PathTemplate: "clusters/prod/{{.Namespace}}/{{.Kind}}-{{.Name}}.yaml"},
			want:  Location{Path: "clusters/prod/shop/Deployment-web.yaml"},
		},
		{
			name:  "template with an unknown field",
			repo:  memRepo{},
			obj:   web,
			hints: Hints{PathTemplate: "{{.Cluster}}/{{.Name}}.yaml"},
			err:   []error{ErrPathTemplate},
			msg:   []string{"{{.Cluster}}"},
		},
		{
			name:  "template to a missing file does not fall back to search",
			repo:  memRepo{"other.yaml": deployment("web", "shop")},
			obj:   web,
			hints: Hints{PathTemplate: "apps/{{.Name}}.yaml"},
			err:   []error{ErrNotFound, fs.ErrNotExist},
			msg:   []string{"apps/web.yaml"},
		},
		{
			name: "search finds the single match",
			repo: memRepo{
				"README.md":            "web",
				"charts/web/tmpl.yaml": "{{ if .Values.web }}\nkind: {{ .Values.kind }\n",
				"apps/shop/web.yml":    deployment("web", "shop"),
				"apps/shop/api.yaml":   deployment("api", "shop"),
				"apps/other/web.yaml":  deployment("web", "other"),
				"apps/shop/webv1.yaml": strings.Replace(deployment("web", "shop"), "apps/v1", "apps/v1beta1", 1),
				"apps/shop/svc.yaml":   "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n",
				"apps/shop/nons.yaml":  deployment("web", ""),
			},
			obj:  web,
			want: Location{Path: "apps/shop/web.yml"},
		},
		{
			name: "search looks inside Lists",
			repo: memRepo{"all.yaml": list},
			obj:  web,
			want: Location{Path: "all.yaml", Pointer: "/items/1"},
		},
		{
			name: "search ambiguous lists the candidates",
			repo: memRepo{"base/web.yaml": deployment("web", "shop"), "overlay/web.yaml": "---\n" + deployment("api", "shop") + "---\n" + deployment("web", "shop")},
			obj:  web,
			err:  []error{ErrAmbiguous},
			msg:  []string{"2 documents declare", "base/web.yaml#0", "overlay/web.yaml#1", heal8sv1beta1.AnnotationSourcePath},
		},
		{
			name: "search finds none and names the near misses",
			repo: memRepo{"other/web.yaml": deployment("web", "other"), "nons.yaml": deployment("web", "")},
			obj:  web,
			err:  []error{ErrNotFound},
			msg:  []string{"among 2 YAML files", "other/web.yaml#0", "nons.yaml#0"},
		},
		{
			name:  "namespaceless documents match when the caller allows it",
			repo:  memRepo{"other/web.yaml": deployment("web", "other"), "nons.yaml": deployment("web", "")},
			obj:   web,
			hints: Hints{NamespacelessMatches: true},
			want:  Location{Path: "nons.yaml"},
		},
		{
			name:  "max files bound hit with no match",
			repo:  memRepo{"a.yaml": deployment("api", "shop"), "b.yaml": deployment("db", "shop"), "c.yaml": deployment("web", "shop")},
			obj:   web,
			hints: Hints{MaxFiles: 2},
			err:   []error{ErrNotFound, ErrSearchLimit},
			msg:   []string{"read 2 of 3 YAML files (max files 2)"},
		},
		{
			name:  "max files bound hit with one match is not trusted",
			repo:  memRepo{"a.yaml": deployment("web", "shop"), "b.yaml": deployment("db", "shop"), "c.yaml": deployment("web", "shop")},
			obj:   web,
			hints: Hints{MaxFiles: 2},
			err:   []error{ErrSearchLimit},
			msg:   []string{"found only a.yaml#0", "max files 2"},
		},
		{
			name:  "oversized file that mentions the name is a bound hit",
			repo:  memRepo{"big.yaml": big},
			obj:   web,
			hints: Hints{MaxFileBytes: 100},
			err:   []error{ErrNotFound, ErrSearchLimit},
			msg:   []string{"skipped big.yaml", "max 100"},
		},
		{
			name:  "oversized file that cannot hold the object is ignored",
			repo:  memRepo{"crds.yaml": strings.Repeat("# nothing here\n", 20), "web.yaml": deployment("web", "shop")},
			obj:   web,
			hints: Hints{MaxFileBytes: 100},
			want:  Location{Path: "web.yaml"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := Locate(context.Background(), tc.repo, tc.obj, tc.hints)
			if len(tc.err) == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(got).To(Equal(tc.want))
				return
			}
			g.Expect(err).To(HaveOccurred())
			for _, want := range tc.err {
				g.Expect(errors.Is(err, want)).To(BeTrue(), "error %q is not %v", err, want)
			}
			for _, m := range tc.msg {
				g.Expect(err.Error()).To(ContainSubstring(m))
			}
		})
	}
}

func TestLocateCancelled(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Locate(ctx, memRepo{"a.yaml": deployment("web", "shop")}, Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Hints{})
	g.Expect(errors.Is(err, context.Canceled)).To(BeTrue())
}

// TestLocateThenApply is the path the controller takes: find the document, then patch it.
func TestLocateThenApply(t *testing.T) {
	g := NewWithT(t)
	repo := memRepo{"shop.yaml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: web, namespace: shop}\n  spec:\n    replicas: 2  # two zones\n"}
	loc, err := Locate(context.Background(), repo, Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Hints{})
	g.Expect(err).NotTo(HaveOccurred())
	out, err := Apply([]byte(repo["shop.yaml"]), loc, []byte(`[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":3}]`))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(out)).To(Equal(strings.Replace(repo["shop.yaml"], "replicas: 2  #", "replicas: 3  #", 1)))
}

// TestExpandPath: a path template is plain text with three placeholders, substituted without a
// template engine; everything a Go template could do more is refused.
func TestExpandPath(t *testing.T) {
	web := Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	ok := []struct{ tmpl, want string }{
		{"apps/web.yaml", "apps/web.yaml"},
		{"apps/{{.Namespace}}/{{.Name}}.yaml", "apps/shop/web.yaml"},
		{"apps/{{ .Namespace }}/{{  .Kind }}-{{.Name  }}.yaml#1", "apps/shop/Deployment-web.yaml#1"},
		{"{{\t.Name\t}}.yaml", "web.yaml"},
		{"{{.Name}}{{.Name}}", "webweb"},
		{"a{b}c.yaml", "a{b}c.yaml"},
	}
	for _, tc := range ok {
		t.Run(tc.tmpl, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(ValidatePathTemplate(tc.tmpl)).To(Succeed())
			got, err := ExpandPath(tc.tmpl, web)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
	bad := []string{
		"{{range 2000000000}}{{end}}",
		"{{range 2000000000}}x{{end}}.yaml",
		"{{.APIVersion}}/{{.Name}}.yaml",
		"{{.Cluster}}/{{.Name}}.yaml",
		"{{.Kind | lower}}.yaml",
		`{{printf "%s" .Name}}`,
		"{{- .Name -}}.yaml",
		"{{ . }}.yaml",
		"{{Name}}.yaml",
		"{{.Name}.yaml",
		"{{.Name",
		"apps/}}.yaml",
		"{{/* comment */}}a.yaml",
		"{{ .Name }}}}",
		"{{{{.Name}}}}",
		strings.Repeat("a", MaxPathTemplate+1),
	}
	for _, tmpl := range bad {
		t.Run("refuses "+tmpl[:min(len(tmpl), 40)], func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(ValidatePathTemplate(tmpl)).To(MatchError(ErrPathTemplate))
			_, err := ExpandPath(tmpl, web)
			g.Expect(err).To(MatchError(ErrPathTemplate))
		})
	}
	g := NewWithT(t)
	_, err := ExpandPath("{{.Name}}", Object{})
	g.Expect(err).To(MatchError(ErrPathTemplate), "an empty expansion is refused")
}

// failingRepo fails every read with err, as a Git provider does on a network error, a 5xx or a
// rate limit.
type failingRepo struct{ err error }

func (r failingRepo) ListFiles(context.Context) ([]string, error) { return nil, r.err }
func (r failingRepo) ReadFile(context.Context, string) ([]byte, error) {
	return nil, r.err
}

func TestLocateTellsAMissingFileFromAFailedRead(t *testing.T) {
	web := Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	hints := Hints{PathTemplate: "apps/{{ .Namespace }}/{{ .Name }}.yaml"}
	annotated := web
	annotated.Annotations = map[string]string{heal8sv1beta1.AnnotationSourcePath: "apps/shop/web.yaml"}
	transient := errors.New("GET contents: 502 Bad Gateway")
	for name, obj := range map[string]Object{"path template": web, "annotation": annotated} {
		t.Run(name+": a failed read is not ErrNotFound", func(t *testing.T) {
			g := NewWithT(t)
			_, err := Locate(context.Background(), failingRepo{err: transient}, obj, hints)
			g.Expect(err).To(MatchError(transient))
			g.Expect(errors.Is(err, ErrNotFound)).To(BeFalse(), "a transient error must be retried, not end the remediation")
		})
		t.Run(name+": a missing file is ErrNotFound", func(t *testing.T) {
			g := NewWithT(t)
			_, err := Locate(context.Background(), failingRepo{err: fmt.Errorf("reading: %w", fs.ErrNotExist)}, obj, hints)
			g.Expect(err).To(MatchError(ErrNotFound))
		})
	}
}
