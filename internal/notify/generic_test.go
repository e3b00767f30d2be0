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
	"strconv"
	"testing"
	"time"
)

func TestSignAndVerify(t *testing.T) {
	key := []byte("0123456789abcdef0123")
	body := []byte(`{"version":"notifications.heal8s.io/v1"}`)
	ts := time.Unix(1773480413, 0)
	sig := Sign(key, ts, body)
	// printf '%s' '1773480413.{"version":"notifications.heal8s.io/v1"}' | openssl dgst -sha256 -hmac 0123456789abcdef0123
	if want := "sha256=14e8d714b5891c8e6b711eda7af12d745ac1197a8ceaccddde757ab711b3e336"; sig != want {
		t.Errorf("Sign = %s, want %s (computed with openssl)", sig, want)
	}
	tests := []struct {
		name    string
		ts, sig string
		body    []byte
		now     time.Time
		ok      bool
	}{
		{"as sent", strconv.FormatInt(ts.Unix(), 10), sig, body, ts.Add(time.Minute), true},
		{"body changed", strconv.FormatInt(ts.Unix(), 10), sig, []byte(`{"version":"x"}`), ts, false},
		{"timestamp changed", strconv.FormatInt(ts.Unix()+1, 10), sig, body, ts, false},
		{"replayed later", strconv.FormatInt(ts.Unix(), 10), sig, body, ts.Add(10 * time.Minute), false},
		{"from the future", strconv.FormatInt(ts.Unix(), 10), sig, body, ts.Add(-10 * time.Minute), false},
		{"no timestamp", "", sig, body, ts, false},
		{"another key", strconv.FormatInt(ts.Unix(), 10), Sign([]byte("another key 12345"), ts, body), body, ts, false},
	}
	for _, tc := range tests {
		err := Verify(key, tc.ts, tc.sig, tc.body, tc.now, 5*time.Minute)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Verify = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
