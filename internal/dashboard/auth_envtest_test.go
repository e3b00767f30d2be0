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

package dashboard

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/test/utils"
)

// TestKubernetesAuthentication runs the dashboard as the manager does, against a real API server:
// TokenReview decides who a request comes from and SubjectAccessReview what they see. Tokens
// come from the TokenRequest API, as `kubectl create token` gets them.
func TestKubernetesAuthentication(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx = ctrl.LoggerInto(ctx, zap.New(zap.WriteTo(testWriter{t}), zap.UseDevMode(true)))
	c := startCluster(t, ctx)

	// Two teams, each with a Remediation that has a history (so the feed has entries), a policy
	// and an Event.
	now := time.Now().Truncate(time.Second)
	rems := map[string]*v1beta1.Remediation{}
	for _, ns := range []string{"team-a", "team-b"} {
		c.namespace(t, ctx, ns)
		r := withPhase(remediation(ns, "oom-"+ns, v1beta1.ActionIncreaseMemory, now.Add(-10*time.Minute)),
			now.Add(-9*time.Minute), "PullRequestOpened", "secret plan of "+ns,
			v1beta1.PhasePending, v1beta1.PhasePlanning, v1beta1.PhaseAwaitingMerge)
		r.Status.PullRequest = &v1beta1.PullRequestStatus{URL: "https://github.com/acme/" + ns + "/pull/1", Number: 1}
		createWithStatus(ctx, g, c.k8s, r, func(o *v1beta1.Remediation) any { return &o.Status })
		rems[ns] = r
		_, pols := scene(now)
		p := pols[0]
		p.Namespace, p.Name = ns, "policy-"+ns
		createWithStatus(ctx, g, c.k8s, p, func(o *v1beta1.RemediationPolicy) any { return &o.Status })
		g.Expect(c.k8s.Create(ctx, event(r, "Normal", "PullRequestOpened", "event of "+ns, now))).To(Succeed())
	}
	teamA := c.viewer(t, ctx, "viewer-a", "team-a")
	everyone := c.viewer(t, ctx, "viewer-all", clusterWide)
	nobody := c.viewer(t, ctx, "nobody")

	const ttl = 2 * time.Second
	_, base := c.serve(t, ctx, ttl, nil)
	fetch := func(token, path string) (int, string) {
		resp, err := authGet(ctx, base+path, token)
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		g.Expect(err).NotTo(HaveOccurred())
		return resp.StatusCode, string(body)
	}
	teamB := []string{"oom-team-b", "policy-team-b", "secret plan of team-b", "acme/team-b", "event of team-b"}

	t.Run("an unauthenticated request gets 401", func(t *testing.T) {
		g := NewWithT(t)
		for _, path := range []string{"/", "/remediations/team-a/oom-team-a", "/policies", "/activity", "/live"} {
			for _, token := range []string{"", "not-a-token", teamA[:len(teamA)-4] + "AAAA"} {
				status, body := fetch(token, path)
				g.Expect(status).To(Equal(http.StatusUnauthorized), path)
				g.Expect(body).NotTo(ContainSubstring("oom-team"), path)
			}
		}
	})

	t.Run("a viewer of team-a sees nothing of team-b", func(t *testing.T) {
		g := NewWithT(t)
		status, body := fetch(teamA, "/")
		g.Expect(status).To(Equal(http.StatusOK))
		g.Expect(body).To(And(ContainSubstring(`data-name="team-a/oom-team-a"`), ContainSubstring(`id="user">system:serviceaccount:viewers:viewer-a<`)))
		for _, path := range []string{"/", "/?namespace=team-b", "/activity", "/policies", "/remediations/team-a/oom-team-a"} {
			status, body := fetch(teamA, path)
			g.Expect(status).To(Equal(http.StatusOK), path)
			for _, secret := range teamB {
				g.Expect(body).NotTo(ContainSubstring(secret), path)
			}
		}
		status, body = fetch(teamA, "/remediations/team-b/oom-team-b")
		g.Expect(status).To(Equal(http.StatusNotFound))
		g.Expect(body).NotTo(ContainSubstring("secret plan"))
		_, body = fetch(teamA, "/activity")
		g.Expect(body).To(ContainSubstring("team-a/oom-team-a"))
		_, body = fetch(teamA, "/policies")
		g.Expect(body).To(ContainSubstring(`data-name="team-a/policy-team-a"`))
	})

	t.Run("a viewer without any list right sees nothing", func(t *testing.T) {
		g := NewWithT(t)
		for _, path := range []string{"/", "/activity", "/policies"} {
			status, body := fetch(nobody, path)
			g.Expect(status).To(Equal(http.StatusOK), path)
			g.Expect(body).NotTo(ContainSubstring("oom-team"), path)
			g.Expect(body).NotTo(ContainSubstring("policy-team"), path)
		}
	})

	t.Run("a cluster-wide viewer sees every namespace", func(t *testing.T) {
		g := NewWithT(t)
		_, body := fetch(everyone, "/")
		g.Expect(body).To(And(ContainSubstring(`data-name="team-a/oom-team-a"`), ContainSubstring(`data-name="team-b/oom-team-b"`)))
		_, body = fetch(everyone, "/policies")
		g.Expect(body).To(And(ContainSubstring("policy-team-a"), ContainSubstring("policy-team-b")))
		status, body := fetch(everyone, "/remediations/team-b/oom-team-b")
		g.Expect(status).To(Equal(http.StatusOK))
		g.Expect(body).To(And(ContainSubstring("secret plan of team-b"), ContainSubstring("event of team-b")))
	})

	t.Run("the live stream tells a viewer only of changes they may see", func(t *testing.T) {
		g := NewWithT(t)
		_, a := openStream(t, ctx, base, teamA)
		_, all := openStream(t, ctx, base, everyone)
		aEv, allEv := nextEvent(a), nextEvent(all)
		touch := func(ns string) {
			r := &v1beta1.Remediation{}
			g.Expect(c.k8s.Get(ctx, client.ObjectKeyFromObject(rems[ns]), r)).To(Succeed())
			patch := client.MergeFrom(r.DeepCopy())
			r.Status.AlertCount++
			g.Expect(c.k8s.Status().Patch(ctx, r, patch)).To(Succeed())
		}
		touch("team-b")
		g.Eventually(allEv, 10*time.Second).Should(Receive(HavePrefix("event: change")))
		g.Consistently(aEv, time.Second).ShouldNot(Receive(), "team-b's change is not team-a's viewer's")
		touch("team-a")
		g.Eventually(aEv, 10*time.Second).Should(Receive(HavePrefix("event: change")))
	})

	t.Run("answers are cached briefly, then a revoked right shows nothing", func(t *testing.T) {
		g := NewWithT(t)
		_, body := fetch(teamA, "/")
		g.Expect(body).To(ContainSubstring("oom-team-a"))
		g.Expect(c.k8s.Delete(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "viewer-a"}})).To(Succeed())
		revoked := time.Now()
		_, body = fetch(teamA, "/")
		g.Expect(body).To(ContainSubstring("oom-team-a"), "the SubjectAccessReview answer is cached for %s", ttl)
		g.Eventually(func() string { _, body := fetch(teamA, "/"); return body }, 10*time.Second, 200*time.Millisecond).
			ShouldNot(ContainSubstring("oom-team-a"))
		t.Logf("The revoked right stopped showing after %s", time.Since(revoked).Round(100*time.Millisecond))
	})
}

// TestDashboardServesTLS serves the dashboard from a certificate directory, as config/default
// mounts cert-manager's Secret, and checks the login cookie is then Secure.
func TestDashboardServesTLS(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := startCluster(t, ctx)
	token := c.viewer(t, ctx, "viewer", clusterWide)
	dir := t.TempDir()
	caPEM, err := utils.WriteSelfSignedCert(dir)
	g.Expect(err).NotTo(HaveOccurred())
	_, base := c.serve(t, ctx, time.Minute, func(o *Options) { o.CertDir = dir })
	g.Expect(base).To(HavePrefix("https://"))

	roots := x509.NewCertPool()
	g.Expect(roots.AppendCertsFromPEM(caPEM)).To(BeTrue())
	hc := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.PostForm(base+"/login", url.Values{"token": {token}})
	g.Expect(err).NotTo(HaveOccurred())
	_ = resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusSeeOther))
	cookie := tokenCookie(resp)
	g.Expect(cookie).NotTo(BeNil())
	g.Expect(cookie.Secure).To(BeTrue())
	g.Expect(cookie.HttpOnly).To(BeTrue())

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/live", nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.AddCookie(cookie)
	live, err := hc.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = live.Body.Close() }()
	g.Expect(live.StatusCode).To(Equal(http.StatusOK))
	ev, err := readEvent(bufio.NewReader(live.Body))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Contains(ev, "event: hello")).To(BeTrue())
}
