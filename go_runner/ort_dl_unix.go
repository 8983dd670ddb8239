//go:build !windows

package main

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ortx_open dlopens path and returns the address of its OrtGetApiBase, 0 with a malloc'd *err on failure.
// The handle is never closed: the library stays loaded for the process, as onnxruntime_go loads it too.
static uintptr_t ortx_open(const char *path, char **err) {
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		*err = strdup(dlerror());
		return 0;
	}
	void *fn = dlsym(handle, "OrtGetApiBase");
	if (fn == NULL) {
		*err = strdup("no OrtGetApiBase in it: not an ONNX Runtime library");
		return 0;
	}
	return (uintptr_t)fn;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// ortOpen loads the ORT library at path and returns the address of its OrtGetApiBase.
func ortOpen(path string) (uintptr, error) {
	cPath := C.CString(path)
	defer C.free(unsafe.Pointer(cPath))
	var cErr *C.char
	fn := C.ortx_open(cPath, &cErr)
	if fn == 0 {
		return 0, errors.New(takeCString(cErr))
	}
	return uintptr(fn), nil
}
