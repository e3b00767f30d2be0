//go:build e2e

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

package e2e

import (
	"io"
	"net/http"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("the manager's readiness", func() {
	It("reports the receiver token as a check of its own, which the probe leaves out", func() {
		get := func(path, query string) (int, string) {
			GinkgoHelper()
			u, err := url.Parse(st.Manager.ProbeURL)
			Expect(err).NotTo(HaveOccurred())
			u.Path, u.RawQuery = path, query
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			Expect(err).NotTo(HaveOccurred())
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = resp.Body.Close() }()
			body, err := io.ReadAll(resp.Body)
			Expect(err).NotTo(HaveOccurred())
			return resp.StatusCode, string(body)
		}
		status, body := get("/readyz/receiver-token", "")
		Expect(status).To(Equal(http.StatusOK), body)
		status, body = get("/readyz", "verbose")
		Expect(status).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring("[+]receiver-token ok"))
		Expect(body).To(ContainSubstring("[+]readyz ok"))
		status, body = get("/readyz", "verbose&exclude=receiver-token")
		Expect(status).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring("[+]receiver-token excluded: ok"),
			"the probe's exclude names a check the manager has")
	})
})
