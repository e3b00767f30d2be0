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
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/heal8s/heal8s/api/v1beta1"
)

var _ = Describe("notifications", func() {
	It("tells a Slack webhook about the pull request and the success of a real remediation", func() {
		var mu sync.Mutex
		var texts []string
		slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var m struct{ Text string }
			if json.Unmarshal(body, &m) != nil || !strings.Contains(string(body), `"blocks"`) {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			mu.Lock()
			texts = append(texts, m.Text+"\n"+string(body))
			mu.Unlock()
		}))
		defer slack.Close()
		about := func() []string {
			mu.Lock()
			defer mu.Unlock()
			var out []string
			for _, t := range texts {
				if strings.Contains(t, "Deployment/mem-notify") {
					out = append(out, t)
				}
			}
			return out
		}

		Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "slack-e2e",
			Annotations: map[string]string{v1beta1.AnnotationNotifierSecret: "true"}},
			StringData: map[string]string{"address": slack.URL + "/services/T000/B000/XXXX"}})).To(Succeed())
		notifier := &v1beta1.Notifier{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "slack-e2e"},
			Spec: v1beta1.NotifierSpec{Type: v1beta1.NotifierSlack, SecretRef: v1beta1.NotifierSecretReference{Name: "slack-e2e"},
				RateLimit: v1beta1.NotifierRateLimit{Burst: 100}}}
		Expect(k8s.Create(ctx, notifier)).To(Succeed())
		DeferCleanup(func() { Expect(k8s.Delete(ctx, notifier)).To(Succeed()) })

		fluxApply("apps/e2e/mem-notify.yaml")
		alert := oomAlert(appNamespace, rolledOut(appNamespace, "mem-notify"))
		Expect(st.Alertmanager.Fire(ctx, alert)).To(Succeed())
		rem := heal(appNamespace, "mem-notify", "apps/e2e/mem-notify.yaml", alert)

		Eventually(about).Should(HaveLen(2))
		got := about()
		Expect(got[0]).To(HavePrefix("📝 IncreaseMemory proposed in a pull request on " + appNamespace + "/Deployment/mem-notify"))
		Expect(got[0]).To(ContainSubstring(rem.Status.PullRequest.URL))
		Expect(got[1]).To(HavePrefix("✅ IncreaseMemory succeeded on " + appNamespace + "/Deployment/mem-notify"))
		Expect(got[1]).To(ContainSubstring("256Mi"))
		Expect(got[1]).To(ContainSubstring("320Mi"))
		Expect(got[1]).To(ContainSubstring("https://heal8s.e2e.test/remediations/" + appNamespace + "/" + rem.Name))
		Consistently(about, "2s").Should(HaveLen(2))
	})
})
