package main

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: -std=c++11
// Windows has no pkg-config: gocv v0.31.0's own layout (its win_build_opencv.cmd, a MinGW build); an OpenCV elsewhere
// is named by CGO_CPPFLAGS and CGO_LDFLAGS (with gocv's customenv tag), which apply to this file too.
#cgo windows CPPFLAGS: -IC:/opencv/build/install/include
#cgo windows LDFLAGS: -LC:/opencv/build/install/x64/mingw/lib -lopencv_core460 -lopencv_dnn460
#include <stdlib.h>
#include "cvextra.h"
*/
import "C"

import (
	"errors"
	"os"
	"unsafe"

	"gocv.io/x/gocv"
)

// installTerminateHandler turns an uncaught C++ exception into an internal error record and exit 1.
func installTerminateHandler() { C.cvx_install_terminate_handler() }

// recordsOutput is where records go: a private duplicate of stdout, as fd 1 itself now points at stderr
// (OpenCV's logger prints INFO/DEBUG lines there). Falls back to os.Stdout where that is not possible.
func recordsOutput() *os.File {
	fd := int(C.cvx_claim_stdout())
	if fd < 0 {
		return os.Stdout
	}
	return os.NewFile(uintptr(fd), "records")
}

// emptyCall is one cgo call into a C function that does nothing (call_overhead's "empty" call).
func emptyCall() { C.cvx_empty() }

// setNumThreads calls cv::setNumThreads (gocv v0.31.0 lacks it).
func setNumThreads(n int) { C.cvx_set_num_threads(C.int(n)) }

// getNumThreads calls cv::getNumThreads.
func getNumThreads() int { return int(C.cvx_get_num_threads()) }

// opencvVersion is the version of the library actually loaded, not of the headers gocv was built with.
func opencvVersion() string { return takeCString(C.cvx_version_string()) }

// buildInformation is the text of cv::getBuildInformation().
func buildInformation() string { return takeCString(C.cvx_build_information()) }

// availableTargets returns cv::dnn::getAvailableTargets(backend) as target ids.
func availableTargets(backend int) []int {
	buf := make([]C.int, 16)
	n := int(C.cvx_available_targets(C.int(backend), &buf[0], C.int(len(buf))))
	if n > len(buf) {
		buf = make([]C.int, n)
		n = int(C.cvx_available_targets(C.int(backend), &buf[0], C.int(len(buf))))
	}
	ids := make([]int, n)
	for i := range ids {
		ids[i] = int(buf[i])
	}
	return ids
}

// gocv.Net is struct{ p unsafe.Pointer } holding a cv::dnn::Net*; readNet relies on that layout (pinned
// gocv v0.31.0). This line stops the build if the size ever changes.
var _ = [1]struct{}{}[unsafe.Sizeof(gocv.Net{})-unsafe.Sizeof(unsafe.Pointer(nil))]

// readNet is cv::dnn::readNet(model) with C++ exceptions turned into a Go error; gocv.ReadNet would abort
// the process on a model that OpenCV cannot parse. The result is closed with gocv's Net.Close.
func readNet(model string) (gocv.Net, error) {
	cModel := C.CString(model)
	defer C.free(unsafe.Pointer(cModel))
	var cErr *C.char
	p := C.cvx_read_net(cModel, &cErr)
	if p == nil {
		return gocv.Net{}, errors.New(takeCString(cErr))
	}
	return *(*gocv.Net)(unsafe.Pointer(&p)), nil
}

// takeCString copies a malloc'd C string into Go and frees it.
func takeCString(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.free(unsafe.Pointer(s))
	return C.GoString(s)
}
