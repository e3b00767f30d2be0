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
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// apiserverLatencies prints, from the API server's own /metrics, the mean time of a create by
// resource and of each admission webhook call: where a write's time goes on this machine, the
// evidence for the rows whose ratio is far below one.
func (b *bench) apiserverLatencies(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(b.cp.Config)
	if err != nil {
		return fmt.Errorf("creating a clientset: %w", err)
	}
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	type agg struct{ sum, count float64 }
	seen := map[string]*agg{}
	add := func(key, suffix, l string) {
		v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
		if err != nil {
			return
		}
		a := seen[key]
		if a == nil {
			a = &agg{}
			seen[key] = a
		}
		if suffix == "_sum" {
			a.sum += v
		} else {
			a.count += v
		}
	}
	label := func(l, name string) string {
		i := strings.Index(l, name+`="`)
		if i < 0 {
			return ""
		}
		rest := l[i+len(name)+2:]
		return rest[:strings.IndexByte(rest, '"')]
	}
	watches := map[string]float64{}
	// The API server watches many kinds itself, one watch each; these are the ones the manager may.
	watched := map[string]bool{"pods": true, "replicasets": true, "deployments": true, "remediations": true, "remediationpolicies": true, "events": true}
	for l := range strings.SplitSeq(string(raw), "\n") {
		// Open watches by resource: which kinds the manager (and the stand-in kubelet) cache.
		if strings.HasPrefix(l, "apiserver_longrunning_requests{") && label(l, "verb") == "WATCH" && watched[label(l, "resource")] {
			if v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64); err == nil && v > 0 {
				watches[label(l, "resource")] += v
			}
		}
		for _, suffix := range []string{"_sum", "_count"} {
			switch {
			case strings.HasPrefix(l, "apiserver_request_duration_seconds"+suffix+"{"):
				res, verb, sub := label(l, "resource"), label(l, "verb"), label(l, "subresource")
				if (res == "remediations" || res == "configmaps" || res == "deployments") && verb != "WATCH" && verb != "LIST" && verb != "GET" {
					add(fmt.Sprintf("request  %s %s%s", verb, res, map[bool]string{true: "/" + sub}[sub != ""]), suffix, l)
				}
			case strings.HasPrefix(l, "apiserver_admission_webhook_admission_duration_seconds"+suffix+"{"):
				add(fmt.Sprintf("webhook  %s %s", label(l, "name"), label(l, "operation")), suffix, l)
			case strings.HasPrefix(l, "apiserver_admission_step_admission_duration_seconds"+suffix+"{"):
				add(fmt.Sprintf("admission step %s %s", label(l, "type"), label(l, "operation")), suffix, l)
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	resources := make([]string, 0, len(watches))
	for r := range watches {
		resources = append(resources, fmt.Sprintf("%s %.0f", r, watches[r]))
	}
	slices.Sort(resources)
	fmt.Printf("\nWatches open at the end, by resource (the API server's own included): %s\n", strings.Join(resources, ", "))
	fmt.Println("\nAPI server's own view (mean per call, whole run):")
	for _, k := range keys {
		if a := seen[k]; a.count > 0 {
			fmt.Printf("  %-70s %8.0f calls  %7.2f ms\n", k, a.count, 1000*a.sum/a.count)
		}
	}
	return nil
}
