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
	"slices"
	"time"
	"unicode/utf8"
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

// Bounds on what one payload may carry. Alertmanager's own webhook_configs max_alerts (50 in
// examples/alertmanager) stays far below them; they keep one sender from making the receiver do
// unbounded work or store unbounded text. Labels are a Prometheus series' labels, so real ones
// are few and short.
const (
	// MaxAlertsPerPayload is the most alerts one payload may carry.
	MaxAlertsPerPayload = 1000
	// MaxLabels is the most labels one alert may carry.
	MaxLabels = 64
	// MaxLabelNameLength and MaxLabelValueLength bound each label.
	MaxLabelNameLength  = 128
	MaxLabelValueLength = 1024
	// MaxAnnotations is the most annotations kept on a Remediation; more are dropped.
	MaxAnnotations = 32
	// MaxAnnotationLength is the most bytes kept of each annotation (and of generatorURL);
	// longer text is cut, with a marker.
	MaxAnnotationLength = 2048
	// MaxAnnotationsTotal is the most bytes (names and values) of annotations kept on one
	// Remediation: every Remediation is held in the manager's cache, so its alert text is kept
	// small. summary, description, message and runbook_url are kept first.
	MaxAnnotationsTotal = 4096
)

// preferredAnnotations are kept before any other annotation, in this order: they are what
// people read (docs/alerts.md).
var preferredAnnotations = []string{"summary", "description", "message", "runbook_url"}

// minAnnotationRoom is the least room worth giving an annotation: less would hold little more
// than the truncation marker.
const minAnnotationRoom = 64

// Validate checks what heal8s needs of a payload: version 4, at most MaxAlertsPerPayload alerts
// and, for each alert, a status, some labels within the label bounds and a fingerprint that fits
// a label value.
func (p *Payload) Validate() error {
	if p.Version != PayloadVersion {
		return fmt.Errorf("%w: unsupported payload version %q; heal8s understands version %s", ErrBadPayload, p.Version, PayloadVersion)
	}
	if len(p.Alerts) > MaxAlertsPerPayload {
		return fmt.Errorf("%w: %d alerts in one payload; at most %d (set max_alerts in Alertmanager's webhook_configs)",
			ErrBadPayload, len(p.Alerts), MaxAlertsPerPayload)
	}
	for i, a := range p.Alerts {
		if err := validateLabels(a.Labels); err != nil {
			return fmt.Errorf("%w: alerts[%d]: %w", ErrBadPayload, i, err)
		}
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

func validateLabels(ls map[string]string) error {
	if len(ls) > MaxLabels {
		return fmt.Errorf("%d labels; at most %d", len(ls), MaxLabels)
	}
	for k, v := range ls {
		switch {
		case len(k) > MaxLabelNameLength:
			return fmt.Errorf("label name %.40q... is longer than %d bytes", k, MaxLabelNameLength)
		case len(v) > MaxLabelValueLength:
			return fmt.Errorf("label %s is longer than %d bytes", k, MaxLabelValueLength)
		}
	}
	return nil
}

// truncatedMarker ends text cut to MaxAnnotationLength.
const truncatedMarker = " [truncated by heal8s]"

// boundedText returns s cut to at most MaxAnnotationLength bytes, on a UTF-8 boundary.
func boundedText(s string) string {
	return cutText(s, MaxAnnotationLength)
}

// cutText returns s cut to at most n bytes (n above len(truncatedMarker)), on a UTF-8 boundary,
// ending with truncatedMarker when cut.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(truncatedMarker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedMarker
}

// boundedAnnotations keeps at most MaxAnnotations annotations and MaxAnnotationsTotal bytes:
// preferredAnnotations first, then the others by name, each cut to MaxAnnotationLength and to
// the room left; an annotation that would get less than minAnnotationRoom is dropped. Alert text
// is shown to people, never acted on, and is stored on every Remediation.
func boundedAnnotations(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	keys := make([]string, 0, len(in))
	for _, k := range preferredAnnotations {
		if _, ok := in[k]; ok {
			keys = append(keys, k)
		}
	}
	rest := make([]string, 0, len(in))
	for k := range in {
		if !slices.Contains(preferredAnnotations, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	keys = append(keys, rest...)
	out := make(map[string]string, min(len(keys), MaxAnnotations))
	room := MaxAnnotationsTotal
	for _, k := range keys {
		if len(out) == MaxAnnotations {
			break
		}
		v := in[k]
		if len(k)+len(v) > room && room-len(k) < minAnnotationRoom {
			continue
		}
		v = cutText(v, min(MaxAnnotationLength, room-len(k)))
		out[k] = v
		room -= len(k) + len(v)
	}
	return out
}
