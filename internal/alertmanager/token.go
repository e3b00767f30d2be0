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
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrNoToken means the token file is missing or empty; the receiver refuses to run open unless
// told to be insecure.
var ErrNoToken = errors.New("no receiver token")

// tokenFile holds the bearer token read from a file (a mounted Secret) and rereads it when the
// file's modification time or size changes, so a rotated Secret takes effect without a restart.
// Kubernetes swaps the ..data symlink on update; os.Stat follows it and sees the new file.
type tokenFile struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	digest  [sha256.Size]byte
}

// newTokenFile reads the token at path when it is there; a file that is missing or empty now
// (the Secret not created yet: the manager's volume is optional) is read again on every request,
// and until it holds a token every request is refused (ready says why).
func newTokenFile(path string) *tokenFile {
	t := &tokenFile{path: path}
	_, _ = t.current()
	return t
}

// ready returns nil once a token has been read, else the ErrNoToken saying what is missing.
func (t *tokenFile) ready() error {
	_, err := t.current()
	return err
}

// current returns the token's digest, rereading the file when it changed. When the file cannot be
// read any more, the last good token stays in force.
func (t *tokenFile) current() ([sha256.Size]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := os.Stat(t.path)
	if err != nil {
		if !t.modTime.IsZero() {
			return t.digest, nil
		}
		return t.digest, fmt.Errorf("%w: reading %s: %w", ErrNoToken, t.path, err)
	}
	if st.ModTime().Equal(t.modTime) && st.Size() == t.size {
		return t.digest, nil
	}
	raw, err := os.ReadFile(t.path)
	if err != nil {
		if !t.modTime.IsZero() {
			return t.digest, nil
		}
		return t.digest, fmt.Errorf("%w: reading %s: %w", ErrNoToken, t.path, err)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		if !t.modTime.IsZero() {
			return t.digest, nil
		}
		return t.digest, fmt.Errorf("%w: %s is empty", ErrNoToken, t.path)
	}
	t.digest = sha256.Sum256([]byte(tok))
	t.modTime, t.size = st.ModTime(), st.Size()
	return t.digest, nil
}

// authorized compares the request's bearer token with the file's in constant time; hashing both
// first keeps the comparison's time independent of the token's length too.
func (t *tokenFile) authorized(header string) bool {
	const prefix = "bearer "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return false
	}
	want, err := t.current()
	if err != nil {
		return false
	}
	got := sha256.Sum256(bytes.TrimSpace([]byte(header[len(prefix):])))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
