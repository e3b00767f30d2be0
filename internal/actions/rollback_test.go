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

package actions

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/heal8s/heal8s/api/v1beta1"
)

const appImage = "spec.template.spec.containers[app].image"

// rs is a ReplicaSet of Deployment web at a revision, running image for container app.
func rs(revision int, image string, stable bool) appsv1.ReplicaSet {
	r := appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            fmt.Sprintf("web-%d", revision),
			Namespace:       "shop",
			Annotations:     map[string]string{RevisionAnnotation: strconv.Itoa(revision)},
			OwnerReferences: controller("Deployment", "web", "d-uid"),
		},
		Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: image}, {Name: "sidecar", Image: "proxy:1"}},
		}}},
	}
	if stable {
		r.Labels = map[string]string{v1beta1.LabelStable: "true"}
	}
	return r
}

// crashing is Deployment web at a revision, whose app container runs image.
func crashing(revision int, image string) *appsv1.Deployment {
	d := deployment(corev1.Container{Name: "app", Image: image}, corev1.Container{Name: "sidecar", Image: "proxy:1"})
	d.Annotations = map[string]string{RevisionAnnotation: strconv.Itoa(revision)}
	return d
}

func TestPlanRollbackDeployment(t *testing.T) {
	foreign := rs(9, "app:other", true)
	foreign.OwnerReferences = controller("Deployment", "api", "other-uid")
	notController := rs(4, "app:v4", false)
	notController.OwnerReferences[0].Controller = nil
	badRevision := rs(4, "app:v4", true)
	badRevision.Annotations[RevisionAnnotation] = "four"
	noApp := rs(4, "", false)
	noApp.Spec.Template.Spec.Containers = noApp.Spec.Template.Spec.Containers[1:]
	unannotated := crashing(5, "app:v5")
	unannotated.Annotations = nil

	tests := []struct {
		name      string
		d         *appsv1.Deployment
		rss       []appsv1.ReplicaSet
		container string
		max       *int32
		want      string
		reason    []string
		err       error
	}{{
		name: "newest earlier revision with a different image",
		d:    crashing(5, "app:v5"),
		rss:  []appsv1.ReplicaSet{rs(5, "app:v5", false), rs(4, "app:v5", false), rs(3, "app:v3", false), rs(1, "app:v1", false)},
		want: "app:v3",
		reason: []string{`from app:v5 to app:v3, from revision 3 (ReplicaSet web-3)`, `the newest earlier revision with a different image`,
			`looked at revisions 4, 3, 1 before the current revision 5`, `revision 4 runs the same image`},
	}, {
		name: "stable revision preferred over a newer one",
		d:    crashing(5, "app:v5"),
		rss:  []appsv1.ReplicaSet{rs(1, "app:v1", true), rs(3, "app:v3", false), rs(5, "app:v5", false), rs(4, "app:v5", false)},
		want: "app:v1", reason: []string{`revision 1 (ReplicaSet web-1)`, `labelled heal8s.io/stable=true`},
	}, {
		name: "stable revision beyond maxRevisions is not considered",
		d:    crashing(5, "app:v5"),
		rss:  []appsv1.ReplicaSet{rs(1, "app:v1", true), rs(3, "app:v3", false), rs(5, "app:v5", false), rs(4, "app:v5", false)},
		max:  ptr.To[int32](2),
		want: "app:v3", reason: []string{`looked at revisions 4, 3 before the current revision 5`, `1 older ones are beyond maxRevisions 2`},
	}, {
		name: "only the same image within maxRevisions",
		d:    crashing(5, "app:v5"),
		rss:  []appsv1.ReplicaSet{rs(3, "app:v3", false), rs(5, "app:v5", false), rs(4, "app:v5", false)},
		max:  ptr.To[int32](1),
		err:  ErrNoCandidate,
	}, {
		name: "history with gaps counts revisions, not numbers",
		d:    crashing(12, "app:v12"),
		rss:  []appsv1.ReplicaSet{rs(2, "app:v2", false), rs(12, "app:v12", false), rs(7, "app:v7", false), rs(9, "app:v9", false)},
		max:  ptr.To[int32](1),
		want: "app:v9",
	}, {
		name: "the newest stable among several",
		d:    crashing(12, "app:v12"),
		rss:  []appsv1.ReplicaSet{rs(2, "app:v2", true), rs(12, "app:v12", false), rs(7, "app:v7", true), rs(9, "app:v9", false)},
		want: "app:v7",
	}, {
		name: "only the current revision",
		d:    crashing(1, "app:v1"),
		rss:  []appsv1.ReplicaSet{rs(1, "app:v1", false)},
		err:  ErrNoCandidate,
	}, {
		name: "no ReplicaSets at all",
		d:    crashing(3, "app:v3"),
		err:  ErrNoCandidate,
	}, {
		name:   "foreign, non-controller and unreadable ReplicaSets are ignored",
		d:      crashing(5, "app:v5"),
		rss:    []appsv1.ReplicaSet{foreign, notController, badRevision, rs(5, "app:v5", false), rs(2, "app:v2", false)},
		want:   "app:v2",
		reason: []string{`ignored unreadable revisions web-4`, `looked at revisions 2 before`},
	}, {
		name:   "a revision without the container is skipped",
		d:      crashing(5, "app:v5"),
		rss:    []appsv1.ReplicaSet{noApp, rs(3, "app:v3", false)},
		want:   "app:v3",
		reason: []string{`revision 4 has no container "app"`},
	}, {
		name: "no revision on the Deployment: the newest ReplicaSet is current",
		d:    unannotated,
		rss:  []appsv1.ReplicaSet{rs(5, "app:v5", false), rs(3, "app:v3", false)},
		want: "app:v3",
	}, {
		name:      "other container",
		d:         crashing(5, "app:v5"),
		rss:       []appsv1.ReplicaSet{rs(4, "app:v4", false)},
		container: "sidecar",
		err:       ErrNoCandidate, // the sidecar image never changed
	}, {
		name:      "unknown container",
		d:         crashing(5, "app:v5"),
		rss:       []appsv1.ReplicaSet{rs(4, "app:v4", false)},
		container: "worker",
		err:       ErrContainerNotFound,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			container := tt.container
			if container == "" {
				container = "app"
			}
			p, err := PlanRollbackDeployment(tt.d, tt.rss, container, &v1beta1.RollbackImageAction{MaxRevisions: tt.max})
			if tt.err != nil {
				g.Expect(err).To(MatchError(tt.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			current := tt.d.Spec.Template.Spec.Containers[0].Image
			g.Expect(p.Before).To(Equal(map[string]string{appImage: current}))
			g.Expect(p.After).To(Equal(map[string]string{appImage: tt.want}))
			for _, s := range tt.reason {
				g.Expect(p.Reason).To(ContainSubstring(s))
			}
			g.Expect(opPaths(t, p)).To(Equal([]string{
				"test /spec/template/spec/containers/0/name",
				"test /spec/template/spec/containers/0/image",
				"replace /spec/template/spec/containers/0/image",
			}))
			var out appsv1.Deployment
			applyPlan(t, tt.d, p, &out)
			g.Expect(out.Spec.Template.Spec.Containers[0].Image).To(Equal(tt.want))
			g.Expect(out.Spec.Template.Spec.Containers[1].Image).To(Equal("proxy:1"))
		})
	}
}

// cr is a ControllerRevision of StatefulSet db with the app container at image.
func cr(t *testing.T, revision int64, image string) appsv1.ControllerRevision {
	t.Helper()
	data, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
		"$patch":   "replace",
		"metadata": map[string]any{"labels": map[string]any{"app": "db"}},
		"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "image": image, "resources": map[string]any{}},
			map[string]any{"name": "exporter", "image": "exporter:1"},
		}},
	}}})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("db-%d", revision), Namespace: "shop", OwnerReferences: controller("StatefulSet", "db", "s-uid")},
		Data:       runtime.RawExtension{Raw: data},
		Revision:   revision,
	}
}

func TestPlanRollbackStatefulSet(t *testing.T) {
	sts := func(image, updateRevision string) *appsv1.StatefulSet {
		s := statefulSet(corev1.Container{Name: "app", Image: image}, corev1.Container{Name: "exporter", Image: "exporter:1"})
		s.Status.UpdateRevision = updateRevision
		return s
	}
	asObject := cr(t, 2, "db:v2")
	asObject.Data = runtime.RawExtension{Object: &runtime.Unknown{Raw: asObject.Data.Raw}}
	garbage := cr(t, 3, "db:v3")
	garbage.Data.Raw = []byte(`{"spec":`)
	stable := cr(t, 1, "db:v1")
	stable.Labels = map[string]string{v1beta1.LabelStable: "true"}
	foreign := cr(t, 3, "db:v3")
	foreign.OwnerReferences[0].UID = types.UID("x")

	tests := []struct {
		name   string
		s      *appsv1.StatefulSet
		crs    []appsv1.ControllerRevision
		want   string
		reason []string
		err    error
	}{{
		name: "previous revision",
		s:    sts("db:v3", "db-3"),
		crs:  []appsv1.ControllerRevision{cr(t, 1, "db:v1"), cr(t, 3, "db:v3"), cr(t, 2, "db:v2")},
		want: "db:v2", reason: []string{`revision 2 (ControllerRevision db-2)`},
	}, {
		name: "stable preferred",
		s:    sts("db:v3", "db-3"),
		crs:  []appsv1.ControllerRevision{stable, cr(t, 3, "db:v3"), cr(t, 2, "db:v2")},
		want: "db:v1",
	}, {
		name: "update revision unknown: the newest is current",
		s:    sts("db:v3", ""),
		crs:  []appsv1.ControllerRevision{cr(t, 3, "db:v3"), cr(t, 2, "db:v2")},
		want: "db:v2",
	}, {
		name: "mid-rollout: the update revision is not the newest number",
		s:    sts("db:v2", "db-2"),
		crs:  []appsv1.ControllerRevision{cr(t, 3, "db:v3"), cr(t, 2, "db:v2"), cr(t, 1, "db:v1")},
		want: "db:v1",
	}, {
		name: "data as an object",
		s:    sts("db:v3", "db-3"),
		crs:  []appsv1.ControllerRevision{cr(t, 3, "db:v3"), asObject},
		want: "db:v2",
	}, {
		name: "unreadable and foreign revisions are ignored",
		s:    sts("db:v4", "db-4"),
		crs:  []appsv1.ControllerRevision{cr(t, 4, "db:v4"), garbage, foreign, cr(t, 1, "db:v1")},
		want: "db:v1", reason: []string{`ignored unreadable revisions db-3`},
	}, {
		name: "same image everywhere",
		s:    sts("db:v3", "db-3"),
		crs:  []appsv1.ControllerRevision{cr(t, 3, "db:v3"), cr(t, 2, "db:v3")},
		err:  ErrNoCandidate,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p, err := PlanFor(v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}},
				Inputs{Object: tt.s, ControllerRevisions: tt.crs, Container: "app"})
			if tt.err != nil {
				g.Expect(err).To(MatchError(tt.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Target.Kind).To(Equal(v1beta1.TargetKindStatefulSet))
			g.Expect(p.After).To(Equal(map[string]string{appImage: tt.want}))
			for _, s := range tt.reason {
				g.Expect(p.Reason).To(ContainSubstring(s))
			}
			var out appsv1.StatefulSet
			applyPlan(t, tt.s, p, &out)
			g.Expect(out.Spec.Template.Spec.Containers[0].Image).To(Equal(tt.want))
			g.Expect(out.Spec.Template.Spec.Containers[1].Image).To(Equal("exporter:1"))
		})
	}
}

func TestPlanForRollbackUnsupported(t *testing.T) {
	g := NewWithT(t)
	_, err := PlanFor(v1beta1.Action{RollbackImage: &v1beta1.RollbackImageAction{}}, Inputs{Object: daemonSet(ctr("app", nil, nil))})
	g.Expect(err).To(MatchError(ErrUnsupportedTarget))
	_, err = PlanFor(v1beta1.Action{}, Inputs{Object: deployment(ctr("app", nil, nil))})
	g.Expect(err).To(MatchError(ErrUnsupportedTarget))
}

func TestShouldMarkStable(t *testing.T) {
	now := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	long := metav1.NewTime(now.Add(-time.Hour))
	recent := metav1.NewTime(now.Add(-time.Minute))
	healthy := func() (*appsv1.ReplicaSet, *appsv1.Deployment) {
		r := rs(5, "app:v5", false)
		r.Status.AvailableReplicas = 3
		d := crashing(5, "app:v5")
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: 3, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, LastTransitionTime: long, LastUpdateTime: long},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastTransitionTime: long, LastUpdateTime: long},
			},
		}
		return &r, d
	}
	tests := []struct {
		name   string
		mutate func(*appsv1.ReplicaSet, *appsv1.Deployment)
		want   bool
		reason string
	}{
		{name: "fully available for long enough", mutate: func(*appsv1.ReplicaSet, *appsv1.Deployment) {}, want: true, reason: "fully available on revision 5"},
		{name: "not controlled", mutate: func(r *appsv1.ReplicaSet, _ *appsv1.Deployment) { r.OwnerReferences[0].UID = "x" }, reason: "not controlled"},
		{name: "older revision", mutate: func(r *appsv1.ReplicaSet, _ *appsv1.Deployment) { r.Annotations[RevisionAnnotation] = "4" }, reason: `revision "4"`},
		{name: "spec not observed", mutate: func(_ *appsv1.ReplicaSet, d *appsv1.Deployment) { d.Generation = 4 }, reason: "not observed"},
		{name: "scaled to zero", mutate: func(_ *appsv1.ReplicaSet, d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](0) }, reason: "scaled to zero"},
		{name: "one unavailable", mutate: func(_ *appsv1.ReplicaSet, d *appsv1.Deployment) {
			d.Status.AvailableReplicas, d.Status.UnavailableReplicas = 2, 1
		}, reason: "not fully available"},
		{name: "old pods still running", mutate: func(_ *appsv1.ReplicaSet, d *appsv1.Deployment) { d.Status.Replicas = 4 }, reason: "not fully available"},
		{name: "ReplicaSet short", mutate: func(r *appsv1.ReplicaSet, _ *appsv1.Deployment) { r.Status.AvailableReplicas = 2 }, reason: "2 of 3"},
		{name: "available only recently", mutate: func(_ *appsv1.ReplicaSet, d *appsv1.Deployment) {
			d.Status.Conditions[0].LastTransitionTime = recent
		}, reason: "not been Available"},
		{name: "rollout completed only recently", mutate: func(_ *appsv1.ReplicaSet, d *appsv1.Deployment) {
			d.Status.Conditions[1].LastUpdateTime = recent
		}, reason: "rollout has not been complete"},
		{name: "rollout still progressing", mutate: func(_ *appsv1.ReplicaSet, d *appsv1.Deployment) {
			d.Status.Conditions[1].Reason = "ReplicaSetUpdated"
		}, reason: "rollout has not been complete"},
		{name: "replica failure", mutate: func(_ *appsv1.ReplicaSet, d *appsv1.Deployment) {
			d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue})
		}, reason: "replica failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			r, d := healthy()
			tt.mutate(r, d)
			ok, why := ShouldMarkStable(r, d, now, 10*time.Minute)
			g.Expect(ok).To(Equal(tt.want))
			g.Expect(why).To(ContainSubstring(tt.reason))
		})
	}
	ok, _ := ShouldMarkStable(nil, nil, now, time.Minute)
	NewWithT(t).Expect(ok).To(BeFalse())
}

// TestPlanRollbackWithoutContainer covers alerts about a whole workload (KubeDeploymentRolloutStuck
// names a deployment, no container): with several containers, the one whose image the latest
// change touched is rolled back, and a change to several is refused.
func TestPlanRollbackWithoutContainer(t *testing.T) {
	bothChanged := rs(4, "app:v4", false)
	bothChanged.Spec.Template.Spec.Containers[1].Image = "proxy:0"
	sidecarOnly := crashing(5, "app:v5")
	sidecarOnly.Spec.Template.Spec.Containers[1].Image = "proxy:2"
	tests := []struct {
		name     string
		d        *appsv1.Deployment
		rss      []appsv1.ReplicaSet
		wantPath string
		want     string
		err      error
	}{{
		name: "the app image changed last",
		d:    crashing(5, "app:v5"), rss: []appsv1.ReplicaSet{rs(5, "app:v5", false), rs(4, "app:v4", false)},
		wantPath: appImage, want: "app:v4",
	}, {
		name: "a revision without image change is passed over",
		d:    crashing(5, "app:v5"), rss: []appsv1.ReplicaSet{rs(5, "app:v5", false), rs(4, "app:v5", false), rs(3, "app:v3", false)},
		wantPath: appImage, want: "app:v3",
	}, {
		name: "the sidecar changed last",
		d:    sidecarOnly, rss: []appsv1.ReplicaSet{rs(4, "app:v5", false)},
		wantPath: "spec.template.spec.containers[sidecar].image", want: "proxy:1",
	}, {
		name: "both changed: a container must be named",
		d:    crashing(5, "app:v5"), rss: []appsv1.ReplicaSet{bothChanged},
		err: ErrContainerNotFound,
	}, {
		name: "nothing changed",
		d:    crashing(5, "app:v5"), rss: []appsv1.ReplicaSet{rs(4, "app:v5", false)},
		err: ErrContainerNotFound,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p, err := PlanRollbackDeployment(tt.d, tt.rss, "", nil)
			if tt.err != nil {
				g.Expect(err).To(MatchError(tt.err))
				g.Expect(err.Error()).To(ContainSubstring("target.containerLabel"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.After).To(Equal(map[string]string{tt.wantPath: tt.want}))
		})
	}

	t.Run("StatefulSet", func(t *testing.T) {
		g := NewWithT(t)
		s := statefulSet(corev1.Container{Name: "app", Image: "db:v3"}, corev1.Container{Name: "exporter", Image: "exporter:1"})
		s.Status.UpdateRevision = "db-3"
		p, err := PlanRollbackStatefulSet(s, []appsv1.ControllerRevision{cr(t, 2, "db:v2"), cr(t, 3, "db:v3")}, "", nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(p.After).To(Equal(map[string]string{appImage: "db:v2"}))
	})
}
