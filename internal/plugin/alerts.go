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

package plugin

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/heal8s/heal8s/internal/alertmanager"
)

// SourceLabels is the Source of the alert made of label=value arguments.
const SourceLabels = "label arguments"

// maxPayloadBytes bounds what is read of a payload file; Alertmanager's groups are far smaller.
const maxPayloadBytes = 64 << 20

// ErrBadLabel marks a label=value argument that is not one.
var ErrBadLabel = errors.New("bad label argument")

// AlertInput is one alert to route, exactly as the receiver gets it from a payload.
type AlertInput struct {
	// Source says where the alert came from: "FILE alerts[i]", or SourceLabels.
	Source string `json:"source"`
	// Alert is the alert as decoded by the receiver's own decoder.
	alertmanager.Alert
}

// LoadAlerts reads an Alertmanager webhook payload (what Alertmanager POSTs) from a file, or
// from standard input for "-", and returns its alerts in order.
func LoadAlerts(path string) ([]AlertInput, error) {
	return loadAlerts(path, os.Stdin)
}

func loadAlerts(path string, stdin io.Reader) ([]AlertInput, error) {
	var (
		r      = stdin
		source = "stdin"
	)
	if path != Stdin {
		f, err := os.Open(path) //nolint:gosec // the user names the file to read
		if err != nil {
			return nil, fmt.Errorf("reading alerts: %w", err)
		}
		defer func() { _ = f.Close() }()
		r, source = f, path
	}
	body, err := io.ReadAll(io.LimitReader(r, maxPayloadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading alerts from %s: %w", source, err)
	}
	if len(body) > maxPayloadBytes {
		return nil, fmt.Errorf("reading alerts from %s: larger than %d bytes", source, maxPayloadBytes)
	}
	return DecodeAlerts(source, body)
}

// DecodeAlerts decodes a webhook payload with the receiver's decoder, alertmanager.Decode, so a
// payload the receiver would refuse (400) is refused here with the same message.
func DecodeAlerts(source string, body []byte) ([]AlertInput, error) {
	p, err := alertmanager.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("reading alerts from %s: %w", source, err)
	}
	return AlertsFromPayload(source, p), nil
}

// AlertsFromPayload returns a decoded payload's alerts, each with its source: source alerts[i].
func AlertsFromPayload(source string, p *alertmanager.Payload) []AlertInput {
	out := make([]AlertInput, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		out = append(out, AlertInput{Source: fmt.Sprintf("%s alerts[%d]", source, i), Alert: a})
	}
	return out
}

// labelName is Prometheus' (legacy) label name syntax.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ParseLabels parses label=value arguments, as amtool config routes test takes them. A value may
// be double-quoted (alertname="KubePodCrashLooping"). A matcher (!=, =~, !~), a bad label name,
// an empty value (an empty label is an absent one) or a label given twice is an error wrapping
// ErrBadLabel.
func ParseLabels(args []string) (map[string]string, error) {
	out := make(map[string]string, len(args))
	for _, arg := range args {
		name, value, ok := strings.Cut(arg, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("%w %q: want label=value", ErrBadLabel, arg)
		case strings.HasSuffix(name, "!") || strings.HasPrefix(value, "~"):
			return nil, fmt.Errorf("%w %q: a matcher, not a label; the alert's labels are label=value", ErrBadLabel, arg)
		case !labelName.MatchString(name):
			return nil, fmt.Errorf("%w %q: %q is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)", ErrBadLabel, arg, name)
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			unq, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("%w %q: %w", ErrBadLabel, arg, err)
			}
			value = unq
		}
		if value == "" {
			return nil, fmt.Errorf("%w %q: empty value (an empty label is an absent one: leave it out)", ErrBadLabel, arg)
		}
		if prev, dup := out[name]; dup {
			return nil, fmt.Errorf("%w %q: label %s is already %q", ErrBadLabel, arg, name, prev)
		}
		out[name] = value
	}
	return out, nil
}

// AlertFromLabels makes one firing alert of label=value arguments, with the fingerprint
// Alertmanager would give those labels and no startsAt.
func AlertFromLabels(args []string) (AlertInput, error) {
	if len(args) == 0 {
		return AlertInput{}, fmt.Errorf("%w: no label=value argument", ErrBadLabel)
	}
	ls, err := ParseLabels(args)
	if err != nil {
		return AlertInput{}, err
	}
	return AlertInput{Source: SourceLabels, Alert: alertmanager.Alert{
		Status:      alertmanager.StatusFiring,
		Labels:      ls,
		Fingerprint: Fingerprint(ls),
	}}, nil
}

// Fingerprint is Alertmanager's fingerprint of a label set, as its webhook sends it: 16 hex digits.
func Fingerprint(ls map[string]string) string {
	set := make(model.LabelSet, len(ls))
	for k, v := range ls {
		set[model.LabelName(k)] = model.LabelValue(v)
	}
	return set.Fingerprint().String()
}
