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

import "net/http"

// TokenCheckName names the manager's readiness check of the receiver token: /readyz/receiver-token
// answers 200 once the token is read, else 500 with what is missing, and /readyz?verbose lists it.
// The Deployments' readiness probes exclude it (/readyz?exclude=receiver-token): the same pods
// serve the admission and conversion webhooks, which must not go down for want of a token
// (docs/operations.md, "Readiness and the receiver token").
const TokenCheckName = "receiver-token"

// TokenCheck is the TokenCheckName check (a controller-runtime healthz.Checker): nil once the
// receiver has its token or runs insecure, else the ErrNoToken saying which file is missing or
// empty. It names the file, never its content.
func (r *Receiver) TokenCheck(_ *http.Request) error {
	return r.TokenError()
}
