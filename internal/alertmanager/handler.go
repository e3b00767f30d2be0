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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync/atomic"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
)

// handler serves POST /webhook/alertmanager: it authenticates, bounds and decodes the body,
// and answers only once every Remediation of the payload is persisted.
type handler struct {
	// loaded is set once the routing table holds every policy the cache knew at start; before
	// that an alert could be skipped as no_rule only because its policy was not compiled yet.
	loaded  atomic.Bool
	intake  *intake
	token   *tokenFile // nil when the receiver runs insecure
	maxBody int64
	log     logr.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, fmt.Sprintf("method %s not allowed; Alertmanager's webhook uses POST", r.Method), http.StatusMethodNotAllowed)
		return
	}
	if h.token != nil && h.token.ready() != nil {
		// Never open: without its token the receiver refuses everyone, and says it is waiting.
		w.Header().Set("Retry-After", "60")
		http.Error(w, "heal8s has no receiver token yet: create the Secret mounted at its --receiver-token-file "+
			"(docs/quick-start.md); alerts are refused until then", http.StatusServiceUnavailable)
		return
	}
	if h.token != nil && !h.token.authorized(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="heal8s"`)
		http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
		return
	}
	if !h.loaded.Load() {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "the routing table is still loading; retry shortly", http.StatusServiceUnavailable)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, fmt.Sprintf("content type %q is not application/json", r.Header.Get("Content-Type")), http.StatusUnsupportedMediaType)
		return
	}
	if r.ContentLength > h.maxBody {
		http.Error(w, fmt.Sprintf("body of %d bytes is over the limit of %d", r.ContentLength, h.maxBody), http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("body is over the limit of %d bytes", h.maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	payload, err := Decode(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	log := h.log.WithValues("groupKey", payload.GroupKey, "receiver", payload.Receiver, "alerts", len(payload.Alerts))
	ctx := ctrl.LoggerInto(r.Context(), log)
	res, err := h.intake.process(ctx, payload)
	if err != nil {
		log.Error(err, "Payload not persisted; Alertmanager will retry")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if payload.TruncatedAlerts > 0 {
		log.Info("Alertmanager truncated the payload; raise max_alerts on the webhook receiver", "truncatedAlerts", payload.TruncatedAlerts)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
