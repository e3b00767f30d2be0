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

package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestJSONReportShape checks the --json object: one key per row, each with exactly ratio
// (number or null), figure (number), unit and reference (strings).
func TestJSONReportShape(t *testing.T) {
	rows := []row{
		{key: "intake_payloads_of_100", name: "2 intake, payloads of 100", figure: 60.123456, unit: "alerts/s", ratio: some(0.41), reference: "raw parallel"},
		{key: "memory_peak_rss", name: "5 memory, manager peak RSS (VmHWM)", figure: 243, unit: "MiB", reference: "10000 Remediations"},
		{key: "engine_backlog", name: "2 engine backlog", figure: math.NaN(), unit: "remediations/s", ratio: some(math.Inf(1))},
	}
	data, err := jsonReport(rows)
	if err != nil {
		t.Fatalf("jsonReport: %v", err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("the report is not one JSON object of objects: %v\n%s", err, data)
	}
	if len(got) != len(rows) {
		t.Fatalf("got %d keys, want %d: %s", len(got), len(rows), data)
	}
	for _, r := range rows {
		obj, ok := got[r.key]
		if !ok {
			t.Fatalf("no key %q in %s", r.key, data)
		}
		if len(obj) != 4 {
			t.Errorf("%s has fields %v, want ratio, figure, unit, reference", r.key, obj)
		}
		if _, ok := obj["figure"].(float64); !ok {
			t.Errorf("%s: figure %v is not a number", r.key, obj["figure"])
		}
		for _, f := range []string{"unit", "reference"} {
			if _, ok := obj[f].(string); !ok {
				t.Errorf("%s: %s %v is not a string", r.key, f, obj[f])
			}
		}
		if v, present := obj["ratio"]; !present {
			t.Errorf("%s: no ratio", r.key)
		} else if _, isNum := v.(float64); v != nil && !isNum {
			t.Errorf("%s: ratio %v is neither a number nor null", r.key, v)
		}
	}
	if got["intake_payloads_of_100"]["ratio"] != 0.41 || got["intake_payloads_of_100"]["figure"] != 60.1235 {
		t.Errorf("intake row = %v, want ratio 0.41 and figure rounded to 60.1235", got["intake_payloads_of_100"])
	}
	if got["memory_peak_rss"]["ratio"] != nil {
		t.Errorf("a row without a reference has ratio %v, want null", got["memory_peak_rss"]["ratio"])
	}
	if got["engine_backlog"]["ratio"] != nil || got["engine_backlog"]["figure"] != 0.0 {
		t.Errorf("non-finite values = %v, want ratio null and figure 0", got["engine_backlog"])
	}
}

func TestJSONReportRejectsDuplicateAndMissingKeys(t *testing.T) {
	if _, err := jsonReport([]row{{key: "a", name: "one"}, {key: "a", name: "two"}}); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("duplicate keys: err = %v, want one naming the key", err)
	}
	if _, err := jsonReport([]row{{name: "unnamed"}}); err == nil {
		t.Error("a row without a key: no error")
	}
}

func TestThirdsAndSlope(t *testing.T) {
	flat := []float64{5, 5, 5, 5, 5, 5}
	if f, l := thirds(flat); f != 5 || l != 5 {
		t.Errorf("thirds(flat) = %v, %v, want 5, 5", f, l)
	}
	if s := slope(flat); s != 0 {
		t.Errorf("slope(flat) = %v, want 0", s)
	}
	rising := []float64{0, 1, 2, 3, 4, 5}
	if f, l := thirds(rising); f != 0.5 || l != 4.5 {
		t.Errorf("thirds(rising) = %v, %v, want 0.5, 4.5", f, l)
	}
	if s := slope(rising); math.Abs(s-1) > 1e-9 {
		t.Errorf("slope(rising) = %v, want 1", s)
	}
	if f, l := thirds(nil); !math.IsNaN(f) || !math.IsNaN(l) {
		t.Errorf("thirds(nil) = %v, %v, want NaN (a null ratio in the JSON)", f, l)
	}
}
