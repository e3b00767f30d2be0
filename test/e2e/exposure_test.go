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
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// post sends body to target with headers and returns the status code.
func post(target string, body []byte, headers map[string]string) int {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// dashboard GETs path with a bearer token (none when empty) and returns the status and body.
func dashboard(path, token string) (int, string) {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(st.Manager.DashboardURL, "/")+path, nil)
	Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, string(body)
}

var _ = Describe("heal8s's exposure", func() {
	It("serves GitHub's webhook on its own port, never on Alertmanager's", func() {
		secret, err := os.ReadFile(st.GitHubWebhookSecretFile)
		Expect(err).NotTo(HaveOccurred())
		body := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
		mac := hmac.New(sha256.New, bytes.TrimSpace(secret))
		mac.Write(body)
		signed := map[string]string{
			"Content-Type": "application/json", "X-GitHub-Event": "ping", "X-GitHub-Delivery": "e2e-1",
			"X-Hub-Signature-256": "sha256=" + hex.EncodeToString(mac.Sum(nil)),
		}
		Expect(post(st.Manager.GitHubWebhookURL, body, signed)).To(Equal(http.StatusOK), "a signed delivery on GitHub's port")
		Expect(post(st.Manager.GitHubWebhookURL, body, map[string]string{"X-GitHub-Event": "ping"})).To(Equal(http.StatusUnauthorized),
			"an unsigned delivery")

		receiver, err := url.Parse(st.Manager.ReceiverURL)
		Expect(err).NotTo(HaveOccurred())
		receiver.Path = "/webhook/github"
		Expect(post(receiver.String(), body, signed)).To(Equal(http.StatusNotFound), "the receiver's port does not serve GitHub")
		github, err := url.Parse(st.Manager.GitHubWebhookURL)
		Expect(err).NotTo(HaveOccurred())
		Expect(github.Port()).NotTo(Equal(receiver.Port()))
		github.Path = "/webhook/alertmanager"
		Expect(post(github.String(), []byte(`{}`), nil)).To(Equal(http.StatusNotFound), "GitHub's port does not serve Alertmanager")
	})

	It("shows the dashboard only to a signed-in viewer, and only the namespaces they may list", func() {
		status, body := dashboard("/", "")
		Expect(status).To(Equal(http.StatusUnauthorized))
		Expect(body).NotTo(ContainSubstring(appNamespace + "/"))

		token, err := st.DashboardToken(ctx, "e2e-viewer", appNamespace)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			status, body := dashboard("/policies", token)
			g.Expect(status).To(Equal(http.StatusOK))
			g.Expect(body).To(ContainSubstring(`data-name="` + appNamespace + `/e2e"`))
			g.Expect(body).NotTo(ContainSubstring(`data-name="` + slowNamespace + `/e2e"`))
		}).Should(Succeed())
		for _, path := range []string{"/", "/activity", "/?namespace=" + slowNamespace} {
			status, body := dashboard(path, token)
			Expect(status).To(Equal(http.StatusOK), path)
			Expect(body).NotTo(ContainSubstring(slowNamespace+"/"), path)
		}
	})
})
