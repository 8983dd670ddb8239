package main

import (
	"syscall"
	"unsafe"
)

var procGetProcessMemoryInfo = syscall.NewLazyDLL("psapi.dll").NewProc("GetProcessMemoryInfo")

// processMemoryCounters is PROCESS_MEMORY_COUNTERS (psapi.h).
type processMemoryCounters struct {
	cb                         uint32
	pageFaultCount             uint32
	peakWorkingSetSize         uintptr
	workingSetSize             uintptr
	quotaPeakPagedPoolUsage    uintptr
	quotaPagedPoolUsage        uintptr
	quotaPeakNonPagedPoolUsage uintptr
	quotaNonPagedPoolUsage     uintptr
	pagefileUsage              uintptr
	peakPagefileUsage          uintptr
}

// peakRSSBytes is the process's PeakWorkingSetSize.
func peakRSSBytes() (int64, error) {
	c, err := memoryCounters()
	if err != nil {
		return 0, err
	}
	return int64(c.peakWorkingSetSize), nil
}

// residentBytes is the process's working set now (WorkingSetSize), Windows' resident set.
func residentBytes() (int64, error) {
	c, err := memoryCounters()
	if err != nil {
		return 0, err
	}
	return int64(c.workingSetSize), nil
}

// memoryCounters is GetProcessMemoryInfo for this process.
func memoryCounters() (processMemoryCounters, error) {
	var c processMemoryCounters
	c.cb = uint32(unsafe.Sizeof(c))
	h, err := syscall.GetCurrentProcess()
	if err != nil {
		return c, err
	}
	ok, _, callErr := procGetProcessMemoryInfo.Call(uintptr(h), uintptr(unsafe.Pointer(&c)), uintptr(c.cb))
	if ok == 0 {
		return c, callErr
	}
	return c, nil
}
