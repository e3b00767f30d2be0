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

package remediation

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/heal8s/heal8s/internal/actions"
	"github.com/heal8s/heal8s/internal/gitprovider"
	"github.com/heal8s/heal8s/internal/manifest"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		class  Class
		reason string
	}{
		{"at maximum", fmt.Errorf("memory of app: %w", actions.ErrAtMaximum), Skip, AtMaximumReason},
		{"container not found", fmt.Errorf("x: %w", actions.ErrContainerNotFound), Skip, ContainerNotFoundReason},
		{"no candidate", fmt.Errorf("x: %w", actions.ErrNoCandidate), Skip, NoCandidateReason},
		{"no change", fmt.Errorf("x: %w", actions.ErrNoChange), Skip, NoChangeReason},
		{"unsupported target", fmt.Errorf("x: %w", actions.ErrUnsupportedTarget), Skip, UnsupportedTargetReason},
		{"controlled HPA", fmt.Errorf("x: %w", actions.ErrControlled), Skip, ControlledHPAReason},
		{"manifest not found", fmt.Errorf("computing the edit: %w", manifest.ErrNotFound), Fail, ManifestNotFoundReason},
		{"manifest ambiguous", fmt.Errorf("x: %w", manifest.ErrAmbiguous), Fail, ManifestAmbiguousReason},
		{"search limit", fmt.Errorf("x: %w", manifest.ErrSearchLimit), Fail, ManifestAmbiguousReason},
		{"path template", fmt.Errorf("x: %w", manifest.ErrPathTemplate), Fail, InvalidPathTemplateReason},
		{"branch not owned", fmt.Errorf("x: %w", gitprovider.ErrBranchNotOwned), Fail, BranchNotOwnedReason},
		{"invalid proposal", fmt.Errorf("x: %w", gitprovider.ErrInvalidProposal), Fail, ProposalInvalidReason},
		{"edit changes nothing", fmt.Errorf("x: %w", gitprovider.ErrNoChange), Fail, ProposalInvalidReason},
		{"provider gave up", fmt.Errorf("x: %w", gitprovider.ErrGaveUp), Transient, ""},
		{"a network error", errors.New("dial tcp: connection refused"), Transient, ""},
		{"a missing file that is not a missing manifest", fmt.Errorf("reading: %w", fs.ErrNotExist), Transient, ""},
		{"nil", nil, Transient, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			class, out := Classify(tt.err)
			g.Expect(class).To(Equal(tt.class))
			if tt.class == Transient {
				g.Expect(out).To(BeNil())
				return
			}
			g.Expect(out.Reason).To(Equal(tt.reason))
			g.Expect(out.Message).To(Equal(tt.err.Error()))
		})
	}
}

func TestClassifyPlan(t *testing.T) {
	g := NewWithT(t)
	class, out := ClassifyPlan(fmt.Errorf("x: %w", actions.ErrAtMaximum))
	g.Expect(class).To(Equal(Skip))
	g.Expect(out.Reason).To(Equal(AtMaximumReason))
	class, out = ClassifyPlan(errors.New(`parsing "12Gb": quantities must match`))
	g.Expect(class).To(Equal(Fail), "a planner reads only what it is given: retrying gives the same error")
	g.Expect(out.Reason).To(Equal(PlanFailedReason))
}
