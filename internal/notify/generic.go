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

package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// GenericVersion names the schema of generic messages (docs/notifications.md).
const GenericVersion = "notifications.heal8s.io/v1"

// Headers of generic messages.
const (
	// HeaderTimestamp is the Unix time in seconds the message was signed at.
	HeaderTimestamp = "X-Heal8s-Timestamp"
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with the Secret's hmacKey, of
	// the timestamp, a dot and the body.
	HeaderSignature = "X-Heal8s-Signature"
	// HeaderDelivery identifies the message; a retry repeats it, so a receiver can drop repeats.
	HeaderDelivery = "X-Heal8s-Delivery"
)

// GenericMessage is the body of a generic webhook message.
type GenericMessage struct {
	Version  string  `json:"version"`
	ID       string  `json:"id"`
	Notifier string  `json:"notifier"`
	Events   []Event `json:"events"`
	// Omitted counts events summarised away because the digest was full.
	Omitted int `json:"omitted,omitempty"`
}

// GenericPayload is the JSON body of a generic message.
func GenericPayload(id, notifier string, events []Event, omitted int) ([]byte, error) {
	b, err := json.Marshal(GenericMessage{Version: GenericVersion, ID: id, Notifier: notifier, Events: events, Omitted: omitted})
	if err != nil {
		return nil, fmt.Errorf("encoding a generic message: %w", err)
	}
	return b, nil
}

// Sign is the HeaderSignature value of body sent at ts.
func Sign(key []byte, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a generic message as a receiver should: the signature matches and the timestamp
// is within tolerance of now, so a captured message cannot be replayed later.
func Verify(key []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("reading the %s header: %w", HeaderTimestamp, err)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("the message was signed at %s, more than %s from now", ts.UTC(), tolerance)
	}
	if !hmac.Equal([]byte(Sign(key, ts, body)), []byte(signature)) {
		return fmt.Errorf("the signature does not match the body")
	}
	return nil
}
