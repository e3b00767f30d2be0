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
	"encoding/json"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"
)

// quantityFields are path segments under which values are resource quantities, so "512Mi" and
// "536870912" are the same value there (and only there: "1.2" and "1.20" are different tags).
var quantityFields = map[string]bool{
	"resources": true, "limits": true, "requests": true, "hard": true, "capacity": true,
	"allocatable": true, "overhead": true, "storage": true,
}

// isQuantityPath reports whether tokens point into a resource quantity field.
func isQuantityPath(tokens []string) bool {
	for _, t := range tokens {
		if quantityFields[t] {
			return true
		}
	}
	return false
}

// scalarEqual compares two decoded JSON scalars: numbers by value, and with quantities, any two
// scalars that parse as resource quantities by value.
func scalarEqual(a, b any, quantities bool) bool {
	na, aNum := a.(json.Number)
	nb, bNum := b.(json.Number)
	if aNum && bNum {
		if na == nb {
			return true
		}
		fa, err1 := strconv.ParseFloat(na.String(), 64)
		fb, err2 := strconv.ParseFloat(nb.String(), 64)
		return err1 == nil && err2 == nil && fa == fb
	}
	if !quantities {
		return false
	}
	sa, ok1 := scalarText(a)
	sb, ok2 := scalarText(b)
	if !ok1 || !ok2 {
		return false
	}
	qa, err1 := resource.ParseQuantity(sa)
	qb, err2 := resource.ParseQuantity(sb)
	return err1 == nil && err2 == nil && qa.Cmp(qb) == 0
}

func scalarText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	}
	return "", false
}

// manifestMatches reports whether the manifest's value agrees with the live object's: the
// manifest may leave out what the API server defaults or serialises empty (a live field the
// manifest lacks is accepted, and a manifest null matches a live empty object or list), but
// every value it does write must equal the live one.
func manifestMatches(live, manifest any, quantities bool) bool {
	switch m := manifest.(type) {
	case nil:
		return isEmptyValue(live)
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		for k, mv := range m {
			lv, ok := l[k]
			if !ok {
				if !isEmptyValue(mv) {
					return false
				}
				continue
			}
			if !manifestMatches(lv, mv, quantities) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(m) {
			return false
		}
		for i := range m {
			if !manifestMatches(l[i], m[i], quantities) {
				return false
			}
		}
		return true
	}
	return looseEqual(live, manifest, quantities)
}

// isEmptyValue reports whether a decoded JSON value is null, {} or [].
func isEmptyValue(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}
