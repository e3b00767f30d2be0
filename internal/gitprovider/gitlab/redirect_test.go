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

package gitlab_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlab"
)

// TestRedirectToAnotherHostIsNotFollowed: PRIVATE-TOKEN rides on every request, so a redirect to
// another host would carry it there; the provider stops instead. A same-host redirect is followed.
func TestRedirectToAnotherHostIsNotFollowed(t *testing.T) {
	g := NewWithT(t)
	var stolen atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer attacker.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, attacker.URL+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer origin.Close()

	p, err := gitlab.New(gitlab.Options{BaseURL: origin.URL, Token: "secret-token"})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = p.Status(context.Background(), gitprovider.PullRequest{Repository: "acme/deploy", Number: 1})
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("another host"))
	g.Expect(err.Error()).NotTo(ContainSubstring("secret-token"))
	g.Expect(stolen.Load()).To(BeZero(), "the other host received no request")
}
