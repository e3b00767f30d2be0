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

package gitlab

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/heal8s/heal8s/internal/gitprovider"
)

// WebhookPath is where GitLab posts Merge Request Hook events.
const WebhookPath = "/webhook/gitlab"

// MaxWebhookBody caps a delivery; GitLab's merge request payloads are far smaller.
const MaxWebhookBody = 3 << 20

// ErrEmptySecret means the webhook token file is empty: an empty token would accept anyone.
var ErrEmptySecret = errors.New("webhook secret token is empty")

// WebhookHandler receives GitLab merge request events and reports state changes of heal8s
// merge requests. GitLab does not sign deliveries: it sends the secret token configured on the
// webhook in X-Gitlab-Token, which the handler compares in constant time before it parses
// anything.
type WebhookHandler struct {
	secret   [sha256.Size]byte
	prefix   string
	callback gitprovider.PullRequestCallback
}

// NewWebhookHandlerFromFile reads the secret token from a file (a mounted Secret); surrounding
// whitespace is ignored.
func NewWebhookHandlerFromFile(secretFile string, callback gitprovider.PullRequestCallback) (*WebhookHandler, error) {
	b, err := os.ReadFile(secretFile) //nolint:gosec // G304: the path is the operator's --gitlab-webhook-secret-file flag.
	if err != nil {
		return nil, fmt.Errorf("reading GitLab webhook token file: %w", err)
	}
	return NewWebhookHandler(b, callback)
}

// NewWebhookHandler builds a handler for heal8s branches.
func NewWebhookHandler(secret []byte, callback gitprovider.PullRequestCallback) (*WebhookHandler, error) {
	s := strings.TrimSpace(string(secret))
	if s == "" {
		return nil, ErrEmptySecret
	}
	if callback == nil {
		return nil, errors.New("webhook handler needs a callback")
	}
	// Compare digests so the comparison takes the same time whatever the token's length.
	return &WebhookHandler{secret: sha256.Sum256([]byte(s)), prefix: gitprovider.BranchPrefix, callback: callback}, nil
}

func (h *WebhookHandler) validToken(got string) bool {
	if got == "" {
		return false
	}
	d := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(d[:], h.secret[:]) == 1
}

// ServeHTTP implements http.Handler.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := ctrl.LoggerFrom(r.Context()).WithValues("delivery", r.Header.Get("X-Gitlab-Event-UUID"))
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.validToken(r.Header.Get("X-Gitlab-Token")) {
		log.Info("Rejected GitLab webhook with a bad or missing token")
		http.Error(w, "bad token", http.StatusUnauthorized)
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
	if r.Header.Get("X-Gitlab-Event") != "Merge Request Hook" {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	pr, relevant, err := ParseMergeRequestEvent(body)
	if err != nil {
		http.Error(w, "malformed merge request event", http.StatusBadRequest)
		return
	}
	if !relevant || !strings.HasPrefix(pr.Branch, h.prefix) {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if err := h.callback(r.Context(), pr); err != nil {
		log.Error(err, "Recording merge request state failed; GitLab will redeliver", "repository", pr.Repository, "number", pr.Number)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// hookTime reads a webhook date: "2013-12-03T17:23:34Z" (RFC 3339, current GitLab) or
// "2013-12-03 17:23:34 UTC" (older GitLab).
type hookTime struct{ time.Time }

func (t *hookTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("unreadable time %q", s)
}

type mergeRequestEvent struct {
	ObjectKind string `json:"object_kind"`
	Project    struct {
		PathWithNamespace string `json:"path_with_namespace"`
	} `json:"project"`
	Attrs *struct {
		ID           int64     `json:"id"`
		IID          int       `json:"iid"`
		SourceBranch string    `json:"source_branch"`
		State        string    `json:"state"`
		Action       string    `json:"action"`
		URL          string    `json:"url"`
		UpdatedAt    *hookTime `json:"updated_at"`
		LastCommit   struct {
			ID string `json:"id"`
		} `json:"last_commit"`
		Labels []struct {
			Title string `json:"title"`
		} `json:"labels"`
	} `json:"object_attributes"`
}

// ParseMergeRequestEvent reads a Merge Request Hook body. relevant is false for actions that do
// not change the state heal8s follows (update, approved, ...). The merge and close times are not
// in every GitLab version's payload; the event's updated_at stands for them.
func ParseMergeRequestEvent(body []byte) (pr gitprovider.PullRequest, relevant bool, err error) {
	var ev mergeRequestEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return pr, false, fmt.Errorf("decoding merge request event: %w", err)
	}
	a := ev.Attrs
	if ev.ObjectKind != "merge_request" || a == nil || a.IID <= 0 || a.ID <= 0 || a.SourceBranch == "" || ev.Project.PathWithNamespace == "" {
		return pr, false, errors.New("not a merge request event: object_kind, project.path_with_namespace or object_attributes (id, iid, source_branch) missing")
	}
	if _, err := projectPath(ev.Project.PathWithNamespace); err != nil {
		return pr, false, fmt.Errorf("project path %q: %w", ev.Project.PathWithNamespace, err)
	}
	switch a.Action {
	case "open", "reopen", "close", "merge":
	default:
		return pr, false, nil
	}
	pr = gitprovider.PullRequest{
		Repository: ev.Project.PathWithNamespace, Number: a.IID, URL: a.URL, Branch: a.SourceBranch,
		HeadSHA: a.LastCommit.ID, State: convertState(a.State), NodeID: nodeID(a.ID),
	}
	for _, l := range a.Labels {
		pr.Labels = append(pr.Labels, l.Title)
	}
	if a.UpdatedAt != nil && !a.UpdatedAt.IsZero() {
		pr.UpdatedAt = a.UpdatedAt.Time
		t := a.UpdatedAt.Time
		switch pr.State {
		case gitprovider.StateMerged:
			pr.MergedAt, pr.ClosedAt = &t, &t
		case gitprovider.StateClosed:
			pr.ClosedAt = &t
		case gitprovider.StateOpen:
		}
	}
	return pr, true, nil
}

// NewWebhookServer serves the handler at WebhookPath on its own listener, with the timeouts and
// header cap a public endpoint needs.
func NewWebhookServer(addr string, h *WebhookHandler) *http.Server {
	mux := http.NewServeMux()
	mux.Handle(WebhookPath, h)
	return &http.Server{
		Addr: addr, Handler: mux,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
	}
}
