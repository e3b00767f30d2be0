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

package gitprovider

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// A missing file read through a provider's Repo is a missing file to internal/manifest, which
// knows only fs.ErrNotExist; any other error stays transient.
func TestErrNotFoundIsFsErrNotExist(t *testing.T) {
	err := fmt.Errorf("reading apps/web.yaml at abc1234: %w", ErrNotFound)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("errors.Is(%v, ErrNotFound) = false", err)
	}
	if errors.Is(errors.New("502 Bad Gateway"), ErrNotFound) {
		t.Fatal("an unrelated error is ErrNotFound")
	}
}
