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
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// screenshotEnv names a directory the browser test also writes its screenshots to
// (dashboard.png, dashboard-detail.png); docs/dashboard.md shows them from docs/images, refreshed with
// HEAL8S_DASHBOARD_SCREENSHOTS=$PWD/docs/images go test ./internal/dashboard -run TestBrowser.
const screenshotEnv = "HEAL8S_DASHBOARD_SCREENSHOTS"

// chromiumPath finds Debian's chromium. A missing browser fails the test: .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("chromium not found on PATH: install it (apt-get install chromium; .ci/run does) to run the dashboard's browser test")
	return ""
}

// TestBrowser loads the dashboard served by a manager against an envtest control plane in headless
// chromium and checks what a person on call sees.
func TestBrowser(t *testing.T) {
	g := NewWithT(t)
	chromium := chromiumPath(t)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctx = ctrl.LoggerInto(ctx, zap.New(zap.WriteTo(testWriter{t}), zap.UseDevMode(true)))

	cluster := startCluster(t, ctx)
	k8s := cluster.k8s

	// The incident board: Remediations in five phases, their Events, a Ready and a broken policy.
	now := time.Now().Truncate(time.Second)
	rems, pols := scene(now)
	for _, ns := range []string{"prod", "staging"} {
		cluster.namespace(t, ctx, ns)
	}
	for _, r := range rems {
		createWithStatus(ctx, g, k8s, r, func(o *v1beta1.Remediation) any { return &o.Status })
	}
	for _, p := range pols {
		createWithStatus(ctx, g, k8s, p, func(o *v1beta1.RemediationPolicy) any { return &o.Status })
	}
	g.Expect(k8s.Create(ctx, event(rems[0], "Normal", "PullRequestOpened", "opened pull request #42", now.Add(-26*time.Minute)))).To(Succeed())
	g.Expect(k8s.Create(ctx, event(rems[3], "Warning", "Rejected", "pull request #7 was closed without merging", now.Add(-time.Hour)))).To(Succeed())
	// An Event about something else with the same name stays out of the cache and off the page.
	other := event(rems[0], "Warning", "BackOff", "about a pod of the same name", now)
	other.Regarding = corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: "prod", Name: rems[0].Name}
	g.Expect(k8s.Create(ctx, other)).To(Succeed())

	// The on-call engineer signs in with a token of a ServiceAccount that may read heal8s objects
	// cluster-wide (kubectl create token).
	token := cluster.viewer(t, ctx, "on-call", clusterWide)

	// A manager serves the dashboard from its cache, as cmd/main.go wires it.
	dash, base := cluster.serve(t, ctx, time.Minute, nil)
	cached := dash.opts.Reader

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1500, 820),
	)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	row := func(name string) string { return fmt.Sprintf(`#remediations tr[data-name=%q]`, name) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		g.Expect(chromedp.Do(tab, steps...)).To(Succeed(), what)
	}
	eval := func(js string) any {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[any](js))
		g.Expect(err).NotTo(HaveOccurred(), js)
		return v
	}
	waitFor := func(what, js string) {
		t.Helper()
		_, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
		g.Expect(err).NotTo(HaveOccurred(), what)
	}

	// Without a token the browser gets the login page (401); the token pasted there leads back.
	resp, err := chromedp.Run(tab, chromedp.NavigateResponse(base+"/"))
	g.Expect(err).NotTo(HaveOccurred(), "open the dashboard")
	g.Expect(resp.Status).To(BeEquivalentTo(http.StatusUnauthorized))
	g.Expect(eval(`document.querySelectorAll("#remediations").length`)).To(BeNumerically("==", 0))
	do("paste a bad token", chromedp.SetValue(chromedp.CSS("#token"), "not-a-token"))
	_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#login-submit"))))
	g.Expect(err).NotTo(HaveOccurred(), "submit a bad token")
	g.Expect(eval(`document.getElementById("login-error").textContent`)).To(ContainSubstring("not accepted"))
	do("paste the token", chromedp.SetValue(chromedp.CSS("#token"), token))
	_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#login-submit"))))
	g.Expect(err).NotTo(HaveOccurred(), "sign in")
	g.Expect(eval(`location.pathname`)).To(Equal("/"))
	g.Expect(eval(`document.getElementById("user").textContent`)).To(Equal("system:serviceaccount:viewers:on-call"))
	g.Expect(eval(`document.cookie`)).To(Equal(""), "the token cookie is HttpOnly: no script reads it")

	// Every remediation is a row, with its phase in its colour, and the live stream connects.
	do("open the list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(row("prod/oom-api"))))
	waitFor("the live stream connects", `document.getElementById("live-status").textContent === "live"`)
	g.Expect(eval(`document.querySelectorAll("#remediations tbody tr[data-name]").length`)).To(BeNumerically("==", 5))
	colour := func(name string) any {
		return eval(fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).backgroundColor`, row(name)+" .phase"))
	}
	g.Expect(colour("staging/scale-web")).To(Equal("rgb(207, 34, 46)"), "Failed is red")
	g.Expect(colour("staging/oom-cache")).To(Equal("rgb(26, 127, 55)"), "Succeeded is green")
	g.Expect(colour("prod/oom-api")).To(Equal("rgb(154, 103, 0)"), "AwaitingMerge is amber")
	g.Expect(colour("prod/cpu-worker")).To(Equal("rgb(9, 105, 218)"), "Verifying is blue")
	g.Expect(eval(fmt.Sprintf(`document.querySelector(%q).href`, row("prod/oom-api")+" a.pr"))).To(Equal("https://github.com/acme/deploy/pull/42"))
	g.Expect(eval(fmt.Sprintf(`document.querySelector(%q).textContent`, row("prod/rollback-api")+" td.why"))).To(ContainSubstring("cooldown is 1h"))
	// The hostile summary on cpu-worker's alert is text on the page, and never ran.
	g.Expect(eval(fmt.Sprintf(`document.querySelector(%q).textContent`, row("prod/cpu-worker")+" .annotation"))).To(Equal(xssAnnotation))
	g.Expect(eval(`typeof window.heal8sPwned`)).To(Equal("undefined"))

	// A phase change reaches the open page without a reload: the marker survives.
	eval(`window.heal8sNoReload = true`)
	worker := &v1beta1.Remediation{}
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(rems[1]), worker)).To(Succeed())
	patchBase := worker.DeepCopy()
	worker.Status.Phase, worker.Status.Reason, worker.Status.Message = v1beta1.PhaseSucceeded, "VerifyWindowPassed", "the alert stayed resolved for 10m"
	worker.Status.History = append(worker.Status.History, v1beta1.PhaseTransition{Phase: v1beta1.PhaseSucceeded, Reason: "VerifyWindowPassed", Time: metav1.Now()})
	changed := time.Now()
	g.Expect(k8s.Status().Patch(ctx, worker, client.MergeFrom(patchBase))).To(Succeed())
	waitFor("the update arrives", fmt.Sprintf(`document.querySelector(%q)?.dataset.phase === "Succeeded"`, row("prod/cpu-worker")))
	t.Logf("Phase change reached the page in %s", time.Since(changed).Round(time.Millisecond))
	g.Expect(eval(`window.heal8sNoReload === true`)).To(BeTrue(), "the page was not reloaded")
	g.Expect(colour("prod/cpu-worker")).To(Equal("rgb(26, 127, 55)"))
	g.Expect(eval(`document.querySelector(".feed li").textContent`)).To(And(ContainSubstring("prod/cpu-worker"), ContainSubstring("Succeeded")))

	screenshot(t, g, tab, "dashboard.png")

	// The phase filter, used as a person would.
	do("choose Failed", chromedp.SetValue(chromedp.CSS("#f-phase"), "Failed"))
	_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#f-apply"))))
	g.Expect(err).NotTo(HaveOccurred(), "submit the filter")
	g.Expect(eval(`location.search`)).To(Equal("?namespace=&phase=Failed&action="))
	g.Expect(eval(`[...document.querySelectorAll("#remediations tbody tr[data-name]")].map(r => r.dataset.name).join()`)).To(Equal("staging/scale-web"))

	// The detail page: plan, timeline, events, and the hostile annotation as text.
	do("open the list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(row("prod/oom-api"))))
	_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(row("prod/oom-api")+" a.detail"))))
	g.Expect(err).NotTo(HaveOccurred(), "open a remediation")
	g.Expect(eval(`location.pathname`)).To(Equal("/remediations/prod/oom-api"))
	var cachedEvents eventsv1.EventList
	g.Expect(cached.List(ctx, &cachedEvents)).To(Succeed())
	g.Expect(cachedEvents.Items).To(HaveLen(2), "the cache holds only the Events about Remediations")
	g.Expect(eval(`document.querySelector("#plan td.before").textContent + " -> " + document.querySelector("#plan td.after").textContent`)).To(Equal("256Mi -> 320Mi"))
	g.Expect(eval(`[...document.querySelectorAll("#timeline li .phase")].map(e => e.textContent).join()`)).To(Equal("Pending,Planning,Proposed,AwaitingMerge"))
	g.Expect(eval(`document.querySelector("#events").textContent`)).To(ContainSubstring("opened pull request #42"))
	g.Expect(eval(`document.querySelector("#events").textContent`)).NotTo(Or(ContainSubstring("closed without merging"), ContainSubstring("BackOff")))
	g.Expect(eval(`[...document.querySelectorAll("#annotations td")].map(e => e.textContent).join("|")`)).To(ContainSubstring(xssAnnotation))
	g.Expect(eval(`typeof window.heal8sPwned`)).To(Equal("undefined"))
	screenshot(t, g, tab, "dashboard-detail.png")
	// A new Event about this Remediation appears on its open page.
	g.Expect(k8s.Create(ctx, event(rems[0], "Normal", "ReviewRequested", "asked @acme/platform to review", time.Now()))).To(Succeed())
	waitFor("the new Event arrives", `document.querySelector("#events").textContent.includes("asked @acme/platform to review")`)

	// The policies: Ready, and the compile error of the broken one.
	do("open the policies", chromedp.Navigate(base+"/policies"), chromedp.WaitVisible(chromedp.CSS("#policies")))
	g.Expect(eval(`document.querySelector('tr[data-name="staging/broken"]').textContent`)).To(And(
		ContainSubstring("False"), ContainSubstring("CompileFailed"), ContainSubstring(`matcher alertname=~"(": missing closing )`)))
	g.Expect(eval(`[...document.querySelectorAll('tr[data-name="staging/broken"] .pause')].map(e => e.textContent).join("|")`)).To(
		Equal("Paused: alice|Paused: maintenance"), "each pause request is shown by name")
	g.Expect(eval(`document.querySelectorAll('tr[data-name="prod/default"] .pause').length`)).To(BeEquivalentTo(0))
	g.Expect(eval(`getComputedStyle(document.querySelector('tr[data-name="prod/default"] .ready')).backgroundColor`)).To(Equal("rgb(26, 127, 55)"))

	// Signing out forgets the token: the next page is the login page.
	_, err = chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#logout"))))
	g.Expect(err).NotTo(HaveOccurred(), "sign out")
	resp, err = chromedp.Run(tab, chromedp.NavigateResponse(base+"/policies"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Status).To(BeEquivalentTo(http.StatusUnauthorized))
	g.Expect(eval(`document.querySelectorAll("#login-form").length`)).To(BeNumerically("==", 1))
	t.Logf("Browser test done in %s", time.Since(now).Round(time.Millisecond))
}

// screenshot captures the whole page as PNG, checks it decodes at the window's width, and writes
// it to a temporary directory and, when asked, to the docs.
func screenshot(t *testing.T, g Gomega, tab context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	g.Expect(err).NotTo(HaveOccurred())
	img, err := png.Decode(bytes.NewReader(shot))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(img.Bounds().Dx()).To(Equal(1500))
	g.Expect(os.WriteFile(filepath.Join(t.TempDir(), name), shot, 0o600)).To(Succeed())
	if dir := os.Getenv(screenshotEnv); dir != "" {
		g.Expect(os.WriteFile(filepath.Join(dir, name), shot, 0o644)).To(Succeed()) //nolint:gosec // a docs image
		t.Logf("Screenshot written to %s", filepath.Join(dir, name))
	}
}

// createWithStatus creates obj and then writes the status it was built with, as the engine would.
func createWithStatus[T client.Object](ctx context.Context, g Gomega, k8s client.Client, obj T, status func(T) any) {
	want := obj.DeepCopyObject().(T)
	g.Expect(k8s.Create(ctx, obj)).To(Succeed())
	base := obj.DeepCopyObject().(T)
	copyStatus(g, status(want), status(obj))
	g.Expect(k8s.Status().Patch(ctx, obj, client.MergeFrom(base))).To(Succeed())
}

func copyStatus(g Gomega, from, to any) {
	switch f := from.(type) {
	case *v1beta1.RemediationStatus:
		*to.(*v1beta1.RemediationStatus) = *f
	case *v1beta1.RemediationPolicyStatus:
		*to.(*v1beta1.RemediationPolicyStatus) = *f
	default:
		g.Expect(f).To(BeNil(), "unexpected status type")
	}
}

// testWriter sends the manager's logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
