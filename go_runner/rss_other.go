//go:build !linux && !darwin && !windows

package main

import (
	"fmt"
	"runtime"
)

// residentBytes has no source on this OS (the BSDs have no /proc/self/statm by default): spawn answers
// internal rather than report a made-up size.
func residentBytes() (int64, error) {
	return 0, fmt.Errorf("the current resident set size is not implemented on %s", runtime.GOOS)
}
