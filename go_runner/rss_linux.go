//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// residentBytes is the process's resident set now: /proc/self/statm's second field (resident pages) times
// the page size. statm is a single line the kernel fills from counters, so reading it costs microseconds,
// unlike smaps_rollup's page-table walk.
func residentBytes() (int64, error) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0, fmt.Errorf("/proc/self/statm: unexpected content %q", data)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %v", err)
	}
	return pages * int64(os.Getpagesize()), nil
}
