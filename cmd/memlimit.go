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
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitPercent is the share of the container's memory limit the Go runtime is told to stay
// under (GOMEMLIMIT), leaving room for what the runtime does not count (stacks of cgo, the
// kernel's page cache charged to the cgroup) before the kernel's OOM killer acts.
const memoryLimitPercent = 90

// binaryPagesHeadroom is what the soft limit also leaves for the manager binary's own pages,
// which the kernel charges to the container's cgroup like any page cache but the Go runtime does
// not count: 44 MiB of the manager's resident set were file-backed (RssFile) at the end of
// `make bench` row 5 (docs/performance.md, "Memory after the transformed caches"). Without it, in
// a 150 MiB container the heap could grow to 135 MiB and the binary's pages push the container
// past its limit, where the kernel reclaims and faults them in again.
const binaryPagesHeadroom = 48 << 20

// cgroupMemoryFiles are where the container's memory limit is read: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// unlimitedMemory is above any real limit: cgroup v1 reports "no limit" as a number near 2^63.
const unlimitedMemory = int64(1) << 50

// cgroupMemoryLimit reads the container's memory limit in bytes with read (os.ReadFile);
// ok is false when there is none or it cannot be read.
func cgroupMemoryLimit(read func(string) ([]byte, error)) (limit int64, ok bool) {
	for _, f := range cgroupMemoryFiles {
		b, err := read(f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= unlimitedMemory {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// softMemoryLimit is the Go soft memory limit for a container limited to limit bytes: the lower of
// memoryLimitPercent of it and the limit less binaryPagesHeadroom, but never under half the
// limit (a container too small for the binary gets its collector working, not starving).
func softMemoryLimit(limit int64) int64 {
	return max(min(limit/100*memoryLimitPercent, limit-binaryPagesHeadroom), limit/2)
}

// setMemoryLimit sets the Go runtime's soft memory limit to softMemoryLimit of the
// container's memory limit, unless GOMEMLIMIT is set (the runtime then already applies it) or
// the container has no limit. It returns the limit set, 0 when none.
func setMemoryLimit(getenv func(string) string, read func(string) ([]byte, error)) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit, ok := cgroupMemoryLimit(read)
	if !ok {
		return 0
	}
	soft := softMemoryLimit(limit)
	debug.SetMemoryLimit(soft)
	return soft
}
