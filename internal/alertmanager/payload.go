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

// Package alertmanager receives Alertmanager's webhook (payload version 4) and turns each firing
// alert that a RemediationPolicy's rule matches into a Remediation, idempotently: the
// Remediation's name is derived from the policy, rule, fingerprint and start of the alert, so
// the same alert on any replica, after any restart, lands on the same object. The receiver only
// validates and persists; the Remediation controller does the rest.
package alertmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
)

// PayloadVersion is the only webhook payload version heal8s understands.
const PayloadVersion = "4"

// Alert statuses in a payload.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// ErrBadPayload marks every reason a payload is refused with 400; the message says which.
var ErrBadPayload = errors.New("bad payload")

// Payload is Alertmanager's webhook body, version 4, with every field it sends. Fields heal8s
// does not act on are kept so logs and future uses see the payload as sent.
type Payload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a payload.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// fingerprintPattern accepts what fits a label value (the heal8s.io/fingerprint label):
// Alertmanager sends 16 hex digits.
var fingerprintPattern = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)

// Decode parses and validates a payload. Unknown fields are ignored so a newer Alertmanager that
// adds one keeps working; everything heal8s relies on is checked, and a trailing second JSON
// value is refused. Every error wraps ErrBadPayload and says what is wrong.
func Decode(body []byte) (*Payload, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	p := &Payload{}
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("%w: malformed JSON: %w", ErrBadPayload, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: malformed JSON: data after the payload object", ErrBadPayload)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate checks what heal8s needs of a payload: version 4 and, for each alert, a status, some
// labels and a fingerprint that fits a label value.
func (p *Payload) Validate() error {
	if p.Version != PayloadVersion {
		return fmt.Errorf("%w: unsupported payload version %q; heal8s understands version %s", ErrBadPayload, p.Version, PayloadVersion)
	}
	for i, a := range p.Alerts {
		switch {
		case a.Status != StatusFiring && a.Status != StatusResolved:
			return fmt.Errorf("%w: alerts[%d]: status %q is neither %s nor %s", ErrBadPayload, i, a.Status, StatusFiring, StatusResolved)
		case len(a.Labels) == 0:
			return fmt.Errorf("%w: alerts[%d]: no labels", ErrBadPayload, i)
		case a.Fingerprint == "":
			return fmt.Errorf("%w: alerts[%d]: no fingerprint", ErrBadPayload, i)
		case !fingerprintPattern.MatchString(a.Fingerprint):
			return fmt.Errorf("%w: alerts[%d]: fingerprint %q is not 1-63 letters, digits, '-', '_' or '.'", ErrBadPayload, i, a.Fingerprint)
		}
	}
	return nil
}
