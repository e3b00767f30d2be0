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

package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if v, ok := m[name]; ok {
			return []byte(v), nil
		}
		return nil, os.ErrNotExist
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  int64
		ok    bool
	}{
		{"cgroup v2 limit", map[string]string{"/sys/fs/cgroup/memory.max": "268435456\n"}, 268435456, true},
		{"cgroup v2 without a limit", map[string]string{"/sys/fs/cgroup/memory.max": "max\n"}, 0, false},
		{"cgroup v1 limit", map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "134217728\n"}, 134217728, true},
		{"cgroup v1 without a limit", map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"no cgroup files", map[string]string{}, 0, false},
		{"garbage", map[string]string{"/sys/fs/cgroup/memory.max": "lots"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cgroupMemoryLimit(files(tt.files))
			if got != tt.want || ok != tt.ok {
				t.Errorf("cgroupMemoryLimit = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(math.MaxInt64)
	limit := files(map[string]string{"/sys/fs/cgroup/memory.max": "268435456"})
	if got := setMemoryLimit(func(string) string { return "" }, limit); got != 208<<20 {
		t.Errorf("setMemoryLimit = %d, want 256 MiB less 48 MiB for the binary's pages", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 208<<20 {
		t.Errorf("the runtime's limit is %d, want 208 MiB", got)
	}
	gomemlimit := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "100MiB"
		}
		return ""
	}
	if got := setMemoryLimit(gomemlimit, limit); got != 0 {
		t.Errorf("setMemoryLimit with GOMEMLIMIT set = %d, want 0 (the runtime applies GOMEMLIMIT itself)", got)
	}
}

func TestSoftMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		limit, want int64
	}{
		// The binary's pages bound a small container: 150 MiB leaves 102 MiB to the heap.
		{150 << 20, 102 << 20},
		{256 << 20, 208 << 20},
		// A large one keeps 10% for the rest.
		{1 << 30, (1 << 30) / 100 * 90},
		// Never less than half the limit.
		{64 << 20, 32 << 20},
	} {
		if got := softMemoryLimit(tc.limit); got != tc.want {
			t.Errorf("softMemoryLimit(%d MiB) = %d MiB, want %d MiB", tc.limit>>20, got>>20, tc.want>>20)
		}
	}
}
