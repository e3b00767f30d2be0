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

package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// AlertmanagerOptions configures a real Alertmanager routed to the heal8s receiver.
type AlertmanagerOptions struct {
	Binary string
	// Dir holds the configuration, the data and the log; it must exist.
	Dir string
	// ReceiverURL is the heal8s receiver's webhook address.
	ReceiverURL string
	// TokenFile holds the bearer token Alertmanager sends.
	TokenFile string
	// RepeatInterval is how often a firing alert is sent again; zero means 1m.
	RepeatInterval time.Duration
}

// Alertmanager is a running Alertmanager process and a small client of its v2 API.
type Alertmanager struct {
	URL  string
	proc *Process
}

// StartAlertmanager writes a configuration that sends every alert (firing and resolved) to the
// receiver with the bearer token, starts Alertmanager without clustering and waits until it is
// ready.
func StartAlertmanager(ctx context.Context, o AlertmanagerOptions) (*Alertmanager, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	repeat := o.RepeatInterval
	if repeat == 0 {
		repeat = time.Minute
	}
	config := fmt.Sprintf(`route:
  receiver: heal8s
  group_by: ['alertname', 'namespace']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: %s
receivers:
- name: heal8s
  webhook_configs:
  - url: %s
    send_resolved: true
    http_config:
      authorization:
        type: Bearer
        credentials_file: %s
`, repeat, o.ReceiverURL, o.TokenFile)
	configPath := filepath.Join(o.Dir, "alertmanager.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", configPath, err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	proc, err := StartProcess(ctx, ProcessOptions{
		Name:   "alertmanager",
		Binary: o.Binary,
		Args: []string{
			"--config.file=" + configPath,
			"--storage.path=" + filepath.Join(o.Dir, "alertmanager-data"),
			"--web.listen-address=" + addr,
			"--cluster.listen-address=",
			"--log.level=info",
		},
		Log: filepath.Join(o.Dir, "alertmanager.log"),
	})
	if err != nil {
		return nil, err
	}
	am := &Alertmanager{URL: "http://" + addr, proc: proc}
	if err := WaitHTTP(ctx, am.URL+"/-/ready", proc, 30*time.Second); err != nil {
		_ = proc.Stop(5 * time.Second)
		return nil, err
	}
	return am, nil
}

// Alert is what a Prometheus sends to Alertmanager's v2 API.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Fire posts alerts as firing (as Prometheus does on every evaluation).
func (am *Alertmanager) Fire(ctx context.Context, alerts ...Alert) error {
	return am.post(ctx, alerts)
}

// Resolve posts alerts with endsAt now, which makes Alertmanager send them as resolved.
func (am *Alertmanager) Resolve(ctx context.Context, alerts ...Alert) error {
	now := time.Now().UTC()
	resolved := make([]Alert, len(alerts))
	for i, a := range alerts {
		a.EndsAt = now
		resolved[i] = a
	}
	return am.post(ctx, resolved)
}

func (am *Alertmanager) post(ctx context.Context, alerts []Alert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("encoding alerts: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, am.URL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("posting alerts: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("posting alerts to Alertmanager: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("posting alerts to Alertmanager: %s: %s", resp.Status, msg)
	}
	return nil
}

// Stop stops Alertmanager.
func (am *Alertmanager) Stop() error { return am.proc.Stop(10 * time.Second) }
