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
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// row is one line of the table: a figure and its ratio to the reference it is compared with.
type row struct {
	// key names the row in the JSON report: stable snake_case, never carrying a count that a
	// flag changes, so two runs can be compared key by key.
	key string
	// name is the table's first column.
	name string
	// figure and unit are the measurement; display, when set, is what the table shows instead
	// of the figure formatted with its unit.
	figure  float64
	unit    string
	display string
	// ratio is the figure against its reference; nil where there is nothing to compare with.
	ratio     *float64
	reference string
}

// some makes a ratio.
func some(v float64) *float64 { return &v }

// jsonRow is one row of the JSON report.
type jsonRow struct {
	Ratio     *float64 `json:"ratio"`
	Figure    float64  `json:"figure"`
	Unit      string   `json:"unit"`
	Reference string   `json:"reference"`
}

// jsonReport is the JSON object written by --json: one key per row, each
// {"ratio": number|null, "figure": number, "unit": string, "reference": string}. A ratio that is
// not a finite number (a division by a zero reference) is null, and such a figure is 0, since
// JSON has no NaN. Two rows with one key are a programming error.
func jsonReport(rows []row) ([]byte, error) {
	out := make(map[string]jsonRow, len(rows))
	for _, r := range rows {
		if r.key == "" {
			return nil, fmt.Errorf("row %q has no key", r.name)
		}
		if _, dup := out[r.key]; dup {
			return nil, fmt.Errorf("two rows have the key %q", r.key)
		}
		jr := jsonRow{Figure: finite(r.figure), Unit: r.unit, Reference: r.reference}
		if r.ratio != nil && !math.IsNaN(*r.ratio) && !math.IsInf(*r.ratio, 0) {
			jr.Ratio = some(round(*r.ratio))
		}
		out[r.key] = jr
	}
	// encoding/json writes map keys sorted, so the file is stable too.
	return json.MarshalIndent(out, "", "  ")
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return round(v)
}

// round keeps four decimals: the runs vary far more than that.
func round(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// writeJSON writes the report to path.
func writeJSON(path string, rows []row) error {
	data, err := jsonReport(rows)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// shown is the table's figure column of r.
func (r row) shown() string {
	if r.display != "" {
		return r.display
	}
	switch {
	case r.unit == "":
		return fmt.Sprintf("%.1f", r.figure)
	case r.unit == "ms" || r.figure != math.Trunc(r.figure) && r.figure < 10:
		return fmt.Sprintf("%.2f %s", r.figure, r.unit)
	default:
		return fmt.Sprintf("%.0f %s", r.figure, r.unit)
	}
}

func (r row) shownRatio() string {
	if r.ratio == nil {
		return ""
	}
	return fmt.Sprintf("%.2f", *r.ratio)
}

// printTable writes the table to w.
func printTable(w io.Writer, rows []row, elapsed time.Duration) {
	width := [3]int{len("row"), len("figure"), len("ratio")}
	for _, r := range rows {
		width[0], width[1], width[2] = max(width[0], len(r.name)), max(width[1], len(r.shown())), max(width[2], len(r.shownRatio()))
	}
	line := func(a, f, r, ref string) {
		_, _ = fmt.Fprintf(w, "| %-*s | %*s | %*s | %s\n", width[0], a, width[1], f, width[2], r, ref)
	}
	_, _ = fmt.Fprintln(w)
	line("row", "figure", "ratio", "reference (same run)")
	_, _ = fmt.Fprintf(w, "|-%s-|-%s-|-%s-|-%s\n", strings.Repeat("-", width[0]), strings.Repeat("-", width[1]), strings.Repeat("-", width[2]), strings.Repeat("-", 20))
	for _, r := range rows {
		line(r.name, r.shown(), r.shownRatio(), r.reference)
	}
	_, _ = fmt.Fprintf(w, "\n(whole run %s)\n", elapsed.Round(time.Second))
}

func (b *bench) print() { printTable(os.Stdout, b.rows, time.Since(b.started)) }

func (b *bench) add(r row) {
	b.rows = append(b.rows, r)
	progress("%s: %s (%s)", r.name, r.shown(), r.shownRatio())
}
