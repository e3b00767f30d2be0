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

// setMemoryLimit sets the Go runtime's soft memory limit to memoryLimitPercent of the
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
	soft := limit / 100 * memoryLimitPercent
	debug.SetMemoryLimit(soft)
	return soft
}
