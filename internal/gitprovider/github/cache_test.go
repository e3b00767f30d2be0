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

package github

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestProviderCacheReusesAndReplaces(t *testing.T) {
	g := NewWithT(t)
	c := &ProviderCache{}
	a, err := c.Get("heal8s-system/gh", map[string][]byte{"token": []byte("one")}, "")
	g.Expect(err).NotTo(HaveOccurred())
	again, err := c.Get("heal8s-system/gh", map[string][]byte{"token": []byte("one")}, "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(BeIdenticalTo(a), "same credentials, same provider")

	enterprise, err := c.Get("heal8s-system/gh", map[string][]byte{"token": []byte("one")}, "https://ghe.example/api/v3/")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(enterprise).NotTo(BeIdenticalTo(a), "another base URL is another provider")

	rotated, err := c.Get("heal8s-system/gh", map[string][]byte{"token": []byte("two")}, "https://ghe.example/api/v3/")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rotated).NotTo(BeIdenticalTo(enterprise))
	g.Expect(c.providers).To(HaveLen(1), "one Secret keeps one provider: the old ones are dropped")

	_, err = c.Get("heal8s-system/broken", map[string][]byte{"appID": []byte("1")}, "")
	g.Expect(err).To(MatchError(ErrMissingCredentials))
	g.Expect(err.Error()).NotTo(ContainSubstring("one"), "errors never carry secret values")
}
