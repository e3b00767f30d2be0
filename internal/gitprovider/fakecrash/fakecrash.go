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

// Package fakecrash is the crash injection the fake Git hosts (gitprovider/fake for GitHub,
// gitprovider/gitlabfake for GitLab) share: which numbered call is dropped before it takes
// effect, or applied with its answer lost, and how the connection is cut. The providers' contract
// (gitprovider/providertest) uses it to prove Propose survives a crash at any point.
package fakecrash

import "net/http"

// Plan says which calls a fake drops, numbered from 1 in the order the fake receives them. The
// zero Plan drops nothing. It is not safe for concurrent use: the fake guards it with its lock.
type Plan struct {
	crashAt        int // calls numbered >= crashAt are dropped; 0 = off
	loseResponseAt int // this call is applied, then its answer dropped; 0 = off
}

// CrashAfter lets the next n calls through (done calls were received so far) and then drops every
// later one without effect, like a process that died after its nth call.
func (p *Plan) CrashAfter(done, n int) {
	p.crashAt, p.loseResponseAt = done+n+1, 0
}

// LoseResponseOf applies the nth next call but drops its answer, then drops every later call: the
// worst crash, where the host did the work and the client never learned of it.
func (p *Plan) LoseResponseOf(done, n int) {
	p.loseResponseAt, p.crashAt = done+n, done+n+1
}

// Of says what happens to call number n: dropped before it takes effect, or applied with its
// answer lost.
func (p Plan) Of(n int) (drop, lose bool) {
	return p.crashAt > 0 && n >= p.crashAt, p.loseResponseAt == n
}

// HangUp cuts the connection without an answer (a 500 where the server cannot be hijacked).
func HangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	w.WriteHeader(http.StatusInternalServerError)
}
