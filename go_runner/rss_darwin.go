//go:build darwin

package main

/*
#include <mach/mach.h>

// cvx_resident_bytes is task_info's resident_size for this task, or -1.
static long long cvx_resident_bytes(void) {
	struct mach_task_basic_info info;
	mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
	if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, (task_info_t)&info, &count) != KERN_SUCCESS) {
		return -1;
	}
	return (long long)info.resident_size;
}
*/
import "C"

import "errors"

// residentBytes is the process's resident set now (task_info MACH_TASK_BASIC_INFO, as the protocol asks).
func residentBytes() (int64, error) {
	n := int64(C.cvx_resident_bytes())
	if n < 0 {
		return 0, errors.New("task_info(MACH_TASK_BASIC_INFO) failed")
	}
	return n, nil
}
