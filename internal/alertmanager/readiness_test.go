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

package alertmanager

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// TestTokenCheckOnTheReadinessEndpoint serves the receiver's token check as the manager does
// (controller-runtime's /readyz handler, next to the webhook server's check) and holds that the
// probe path the Deployments use stays ready without a token, while the named check and the
// verbose listing say what is missing until the token file appears.
func TestTokenCheckOnTheReadinessEndpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	r, err := New(Options{TokenFile: path, Logger: logr.Discard()}, nil, nil, tableFor(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	readyz := http.StripPrefix("/readyz", &healthz.Handler{Checks: map[string]healthz.Checker{
		"readyz":       healthz.Ping, // the webhook server's StartedChecker in cmd/main.go
		TokenCheckName: r.TokenCheck,
	}})
	get := func(target string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		readyz.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		body, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(body)
	}
	probe := "/readyz?exclude=" + TokenCheckName

	code, body := get(probe)
	if code != http.StatusOK {
		t.Errorf("GET %s without a token = %d %q, want 200: the webhooks' pods would go unready", probe, code, body)
	}
	code, body = get("/readyz/" + TokenCheckName)
	if code != http.StatusInternalServerError || !strings.Contains(body, "no receiver token") || !strings.Contains(body, path) {
		t.Errorf("GET /readyz/%s without a token = %d %q, want 500 naming %s", TokenCheckName, code, body, path)
	}
	if code, body = get("/readyz?verbose"); code == http.StatusOK || !strings.Contains(body, "[-]"+TokenCheckName+" failed") {
		t.Errorf("GET /readyz?verbose without a token = %d %q, want the failed check listed", code, body)
	}

	if err := os.WriteFile(path, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{probe, "/readyz/" + TokenCheckName, "/readyz?verbose"} {
		code, body := get(target)
		if code != http.StatusOK {
			t.Errorf("GET %s with a token = %d %q, want 200", target, code, body)
		}
		if strings.Contains(body, "s3cret") {
			t.Errorf("GET %s shows the token: %q", target, body)
		}
	}
}

// TestTokenCheckInsecure: a receiver told to run without a token has nothing to wait for.
func TestTokenCheckInsecure(t *testing.T) {
	r, err := New(Options{Insecure: true, Logger: logr.Discard()}, nil, nil, tableFor(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.TokenCheck(nil); err != nil {
		t.Errorf("TokenCheck of an insecure receiver = %v, want nil", err)
	}
}
