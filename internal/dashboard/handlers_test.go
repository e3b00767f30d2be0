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
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/heal8s/heal8s/api/v1beta1"
)

// newTestDashboard serves the scene from a fake client, with the feed seeded as the informer's
// initial list would seed it.
func newTestDashboard(t *testing.T, mutate func(*Options)) *Dashboard {
	t.Helper()
	rems, pols := scene(t0)
	objs := []client.Object{}
	for _, r := range rems {
		objs = append(objs, r)
	}
	for _, p := range pols {
		objs = append(objs, p)
	}
	objs = append(objs,
		event(rems[0], "Normal", "PullRequestOpened", "opened https://github.com/acme/deploy/pull/42", t0.Add(-26*time.Minute)),
		event(rems[0], "Normal", "Planned", "memory 256Mi -> 320Mi <b>bold?</b>", t0.Add(-27*time.Minute)),
		event(rems[3], "Warning", "Rejected", "pull request #7 was closed without merging", t0.Add(-time.Hour)),
	)
	opts := Options{
		BindAddress:   "127.0.0.1:0",
		Reader:        fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(objs...).Build(),
		Authenticator: testUsers,
		Authorizer:    testGrants,
		Clock:         clocktesting.NewFakePassiveClock(t0),
		Debounce:      time.Millisecond,
	}
	if mutate != nil {
		mutate(&opts)
	}
	d, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, r := range rems {
		d.record(nil, r)
	}
	return d
}

// get requests path as the cluster-wide viewer unless header names another token.
func get(t *testing.T, h http.Handler, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	maps.Copy(req.Header, header)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.String()
}

func TestPages(t *testing.T) {
	d := newTestDashboard(t, nil)
	h := d.Handler()
	fragment := http.Header{FragmentHeader: {"1"}}
	row := func(ns, name string) string { return `data-name="` + ns + "/" + name + `"` }

	tests := []struct {
		name        string
		path        string
		header      http.Header
		status      int
		contentType string
		want        []string
		wantNot     []string
	}{{
		name: "list shows every remediation with colour, links and why", path: "/", status: 200,
		want: []string{
			"<!DOCTYPE html>", row("prod", "oom-api"), row("prod", "cpu-worker"), row("staging", "oom-cache"),
			row("staging", "scale-web"), row("prod", "rollback-api"),
			`class="phase phase-awaitingmerge"`, `class="phase phase-failed"`, `class="phase phase-succeeded"`,
			`class="phase phase-skipped"`, `class="phase phase-verifying"`,
			`href="https://github.com/acme/deploy/pull/42"`, `href="/remediations/prod/oom-api"`,
			"Cooldown", "IncreaseMemory on Deployment/api ran 5m ago; cooldown is 1h",
			"Deployment/web-oom-api (app)", "prod/default", "30m", "5 shown",
			`<b>1</b> Failed`, `href="/?phase=Failed"`, "Recent activity",
		},
	}, {
		name: "unfinished remediations come first", path: "/", status: 200,
		want: []string{row("prod", "cpu-worker") + ` data-phase="Verifying">`},
	}, {
		name: "filter by phase", path: "/?phase=Failed", status: 200,
		want:    []string{row("staging", "scale-web"), "1 shown", `<option value="Failed" selected>`},
		wantNot: []string{row("prod", "oom-api"), row("staging", "oom-cache")},
	}, {
		name: "filter by namespace", path: "/?namespace=staging", status: 200,
		want:    []string{row("staging", "scale-web"), row("staging", "oom-cache"), "2 shown", `href="/?namespace=staging&amp;phase=Failed"`},
		wantNot: []string{row("prod", "oom-api"), row("prod", "cpu-worker")},
	}, {
		name: "filter by action", path: "/?action=IncreaseMemory", status: 200,
		want:    []string{row("prod", "oom-api"), row("staging", "oom-cache"), "2 shown"},
		wantNot: []string{row("staging", "scale-web"), row("prod", "cpu-worker")},
	}, {
		name: "a filter value is echoed escaped", path: "/?namespace=%22%3E%3Cscript%3Ex%3C/script%3E", status: 200,
		want:    []string{"Nothing matches.", "&#34;&gt;&lt;script&gt;x&lt;/script&gt;"},
		wantNot: []string{"<script>x</script>"},
	}, {
		name: "fragment is the live region only", path: "/?phase=Failed", header: fragment, status: 200,
		want:    []string{row("staging", "scale-web"), "1 shown"},
		wantNot: []string{"<!DOCTYPE html>", "<form", row("prod", "oom-api")},
	}, {
		name: "detail shows plan, timeline, events and escapes the alert", path: "/remediations/prod/oom-api", status: 200,
		want: []string{
			`id="phase">AwaitingMerge`, "PullRequestOpened", "waiting for a reviewer",
			`<td class="before">256Mi</td>`, `<td class="after">320Mi</td>`, "256Mi &#43;25% = 320Mi, rounded to 64Mi",
			"containers[app].resources.limits.memory", `{&#34;op&#34;:&#34;test&#34;`,
			"Waiting", "GuardsPassed", "2026-11-28T02:31:00Z",
			"opened https://github.com/acme/deploy/pull/42", "memory 256Mi -&gt; 320Mi &lt;b&gt;bold?&lt;/b&gt;",
			"&lt;script&gt;window.heal8sPwned=1&lt;/script&gt;&lt;img src=x onerror=&#34;window.heal8sPwned=2&#34;&gt;",
			`href="https://github.com/acme/deploy/pull/42"`, "heal8s/oom-api", "GitOps", `{&#34;increaseMemory&#34;:{&#34;percent&#34;:25}}`,
		},
		wantNot: []string{"<script>window", "<img src=x", "<b>bold?</b>", "Rejected"},
	}, {
		name: "detail shows only its own events", path: "/remediations/staging/scale-web", status: 200,
		want:    []string{`class="warning"`, "pull request #7 was closed without merging", "No plan yet."},
		wantNot: []string{"PullRequestOpened</td>"},
	}, {
		name: "unknown remediation", path: "/remediations/prod/nope", status: 404,
	}, {
		name: "policies with ready state and compile errors", path: "/policies", status: 200,
		want: []string{
			`data-name="prod/default" data-ready="True"`, `class="ready ready-true"`,
			`data-name="staging/broken" data-ready="False"`, `class="ready ready-false"`, "CompileFailed",
			`rule &#34;oom&#34;: matcher alertname=~&#34;(&#34;: missing closing )`,
			"1 of 1 compiled", "0 of 1 compiled", "2 active, 3 total", "0 active, 0 total",
			// Retention's record of what it deleted stays on the page.
			`data-expired="7"`, "7 finished Remediations deleted by retention, the last 120m ago",
			"VerifyWindowPassed: 5", "Cooldown: 2", "expired-oom-api", "Deployment/api", "expired-secret-job",
			// Each pause request by name, in order.
			`data-pause="alice">Paused: alice</span> <span class="phase phase-skipped pause" data-pause="maintenance">Paused: maintenance</span>`,
		},
		wantNot: []string{"more in namespaces you may not list"},
	}, {
		name: "activity feed newest first", path: "/activity", status: 200,
		want: []string{`<ol class="feed">`, "prod/cpu-worker", "Cooldown"},
	}, {
		name: "stylesheet is embedded", path: "/static/dashboard.css", status: 200, contentType: "text/css",
		want: []string{".phase-failed"},
	}, {
		name: "script is embedded", path: "/static/dashboard.js", status: 200, contentType: "javascript",
		want: []string{"EventSource", FragmentHeader},
	}, {
		name: "unknown path", path: "/nope", status: 404,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			resp, body := get(t, h, http.MethodGet, tt.path, tt.header)
			g.Expect(resp.StatusCode).To(Equal(tt.status), body)
			g.Expect(resp.Header.Get("Content-Security-Policy")).To(ContainSubstring("script-src 'self'"))
			g.Expect(resp.Header.Get("X-Content-Type-Options")).To(Equal("nosniff"))
			g.Expect(resp.Header.Get("Referrer-Policy")).To(Equal("same-origin"))
			if tt.contentType != "" {
				g.Expect(resp.Header.Get("Content-Type")).To(ContainSubstring(tt.contentType))
			}
			for _, w := range tt.want {
				g.Expect(body).To(ContainSubstring(w))
			}
			for _, w := range tt.wantNot {
				g.Expect(body).NotTo(ContainSubstring(w))
			}
		})
	}
}

func TestActivityOrder(t *testing.T) {
	g := NewWithT(t)
	d := newTestDashboard(t, nil)
	_, body := get(t, d.Handler(), http.MethodGet, "/activity", nil)
	// cpu-worker's Verifying (15m ago) is newer than oom-api's AwaitingMerge (26m ago), which is
	// newer than everything in staging.
	iVer := strings.Index(body, "prod/cpu-worker")
	iAw := strings.Index(body, "prod/oom-api")
	iSt := strings.Index(body, "staging/")
	g.Expect(iVer).To(BeNumerically(">", 0))
	g.Expect(iVer).To(BeNumerically("<", iAw))
	g.Expect(iAw).To(BeNumerically("<", iSt))
}

func TestReadOnly(t *testing.T) {
	h := newTestDashboard(t, nil).Handler()
	for _, path := range []string{"/", "/remediations/prod/oom-api", "/policies", "/activity", "/live", "/static/dashboard.css"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
			t.Run(method+" "+path, func(t *testing.T) {
				g := NewWithT(t)
				resp, _ := get(t, h, method, path, nil)
				g.Expect(resp.StatusCode).To(Equal(http.StatusMethodNotAllowed))
				g.Expect(resp.Header.Get("Allow")).To(Equal("GET, HEAD"))
			})
		}
	}
	t.Run("HEAD is allowed", func(t *testing.T) {
		g := NewWithT(t)
		resp, body := get(t, h, http.MethodHead, "/", nil)
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
		g.Expect(resp.Header.Get("Content-Type")).To(HavePrefix("text/html"))
		_ = body
	})
}

func TestNewNeedsReader(t *testing.T) {
	g := NewWithT(t)
	_, err := New(Options{BindAddress: ":0"})
	g.Expect(err).To(MatchError(ErrNoReader))
}

// readEvent reads one server-sent event (up to the blank line), skipping comments.
func readEvent(r *bufio.Reader) (string, error) {
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\n")
		if line == "" {
			if len(lines) > 0 {
				return strings.Join(lines, "\n"), nil
			}
			continue
		}
		if !strings.HasPrefix(line, ":") {
			lines = append(lines, line)
		}
	}
}

func TestLive(t *testing.T) {
	g := NewWithT(t)
	d := newTestDashboard(t, func(o *Options) { o.MaxStreams = 1; o.Heartbeat = 20 * time.Millisecond })
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/live", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(resp.Header.Get("Content-Type")).To(Equal("text/event-stream"))
	r := bufio.NewReader(resp.Body)
	g.Expect(readEvent(r)).To(Equal("retry: 2000\nevent: hello\ndata: 0"))

	// A second stream is refused while the only slot is taken.
	secondReq, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/live", nil)
	secondReq.Header.Set("Authorization", "Bearer "+prodToken)
	second, err := http.DefaultClient.Do(secondReq)
	g.Expect(err).NotTo(HaveOccurred())
	_, _ = io.Copy(io.Discard, second.Body)
	_ = second.Body.Close()
	g.Expect(second.StatusCode).To(Equal(http.StatusServiceUnavailable))

	// Heartbeats are comments, so readEvent only returns once a change is announced.
	time.Sleep(50 * time.Millisecond)
	d.changes.notify(change{resource: resourceRemediations, namespace: "prod"})
	d.changes.notify(change{resource: resourcePolicies, namespace: "staging"})
	g.Expect(readEvent(r)).To(Equal("event: change\ndata: 1"))
}

func TestStart(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		g := NewWithT(t)
		d := newTestDashboard(t, func(o *Options) { o.BindAddress = "0" })
		g.Expect(d.NeedLeaderElection()).To(BeFalse())
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		g.Expect(d.Start(ctx)).To(Succeed()) // returns at once, not at the deadline
		g.Expect(ctx.Err()).NotTo(HaveOccurred())
	})
	t.Run("serves until stopped", func(t *testing.T) {
		g := NewWithT(t)
		d := newTestDashboard(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Start(ctx) }()
		addr, err := d.Addr(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := authGet(ctx, "http://"+addr.String()+"/policies", adminToken)
		g.Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))

		// An open live stream must not hold the shutdown up.
		live, err := authGet(context.Background(), "http://"+addr.String()+"/live", adminToken)
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = live.Body.Close() }()
		cancel()
		g.Eventually(done, 3*time.Second).Should(Receive(BeNil()))
	})
}

func TestBuildListSummary(t *testing.T) {
	g := NewWithT(t)
	rems, _ := scene(t0)
	v := buildList(rems, filter{Namespace: "prod"}, pagination{Number: 1, Size: DefaultPageSize}, t0)
	g.Expect(v.Total).To(Equal(3))
	g.Expect(v.Summary).To(Equal([]phaseCount{
		{Phase: "AwaitingMerge", Class: "phase-awaitingmerge", URL: "/?namespace=prod&phase=AwaitingMerge", Count: 1},
		{Phase: "Verifying", Class: "phase-verifying", URL: "/?namespace=prod&phase=Verifying", Count: 1},
		{Phase: "Skipped", Class: "phase-skipped", URL: "/?namespace=prod&phase=Skipped", Count: 1},
	}))
	g.Expect(v.Namespaces).To(Equal([]string{"prod", "staging"}))
	names := []string{}
	for _, r := range v.Rows {
		names = append(names, r.Name)
	}
	g.Expect(names).To(Equal([]string{"cpu-worker", "oom-api", "rollback-api"}))
}

func TestUnsafeLinksAreNeutralised(t *testing.T) {
	g := NewWithT(t)
	r := withPhase(remediation("prod", "evil", v1beta1.ActionScaleUp, t0.Add(-time.Minute)), t0, "PullRequestOpened", "",
		v1beta1.PhaseAwaitingMerge)
	r.Status.PullRequest = &v1beta1.PullRequestStatus{URL: "javascript:alert(1)", Number: 1}
	r.Spec.Alert.GeneratorURL = "javascript:alert(2)"
	d, err := New(Options{
		Reader:        fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(r).Build(),
		Authenticator: testUsers, Authorizer: testGrants,
		Clock: clocktesting.NewFakePassiveClock(t0),
	})
	g.Expect(err).NotTo(HaveOccurred())
	for _, path := range []string{"/", "/remediations/prod/evil"} {
		resp, body := get(t, d.Handler(), http.MethodGet, path, nil)
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
		g.Expect(body).To(ContainSubstring(`href="#ZgotmplZ"`), path)
		g.Expect(body).NotTo(ContainSubstring("javascript:"), path)
	}
}

// TestPoliciesShowExpiredOnlyWhereTheViewerMayList: the expired Remediations a policy records
// are named only to viewers who may list Remediations in their namespace.
func TestPoliciesShowExpiredOnlyWhereTheViewerMayList(t *testing.T) {
	g := NewWithT(t)
	h := newTestDashboard(t, nil).Handler()
	resp, body := as(t, h, prodToken, "/policies", nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(body).To(ContainSubstring("7 finished Remediations deleted by retention"))
	g.Expect(body).To(ContainSubstring("expired-oom-api"))
	g.Expect(body).NotTo(ContainSubstring("expired-secret-job"))
	g.Expect(body).NotTo(ContainSubstring("Deployment/secret"))
	g.Expect(body).To(ContainSubstring("1 more in namespaces you may not list."))
}

func TestDetailShowsTheApproval(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	r := &v1beta1.Remediation{}
	r.Namespace, r.Name = "shop", "oom-kill-3f9a1c2b7d"
	r.Status.Phase = v1beta1.PhaseAwaitingApproval
	exp := metav1.NewTime(now.Add(time.Hour))
	r.Status.Approval = &v1beta1.ApprovalStatus{PlanDigest: "d", ExpiresAt: &exp, Refused: "mallory may not approve Remediations here"}
	v := buildDetail(r, nil, now)
	g.Expect(v.Approval).NotTo(BeNil())
	g.Expect(v.Approval.Waiting).To(BeTrue())
	g.Expect(v.Approval.Remedy).To(Equal("kubectl heal8s approve oom-kill-3f9a1c2b7d -n shop"))
	g.Expect(v.Approval.Expires).To(Equal("2026-12-02T16:00:00Z"))
	g.Expect(v.Approval.Refused).To(ContainSubstring("mallory"))

	r.Status.Phase, r.Status.Reason = v1beta1.PhaseFailed, "Rejected"
	at := metav1.NewTime(now)
	r.Status.Approval.Decision, r.Status.Approval.User, r.Status.Approval.Time, r.Status.Approval.Reason = v1beta1.ApprovalRejected, "alice", &at, "not now"
	v = buildDetail(r, nil, now)
	g.Expect(v.Approval.Waiting).To(BeFalse())
	g.Expect(v.Approval.Remedy).To(BeEmpty())
	g.Expect(v.Approval.Decision).To(Equal("Rejected"))
	g.Expect(v.Approval.User).To(Equal("alice"))

	g.Expect(buildDetail(&v1beta1.Remediation{}, nil, now).Approval).To(BeNil(), "no approval section where none was needed")

	// The page renders it, escaped.
	waiting := &v1beta1.Remediation{}
	waiting.Namespace, waiting.Name = "prod", "awaiting-approval"
	waiting.Status.Phase = v1beta1.PhaseAwaitingApproval
	waiting.Status.Approval = &v1beta1.ApprovalStatus{PlanDigest: "d", ExpiresAt: &exp, Refused: "<b>mallory</b> may not approve"}
	h := newTestDashboard(t, func(o *Options) {
		rems, pols := scene(t0)
		objs := []client.Object{waiting}
		for _, r := range rems {
			objs = append(objs, r)
		}
		for _, p := range pols {
			objs = append(objs, p)
		}
		o.Reader = fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(objs...).Build()
	}).Handler()
	resp, body := get(t, h, http.MethodGet, "/remediations/prod/awaiting-approval", nil)
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	g.Expect(body).To(ContainSubstring(`id="approval"`))
	g.Expect(body).To(ContainSubstring("<b>Awaiting approval</b>, until 2026-12-02T16:00:00Z"))
	g.Expect(body).To(ContainSubstring("<code>kubectl heal8s approve awaiting-approval -n prod</code>"))
	g.Expect(body).To(ContainSubstring("Refused: &lt;b&gt;mallory&lt;/b&gt; may not approve"))
}
