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

// Package helmvalues turns a plan made on a workload rendered by a Helm chart into a plan on the
// chart's values in a Flux HelmRelease (spec.values), by the conventions most charts follow
// (helm create's scaffold, Bitnami, podinfo): replicaCount, image.repository/image.tag and
// resources.{limits,requests}.{cpu,memory} for a single-container workload.
//
// It is deliberately conservative: a field maps only when the HelmRelease's values already hold
// the key (or, for resources, the resources map), with the value the live object has, so the key
// demonstrably drives the field; anything else is refused with ErrNoMapping rather than guessed.
// The chart itself is not rendered, so a pull request built from this is labelled unverified.
package helmvalues

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// ErrNoMapping means the plan cannot be carried into the values without guessing.
var ErrNoMapping = errors.New("no values key demonstrably produces the field")

type op struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value,omitempty"`
}

// Mapping is one field carried into a values key.
type Mapping struct {
	Field, Key, Before, After string
}

// Map returns an RFC 6902 patch on the HelmRelease (paths under /spec/values, guarded by test
// operations on the values as they are) that carries livePatch, planned on the workload live,
// and the mappings it used. values is the HelmRelease's spec.values as applied.
func Map(livePatch, live []byte, values map[string]any) ([]byte, []Mapping, error) {
	var ops []op
	if err := json.Unmarshal(livePatch, &ops); err != nil {
		return nil, nil, fmt.Errorf("decoding the plan's patch: %w", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(live, &obj); err != nil {
		return nil, nil, fmt.Errorf("decoding the live object: %w", err)
	}
	containers, _ := dig(obj, "spec", "template", "spec", "containers").([]any)
	var out []op
	var maps []Mapping
	for _, o := range ops {
		if o.Op == "test" {
			continue
		}
		var v any
		if err := json.Unmarshal(o.Value, &v); err != nil {
			return nil, nil, err
		}
		toks := strings.Split(strings.TrimPrefix(o.Path, "/"), "/")
		for _, l := range flatten(toks, v) {
			m, ops2, err := mapLeaf(l.toks, l.value, obj, containers, values)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, ops2...)
			maps = append(maps, m...)
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: the plan writes nothing", ErrNoMapping)
	}
	b, err := json.Marshal(out)
	return b, maps, err
}

type leaf struct {
	toks  []string
	value any
}

func flatten(toks []string, v any) []leaf {
	m, ok := v.(map[string]any)
	if !ok {
		return []leaf{{toks, v}}
	}
	var out []leaf
	for _, k := range sortedKeys(m) {
		out = append(out, flatten(append(append([]string{}, toks...), k), m[k])...)
	}
	return out
}

func mapLeaf(toks []string, value any, live map[string]any, containers []any, values map[string]any) ([]Mapping, []op, error) {
	field := "/" + strings.Join(toks, "/")
	switch {
	case len(toks) == 2 && toks[0] == "spec" && toks[1] == "replicas":
		before := dig(live, "spec", "replicas")
		m, o, err := setKey(values, []string{"replicaCount"}, before, value, false)
		return wrap(field, m, o, err)
	case len(toks) >= 6 && strings.Join(toks[:4], "/") == "spec/template/spec/containers":
		if len(containers) != 1 {
			return nil, nil, fmt.Errorf("%w: the pod has %d containers; which values key sets %s is chart-specific", ErrNoMapping, len(containers), field)
		}
		rest := toks[5:]
		switch {
		case len(rest) == 1 && rest[0] == "image":
			return mapImage(field, live, value, values)
		case len(rest) == 3 && rest[0] == "resources" && (rest[1] == "limits" || rest[1] == "requests") && (rest[2] == "memory" || rest[2] == "cpu"):
			before := dig(live, append([]string{"spec", "template", "spec", "containers", toks[4]}, rest...)...)
			m, o, err := setKey(values, rest, before, value, true)
			return wrap(field, m, o, err)
		}
	}
	return nil, nil, fmt.Errorf("%w: %s has no common chart convention", ErrNoMapping, field)
}

func wrap(field string, m *Mapping, o []op, err error) ([]Mapping, []op, error) {
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", field, err)
	}
	m.Field = field
	return []Mapping{*m}, o, nil
}

// setKey writes after at key in values when the key holds before (or, with addUnder, is absent
// under an existing first key such as resources).
func setKey(values map[string]any, key []string, before, after any, addUnder bool) (*Mapping, []op, error) {
	cur, ok := digOK(values, key...)
	ptr := "/spec/values/" + strings.Join(key, "/")
	a, _ := json.Marshal(after)
	m := &Mapping{Key: strings.Join(key, "."), Before: text(before), After: text(after)}
	if ok {
		if !same(cur, before) {
			return nil, nil, fmt.Errorf("%w: values.%s is %s in the HelmRelease but the workload has %s, so another key or the chart sets it",
				ErrNoMapping, m.Key, text(cur), text(before))
		}
		t, _ := json.Marshal(cur)
		return m, []op{{Op: "test", Path: ptr, Value: t}, {Op: "replace", Path: ptr, Value: a}}, nil
	}
	if !addUnder {
		return nil, nil, fmt.Errorf("%w: the HelmRelease's values have no %s", ErrNoMapping, m.Key)
	}
	if _, ok := digOK(values, key[0]); !ok {
		return nil, nil, fmt.Errorf("%w: the HelmRelease's values have no %s (nor %s)", ErrNoMapping, m.Key, key[0])
	}
	return m, []op{{Op: "add", Path: ptr, Value: a}}, nil
}

func mapImage(field string, live map[string]any, value any, values map[string]any) ([]Mapping, []op, error) {
	newImage, _ := value.(string)
	oldImage, _ := dig(live, "spec", "template", "spec", "containers", "0", "image").(string)
	oldRepo, oldTag := splitImage(oldImage)
	newRepo, newTag := splitImage(newImage)
	if oldRepo != newRepo || newTag == "" {
		return nil, nil, fmt.Errorf("%s: %w: the rollback changes the repository (%s to %s) or has no tag", field, ErrNoMapping, oldRepo, newRepo)
	}
	repo, ok := digOK(values, "image", "repository")
	if !ok || !strings.HasSuffix(oldRepo, fmt.Sprint(repo)) {
		return nil, nil, fmt.Errorf("%s: %w: values.image.repository is not %s", field, ErrNoMapping, oldRepo)
	}
	m, o, err := setKey(values, []string{"image", "tag"}, oldTag, newTag, false)
	return wrap(field, m, o, err)
}

func splitImage(img string) (string, string) {
	if i := strings.IndexByte(img, '@'); i >= 0 {
		img = img[:i]
	}
	if i := strings.LastIndexByte(img, ':'); i >= 0 && !strings.Contains(img[i:], "/") {
		return img[:i], img[i+1:]
	}
	return img, ""
}

func same(a, b any) bool {
	as, bs := text(a), text(b)
	if as == bs {
		return true
	}
	qa, e1 := resource.ParseQuantity(as)
	qb, e2 := resource.ParseQuantity(bs)
	return e1 == nil && e2 == nil && qa.Cmp(qb) == 0
}

func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func dig(v any, path ...string) any {
	out, _ := digOK(v, path...)
	return out
}

func digOK(v any, path ...string) (any, bool) {
	cur := v
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			n, ok := c[p]
			if !ok {
				return nil, false
			}
			cur = n
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
