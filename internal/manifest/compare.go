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
