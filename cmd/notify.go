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
	"flag"
	"fmt"
	"net/url"

	ctrl "sigs.k8s.io/controller-runtime"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/heal8s/heal8s/internal/controller"
	"github.com/heal8s/heal8s/internal/notify"
)

// notifyOptions are the flags of notifications (docs/notifications.md).
type notifyOptions struct {
	dashboardURL string
	allowedHosts string
	allowPrivate bool
	workers      int
}

var notifyOpts notifyOptions

func (o *notifyOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.dashboardURL, "dashboard-url", "",
		"The dashboard's external URL (https://heal8s.example.com); notifications link each Remediation's page under it. Empty links none.")
	fs.StringVar(&o.allowedHosts, "notification-allowed-hosts", "",
		"Comma-separated hosts (or *.domain) Notifiers may send to, e.g. hooks.slack.com,slack.com,*.webhook.office.com,*.logic.azure.com. Empty allows any public host.")
	fs.BoolVar(&o.allowPrivate, "notification-allow-private-addresses", false,
		"Let Notifiers send to loopback and private addresses (and over plain http), for receivers inside the cluster. Link-local addresses (cloud metadata) are never allowed.")
	fs.IntVar(&o.workers, "notification-workers", 4, "How many notification messages are delivered at once.")
}

func init() { notifyOpts.bind(flag.CommandLine) }

// setupNotifications adds the dispatcher and the two notification controllers.
func setupNotifications(mgr ctrl.Manager, o notifyOptions) error {
	hosts, err := notify.ParseAllowedHosts(o.allowedHosts)
	if err != nil {
		return fmt.Errorf("reading --notification-allowed-hosts: %w", err)
	}
	if o.dashboardURL != "" {
		if u, err := url.Parse(o.dashboardURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--dashboard-url must be an http(s) URL, not %q", o.dashboardURL)
		}
	}
	if o.workers < 1 || o.workers > 64 {
		return fmt.Errorf("--notification-workers must be between 1 and 64, not %d", o.workers)
	}
	d := &notify.Dispatcher{
		Policy:  notify.AddressPolicy{AllowedHosts: hosts, AllowPrivate: o.allowPrivate},
		Workers: o.workers,
		Metrics: notify.NewMetrics(crmetrics.Registry),
		Log:     ctrl.Log.WithName("notify"),
	}
	if err := mgr.Add(d); err != nil {
		return fmt.Errorf("adding the notification dispatcher: %w", err)
	}
	notifiers := &controller.NotifierReconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Dispatcher: d,
	}
	if err := notifiers.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Notifier controller: %w", err)
	}
	notifications := &controller.NotificationReconciler{
		Client:       mgr.GetClient(),
		Dispatcher:   d,
		DashboardURL: o.dashboardURL,
	}
	if err := notifications.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the notification controller: %w", err)
	}
	return nil
}
