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
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heal8s/heal8s/internal/alertmanager"
)

func TestParseLabels(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{name: "plain", args: []string{"alertname=KubePodCrashLooping", "namespace=shop"},
			want: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop"}},
		{name: "quoted value, as in a matcher", args: []string{`alertname="KubePodCrashLooping"`, `summary="a b=c"`},
			want: map[string]string{"alertname": "KubePodCrashLooping", "summary": "a b=c"}},
		{name: "a value holding =", args: []string{"instance=a=b"}, want: map[string]string{"instance": "a=b"}},
		{name: "no =", args: []string{"alertname"}, wantErr: `"alertname": want label=value`},
		{name: "negative matcher", args: []string{"alertname!=X"}, wantErr: "a matcher, not a label"},
		{name: "regexp matcher", args: []string{"alertname=~X.*"}, wantErr: "a matcher, not a label"},
		{name: "bad name", args: []string{"1abc=x"}, wantErr: `"1abc" is not a label name`},
		{name: "empty name", args: []string{"=x"}, wantErr: `"" is not a label name`},
		{name: "empty value", args: []string{"pod="}, wantErr: "empty value"},
		{name: "twice", args: []string{"pod=a", "pod=b"}, wantErr: `label pod is already "a"`},
		{name: "bad quoting", args: []string{`pod="a"b"`}, wantErr: "bad label argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLabels(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrBadLabel) {
					t.Fatalf("ParseLabels(%q) error = %v, want ErrBadLabel with %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLabels(%q): %v", tt.args, err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("ParseLabels(%q) = %v, want %v", tt.args, got, tt.want)
			}
		})
	}
}

func TestAlertFromLabels(t *testing.T) {
	a, err := AlertFromLabels([]string{"alertname=KubePodCrashLooping", "namespace=shop"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != alertmanager.StatusFiring || a.Source != SourceLabels || len(a.Fingerprint) != 16 || !a.StartsAt.IsZero() {
		t.Errorf("alert = %+v", a)
	}
	if _, err := AlertFromLabels(nil); !errors.Is(err, ErrBadLabel) {
		t.Errorf("AlertFromLabels(nil) error = %v, want ErrBadLabel", err)
	}
}

// TestFingerprintIsAlertmanagers checks Fingerprint against the fingerprints Alertmanager wrote
// into the fixture payloads.
func TestFingerprintIsAlertmanagers(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "test", "fixtures", "alerts", "*.json"))
	if len(files) == 0 {
		t.Skip("no alert fixtures")
	}
	n := 0
	for _, f := range files {
		alerts, err := LoadAlerts(f)
		if err != nil {
			t.Fatalf("LoadAlerts(%s): %v", f, err)
		}
		for _, a := range alerts {
			if got := Fingerprint(a.Labels); got != a.Fingerprint {
				t.Logf("%s: Fingerprint = %s, payload says %s (hand-written fixture?)", a.Source, got, a.Fingerprint)
				continue
			}
			n++
		}
	}
	if n == 0 {
		t.Error("no fixture fingerprint equals Fingerprint of its labels")
	}
}

func TestDecodeAlerts(t *testing.T) {
	const payload = `{"version":"4","status":"firing","alerts":[
	  {"status":"firing","labels":{"alertname":"A","namespace":"shop"},"startsAt":"2026-03-15T10:00:00Z","fingerprint":"aaaa"},
	  {"status":"resolved","labels":{"alertname":"B"},"fingerprint":"bbbb"}]}`
	got, err := DecodeAlerts("p.json", []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Source != "p.json alerts[0]" || got[1].Status != alertmanager.StatusResolved ||
		got[0].StartsAt.IsZero() {
		t.Errorf("alerts = %+v", got)
	}

	bad := []struct{ name, body, want string }{
		{"not JSON", "{", "malformed JSON"},
		{"version 3", `{"version":"3","alerts":[]}`, "unsupported payload version"},
		{"no fingerprint", `{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"}}]}`, "no fingerprint"},
		{"two values", `{"version":"4","alerts":[]} {}`, "data after the payload"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeAlerts("p.json", []byte(tt.body))
			if !errors.Is(err, alertmanager.ErrBadPayload) || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), "p.json") {
				t.Errorf("error = %v, want ErrBadPayload naming p.json with %q", err, tt.want)
			}
		})
	}
}

func TestLoadAlerts(t *testing.T) {
	if _, err := LoadAlerts(filepath.Join(t.TempDir(), "absent.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadAlerts of a missing file: %v", err)
	}
	got, err := loadAlerts(Stdin, strings.NewReader(`{"version":"4","alerts":[]}`))
	if err != nil || len(got) != 0 {
		t.Errorf("loadAlerts(-) = %v, %v", got, err)
	}
}
