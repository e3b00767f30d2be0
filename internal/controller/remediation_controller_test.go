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
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/heal8s/heal8s/api/v1beta1"
	"github.com/heal8s/heal8s/internal/actions"
	"github.com/heal8s/heal8s/internal/defaults"
	"github.com/heal8s/heal8s/internal/gitaccess"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/metrics"
	"github.com/heal8s/heal8s/internal/remediation"
	"github.com/heal8s/heal8s/internal/routing"
)

// shiftClock is the real clock moved by an offset, so specs can jump past a cooldown while the
// manager's requeues still run in real time.
type shiftClock struct{ offset atomic.Int64 }

// createRevisions creates two ReplicaSets owned by d, revisions 1 (image example.test/app:v1) and
// 2 (example.test/app:v2), named NAME-1 and NAME-2 and labelled app=NAME, as a Deployment's
// rollouts leave them: the history the rollback planner reads.
func createRevisions(ctx context.Context, d *appsv1.Deployment, name string) {
	GinkgoHelper()
	for rev, image := range map[string]string{"1": "example.test/app:v1", "2": "example.test/app:v2"} {
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, Name: name + "-" + rev, Labels: map[string]string{"app": name},
				Annotations:     map[string]string{actions.RevisionAnnotation: rev},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
			Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: *d.Spec.Template.DeepCopy()},
		}
		rs.Spec.Template.Spec.Containers[0].Image = image
		Expect(k8sClient.Create(ctx, rs)).To(Succeed())
	}
}

func (c *shiftClock) Now() time.Time                  { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *shiftClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *shiftClock) Advance(d time.Duration)         { c.offset.Add(int64(d)) }

// writeCounter wraps the reconciler's client and counts its writes per namespace, so specs can
// measure API writes per remediation and prove a plan is applied once. before, when set, runs
// ahead of a Patch to a Deployment (to race a concurrent edit against heal8s).
type writeCounter struct {
	client.Client
	mu      sync.Mutex
	writes  map[string]int
	targets map[string]int
	before  func(obj client.Object)
	// refuse, when set, may fail a Patch the way an admission policy would.
	refuse func(obj client.Object) error
	// beforeStatus, when set, runs ahead of a status write and may change what is written.
	beforeStatus func(obj client.Object)
}

func (w *writeCounter) statusHook(obj client.Object) {
	w.mu.Lock()
	hook := w.beforeStatus
	w.mu.Unlock()
	if hook != nil {
		hook(obj)
	}
}

func (w *writeCounter) count(obj client.Object, target bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes[obj.GetNamespace()]++
	if target {
		w.targets[obj.GetNamespace()]++
	}
}

func (w *writeCounter) Writes(ns string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes[ns]
}

func (w *writeCounter) TargetWrites(ns string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.targets[ns]
}

func (w *writeCounter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	w.mu.Lock()
	hook := w.before
	w.mu.Unlock()
	if hook != nil {
		hook(obj)
	}
	w.count(obj, true)
	w.mu.Lock()
	refuse := w.refuse
	w.mu.Unlock()
	if refuse != nil {
		if err := refuse(obj); err != nil {
			return err
		}
	}
	return w.Client.Patch(ctx, obj, patch, opts...)
}

func (w *writeCounter) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	w.count(obj, true)
	return w.Client.Update(ctx, obj, opts...)
}

func (w *writeCounter) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	w.count(obj, false)
	return w.Client.Create(ctx, obj, opts...)
}

func (w *writeCounter) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	w.count(obj, true)
	return w.Client.Delete(ctx, obj, opts...)
}

func (w *writeCounter) Status() client.SubResourceWriter {
	return &statusCounter{SubResourceWriter: w.Client.Status(), w: w}
}

type statusCounter struct {
	client.SubResourceWriter
	w *writeCounter
}

func (s *statusCounter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	s.w.statusHook(obj)
	s.w.count(obj, false)
	return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

func (s *statusCounter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	s.w.statusHook(obj)
	s.w.count(obj, false)
	return s.SubResourceWriter.Update(ctx, obj, opts...)
}

// memRepo is a Git repository held in memory: path -> content at the base branch.
type memRepo map[string][]byte

func (m memRepo) ListFiles(context.Context) ([]string, error) {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	return out, nil
}

func (m memRepo) ReadFile(_ context.Context, p string) ([]byte, error) {
	if c, ok := m[p]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%s: %w", p, gitprovider.ErrNotFound)
}

// memProvider is an in-memory Git provider: Propose runs the Edit against memRepo and keeps one
// pull request per branch; specs merge or close it.
type memProvider struct {
	mu       sync.Mutex
	repo     memRepo
	prs      map[string]*gitprovider.PullRequest
	files    map[string][]byte // branch -> edited content
	proposes int
	// statusErr, when set, is what Status returns (a rate-limited provider giving up).
	statusErr error
	// comments are the comments Close left, per branch.
	comments map[string][]string
	// foreign are the branches someone else pushed to: Close leaves their pull requests alone.
	foreign map[string]bool
	// bodies and paths are each proposal's body (after AfterEdit) and edited file, per branch.
	bodies, paths map[string]string
}

var _ gitprovider.Provider = (*memProvider)(nil)

func (p *memProvider) Propose(ctx context.Context, pr gitprovider.Proposal) (gitprovider.PullRequest, error) {
	if err := pr.Validate(); err != nil {
		return gitprovider.PullRequest{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.proposes++
	if got, ok := p.prs[pr.Branch]; ok {
		return *got, nil
	}
	path, content, err := pr.Edit(ctx, p.repo)
	if err != nil {
		return gitprovider.PullRequest{}, err
	}
	pr = pr.AfterEdit()
	if p.bodies == nil {
		p.bodies, p.paths = map[string]string{}, map[string]string{}
	}
	p.bodies[pr.Branch], p.paths[pr.Branch] = pr.Body, path
	n := len(p.prs) + 1
	out := &gitprovider.PullRequest{Repository: pr.Repository, Number: n, URL: fmt.Sprintf("https://git.example/%s/pull/%d", pr.Repository, n),
		Branch: pr.Branch, State: gitprovider.StateOpen, Labels: pr.Labels}
	p.prs[pr.Branch] = out
	p.files[pr.Branch] = content
	return *out, nil
}

func (p *memProvider) Status(_ context.Context, pr gitprovider.PullRequest) (gitprovider.PullRequest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.statusErr != nil {
		return gitprovider.PullRequest{}, p.statusErr
	}
	got, ok := p.prs[pr.Branch]
	if !ok {
		return gitprovider.PullRequest{}, fmt.Errorf("pull request %s: %w", pr.Branch, gitprovider.ErrNotFound)
	}
	return *got, nil
}

func (p *memProvider) Close(_ context.Context, pr gitprovider.PullRequest, why gitprovider.Closure) (gitprovider.PullRequest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	got, ok := p.prs[pr.Branch]
	if !ok {
		return gitprovider.PullRequest{}, fmt.Errorf("pull request %s: %w", pr.Branch, gitprovider.ErrNotFound)
	}
	switch got.State {
	case gitprovider.StateMerged:
		return *got, fmt.Errorf("pull request %s was merged: %w", pr.Branch, gitprovider.ErrNotOpen)
	case gitprovider.StateClosed:
		if slices.Contains(got.Labels, gitprovider.SupersededLabel) {
			return *got, nil
		}
		return *got, fmt.Errorf("pull request %s was closed: %w", pr.Branch, gitprovider.ErrNotOpen)
	case gitprovider.StateOpen:
	}
	if p.foreign[pr.Branch] {
		got.Edited = true
		return *got, fmt.Errorf("pull request %s: %w", pr.Branch, gitprovider.ErrEdited)
	}
	if p.comments == nil {
		p.comments = map[string][]string{}
	}
	p.comments[pr.Branch] = append(p.comments[pr.Branch], why.Comment())
	got.Labels = append(slices.Clone(got.Labels), gitprovider.SupersededLabel)
	got.State = gitprovider.StateClosed
	return *got, nil
}

// pushForeign plays a reviewer pushing a commit to branch.
func (p *memProvider) pushForeign(branch string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.foreign == nil {
		p.foreign = map[string]bool{}
	}
	p.foreign[branch] = true
}

func (p *memProvider) commentsOn(branch string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.comments[branch])
}

func (p *memProvider) stateOf(branch string) gitprovider.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.prs[branch].State
}

func (p *memProvider) set(branch string, state gitprovider.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prs[branch].State = state
}

func (p *memProvider) proposal(branch string) (path, body string, labels []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr, ok := p.prs[branch]; ok {
		labels = slices.Clone(pr.Labels)
	}
	return p.paths[branch], p.bodies[branch], labels
}

func (p *memProvider) edited(branch string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.files[branch])
}

const operatorNamespace = "heal8s-system"

// installVPACRD installs a schemaless autoscaling.k8s.io/v1 VerticalPodAutoscaler CRD, enough
// for the ManagedByVPA guard, and waits until it is served.
func installVPACRD() {
	s := runtime.NewScheme()
	Expect(apiextensionsv1.AddToScheme(s)).To(Succeed())
	c, err := client.New(cfg, client.Options{Scheme: s})
	Expect(err).NotTo(HaveOccurred())
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "verticalpodautoscalers.autoscaling.k8s.io",
			// *.k8s.io groups need this; the real VPA CRD carries the same.
			Annotations: map[string]string{"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/63797"}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "autoscaling.k8s.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "verticalpodautoscalers", Singular: "verticalpodautoscaler",
				Kind: "VerticalPodAutoscaler", ListKind: "VerticalPodAutoscalerList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true)}}}},
		},
	}
	if err := c.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	Eventually(func() error {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(vpaListGVK)
		return c.List(ctx, list)
	}).WithTimeout(20 * time.Second).Should(Succeed())
}

var _ = Describe("Remediation controller", Ordered, func() {
	var (
		stopManager context.CancelFunc
		stopped     chan struct{}
		writes      *writeCounter
		clk         = &shiftClock{}
		provider    = &memProvider{repo: memRepo{}, prs: map[string]*gitprovider.PullRequest{}, files: map[string][]byte{}}
		rec         = metrics.NewRecorder(prometheus.NewRegistry())
		ns          string
	)

	startManager := func() {
		stopManager, stopped = startTestManager(func(mgr ctrl.Manager) {
			writes = &writeCounter{Client: mgr.GetClient(), writes: map[string]int{}, targets: map[string]int{}}
			Expect((&RemediationReconciler{
				Client:              writes,
				Workers:             4,
				Metrics:             rec,
				Clock:               clk,
				OperatorNamespace:   operatorNamespace,
				PollInterval:        100 * time.Millisecond,
				ProtectedNamespaces: routing.DefaultProtectedNamespaces,
				Impersonate: func(user string) (client.Client, error) {
					c := rest.CopyConfig(cfg)
					c.Impersonate = rest.ImpersonationConfig{UserName: user}
					return client.New(c, client.Options{Scheme: scheme})
				},

				PullRequestPollInterval: 150 * time.Millisecond,
				Providers: func(creds GitCredentials) (gitprovider.Provider, error) {
					if string(creds.Data["token"]) != "t0ken" {
						return nil, fmt.Errorf("no token in the Secret")
					}
					return provider, nil
				},
			}).SetupWithManager(mgr)).To(Succeed())
			Expect((&StableRevisionReconciler{Client: mgr.GetClient(), Clock: clk, StableAfter: time.Minute,
				OperatorNamespace: operatorNamespace}).SetupWithManager(mgr)).To(Succeed())
		})
	}
	restart := func(between func()) {
		stopManager()
		Eventually(stopped).WithTimeout(20 * time.Second).Should(BeClosed())
		if between != nil {
			between()
		}
		startManager()
	}

	BeforeAll(func() {
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())
		// The specs' policies live in their own rem-* namespaces: the Secret grants them.
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "git",
			Annotations: map[string]string{gitaccess.AnnotationAllowedNamespaces: "rem-*"}},
			Data: map[string][]byte{"token": []byte("t0ken")}})).To(Succeed())
		startManager()
	})
	AfterAll(func() {
		stopManager()
		Eventually(stopped).WithTimeout(20 * time.Second).Should(BeClosed())
	})
	BeforeEach(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rem-"}}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		ns = n.Name
	})

	// Fixtures.
	deployment := func(name string, mut func(*appsv1.Deployment)) *appsv1.Deployment {
		labels := map[string]string{"app": name}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{actions.RevisionAnnotation: "2"}},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "app", Image: "example.test/app:v2",
						Resources: corev1.ResourceRequirements{
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi"), corev1.ResourceCPU: resource.MustParse("500m")},
							Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi"), corev1.ResourceCPU: resource.MustParse("250m")},
						},
					}}},
				},
			},
		}
		if mut != nil {
			mut(d)
		}
		Expect(k8sClient.Create(ctx, d)).To(Succeed())
		return d
	}
	policy := func(strategy v1beta1.Strategy, mut func(*v1beta1.RemediationPolicySpec)) *v1beta1.RemediationPolicy {
		p := &v1beta1.RemediationPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "policy"},
			Spec: v1beta1.RemediationPolicySpec{
				Strategy: strategy,
				Rules: []v1beta1.Rule{
					{Name: "oom", Matchers: []string{`alertname="KubePodOOMKilled"`}, Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}},
					{Name: "cpu", Matchers: []string{`alertname="CPUThrottlingHigh"`}, Action: v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{}}},
					{Name: "scale", Matchers: []string{`alertname="HighLatency"`}, Action: v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}},
					{Name: "rollback", Matchers: []string{`alertname="KubePodCrashLooping"`}, Action: v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}},
				},
			},
		}
		if strategy == v1beta1.StrategyGitOps {
			p.Spec.Git = &v1beta1.GitSpec{Repository: "acme/deploy", SecretRef: corev1.LocalObjectReference{Name: "git"}}
		}
		if mut != nil {
			mut(&p.Spec)
		}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		return p
	}
	newRemediation := func(name string, action v1beta1.Action, strategy v1beta1.Strategy, target string) *v1beta1.Remediation {
		defaults.Action(&action)
		rule := map[v1beta1.ActionType]string{v1beta1.ActionIncreaseMemory: "oom", v1beta1.ActionIncreaseCPU: "cpu",
			v1beta1.ActionScaleUp: "scale", v1beta1.ActionRollbackImage: "rollback"}[action.Type()]
		return &v1beta1.Remediation{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1beta1.LabelAction: string(action.Type())}},
			Spec: v1beta1.RemediationSpec{
				PolicyRef: v1beta1.PolicyReference{Namespace: ns, Name: "policy"},
				Rule:      rule,
				Alert:     v1beta1.AlertInfo{Name: "KubePodOOMKilled", Fingerprint: "fp-" + name},
				Target:    v1beta1.TargetRef{APIVersion: "apps/v1", Kind: v1beta1.TargetKindDeployment, Name: target, Namespace: ns, Container: "app"},
				Action:    action,
				Strategy:  strategy,
			},
		}
	}
	memory := v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}

	get := func(name string) *v1beta1.Remediation {
		r := &v1beta1.Remediation{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, r)).To(Succeed())
		return r
	}
	phaseOf := func(name string) func() v1beta1.Phase {
		return func() v1beta1.Phase { return get(name).Status.Phase }
	}
	waitPhase := func(name string, phase v1beta1.Phase) *v1beta1.Remediation {
		Eventually(phaseOf(name)).WithTimeout(20*time.Second).WithPolling(50*time.Millisecond).Should(Equal(phase),
			func() string { return fmt.Sprintf("%+v", get(name).Status) })
		return get(name)
	}
	// rollOut plays the Deployment controller, which envtest lacks: the new spec is observed
	// and every replica is updated and available.
	rollOut := func(name string) {
		Eventually(func() error {
			d := &appsv1.Deployment{}
			if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d); err != nil {
				return err
			}
			n := ptr.Deref(d.Spec.Replicas, 1)
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
			return k8sClient.Status().Update(ctx, d)
		}).Should(Succeed())
	}
	// setStatus plays the receiver (or a crashed manager) writing a Remediation's status.
	setStatus := func(name string, mut func(*v1beta1.RemediationStatus)) {
		Eventually(func() error {
			r := get(name)
			mut(&r.Status)
			return k8sClient.Status().Update(ctx, r)
		}).Should(Succeed())
	}
	// poke wakes a Remediation whose requeue lies in real time after a clock jump.
	poke := func(name string) {
		r := get(name)
		patch := client.MergeFrom(r.DeepCopy())
		r.Annotations = map[string]string{"test.heal8s.io/poke": clk.Now().String()}
		Expect(k8sClient.Patch(ctx, r, patch)).To(Succeed())
	}
	// resolveAlert plays the receiver: it records the resolution as a sighting annotation, which
	// the controller folds into status.alertResolvedAt.
	resolveAlert := func(name string) {
		r := get(name)
		patch := client.MergeFrom(r.DeepCopy())
		if r.Annotations == nil {
			r.Annotations = map[string]string{}
		}
		r.Annotations[v1beta1.AnnotationAlertResolvedAt] = remediation.FormatTime(clk.Now().Add(time.Second))
		Expect(k8sClient.Patch(ctx, r, patch)).To(Succeed())
	}
	heal := func(name, target string) *v1beta1.Remediation {
		waitPhase(name, v1beta1.PhaseVerifying)
		rollOut(target)
		resolveAlert(name)
		return waitPhase(name, v1beta1.PhaseSucceeded)
	}
	liveDeployment := func(name string) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d)).To(Succeed())
		return d
	}
	container := func(d *appsv1.Deployment) corev1.Container { return d.Spec.Template.Spec.Containers[0] }
	memLimit := func(name string) string {
		q := container(liveDeployment(name)).Resources.Limits[corev1.ResourceMemory]
		return q.String()
	}
	history := func(r *v1beta1.Remediation) []string {
		var out []string
		for _, h := range r.Status.History {
			out = append(out, string(h.Phase)+"/"+h.Reason)
		}
		return out
	}
	// planFor runs the planner the way the reconciler does, for specs that seed a status.
	planFor := func(target string, action v1beta1.Action) v1beta1.Plan {
		defaults.Action(&action)
		p, err := actions.PlanFor(action, actions.Inputs{Object: liveDeployment(target), Container: "app"})
		Expect(err).NotTo(HaveOccurred())
		return p.API()
	}
	warningEvent := func(reason string) func() []string {
		return func() []string {
			var list eventsv1.EventList
			Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			var out []string
			for _, e := range list.Items {
				if e.Type == corev1.EventTypeWarning && e.Reason == reason {
					out = append(out, e.Note)
				}
			}
			return out
		}
	}

	Context("Direct, one per action", func() {
		It("IncreaseMemory: raises the limit and request as planned, in 4 writes and one Event", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, nil)
			before := testutil.ToFloat64(rec.RemediationsSucceeded.WithLabelValues("IncreaseMemory", ns))
			Expect(k8sClient.Create(ctx, newRemediation("oom-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			r := heal("oom-1", "web")

			c := container(liveDeployment("web"))
			Expect(c.Resources.Limits.Memory().String()).To(Equal("320Mi"))
			Expect(c.Resources.Requests.Memory().String()).To(Equal("192Mi"))
			Expect(r.Status.Plan).NotTo(BeNil())
			Expect(r.Status.Plan.After).To(ContainElements("320Mi", "192Mi"))
			Expect(history(r)).To(Equal([]string{"Planning/GuardsPassed", "Proposed/Planned", "Verifying/Applied", "Succeeded/AlertResolved"}))
			Expect(r.Status.StartedAt).NotTo(BeNil())
			Expect(r.Status.CompletedAt).NotTo(BeNil())
			Expect(r.Status.ObservedGeneration).To(Equal(r.Generation))
			for _, c := range r.Status.Conditions {
				Expect(c.ObservedGeneration).To(Equal(r.Generation))
			}
			Expect(r.Status.Conditions).To(ContainElement(And(
				HaveField("Type", v1beta1.ConditionSucceeded), HaveField("Status", metav1.ConditionTrue), HaveField("Reason", remediation.AlertResolvedReason))))
			Expect(testutil.ToFloat64(rec.RemediationsSucceeded.WithLabelValues("IncreaseMemory", ns)) - before).To(Equal(1.0))
			Expect(writes.TargetWrites(ns)).To(Equal(1))
			// Three status writes (Pending to Proposed with the plan, Verifying, Succeeded) and the
			// target's patch; with the receiver's create, 5 writes and one Event per healed alert.
			Consistently(func() int { return writes.Writes(ns) }).WithTimeout(500 * time.Millisecond).Should(Equal(4))
			// Beside the client's writes, the recorder creates one Event: the change made.
			Eventually(func() []string {
				var list eventsv1.EventList
				Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
				var out []string
				for _, e := range list.Items {
					out = append(out, e.Reason+": "+e.Note)
				}
				return out
			}).Should(ConsistOf(And(HavePrefix("Applied: Patched the live object as planned"), ContainSubstring("from 256Mi to 320Mi"))))
			GinkgoWriter.Printf("API writes from Pending to Succeeded (IncreaseMemory, Direct): %d by the client + 1 Event\n", writes.Writes(ns))
		})

		It("IncreaseCPU: raises the CPU limit as planned", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, nil)
			Expect(k8sClient.Create(ctx, newRemediation("cpu-1", v1beta1.Action{IncreaseCPU: &v1beta1.IncreaseCPUAction{}}, v1beta1.StrategyDirect, "web"))).To(Succeed())
			r := heal("cpu-1", "web")
			c := container(liveDeployment("web"))
			Expect(c.Resources.Limits.Cpu().MilliValue()).To(Equal(int64(625)))
			Expect(r.Status.Plan.After).To(ContainElement(c.Resources.Limits.Cpu().String()))
			Expect(c.Resources.Limits.Memory().String()).To(Equal("256Mi"), "memory untouched")
		})

		It("ScaleUp: raises the replicas of a Deployment without an HPA", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, nil)
			Expect(k8sClient.Create(ctx, newRemediation("scale-1", v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}, v1beta1.StrategyDirect, "web"))).To(Succeed())
			heal("scale-1", "web")
			Expect(*liveDeployment("web").Spec.Replicas).To(Equal(int32(3)))
		})

		It("RollbackImage: puts back the image of the newest earlier ReplicaSet", func() {
			createRevisions(ctx, deployment("web", nil), "web")
			policy(v1beta1.StrategyDirect, nil)
			Expect(k8sClient.Create(ctx, newRemediation("rollback-1", v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}, v1beta1.StrategyDirect, "web"))).To(Succeed())
			heal("rollback-1", "web")
			Expect(container(liveDeployment("web")).Image).To(Equal("example.test/app:v1"))
		})

		It("ScaleUp: raises the maxReplicas of the HPA that controls the Deployment, never its replicas", func() {
			deployment("web", nil)
			Expect(k8sClient.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
					MinReplicas:    ptr.To[int32](1), MaxReplicas: 4,
				},
			})).To(Succeed())
			policy(v1beta1.StrategyDirect, nil)
			Expect(k8sClient.Create(ctx, newRemediation("hpa-1", v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}, v1beta1.StrategyDirect, "web"))).To(Succeed())
			heal("hpa-1", "web")
			hpa := &autoscalingv2.HorizontalPodAutoscaler{}
			Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, hpa)).To(Succeed())
			Expect(hpa.Spec.MaxReplicas).To(Equal(int32(6)))
			Expect(*liveDeployment("web").Spec.Replicas).To(Equal(int32(2)))
		})

		It("RollbackImage: puts back the image of the newest earlier ControllerRevision of a StatefulSet", func() {
			labels := map[string]string{"app": "db"}
			sts := &appsv1.StatefulSet{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
				Spec: appsv1.StatefulSetSpec{
					Replicas: ptr.To[int32](1), ServiceName: "db", Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.test/db:v2"}}}},
				},
			}
			Expect(k8sClient.Create(ctx, sts)).To(Succeed())
			for rev, image := range map[int64]string{1: "example.test/db:v1", 2: "example.test/db:v2"} {
				cr := &appsv1.ControllerRevision{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("db-%d", rev), Labels: labels,
						OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))}},
					Revision: rev,
					Data:     runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"` + image + `"}]}}}}`)},
				}
				Expect(k8sClient.Create(ctx, cr)).To(Succeed())
			}
			policy(v1beta1.StrategyDirect, nil)
			r := newRemediation("sts-rollback-1", v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}, v1beta1.StrategyDirect, "db")
			r.Spec.Target.Kind = v1beta1.TargetKindStatefulSet
			Expect(k8sClient.Create(ctx, r)).To(Succeed())
			waitPhase("sts-rollback-1", v1beta1.PhaseVerifying)
			Eventually(func() error {
				live := &appsv1.StatefulSet{}
				if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db"}, live); err != nil {
					return err
				}
				live.Status = appsv1.StatefulSetStatus{ObservedGeneration: live.Generation, Replicas: 1, UpdatedReplicas: 1,
					ReadyReplicas: 1, AvailableReplicas: 1, CurrentReplicas: 1}
				return k8sClient.Status().Update(ctx, live)
			}).Should(Succeed())
			resolveAlert("sts-rollback-1")
			waitPhase("sts-rollback-1", v1beta1.PhaseSucceeded)
			live := &appsv1.StatefulSet{}
			Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db"}, live)).To(Succeed())
			Expect(live.Spec.Template.Spec.Containers[0].Image).To(Equal("example.test/db:v1"))
		})

		It("IncreaseMemory at the policy's maximum ends Skipped AtMaximum with a Warning Event", func() {
			deployment("web", func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("2Gi")
			})
			policy(v1beta1.StrategyDirect, nil)
			Expect(k8sClient.Create(ctx, newRemediation("max-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			r := waitPhase("max-1", v1beta1.PhaseSkipped)
			Expect(r.Status.Reason).To(Equal(remediation.AtMaximumReason))
			Expect(memLimit("web")).To(Equal("2Gi"))
			Eventually(warningEvent(remediation.AtMaximumReason)).Should(HaveLen(1))
		})
	})

	// The manager caches workloads slim (cache_workloads.go); a Direct change must still leave
	// everything of the live object but the planned field exactly as it was.
	It("Direct IncreaseMemory, ScaleUp and RollbackImage keep the rest of a rich Deployment byte for byte", func() {
		policy(v1beta1.StrategyDirect, nil)
		rich := func(name string) *appsv1.Deployment {
			return deployment(name, func(d *appsv1.Deployment) {
				d.Annotations[corev1.LastAppliedConfigAnnotation] = `{"kind":"Deployment"}`
				d.Annotations["team.example.test/owner"] = "shop"
				d.Labels = map[string]string{"app": name, "tier": "web"}
				d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
				d.Spec.Template = richTemplate()
				d.Spec.Template.Labels = map[string]string{"app": name}
			})
		}
		// unchanged reads the live Deployment, lets undo put back the planned field, and
		// expects metadata (labels, annotations) and spec to be what they were, byte for byte.
		unchanged := func(name string, before *appsv1.Deployment, undo func(*appsv1.Deployment)) {
			after := liveDeployment(name)
			undo(after)
			b, err := json.Marshal(before.Spec)
			Expect(err).NotTo(HaveOccurred())
			a, err := json.Marshal(after.Spec)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(a)).To(Equal(string(b)))
			Expect(after.Labels).To(Equal(before.Labels))
			Expect(after.Annotations).To(Equal(before.Annotations))
			Expect(after.Spec.Template.Spec.InitContainers).To(HaveLen(1))
			Expect(after.Spec.Template.Spec.Containers[0].Env).To(HaveLen(2))
		}

		rich("mem")
		before := liveDeployment("mem")
		r := newRemediation("oom-rich", memory, v1beta1.StrategyDirect, "mem")
		Expect(k8sClient.Create(ctx, r)).To(Succeed())
		heal("oom-rich", "mem")
		Expect(memLimit("mem")).To(Equal("320Mi"))
		unchanged("mem", before, func(d *appsv1.Deployment) {
			c := &d.Spec.Template.Spec.Containers[0]
			c.Resources.Limits[corev1.ResourceMemory] = before.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory]
			c.Resources.Requests[corev1.ResourceMemory] = before.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory]
		})

		rich("scale")
		before = liveDeployment("scale")
		Expect(k8sClient.Create(ctx, newRemediation("scale-rich", v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}, v1beta1.StrategyDirect, "scale"))).To(Succeed())
		heal("scale-rich", "scale")
		Expect(*liveDeployment("scale").Spec.Replicas).To(Equal(int32(3)))
		unchanged("scale", before, func(d *appsv1.Deployment) { d.Spec.Replicas = before.Spec.Replicas })

		createRevisions(ctx, rich("roll"), "roll")
		before = liveDeployment("roll")
		Expect(k8sClient.Create(ctx, newRemediation("rollback-rich", v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}, v1beta1.StrategyDirect, "roll"))).To(Succeed())
		heal("rollback-rich", "roll")
		Expect(container(liveDeployment("roll")).Image).To(Equal("example.test/app:v1"))
		unchanged("roll", before, func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Image = before.Spec.Template.Spec.Containers[0].Image
		})
	})

	It("re-plans, never clobbers, when the target changes between plan and apply", func() {
		deployment("web", nil)
		policy(v1beta1.StrategyDirect, nil)
		var once sync.Once
		writes.mu.Lock()
		writes.before = func(obj client.Object) {
			if _, ok := obj.(*appsv1.Deployment); !ok || obj.GetNamespace() != ns {
				return
			}
			once.Do(func() {
				// A person raises the limit to 300Mi after heal8s read 256Mi and before its patch.
				d := liveDeployment("web")
				d.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("300Mi")
				Expect(k8sClient.Update(ctx, d)).To(Succeed())
			})
		}
		writes.mu.Unlock()
		DeferCleanup(func() { writes.mu.Lock(); writes.before = nil; writes.mu.Unlock() })

		Expect(k8sClient.Create(ctx, newRemediation("race-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
		r := heal("race-1", "web")
		Expect(history(r)).To(ContainElements("Planning/TargetChanged", "Verifying/Applied"))
		// 300Mi * 1.25 = 375Mi, rounded up to 384Mi: planned from the person's value, not 256Mi.
		Expect(memLimit("web")).To(Equal("384Mi"))
		Expect(r.Status.Plan.Before).To(ContainElement("300Mi"))
	})

	It("never applies a plan in status that planning the live target does not give (a forged plan)", func() {
		deployment("web", nil)
		policy(v1beta1.StrategyDirect, nil)
		var once sync.Once
		writes.mu.Lock()
		writes.beforeStatus = func(obj client.Object) {
			r, ok := obj.(*v1beta1.Remediation)
			if !ok || r.Namespace != ns || r.Status.Phase != v1beta1.PhaseProposed || r.Status.Plan == nil {
				return
			}
			once.Do(func() {
				// Someone who could write status swaps the planned 320Mi for 64Gi: the patch's
				// test operations still hold on the live object.
				p := r.Status.Plan
				p.Patch = strings.ReplaceAll(p.Patch, `"320Mi"`, `"64Gi"`)
				for k, v := range p.After {
					p.After[k] = strings.ReplaceAll(v, "320Mi", "64Gi")
				}
			})
		}
		writes.mu.Unlock()
		DeferCleanup(func() { writes.mu.Lock(); writes.beforeStatus = nil; writes.mu.Unlock() })

		Expect(k8sClient.Create(ctx, newRemediation("forged-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
		r := heal("forged-1", "web")
		Expect(history(r)).To(ContainElements("Planning/TargetChanged", "Verifying/Applied"))
		Expect(memLimit("web")).To(Equal("320Mi"), "the fresh plan, never the forged 64Gi")
	})

	It("patches with the rights of the policy's ServiceAccount: refused with a reason where it may not patch", func() {
		deployment("web", nil)
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fixer"}}
		Expect(k8sClient.Create(ctx, sa)).To(Succeed())
		policy(v1beta1.StrategyDirect, func(s *v1beta1.RemediationPolicySpec) {
			s.ServiceAccountName = "fixer"
			s.Safety.Cooldown = &metav1.Duration{Duration: time.Millisecond} // the refused try does not hold the next
		})
		Expect(k8sClient.Create(ctx, newRemediation("as-sa-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
		r := waitPhase("as-sa-1", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.ForbiddenReason))
		Expect(r.Status.Message).To(ContainSubstring("system:serviceaccount:" + ns + ":fixer may not patch"))
		Expect(memLimit("web")).To(Equal("256Mi"), "nothing changed with heal8s's own rights instead")

		By("granting the ServiceAccount patch on Deployments in its namespace")
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fixer"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "patch"}}}}
		Expect(k8sClient.Create(ctx, role)).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fixer"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "fixer"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "fixer", Namespace: ns}}})).To(Succeed())
		Expect(k8sClient.Create(ctx, newRemediation("as-sa-2", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
		waitPhase("as-sa-2", v1beta1.PhaseVerifying)
		Expect(memLimit("web")).To(Equal("320Mi"))
	})

	It("fails PatchRejected, without re-planning, when the API server refuses a patch whose tests hold", func() {
		deployment("web", nil)
		policy(v1beta1.StrategyDirect, nil)
		writes.mu.Lock()
		writes.refuse = func(obj client.Object) error {
			if _, ok := obj.(*appsv1.Deployment); !ok || obj.GetNamespace() != ns {
				return nil
			}
			return apierrors.NewInvalid(appsv1.SchemeGroupVersion.WithKind("Deployment").GroupKind(), obj.GetName(), nil)
		}
		writes.mu.Unlock()
		DeferCleanup(func() { writes.mu.Lock(); writes.refuse = nil; writes.mu.Unlock() })
		Expect(k8sClient.Create(ctx, newRemediation("refused-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
		r := waitPhase("refused-1", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.PatchRejectedReason))
		Expect(history(r)).NotTo(ContainElement(ContainSubstring("TargetChanged")))
		Expect(memLimit("web")).To(Equal("256Mi"))
	})

	It("DryRun records the plan and changes nothing", func() {
		d := deployment("web", nil)
		policy(v1beta1.StrategyDryRun, nil)
		Expect(k8sClient.Create(ctx, newRemediation("dry-1", memory, v1beta1.StrategyDryRun, "web"))).To(Succeed())
		r := waitPhase("dry-1", v1beta1.PhaseSucceeded)
		Expect(r.Status.Reason).To(Equal(remediation.DryRunReason))
		Expect(r.Status.Plan.After).To(ContainElement("320Mi"))
		Expect(liveDeployment("web").Generation).To(Equal(d.Generation))
		Expect(writes.TargetWrites(ns)).To(BeZero())
	})

	It("fails AlertRefired with a Warning Event when the alert fires again inside the window", func() {
		deployment("web", nil)
		policy(v1beta1.StrategyDirect, nil)
		Expect(k8sClient.Create(ctx, newRemediation("refire-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
		waitPhase("refire-1", v1beta1.PhaseVerifying)
		rollOut("web")
		setStatus("refire-1", func(st *v1beta1.RemediationStatus) {
			// Resolved, then firing again: what the receiver records when the alert comes back.
			st.AlertResolvedAt = ptr.To(metav1.NewTime(clk.Now().Add(time.Second)))
			st.LastSeen = ptr.To(metav1.NewTime(clk.Now().Add(2 * time.Second)))
			st.AlertCount++
		})
		r := waitPhase("refire-1", v1beta1.PhaseFailed)
		Expect(r.Status.Reason).To(Equal(remediation.AlertRefiredReason))
		Eventually(warningEvent(remediation.AlertRefiredReason)).Should(HaveLen(1))
	})

	Context("GitOps with an in-memory provider", func() {
		manifestYAML := func(limit string) string {
			return `# the web app
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ` + ns + `
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: example.test/app:v2
          resources:
            limits:
              memory: ` + limit + ` # raised by hand once
              cpu: 500m
            requests:
              memory: 128Mi
              cpu: 250m
`
		}

		It("opens a pull request, and after the merge goes live waits for it and verifies", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyGitOps, nil)
			provider.mu.Lock()
			provider.repo["apps/"+ns+"/web.yaml"] = []byte(manifestYAML("256Mi"))
			provider.mu.Unlock()
			Expect(k8sClient.Create(ctx, newRemediation("git-1", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			r := waitPhase("git-1", v1beta1.PhaseAwaitingMerge)
			Expect(r.Status.PullRequest).NotTo(BeNil())
			Expect(r.Status.PullRequest.Branch).To(Equal("heal8s/git-1"))
			Expect(provider.edited("heal8s/git-1")).To(ContainSubstring("memory: 320Mi # raised by hand once"))
			Consistently(phaseOf("git-1")).WithTimeout(500 * time.Millisecond).Should(Equal(v1beta1.PhaseAwaitingMerge))

			By("riding out a provider that gives up on its rate limit")
			provider.mu.Lock()
			provider.statusErr = fmt.Errorf("secondary rate limit: %w", gitprovider.ErrGaveUp)
			provider.mu.Unlock()
			provider.set("heal8s/git-1", gitprovider.StateMerged)
			Consistently(phaseOf("git-1")).WithTimeout(500 * time.Millisecond).Should(Equal(v1beta1.PhaseAwaitingMerge))
			provider.mu.Lock()
			provider.statusErr = nil
			provider.mu.Unlock()
			waitPhase("git-1", v1beta1.PhaseApplying)
			Consistently(phaseOf("git-1")).WithTimeout(500 * time.Millisecond).Should(Equal(v1beta1.PhaseApplying))
			// Flux syncs the merged manifest.
			d := liveDeployment("web")
			d.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("320Mi")
			d.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("192Mi")
			Expect(k8sClient.Update(ctx, d)).To(Succeed())
			r = heal("git-1", "web")
			Expect(history(r)).To(Equal([]string{"Planning/GuardsPassed", "Proposed/Planned", "AwaitingMerge/PullRequestOpened",
				"Applying/Merged", "Verifying/ChangeLive", "Succeeded/AlertResolved"}))
			Expect(r.Status.PullRequest.State).To(Equal(v1beta1.PullRequestMerged))
			Expect(writes.TargetWrites(ns)).To(BeZero(), "GitOps never patches the live object")
		})

		It("ends Failed Rejected when the pull request is closed without merging", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyGitOps, nil)
			provider.mu.Lock()
			provider.repo["apps/"+ns+"/web.yaml"] = []byte(manifestYAML("256Mi"))
			provider.mu.Unlock()
			Expect(k8sClient.Create(ctx, newRemediation("git-2", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			waitPhase("git-2", v1beta1.PhaseAwaitingMerge)
			provider.set("heal8s/git-2", gitprovider.StateClosed)
			r := waitPhase("git-2", v1beta1.PhaseFailed)
			Expect(r.Status.Reason).To(Equal(remediation.RejectedReason))
			Eventually(warningEvent(remediation.RejectedReason)).Should(HaveLen(1))

			By("vetoing the same action on the same target afterwards")
			Expect(k8sClient.Create(ctx, newRemediation("git-3", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			r = waitPhase("git-3", v1beta1.PhaseSkipped)
			Expect(r.Status.Reason).To(Equal(remediation.VetoedReason))
			Expect(r.Status.Message).To(ContainSubstring("git-2"))
		})

		It("fails ManifestNotFound when no document declares the target", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyGitOps, nil)
			Expect(k8sClient.Create(ctx, newRemediation("git-4", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			r := waitPhase("git-4", v1beta1.PhaseFailed)
			Expect(r.Status.Reason).To(Equal(remediation.ManifestNotFoundReason))
		})
	})

	Context("GitOps with the source discovered from Flux or Argo CD", func() {
		// The repository heal8s finds through the GitRepository: a base shared by two overlays,
		// as teams lay out fluxcd/flux2-kustomize-helm-example (see
		// internal/gitops/overlay/testdata/README.md); prod is applied to the spec's namespace.
		fleet := func(prodNS string) memRepo {
			return memRepo{
				"base/kustomization.yaml": []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n"),
				"base/deployment.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: example.test/app:v2
          resources:
            limits: {memory: 256Mi, cpu: 500m}
            requests: {memory: 128Mi, cpu: 250m}
`),
				"overlays/dev/kustomization.yaml":  []byte("namespace: dev\nresources:\n- ../../base\n"),
				"overlays/prod/kustomization.yaml": []byte("# production\nnamespace: " + prodNS + "\nresources:\n- ../../base\n"),
			}
		}
		unstructuredObj := func(apiVersion, kind, namespace, name string, body map[string]any) *unstructured.Unstructured {
			u := &unstructured.Unstructured{Object: body}
			u.SetAPIVersion(apiVersion)
			u.SetKind(kind)
			u.SetNamespace(namespace)
			u.SetName(name)
			return u
		}
		ensureNamespace := func(name string) {
			if err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil && !apierrors.IsAlreadyExists(err) {
				Expect(err).NotTo(HaveOccurred())
			}
		}
		// fluxApplies creates the GitRepository and a Kustomization of ./overlays/prod whose
		// inventory lists the given ids, as kustomize-controller records them.
		fluxApplies := func(name string, inventory ...string) {
			ensureNamespace("flux-system")
			repo := unstructuredObj("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", name, map[string]any{
				"spec": map[string]any{"interval": "1m", "url": "https://github.com/acme/deploy.git", "ref": map[string]any{"branch": "main"}}})
			Expect(k8sClient.Create(ctx, repo)).To(Succeed())
			ks := unstructuredObj("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", name, map[string]any{
				"spec": map[string]any{"interval": "10m", "path": "./overlays/prod", "prune": true,
					"sourceRef": map[string]any{"kind": "GitRepository", "name": name}}})
			Expect(k8sClient.Create(ctx, ks)).To(Succeed())
			entries := []any{}
			for _, id := range inventory {
				entries = append(entries, map[string]any{"id": id, "v": "v1"})
			}
			Expect(unstructured.SetNestedSlice(ks.Object, entries, "status", "inventory", "entries")).To(Succeed())
			Expect(k8sClient.Status().Update(ctx, ks)).To(Succeed())
		}
		fluxLabelled := func(ks string) func(*appsv1.Deployment) {
			return func(d *appsv1.Deployment) {
				d.Labels = map[string]string{"kustomize.toolkit.fluxcd.io/name": ks, "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}
			}
		}
		noRepository := func(p *v1beta1.RemediationPolicySpec) { p.Git.Repository = "" }

		It("finds the repository and overlay through Flux and proposes a new patch in the overlay, proved by rendering", func() {
			deployment("web", fluxLabelled("apps-"+ns))
			fluxApplies("apps-"+ns, ns+"_web_apps_Deployment")
			policy(v1beta1.StrategyGitOps, noRepository)
			provider.mu.Lock()
			maps.Copy(provider.repo, fleet(ns))
			provider.mu.Unlock()
			Expect(k8sClient.Create(ctx, newRemediation("flux-1", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			r := waitPhase("flux-1", v1beta1.PhaseAwaitingMerge)
			Expect(r.Status.PullRequest.Repository).To(Equal("acme/deploy"))
			Expect(r.Status.Source).NotTo(BeNil())
			Expect(r.Status.Source.Repository).To(Equal("acme/deploy"))
			Expect(r.Status.Source.Branch).To(Equal("main"))
			Expect(r.Status.Source.Path).To(Equal("overlays/prod/kustomization.yaml"))
			Expect(r.Status.Source.FoundBy).To(ContainSubstring("Flux Kustomization flux-system/apps-" + ns))
			Expect(r.Status.Source.Layer).To(ContainSubstring("new strategic-merge patch"))
			Expect(r.Status.Source.Render).To(Equal(v1beta1.RenderVerified))

			path, body, labels := provider.proposal("heal8s/flux-1")
			Expect(path).To(Equal("overlays/prod/kustomization.yaml"))
			edited := provider.edited("heal8s/flux-1")
			Expect(edited).To(HavePrefix("# production\n"))
			Expect(edited).To(ContainSubstring("memory: 320Mi"))
			Expect(body).To(ContainSubstring("### Proof by rendering"))
			Expect(body).To(ContainSubstring("+            memory: 320Mi"))
			Expect(body).To(ContainSubstring("`overlays/dev`"))
			Expect(labels).NotTo(ContainElement(gitprovider.UnverifiedRenderLabel))
			provider.mu.Lock()
			Expect(provider.repo["base/deployment.yaml"]).To(ContainSubstring("memory: 256Mi"), "the shared base is untouched")
			provider.mu.Unlock()
		})

		It("refuses a source whose Kustomization does not claim the target (labels copied by a tenant)", func() {
			deployment("web", fluxLabelled("apps-"+ns))
			fluxApplies("apps-"+ns, "other_web_apps_Deployment")
			policy(v1beta1.StrategyGitOps, noRepository)
			Expect(k8sClient.Create(ctx, newRemediation("flux-2", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			r := waitPhase("flux-2", v1beta1.PhaseFailed)
			Expect(r.Status.Reason).To(Equal(remediation.GitSourceRefusedReason))
			Expect(r.Status.Message).To(ContainSubstring("status.inventory"))
			_, body, _ := provider.proposal("heal8s/flux-2")
			Expect(body).To(BeEmpty(), "nothing was proposed")
		})

		It("refuses a discovered repository other than the policy's", func() {
			deployment("web", fluxLabelled("apps-"+ns))
			fluxApplies("apps-"+ns, ns+"_web_apps_Deployment")
			policy(v1beta1.StrategyGitOps, func(p *v1beta1.RemediationPolicySpec) { p.Git.Repository = "acme/other" })
			Expect(k8sClient.Create(ctx, newRemediation("flux-3", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			r := waitPhase("flux-3", v1beta1.PhaseFailed)
			Expect(r.Status.Reason).To(Equal(remediation.GitSourceRefusedReason))
			Expect(r.Status.Message).To(ContainSubstring("not the policy's spec.git.repository acme/other"))
		})

		It("carries a memory bump on a Helm-rendered workload into the HelmRelease values, in the overlay Flux applies, labelled unverified", func() {
			hr := "web-" + ns
			deployment("web", func(d *appsv1.Deployment) {
				d.Labels = map[string]string{"helm.toolkit.fluxcd.io/name": hr, "helm.toolkit.fluxcd.io/namespace": ns}
			})
			ensureNamespace("flux-system")
			Expect(k8sClient.Create(ctx, unstructuredObj("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", hr, map[string]any{
				"spec": map[string]any{"url": "https://github.com/acme/deploy", "ref": map[string]any{"branch": "main"}}}))).To(Succeed())
			ks := unstructuredObj("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", hr, map[string]any{
				"spec": map[string]any{"path": "./helm/prod", "sourceRef": map[string]any{"kind": "GitRepository", "name": hr}}})
			Expect(k8sClient.Create(ctx, ks)).To(Succeed())
			Expect(unstructured.SetNestedSlice(ks.Object, []any{map[string]any{"id": ns + "_" + hr + "_helm.toolkit.fluxcd.io_HelmRelease", "v": "v2"}},
				"status", "inventory", "entries")).To(Succeed())
			Expect(k8sClient.Status().Update(ctx, ks)).To(Succeed())
			values := map[string]any{"replicaCount": int64(2), "image": map[string]any{"repository": "example.test/app", "tag": "v2"},
				"resources": map[string]any{"limits": map[string]any{"memory": "256Mi"}}}
			release := unstructuredObj("helm.toolkit.fluxcd.io/v2", "HelmRelease", ns, hr, map[string]any{
				"spec": map[string]any{"chart": map[string]any{"spec": map[string]any{"chart": "app",
					"sourceRef": map[string]any{"kind": "HelmRepository", "name": "charts"}}}, "values": values}})
			release.SetLabels(map[string]string{"kustomize.toolkit.fluxcd.io/name": hr, "kustomize.toolkit.fluxcd.io/namespace": "flux-system"})
			Expect(k8sClient.Create(ctx, release)).To(Succeed())
			policy(v1beta1.StrategyGitOps, noRepository)
			provider.mu.Lock()
			provider.repo["helm/base/kustomization.yaml"] = []byte("resources:\n- release.yaml\n")
			provider.repo["helm/base/release.yaml"] = []byte(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ` + hr + `
  namespace: ` + ns + `
spec:
  chart:
    spec:
      chart: app
      sourceRef: {kind: HelmRepository, name: charts}
  values:
    replicaCount: 2
    image: {repository: example.test/app, tag: v2}
    resources:
      limits:
        memory: 256Mi
`)
			provider.repo["helm/dev/kustomization.yaml"] = []byte("resources:\n- ../base\n")
			provider.repo["helm/prod/kustomization.yaml"] = []byte("resources:\n- ../base\n")
			provider.mu.Unlock()
			Expect(k8sClient.Create(ctx, newRemediation("hr-1", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			r := waitPhase("hr-1", v1beta1.PhaseAwaitingMerge)
			Expect(r.Status.Source.Path).To(Equal("helm/prod/kustomization.yaml"))
			Expect(r.Status.Source.FoundBy).To(ContainSubstring("Flux HelmRelease " + ns + "/" + hr))
			Expect(r.Status.Source.Layer).To(ContainSubstring("values.resources.limits.memory (256Mi → 320Mi)"))
			Expect(r.Status.Source.Render).To(Equal(v1beta1.RenderUnverified))
			Expect(r.Status.Source.RenderMessage).To(ContainSubstring("the chart was not rendered"))
			_, body, labels := provider.proposal("heal8s/hr-1")
			Expect(labels).To(ContainElement(gitprovider.UnverifiedRenderLabel))
			Expect(body).To(ContainSubstring("+        memory: 320Mi"))
			Expect(provider.edited("heal8s/hr-1")).To(ContainSubstring("kind: HelmRelease"))
		})

		It("finds a namespaceless plain manifest through an Argo CD Application's path and destination namespace, marked unverified", func() {
			ensureNamespace("argocd")
			app := "guestbook-" + ns
			deployment("web", func(d *appsv1.Deployment) {
				d.Annotations["argocd.argoproj.io/tracking-id"] = app + ":apps/Deployment:" + ns + "/web"
			})
			Expect(k8sClient.Create(ctx, unstructuredObj("argoproj.io/v1alpha1", "Application", "argocd", app, map[string]any{
				"spec": map[string]any{"project": "default",
					"source":      map[string]any{"repoURL": "git@github.com:acme/deploy.git", "targetRevision": "HEAD", "path": "guestbook"},
					"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": ns}},
				"status": map[string]any{"resources": []any{map[string]any{"group": "apps", "version": "v1", "kind": "Deployment",
					"namespace": ns, "name": "web"}}},
			}))).To(Succeed())
			policy(v1beta1.StrategyGitOps, noRepository)
			provider.mu.Lock()
			// The same Deployment, namespaceless, outside the Application's path: not a match.
			provider.repo["other/web.yaml"] = fleet(ns)["base/deployment.yaml"]
			provider.repo["guestbook/web.yaml"] = fleet(ns)["base/deployment.yaml"]
			provider.mu.Unlock()
			Expect(k8sClient.Create(ctx, newRemediation("argo-1", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			r := waitPhase("argo-1", v1beta1.PhaseAwaitingMerge)
			Expect(r.Status.Source.Path).To(Equal("guestbook/web.yaml"))
			Expect(r.Status.Source.FoundBy).To(ContainSubstring("Argo CD Application argocd/" + app))
			Expect(r.Status.Source.Layer).To(ContainSubstring("only document in guestbook/"))
			Expect(r.Status.Source.Render).To(Equal(v1beta1.RenderUnverified))
			_, body, labels := provider.proposal("heal8s/argo-1")
			Expect(body).To(ContainSubstring("**Not verified by rendering**"))
			Expect(labels).To(ContainElement(gitprovider.UnverifiedRenderLabel))
			Expect(provider.edited("heal8s/argo-1")).To(ContainSubstring("memory: 320Mi"))
		})
	})

	Context("guards", func() {
		It("lets a namespace the selector excludes invoke no cluster-wide policy, whoever creates the Remediation", func() {
			deployment("web", nil)
			name := "cluster-" + ns
			p := &v1beta1.RemediationPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: name},
				Spec: v1beta1.RemediationPolicySpec{
					Strategy:          v1beta1.StrategyDirect,
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"heal8s.io/remediate": "true"}},
					Rules: []v1beta1.Rule{{Name: "oom", Matchers: []string{`alertname="KubePodOOMKilled"`},
						Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}}},
				},
			}
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			DeferCleanup(func() { Expect(k8sClient.Delete(ctx, p)).To(Succeed()) })
			excluded := newRemediation("excluded-1", memory, v1beta1.StrategyDirect, "web")
			excluded.Spec.PolicyRef = v1beta1.PolicyReference{Namespace: operatorNamespace, Name: name}
			Expect(k8sClient.Create(ctx, excluded)).To(Succeed())
			r := waitPhase("excluded-1", v1beta1.PhaseSkipped)
			Expect(r.Status.Reason).To(Equal(remediation.TargetOutOfScopeReason))
			Expect(r.Status.Message).To(ContainSubstring("namespaceSelector"))
			Expect(memLimit("web")).To(Equal("256Mi"))

			By("labelling the namespace into the policy's scope")
			n := &corev1.Namespace{}
			Expect(k8sClient.Get(ctx, types.NamespacedName{Name: ns}, n)).To(Succeed())
			n.Labels["heal8s.io/remediate"] = "true"
			Expect(k8sClient.Update(ctx, n)).To(Succeed())
			selected := newRemediation("selected-1", memory, v1beta1.StrategyDirect, "web")
			selected.Spec.PolicyRef = excluded.Spec.PolicyRef
			Expect(k8sClient.Create(ctx, selected)).To(Succeed())
			waitPhase("selected-1", v1beta1.PhaseVerifying)
			Expect(memLimit("web")).To(Equal("320Mi"))
		})

		It("never acts in a protected namespace, even for a Remediation and policy made by hand there", func() {
			const sys = "kube-system"
			p := &v1beta1.RemediationPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: sys, Name: "by-hand-" + ns},
				Spec: v1beta1.RemediationPolicySpec{Strategy: v1beta1.StrategyDirect, Rules: []v1beta1.Rule{{Name: "oom",
					Matchers: []string{`alertname="KubePodOOMKilled"`}, Action: v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{}}}}},
			}
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			DeferCleanup(func() { Expect(k8sClient.Delete(ctx, p)).To(Succeed()) })
			r := newRemediation("coredns-"+ns, memory, v1beta1.StrategyDirect, "coredns")
			r.Namespace, r.Spec.Target.Namespace = sys, sys
			r.Spec.PolicyRef = v1beta1.PolicyReference{Namespace: sys, Name: p.Name}
			Expect(k8sClient.Create(ctx, r)).To(Succeed())
			Eventually(func(g Gomega) {
				got := &v1beta1.Remediation{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(r), got)).To(Succeed())
				g.Expect(got.Status.Phase).To(Equal(v1beta1.PhaseSkipped))
				g.Expect(got.Status.Reason).To(Equal(remediation.ProtectedNamespaceReason))
			}).Should(Succeed())
		})

		It("skips everything of a suspended policy", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, func(s *v1beta1.RemediationPolicySpec) { s.Safety.Suspend = true })
			Expect(k8sClient.Create(ctx, newRemediation("susp-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			Expect(waitPhase("susp-1", v1beta1.PhaseSkipped).Status.Reason).To(Equal(remediation.PolicySuspendedReason))
		})

		It("skips a second remediation of the same action and target as InProgress, naming the first", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, nil)
			Expect(k8sClient.Create(ctx, newRemediation("first", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			waitPhase("first", v1beta1.PhaseVerifying)
			Expect(k8sClient.Create(ctx, newRemediation("second", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			r := waitPhase("second", v1beta1.PhaseSkipped)
			Expect(r.Status.Reason).To(Equal(remediation.InProgressReason))
			Expect(r.Status.Message).To(ContainSubstring("first"))
			Expect(writes.TargetWrites(ns)).To(Equal(1))
		})

		It("lets exactly one of two Remediations for one target act, created in the same second in either name order", func() {
			policy(v1beta1.StrategyDirect, nil)
			pairs := [][2]string{{"twin-a", "twin-b"}, {"twin-d", "twin-c"}}
			for i, pair := range pairs {
				target := fmt.Sprintf("twin-web-%d", i)
				deployment(target, nil)
				var created [2]*v1beta1.Remediation
				for j, name := range pair {
					created[j] = newRemediation(name, memory, v1beta1.StrategyDirect, target)
					Expect(k8sClient.Create(ctx, created[j])).To(Succeed())
				}
				sameSecond := created[0].CreationTimestamp.Equal(&created[1].CreationTimestamp)
				GinkgoWriter.Printf("pair %v created in the same second: %v\n", pair, sameSecond)
				// Either the older one is superseded before it applies and the newer acts, or the
				// older one is past the point of no return and the newer is skipped InProgress.
				Eventually(func(g Gomega) {
					phases := map[v1beta1.Phase]int{}
					for _, name := range pair {
						phases[get(name).Status.Phase]++
					}
					g.Expect(phases[v1beta1.PhaseVerifying]).To(Equal(1), "%v", phases)
					g.Expect(phases[v1beta1.PhaseSkipped]+phases[v1beta1.PhaseSuperseded]).To(Equal(1), "%v", phases)
				}).WithTimeout(20 * time.Second).Should(Succeed())
				for _, name := range pair {
					if r := get(name); r.Status.Phase == v1beta1.PhaseSkipped {
						Expect(r.Status.Reason).To(Equal(remediation.InProgressReason))
					}
				}
				Consistently(func() string { return memLimit(target) }).WithTimeout(time.Second).Should(Equal("320Mi"),
					"the limit is raised once, from 256Mi")
			}
			Expect(writes.TargetWrites(ns)).To(Equal(len(pairs)), "one Direct patch per target")
		})

		It("plans within the policy rule's bounds, whatever the Remediation's spec says", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, func(s *v1beta1.RemediationPolicySpec) {
				s.Rules[0].Action.IncreaseMemory.Max = ptr.To(resource.MustParse("300Mi"))
			})
			greedy := v1beta1.Action{IncreaseMemory: &v1beta1.IncreaseMemoryAction{Percent: ptr.To[int32](500), Max: ptr.To(resource.MustParse("8Gi"))}}
			Expect(k8sClient.Create(ctx, newRemediation("bounds-1", greedy, v1beta1.StrategyDirect, "web"))).To(Succeed())
			heal("bounds-1", "web")
			Expect(memLimit("web")).To(Equal("300Mi"))
		})

		It("skips a Remediation that asks for a stronger strategy than its policy's", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDryRun, nil)
			Expect(k8sClient.Create(ctx, newRemediation("sneaky-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			Expect(waitPhase("sneaky-1", v1beta1.PhaseSkipped).Status.Reason).To(Equal(remediation.PolicyMismatchReason))
			Expect(writes.TargetWrites(ns)).To(BeZero())
		})

		It("skips a missing target", func() {
			policy(v1beta1.StrategyDirect, nil)
			Expect(k8sClient.Create(ctx, newRemediation("gone-1", memory, v1beta1.StrategyDirect, "nothere"))).To(Succeed())
			Expect(waitPhase("gone-1", v1beta1.PhaseSkipped).Status.Reason).To(Equal(remediation.TargetNotFoundReason))
		})

		It("skips resource actions on a workload a VPA in Auto mode manages, once the VPA CRD exists", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, nil)
			installVPACRD()
			// A new manager, so its REST mapper learns the new API group.
			restart(nil)
			vpa := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
				"metadata": map[string]any{"name": "web", "namespace": ns},
				"spec": map[string]any{
					"targetRef":    map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
					"updatePolicy": map[string]any{"updateMode": "Auto"},
				},
			}}
			Expect(k8sClient.Create(ctx, vpa)).To(Succeed())
			Expect(k8sClient.Create(ctx, newRemediation("vpa-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			r := waitPhase("vpa-1", v1beta1.PhaseSkipped)
			Expect(r.Status.Reason).To(Equal(remediation.ManagedByVPAReason))
			Expect(r.Status.Message).To(ContainSubstring("VerticalPodAutoscaler web"))

			By("leaving ScaleUp alone")
			Expect(k8sClient.Create(ctx, newRemediation("vpa-2", v1beta1.Action{ScaleUp: &v1beta1.ScaleUpAction{}}, v1beta1.StrategyDirect, "web"))).To(Succeed())
			heal("vpa-2", "web")
		})

		It("holds a remediation in cooldown and lets it go at the allowed time", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, func(s *v1beta1.RemediationPolicySpec) {
				s.Safety.Cooldown = &metav1.Duration{Duration: time.Hour}
			})
			Expect(k8sClient.Create(ctx, newRemediation("cool-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			heal("cool-1", "web")
			Expect(k8sClient.Create(ctx, newRemediation("cool-2", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			Eventually(func() string { return get("cool-2").Status.Reason }).Should(Equal(remediation.CooldownReason))
			Consistently(phaseOf("cool-2")).WithTimeout(500 * time.Millisecond).Should(Equal(v1beta1.PhasePending))
			Expect(get("cool-2").Status.Message).To(ContainSubstring("waiting until"))
			clk.Advance(time.Hour)
			DeferCleanup(func() { clk.Advance(-time.Hour) })
			poke("cool-2")
			heal("cool-2", "web")
			Expect(memLimit("web")).To(Equal("448Mi"))
		})

		It("holds a remediation past maxConcurrent of its policy", func() {
			deployment("web", nil)
			deployment("api", nil)
			policy(v1beta1.StrategyDirect, func(s *v1beta1.RemediationPolicySpec) { s.Safety.MaxConcurrent = ptr.To[int32](1) })
			Expect(k8sClient.Create(ctx, newRemediation("conc-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			waitPhase("conc-1", v1beta1.PhaseVerifying)
			Expect(k8sClient.Create(ctx, newRemediation("conc-2", memory, v1beta1.StrategyDirect, "api"))).To(Succeed())
			Eventually(func() string { return get("conc-2").Status.Reason }).Should(Equal(remediation.MaxConcurrentReason))
			Consistently(phaseOf("conc-2")).WithTimeout(500 * time.Millisecond).Should(Equal(v1beta1.PhasePending))
			rollOut("web")
			resolveAlert("conc-1")
			waitPhase("conc-1", v1beta1.PhaseSucceeded)
			heal("conc-2", "api")
		})

		It("holds a remediation past maxPerHour of its policy", func() {
			deployment("web", nil)
			deployment("api", nil)
			policy(v1beta1.StrategyDirect, func(s *v1beta1.RemediationPolicySpec) { s.Safety.MaxPerHour = ptr.To[int32](1) })
			Expect(k8sClient.Create(ctx, newRemediation("rate-1", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			heal("rate-1", "web")
			Expect(k8sClient.Create(ctx, newRemediation("rate-2", memory, v1beta1.StrategyDirect, "api"))).To(Succeed())
			Eventually(func() string { return get("rate-2").Status.Reason }).Should(Equal(remediation.MaxPerHourReason))
			Consistently(phaseOf("rate-2")).WithTimeout(500 * time.Millisecond).Should(Equal(v1beta1.PhasePending))
			clk.Advance(time.Hour)
			DeferCleanup(func() { clk.Advance(-time.Hour) })
			poke("rate-2")
			heal("rate-2", "api")
		})

		It("stops at the budget per target with a Warning Event saying a leak is likely", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, func(s *v1beta1.RemediationPolicySpec) {
				s.Safety.MaxPerTarget = ptr.To[int32](2)
				s.Safety.Cooldown = &metav1.Duration{Duration: time.Second}
			})
			for _, name := range []string{"budget-1", "budget-2"} {
				Expect(k8sClient.Create(ctx, newRemediation(name, memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
				heal(name, "web")
			}
			time.Sleep(time.Second)
			Expect(k8sClient.Create(ctx, newRemediation("budget-3", memory, v1beta1.StrategyDirect, "web"))).To(Succeed())
			r := waitPhase("budget-3", v1beta1.PhaseSkipped)
			Expect(r.Status.Reason).To(Equal(remediation.BudgetExhaustedReason))
			Eventually(warningEvent(remediation.BudgetExhaustedReason)).Should(ConsistOf(ContainSubstring("a leak or a deeper fault is likely")))
			Expect(writes.TargetWrites(ns)).To(Equal(2), "two bumps, not three")
		})
	})

	Context("superseding", func() {
		// firing is r for an alert that started ago before now.
		firing := func(r *v1beta1.Remediation, ago time.Duration) *v1beta1.Remediation {
			r.Spec.Alert.StartsAt = ptr.To(metav1.NewTime(time.Now().Add(-ago).Truncate(time.Second)))
			return r
		}

		It("a newer one supersedes an older one still Pending, which applies nothing", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, nil)
			restart(func() {
				// With no manager running, both wait in Pending.
				Expect(k8sClient.Create(ctx, firing(newRemediation("older", memory, v1beta1.StrategyDirect, "web"), 10*time.Minute))).To(Succeed())
				Expect(k8sClient.Create(ctx, firing(newRemediation("newer", memory, v1beta1.StrategyDirect, "web"), time.Minute))).To(Succeed())
			})
			r := waitPhase("older", v1beta1.PhaseSuperseded)
			Expect(r.Status.Reason).To(Equal(remediation.SupersededReason))
			Expect(r.Status.SupersededBy).To(Equal("newer"))
			Expect(r.Status.Message).To(ContainSubstring("newer"))
			Expect(history(r)).To(Equal([]string{"Superseded/Superseded"}))
			waitPhase("newer", v1beta1.PhaseVerifying)
			Expect(memLimit("web")).To(Equal("320Mi"), "bumped once, by the newer one")
			Expect(writes.TargetWrites(ns)).To(Equal(1))
		})

		It("a newer one supersedes an older one awaiting its merge, whose pull request is closed with a comment naming it", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyGitOps, nil)
			provider.mu.Lock()
			provider.repo["apps/"+ns+"/web.yaml"] = []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: " + ns +
				"\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            limits:\n              memory: 256Mi\n            requests:\n              memory: 128Mi\n")
			provider.mu.Unlock()
			Expect(k8sClient.Create(ctx, firing(newRemediation("older", memory, v1beta1.StrategyGitOps, "web"), 10*time.Minute))).To(Succeed())
			waitPhase("older", v1beta1.PhaseAwaitingMerge)
			Expect(provider.stateOf("heal8s/older")).To(Equal(gitprovider.StateOpen))

			Expect(k8sClient.Create(ctx, firing(newRemediation("newer", memory, v1beta1.StrategyGitOps, "web"), time.Minute))).To(Succeed())
			r := waitPhase("older", v1beta1.PhaseSuperseded)
			Expect(r.Status.Reason).To(Equal(remediation.SupersededReason))
			Expect(r.Status.SupersededBy).To(Equal("newer"))
			Expect(r.Status.PullRequest.State).To(Equal(v1beta1.PullRequestClosed))
			Expect(provider.stateOf("heal8s/older")).To(Equal(gitprovider.StateClosed))
			comments := provider.commentsOn("heal8s/older")
			Expect(comments).To(HaveLen(1))
			Expect(comments[0]).To(ContainSubstring(ns + "/newer"))

			By("letting the newer one propose anew: heal8s's own close is no veto")
			n := waitPhase("newer", v1beta1.PhaseAwaitingMerge)
			Expect(n.Status.PullRequest.Branch).To(Equal("heal8s/newer"))
			Expect(provider.stateOf("heal8s/newer")).To(Equal(gitprovider.StateOpen))
			Expect(writes.TargetWrites(ns)).To(BeZero())
		})

		It("leaves an older pull request someone else pushed to open, and says so: the newer one waits for a person's decision", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyGitOps, nil)
			provider.mu.Lock()
			provider.repo["apps/"+ns+"/web.yaml"] = []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: " + ns +
				"\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            limits:\n              memory: 256Mi\n            requests:\n              memory: 128Mi\n")
			provider.mu.Unlock()
			Expect(k8sClient.Create(ctx, firing(newRemediation("edited-older", memory, v1beta1.StrategyGitOps, "web"), 10*time.Minute))).To(Succeed())
			waitPhase("edited-older", v1beta1.PhaseAwaitingMerge)
			provider.pushForeign("heal8s/edited-older")

			Expect(k8sClient.Create(ctx, firing(newRemediation("edited-newer", memory, v1beta1.StrategyGitOps, "web"), time.Minute))).To(Succeed())
			Eventually(func(g Gomega) {
				r := &v1beta1.Remediation{}
				g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "edited-older"}, r)).To(Succeed())
				g.Expect(r.Status.PullRequest).NotTo(BeNil())
				g.Expect(r.Status.PullRequest.Edited).To(BeTrue(), "status says someone else pushed to it")
			}).WithTimeout(20 * time.Second).Should(Succeed())
			Consistently(func(g Gomega) {
				r := &v1beta1.Remediation{}
				g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "edited-older"}, r)).To(Succeed())
				g.Expect(r.Status.Phase).To(Equal(v1beta1.PhaseAwaitingMerge), "not superseded: a person decides")
				n := &v1beta1.Remediation{}
				g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "edited-newer"}, n)).To(Succeed())
				g.Expect(n.Status.Phase).To(BeElementOf(v1beta1.Phase(""), v1beta1.PhasePending))
			}).WithTimeout(2 * time.Second).Should(Succeed())
			Expect(provider.stateOf("heal8s/edited-older")).To(Equal(gitprovider.StateOpen))
			Expect(provider.commentsOn("heal8s/edited-older")).To(BeEmpty(), "no supersede comment")
		})

		It("never supersedes an older one that is Verifying: the newer one is skipped InProgress", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyDirect, nil)
			Expect(k8sClient.Create(ctx, firing(newRemediation("older", memory, v1beta1.StrategyDirect, "web"), 10*time.Minute))).To(Succeed())
			waitPhase("older", v1beta1.PhaseVerifying)
			Expect(k8sClient.Create(ctx, firing(newRemediation("newer", memory, v1beta1.StrategyDirect, "web"), time.Minute))).To(Succeed())
			n := waitPhase("newer", v1beta1.PhaseSkipped)
			Expect(n.Status.Reason).To(Equal(remediation.InProgressReason))
			Expect(n.Status.Message).To(ContainSubstring("older"))
			r := heal("older", "web")
			Expect(r.Status.SupersededBy).To(BeEmpty())
			Expect(history(r)).To(Equal([]string{"Planning/GuardsPassed", "Proposed/Planned", "Verifying/Applied", "Succeeded/AlertResolved"}))
			Expect(writes.TargetWrites(ns)).To(Equal(1))
		})
	})

	Context("stable revisions", func() {
		// rolledOutOn plays the Deployment controller: revision 1 runs fully available on
		// ReplicaSet web-1 since an hour ago.
		rolledOutOn := func() *appsv1.ReplicaSet {
			d := deployment("web", func(d *appsv1.Deployment) { d.Annotations[actions.RevisionAnnotation] = "1" })
			rs := &appsv1.ReplicaSet{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1", Labels: map[string]string{"app": "web"},
					Annotations:     map[string]string{actions.RevisionAnnotation: "1"},
					OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
				Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](2), Selector: d.Spec.Selector, Template: *d.Spec.Template.DeepCopy()},
			}
			Expect(k8sClient.Create(ctx, rs)).To(Succeed())
			rs.Status = appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, ObservedGeneration: rs.Generation}
			Expect(k8sClient.Status().Update(ctx, rs)).To(Succeed())
			hourAgo := metav1.NewTime(clk.Now().Add(-time.Hour))
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2,
				Conditions: []appsv1.DeploymentCondition{
					{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, LastTransitionTime: hourAgo, LastUpdateTime: hourAgo, Reason: "MinimumReplicasAvailable"},
					{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, LastTransitionTime: hourAgo, LastUpdateTime: hourAgo, Reason: "NewReplicaSetAvailable"},
				}}
			Expect(k8sClient.Status().Update(ctx, d)).To(Succeed())
			return rs
		}
		stableLabel := func() string {
			rs := &appsv1.ReplicaSet{}
			Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-1"}, rs)).To(Succeed())
			return rs.Labels[v1beta1.LabelStable]
		}

		It("marks the current ReplicaSet stable where a policy may roll back", func() {
			policy(v1beta1.StrategyDirect, nil)
			rolledOutOn()
			Eventually(stableLabel).WithTimeout(10 * time.Second).Should(Equal("true"))
		})

		It("labels nothing in a namespace no rollback rule covers", func() {
			policy(v1beta1.StrategyDirect, func(s *v1beta1.RemediationPolicySpec) { s.Rules = s.Rules[:1] })
			rolledOutOn()
			Consistently(stableLabel).WithTimeout(time.Second).Should(BeEmpty())
		})
	})

	Context("restart safety", func() {
		// seed stops the manager, creates a Remediation whose status says a previous manager
		// stopped in phase, and starts a new manager.
		seed := func(name string, strategy v1beta1.Strategy, st v1beta1.RemediationStatus, beforeStart func()) {
			restart(func() {
				Expect(k8sClient.Create(ctx, newRemediation(name, memory, strategy, "web"))).To(Succeed())
				if st.Phase != "" {
					setStatus(name, func(s *v1beta1.RemediationStatus) { *s = st })
				}
				if beforeStart != nil {
					beforeStart()
				}
			})
		}
		entered := func(phases ...v1beta1.Phase) []v1beta1.PhaseTransition {
			var h []v1beta1.PhaseTransition
			for _, p := range phases {
				h = append(h, v1beta1.PhaseTransition{Phase: p, Reason: "Seeded", Time: metav1.NewTime(clk.Now().Add(-time.Second))})
			}
			return h
		}
		started := ptr.To(metav1.NewTime(time.Now().Add(-time.Minute)))

		DescribeTable("a new manager resumes where the old one stopped and applies the plan once",
			func(phase v1beta1.Phase, applied bool) {
				deployment("web", nil)
				policy(v1beta1.StrategyDirect, nil)
				st := v1beta1.RemediationStatus{Phase: phase}
				if phase != v1beta1.PhasePending {
					st.StartedAt = started
					st.History = entered(v1beta1.PhasePlanning)
				}
				plan := planFor("web", memory)
				if phase == v1beta1.PhaseProposed || phase == v1beta1.PhaseVerifying {
					st.Plan = &plan
					st.History = append(st.History, entered(phase)...)
				}
				seed("restart-1", v1beta1.StrategyDirect, st, func() {
					if applied {
						// The old manager's patch went out; its status write did not.
						Expect(k8sClient.Patch(ctx, liveDeployment("web"), client.RawPatch(types.JSONPatchType, []byte(plan.Patch)))).To(Succeed())
					}
				})
				r := heal("restart-1", "web")
				Expect(memLimit("web")).To(Equal("320Mi"), "bumped exactly once")
				want := 1
				if applied {
					want = 0
				}
				Expect(writes.TargetWrites(ns)).To(Equal(want))
				if phase == v1beta1.PhaseProposed && applied {
					Expect(history(r)).To(ContainElement("Verifying/AlreadyApplied"))
				}
			},
			Entry("Pending", v1beta1.PhasePending, false),
			Entry("Planning", v1beta1.PhasePlanning, false),
			Entry("Proposed, before the patch", v1beta1.PhaseProposed, false),
			Entry("Proposed, after the patch but before the status write", v1beta1.PhaseProposed, true),
			Entry("Verifying", v1beta1.PhaseVerifying, true),
		)

		It("a new manager resumes GitOps in AwaitingMerge and Applying without proposing a second pull request", func() {
			deployment("web", nil)
			policy(v1beta1.StrategyGitOps, nil)
			provider.mu.Lock()
			provider.repo["apps/"+ns+"/web.yaml"] = []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: " + ns +
				"\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            limits:\n              memory: 256Mi\n            requests:\n              memory: 128Mi\n")
			provider.mu.Unlock()
			Expect(k8sClient.Create(ctx, newRemediation("gitr-1", memory, v1beta1.StrategyGitOps, "web"))).To(Succeed())
			waitPhase("gitr-1", v1beta1.PhaseAwaitingMerge)
			provider.mu.Lock()
			proposes := provider.proposes
			provider.mu.Unlock()

			restart(nil)
			Consistently(phaseOf("gitr-1")).WithTimeout(500 * time.Millisecond).Should(Equal(v1beta1.PhaseAwaitingMerge))
			provider.set("heal8s/gitr-1", gitprovider.StateMerged)
			waitPhase("gitr-1", v1beta1.PhaseApplying)

			restart(func() {
				d := liveDeployment("web")
				d.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("320Mi")
				d.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = resource.MustParse("192Mi")
				Expect(k8sClient.Update(ctx, d)).To(Succeed())
			})
			heal("gitr-1", "web")
			provider.mu.Lock()
			defer provider.mu.Unlock()
			Expect(provider.proposes).To(Equal(proposes), "no second Propose after AwaitingMerge")
			Expect(provider.prs).To(HaveKey("heal8s/gitr-1"))
			Expect(writes.TargetWrites(ns)).To(BeZero())
		})
	})
})

// The counting client stands in for the manager's client.
var _ client.Client = (*writeCounter)(nil)
