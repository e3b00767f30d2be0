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

package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/notify"
	"github.com/heal8s/heal8s/internal/routing"
)

// receiver is a local webhook endpoint that keeps what it is sent. It verifies generic
// messages' signatures, and answers status (500 for a failing endpoint); a hanging one waits on
// hold until released.
type receiver struct {
	srv     *httptest.Server
	key     []byte
	mu      sync.Mutex
	bodies  [][]byte
	times   []time.Time
	status  int
	hold    chan struct{}
	invalid int
}

func newReceiver(key []byte, status int, hold chan struct{}) *receiver {
	r := &receiver{key: key, status: status, hold: hold}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.hold != nil {
			<-r.hold
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.key != nil {
			if err := notify.Verify(r.key, req.Header.Get(notify.HeaderTimestamp), req.Header.Get(notify.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
				r.invalid++
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		r.bodies = append(r.bodies, body)
		r.times = append(r.times, time.Now())
		if r.status != 0 {
			w.WriteHeader(r.status)
		}
	}))
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// events are the generic events received, in order.
func (r *receiver) events() []notify.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []notify.Event
	for _, b := range r.bodies {
		var m notify.GenericMessage
		Expect(json.Unmarshal(b, &m)).To(Succeed())
		out = append(out, m.Events...)
	}
	return out
}

var _ = Describe("Notifier controller", Ordered, func() {
	var (
		stopManager context.CancelFunc
		stopped     chan struct{}
		ns          string
		hmacKey     = []byte("envtest-hmac-key-0123456789")
	)
	startManager := func() {
		stopManager, stopped = startTestManager(func(mgr ctrl.Manager) {
			Expect((&RemediationReconciler{
				Client:              mgr.GetClient(),
				Workers:             4,
				Metrics:             metrics.NewRecorder(prometheus.NewRegistry()),
				OperatorNamespace:   operatorNamespace,
				PollInterval:        100 * time.Millisecond,
				ProtectedNamespaces: routing.DefaultProtectedNamespaces,
			}).SetupWithManager(mgr)).To(Succeed())
			d := &notify.Dispatcher{
				Policy:     notify.AddressPolicy{AllowPrivate: true},
				Workers:    2,
				Timeout:    2 * time.Second,
				Backoff:    50 * time.Millisecond,
				MaxBackoff: 200 * time.Millisecond,
				Metrics:    notify.NewMetrics(prometheus.NewRegistry()),
			}
			Expect(mgr.Add(d)).To(Succeed())
			Expect((&NotifierReconciler{Client: mgr.GetClient(), Dispatcher: d, Resync: 300 * time.Millisecond}).SetupWithManager(mgr)).To(Succeed())
			Expect((&NotificationReconciler{Client: mgr.GetClient(), Dispatcher: d, DashboardURL: "https://heal8s.example.com"}).SetupWithManager(mgr)).To(Succeed())
		})
	}
	stop := func() {
		stopManager()
		Eventually(stopped).WithTimeout(20 * time.Second).Should(BeClosed())
	}

	BeforeAll(func() {
		// The operator namespace is not created here: the Remediation controller's specs create it.
		startManager()
	})
	AfterAll(func() { stop() })
	newNamespace := func() string {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ntf-"}}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		return n.Name
	}
	BeforeEach(func() { ns = newNamespace() })

	deployment := func(ns, name string) {
		labels := map[string]string{"app": name}
		Expect(k8sClient.Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.test/app:v2",
						Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}}}}},
				},
			},
		})).To(Succeed())
	}
	dryRunPolicy := func(ns string) {
		Expect(k8sClient.Create(ctx, &v1beta1.RemediationPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "policy"},
			Spec: v1beta1.RemediationPolicySpec{
				Strategy: v1beta1.StrategyDryRun,
				Rules:    []v1beta1.Rule{{Name: "oom", Matchers: []string{`alertname="KubePodOOMKilled"`}, Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}}},
				Safety:   v1beta1.SafetySpec{MaxPerHour: ptr.To[int32](1000), MaxConcurrent: ptr.To[int32](1000)},
			},
		})).To(Succeed())
	}
	remediation := func(ns, name, target string) {
		action := v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}
		defaults.Action(&action)
		Expect(k8sClient.Create(ctx, &v1beta1.Remediation{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1beta1.LabelAction: string(action.Type())}},
			Spec: v1beta1.RemediationSpec{
				PolicyRef: v1beta1.PolicyReference{Namespace: ns, Name: "policy"},
				Rule:      "oom",
				Alert:     v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "fp-" + name, Labels: map[string]string{"severity": "warning"}},
				Target:    v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: target, Namespace: ns, Container: "app"},
				Action:    action,
				Strategy:  v1beta1.StrategyDryRun,
			},
		})).To(Succeed())
	}
	phase := func(ns, name string) func() v1beta1.Phase {
		return func() v1beta1.Phase {
			r := &v1beta1.Remediation{}
			if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, r); err != nil {
				return ""
			}
			return r.Status.Phase
		}
	}
	notifier := func(ns, name string, typ v1beta1.NotifierType, address string, mut func(*v1beta1.NotifierSpec)) {
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Annotations: map[string]string{v1beta1.AnnotationNotifierSecret: "true"}},
			Data: map[string][]byte{"address": []byte(address), "hmacKey": hmacKey}})).To(Succeed())
		n := &v1beta1.Notifier{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: v1beta1.NotifierSpec{Type: typ, SecretRef: v1beta1.NotifierSecretReference{Name: name}}}
		if mut != nil {
			mut(&n.Spec)
		}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
	}
	getNotifier := func(ns, name string) *v1beta1.Notifier {
		n := &v1beta1.Notifier{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, n)).To(Succeed())
		return n
	}
	readyOf := func(ns, name string) func() string {
		return func() string {
			c := apimeta.FindStatusCondition(getNotifier(ns, name).Status.Conditions, "Ready")
			if c == nil {
				return ""
			}
			return string(c.Status) + "/" + c.Reason
		}
	}

	It("posts a Slack message for a Remediation of its namespace, and hears nothing of another namespace", func() {
		slack := newReceiver(nil, 0, nil)
		defer slack.srv.Close()
		notifier(ns, "slack", v1beta1.NotifierSlack, slack.srv.URL+"/services/T000/B000/XXXX", nil)
		Eventually(readyOf(ns, "slack")).Should(Equal("True/Ready"))

		other := newNamespace()
		for _, n := range []string{ns, other} {
			deployment(n, "web")
			dryRunPolicy(n)
			remediation(n, "oom-1", "web")
		}
		Eventually(phase(ns, "oom-1")).Should(Equal(v1beta1.PhaseSucceeded))
		Eventually(phase(other, "oom-1")).Should(Equal(v1beta1.PhaseSucceeded))
		Eventually(slack.count).Should(Equal(1))
		Consistently(slack.count, "1s").Should(Equal(1))

		var m struct {
			Text   string
			Blocks []map[string]any
		}
		Expect(json.Unmarshal(slack.bodies[0], &m)).To(Succeed())
		Expect(m.Text).To(ContainSubstring("IncreaseMemory succeeded on " + ns + "/Deployment/web"))
		Expect(string(slack.bodies[0])).To(ContainSubstring(`256Mi`))
		Expect(string(slack.bodies[0])).To(ContainSubstring(`320Mi`))
		Expect(string(slack.bodies[0])).To(ContainSubstring("https://heal8s.example.com/remediations/" + ns + "/oom-1"))
		Expect(string(slack.bodies[0])).NotTo(ContainSubstring(other))
		Eventually(func() int64 { return getNotifier(ns, "slack").Status.Delivered }).Should(BeEquivalentTo(1))
		Expect(getNotifier(ns, "slack").Status.HandledUntil).NotTo(BeNil())
	})

	It("refuses a metadata address and a missing Secret, and sends nothing", func() {
		notifier(ns, "metadata", v1beta1.NotifierGeneric, "http://169.254.169.254/latest/meta-data/", nil)
		Eventually(readyOf(ns, "metadata")).Should(Equal("False/" + NotifierAddressDeniedReason))
		Expect(apimeta.FindStatusCondition(getNotifier(ns, "metadata").Status.Conditions, "Ready").Message).NotTo(ContainSubstring("/latest/meta-data"))

		Expect(k8sClient.Create(ctx, &v1beta1.Notifier{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nosecret"},
			Spec: v1beta1.NotifierSpec{Type: v1beta1.NotifierMSTeams, SecretRef: v1beta1.NotifierSecretReference{Name: "absent"}}})).To(Succeed())
		Eventually(readyOf(ns, "nosecret")).Should(Equal("False/" + NotifierSecretMissingReason))

		By("a credential Secret not made for notifications is not used, not even its token")
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "git"},
			Data: map[string][]byte{"token": []byte("ghp_secret")}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &v1beta1.Notifier{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "borrow"},
			Spec: v1beta1.NotifierSpec{Type: v1beta1.NotifierSlack, Channel: "#x", SecretRef: v1beta1.NotifierSecretReference{Name: "git"}}})).To(Succeed())
		Eventually(readyOf(ns, "borrow")).Should(Equal("False/" + NotifierSecretInvalidReason))
	})

	It("a failing and a hanging endpoint do not hold the Remediation back", func() {
		failing := newReceiver(nil, http.StatusInternalServerError, nil)
		defer failing.srv.Close()
		hold := make(chan struct{})
		hanging := newReceiver(nil, 0, hold)
		defer hanging.srv.Close()
		notifier(ns, "failing", v1beta1.NotifierMSTeams, failing.srv.URL, nil)
		notifier(ns, "hanging", v1beta1.NotifierSlack, hanging.srv.URL, nil)
		Eventually(readyOf(ns, "failing")).Should(Equal("True/Ready"))
		Eventually(readyOf(ns, "hanging")).Should(Equal("True/Ready"))
		deployment(ns, "web")
		deployment(ns, "api")
		dryRunPolicy(ns)
		remediation(ns, "oom-1", "web")
		remediation(ns, "oom-2", "api")
		// Both reach Succeeded while one endpoint still holds its first request.
		Eventually(phase(ns, "oom-1")).Should(Equal(v1beta1.PhaseSucceeded))
		Eventually(phase(ns, "oom-2")).Should(Equal(v1beta1.PhaseSucceeded))
		Expect(hanging.count()).To(BeZero())
		close(hold)
		// The failing one was retried, up to MaxAttempts per message, and says why in status.
		Eventually(readyOf(ns, "failing")).Should(Equal("False/" + NotifierDeliveryFailedReason))
		Eventually(func() string { return getNotifier(ns, "failing").Status.LastDeliveryError }).Should(ContainSubstring("500"))
		Eventually(failing.count).Should(BeNumerically(">=", 2))
		Expect(failing.count()).To(BeNumerically("<=", 2*notify.MaxAttempts))
	})

	It("a storm of 200 Remediations sends each phase change once, within the rate limit, and not again after a restart", func() {
		gen := newReceiver(hmacKey, 0, nil)
		defer gen.srv.Close()
		const n, burst = 200, 3
		interval := 500 * time.Millisecond
		notifier(ns, "storm", v1beta1.NotifierGeneric, gen.srv.URL, func(s *v1beta1.NotifierSpec) {
			s.RateLimit = v1beta1.NotifierRateLimit{Burst: burst, Interval: &metav1.Duration{Duration: interval}}
		})
		Eventually(readyOf(ns, "storm")).Should(Equal("True/Ready"))
		dryRunPolicy(ns)
		for i := range n {
			deployment(ns, fmt.Sprintf("w-%03d", i))
		}
		for i := range n {
			remediation(ns, fmt.Sprintf("oom-%03d", i), fmt.Sprintf("w-%03d", i))
		}
		want := map[string]bool{}
		Eventually(func() int {
			var list v1beta1.RemediationList
			Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			done := 0
			for _, r := range list.Items {
				if r.Status.Phase.IsTerminal() {
					done++
					want[r.Name+"/"+string(r.Status.Phase)] = true
				}
			}
			return done
		}).WithTimeout(90 * time.Second).Should(Equal(n))
		Eventually(func() int { return len(gen.events()) }).WithTimeout(30 * time.Second).Should(BeNumerically(">=", n))
		Consistently(func() int { return len(gen.events()) }, "1s").Should(Equal(n))

		got := map[string]int{}
		for _, e := range gen.events() {
			got[e.Remediation+"/"+e.Phase]++
		}
		Expect(got).To(HaveLen(n))
		for k, c := range got {
			Expect(c).To(Equal(1), k)
			Expect(want).To(HaveKey(k))
		}
		Expect(gen.invalid).To(BeZero())
		// Within any window, no more messages than the token bucket allows.
		gen.mu.Lock()
		times := append([]time.Time(nil), gen.times...)
		gen.mu.Unlock()
		for i := range times {
			for j := i; j < len(times); j++ {
				// 50ms slack for the scheduler and the network between the bucket and the server.
				allowed := burst + int((times[j].Sub(times[i])+50*time.Millisecond)/interval)
				Expect(j-i+1).To(BeNumerically("<=", allowed), "messages %d..%d", i, j)
			}
		}
		GinkgoWriter.Printf("storm: %d phase changes in %d messages\n", n, len(times))

		By("restarting the manager: what was reported is not reported again")
		Eventually(func() bool {
			h := getNotifier(ns, "storm").Status.HandledUntil
			return h != nil && getNotifier(ns, "storm").Status.Delivered == int64(len(times))
		}).Should(BeTrue())
		stop()
		startManager()
		Eventually(readyOf(ns, "storm")).Should(Equal("True/Ready"))
		Consistently(gen.count, "2s").Should(Equal(len(times)))
	})
})
