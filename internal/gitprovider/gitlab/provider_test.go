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

package gitlab_test

import (
	"testing"
	"time"

	"github.com/heal8s/heal8s/internal/gitprovider/fake"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlab"
	"github.com/heal8s/heal8s/internal/gitprovider/gitlabfake"
	"github.com/heal8s/heal8s/internal/gitprovider/providertest"
)

// A nested group, as GitLab allows: the project path is URL-encoded in every call.
const repoName = "acme/platform/deploy"

var t0 = time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)

var _ providertest.Backend = (*gitlabfake.Server)(nil)

type env struct {
	srv   *gitlabfake.Server
	clock *fake.Clock
	p     *gitlab.Provider
}

func newEnv(t *testing.T, adjust ...func(*gitlab.Options)) env {
	t.Helper()
	clock := fake.NewClock(t0)
	srv, err := gitlabfake.New(gitlabfake.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := srv.NewRepo(repoName, providertest.Files()); err != nil {
		t.Fatal(err)
	}
	adjust = append([]func(*gitlab.Options){func(o *gitlab.Options) {
		o.Jitter = func(d time.Duration) time.Duration { return d }
	}}, adjust...)
	p, err := srv.Provider(adjust...)
	if err != nil {
		t.Fatal(err)
	}
	return env{srv: srv, clock: clock, p: p}
}

func (e env) harness() providertest.Harness {
	return providertest.Harness{Provider: e.p, Backend: e.srv, Repository: repoName, Faults: e.srv}
}

func TestContractAgainstFakeGitLab(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providertest.Harness {
		t.Helper()
		return newEnv(t).harness()
	})
}
