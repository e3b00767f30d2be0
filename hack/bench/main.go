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

// Command bench measures how fast heal8s takes in alerts and heals, each figure next to a
// reference measured in the same run on the same local control plane: the API server's own create
// rate for a plain client, or the round trips the fake GitHub's injected latency allows. It starts
// an envtest control plane and the built manager, talks to loopback only, bounds every wait and
// stops everything it started. It prints one table; nothing is asserted.
//
// Run it with `make bench`; docs/performance.md records a run and explains each row.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
)

type options struct {
	root, manager, assets string
	// dir, when set, keeps the logs and kubeconfig there instead of in a removed temporary directory.
	dir string
	// raw is the number of ConfigMaps created sequentially, and again 8-way parallel.
	raw int
	// single, hundred and thousand are how many payloads of 1, 100 and 1,000 alerts are posted.
	single, hundred, thousand int
	// stormAlerts repeated stormRepeats times make the storm.
	stormAlerts, stormRepeats int
	// heal is the number of Direct remediations driven to Succeeded.
	heal int
	// memRemediations, memDeployments and memReplicaSets are what the cluster holds when memory
	// is read.
	memRemediations, memDeployments, memReplicaSets int
	// proposals is how many pull requests are proposed against the fake GitHub per mode.
	proposals int
	latency   time.Duration
	flush     time.Duration
	timeout   time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.root, "root", ".", "The project's root directory.")
	flag.StringVar(&o.manager, "manager", "bin/manager", "The manager binary.")
	flag.StringVar(&o.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "The directory with the envtest binaries.")
	flag.StringVar(&o.dir, "dir", "", "Keep the run's logs and kubeconfig in this directory (default: a temporary one, removed).")
	flag.IntVar(&o.raw, "raw", 1000, "ConfigMaps the plain client creates, sequentially and again 8-way parallel.")
	flag.IntVar(&o.single, "single", 100, "Payloads of 1 alert to post.")
	flag.IntVar(&o.hundred, "hundred", 10, "Payloads of 100 alerts to post (latency percentiles come from these).")
	flag.IntVar(&o.thousand, "thousand", 1, "Payloads of 1,000 alerts to post.")
	flag.IntVar(&o.stormAlerts, "storm-alerts", 100, "Distinct alerts in the storm.")
	flag.IntVar(&o.stormRepeats, "storm-repeats", 100, "How many times the storm's payload is posted.")
	flag.IntVar(&o.heal, "heal", 500, "Direct ScaleUp remediations driven from alert to Succeeded (the issue asks 1,000; 500 keeps make bench under ten minutes on 2 cores).")
	flag.IntVar(&o.memRemediations, "mem-remediations", 10000, "Remediations in the cluster when the manager's memory is read.")
	flag.IntVar(&o.memDeployments, "mem-deployments", 5000, "Deployments in the cluster when the manager's memory is read.")
	flag.IntVar(&o.memReplicaSets, "mem-replicasets", 20000, "ReplicaSets (owned by row 5's Deployments, spread evenly) in the cluster when the manager's memory is read.")
	flag.IntVar(&o.proposals, "proposals", 40, "Pull requests proposed against the fake GitHub, sequentially and again 8-way parallel.")
	flag.DurationVar(&o.latency, "github-latency", 50*time.Millisecond, "Latency the fake GitHub adds to every call.")
	flag.DurationVar(&o.flush, "flush-interval", 5*time.Second, "The manager's --receiver-flush-interval.")
	flag.DurationVar(&o.timeout, "timeout", 9*time.Minute, "The whole run's bound.")
	flag.Parse()

	// The harness's clients log through controller-runtime; the table is the output.
	ctrl.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench failed: %v\n", err)
		os.Exit(1)
	}
}
