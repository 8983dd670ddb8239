package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// pssBytes is this process's proportional set size now, from /proc/self/smaps_rollup (Linux), or 0 where the
// OS has none. The kernel walks every page table for it (about 10 ms with a model loaded), so the runner reads
// it once, after the last timed region.
func pssBytes() int64 {
	f, err := os.Open("/proc/self/smaps_rollup")
	if err != nil {
		return 0
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		if fields := strings.Fields(lines.Text()); len(fields) >= 2 && fields[0] == "Pss:" {
			kib, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kib * 1024
		}
	}
	return 0
}
