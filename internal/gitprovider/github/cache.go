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
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"
)

// ProviderCache hands out one Provider per distinct credentials and base URL, so a GitHub App's
// installation token and the HTTP connections are reused across reconciles instead of being
// made anew for every pull request. A Secret that changes (a rotated key) gets a new Provider;
// the old one is dropped.
type ProviderCache struct {
	// Adjust, when set, changes the options of every Provider built (tests point them at a fake).
	Adjust func(*Options)

	mu        sync.Mutex
	providers map[string]*Provider // key: credentials hash
	byOwner   map[string]string    // owner (e.g. the Secret's namespace/name) -> credentials hash
	pollers   map[*Provider]*Poller
}

// Poller returns the pull-request poller of the Provider for these credentials, the same one
// each time, so the ETags it keeps make unchanged repositories cost a 304 and no rate limit.
func (c *ProviderCache) Poller(owner string, data map[string][]byte, baseURL string) (*Poller, error) {
	p, err := c.Get(owner, data, baseURL)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pollers == nil {
		c.pollers = map[*Provider]*Poller{}
	}
	pl, ok := c.pollers[p]
	if !ok {
		pl = p.NewPoller(DefaultBranchPrefix)
		c.pollers[p] = pl
	}
	return pl, nil
}

// Get returns the Provider for a Secret's data and a base URL; owner names where the data came
// from, so a rotated Secret replaces its old Provider rather than adding one.
func (c *ProviderCache) Get(owner string, data map[string][]byte, baseURL string) (*Provider, error) {
	key := credentialsKey(data, baseURL)
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.providers[key]; ok {
		return p, nil
	}
	opts, err := OptionsFromSecretData(data, baseURL)
	if err != nil {
		return nil, err
	}
	if c.Adjust != nil {
		c.Adjust(&opts)
	}
	p, err := New(opts)
	if err != nil {
		return nil, err
	}
	if c.providers == nil {
		c.providers, c.byOwner = map[string]*Provider{}, map[string]string{}
	}
	if old, ok := c.byOwner[owner]; ok {
		delete(c.pollers, c.providers[old])
		delete(c.providers, old)
	}
	c.providers[key], c.byOwner[owner] = p, key
	return p, nil
}

// credentialsKey hashes the data and base URL, so secrets are never kept as map keys in clear.
func credentialsKey(data map[string][]byte, baseURL string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	h.Write([]byte(baseURL))
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}
