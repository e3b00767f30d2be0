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

package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	gh "github.com/google/go-github/v88/github"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/heal8s/heal8s/internal/gitprovider"
)

// WebhookPath is where GitHub posts pull_request events.
const WebhookPath = "/webhook/github"

// MaxWebhookBody caps a delivery, as Flux's receiver does; GitHub's payloads are far smaller.
const MaxWebhookBody = 3 << 20

// PullRequestCallback is gitprovider.PullRequestCallback.
type PullRequestCallback = gitprovider.PullRequestCallback

// WebhookHandler receives GitHub pull_request events and reports state changes of heal8s pull
// requests. It verifies X-Hub-Signature-256 before it parses anything.
type WebhookHandler struct {
	secret   []byte
	prefix   string
	callback PullRequestCallback
}

// ErrEmptySecret means the webhook secret file is empty: an empty HMAC key would accept anyone
// who knows that.
var ErrEmptySecret = errors.New("webhook secret is empty")

// NewWebhookHandlerFromFile reads the shared secret from a file (a mounted Secret); surrounding
// whitespace is ignored.
func NewWebhookHandlerFromFile(secretFile string, callback PullRequestCallback) (*WebhookHandler, error) {
	b, err := os.ReadFile(secretFile) //nolint:gosec // G304: the path is the operator's --github-webhook-secret-file flag.
	if err != nil {
		return nil, fmt.Errorf("reading webhook secret file: %w", err)
	}
	return NewWebhookHandler(b, callback)
}

// NewWebhookHandler builds a handler for heal8s branches (DefaultBranchPrefix).
func NewWebhookHandler(secret []byte, callback PullRequestCallback) (*WebhookHandler, error) {
	s := []byte(strings.TrimSpace(string(secret)))
	if len(s) == 0 {
		return nil, ErrEmptySecret
	}
	if callback == nil {
		return nil, errors.New("webhook handler needs a callback")
	}
	return &WebhookHandler{secret: s, prefix: DefaultBranchPrefix, callback: callback}, nil
}

// ServeHTTP implements http.Handler.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := ctrl.LoggerFrom(r.Context()).WithValues("delivery", r.Header.Get("X-GitHub-Delivery"))
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	if !h.validSignature(r.Header.Get("X-Hub-Signature-256"), body) {
		log.Info("Rejected GitHub webhook with a bad or missing signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}

	event := r.Header.Get("X-GitHub-Event")
	switch event {
	case "ping":
		w.WriteHeader(http.StatusOK)
		return
	case "pull_request":
	default:
		w.WriteHeader(http.StatusAccepted)
		return
	}
	parsed, err := gh.ParseWebHook(event, body)
	if err != nil {
		http.Error(w, "malformed pull_request event", http.StatusBadRequest)
		return
	}
	ev, ok := parsed.(*gh.PullRequestEvent)
	if !ok || ev.GetPullRequest() == nil || ev.GetRepo() == nil {
		http.Error(w, "malformed pull_request event", http.StatusBadRequest)
		return
	}
	switch ev.GetAction() {
	case "opened", "closed", "reopened":
	default:
		w.WriteHeader(http.StatusAccepted)
		return
	}
	pr := convertPR(ev.GetRepo().GetFullName(), ev.GetPullRequest())
	if !strings.HasPrefix(pr.Branch, h.prefix) {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if err := h.callback(r.Context(), pr); err != nil {
		log.Error(err, "Recording pull request state failed; GitHub will redeliver", "repository", pr.Repository, "number", pr.Number)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// validSignature checks "sha256=<hex HMAC of body>" in constant time.
func (h *WebhookHandler) validSignature(header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// NewWebhookServer serves the handler at WebhookPath on its own listener, with the timeouts and
// header cap a public endpoint needs.
func NewWebhookServer(addr string, h *WebhookHandler) *http.Server {
	mux := http.NewServeMux()
	mux.Handle(WebhookPath, h)
	return &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}
