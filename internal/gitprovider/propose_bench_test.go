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

package gitprovider_test

import (
	"fmt"
	"testing"

	"github.com/heal8s/heal8s/internal/gitprovider/fake"
	"github.com/heal8s/heal8s/internal/gitprovider/providertest"
)

// BenchmarkPropose opens one pull request per iteration with the real GitHub provider against the
// fake GitHub, without injected latency: the client's own cost of a proposal and the API calls it
// takes (hack/bench measures proposals/s with latency). Run:
//
//	go test ./internal/gitprovider/ -run '^$' -bench Propose -benchmem -cpuprofile cpu.out
func BenchmarkPropose(b *testing.B) {
	srv, err := fake.New(fake.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	const repo = "bench/deploy"
	if err := srv.NewRepo(repo, providertest.Files()); err != nil {
		b.Fatal(err)
	}
	prov, err := srv.Provider()
	if err != nil {
		b.Fatal(err)
	}
	calls0 := prov.Calls()
	b.ResetTimer()
	for i := range b.N {
		pr, err := prov.Propose(b.Context(), providertest.NewProposal(repo, fmt.Sprintf("bench-%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		if pr.Number == 0 {
			b.Fatal("no pull request number")
		}
	}
	b.ReportMetric(float64(prov.Calls()-calls0)/float64(b.N), "calls/proposal")
}
