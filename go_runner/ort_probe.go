package main

/*
#cgo CFLAGS: -I${SRCDIR}/../engines/onnxruntime/include
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "onnxruntime_c_api.h"

typedef const OrtApiBase *(ORT_API_CALL *ortx_get_api_base_fn)(void);

// ortx_probe asks the library whose OrtGetApiBase is at get_api_base for its version and, through the API of
// version api_version, for its available providers: one malloc'd string of names, each followed by '\n'.
// Returns 0, 1 when the library lacks that API version (it is older), 2 with a malloc'd *err otherwise.
static int ortx_probe(uintptr_t get_api_base, uint32_t api_version, const char **version, char **providers,
                      char **err) {
	const OrtApiBase *base = ((ortx_get_api_base_fn)get_api_base)();
	if (base == NULL) {
		*err = strdup("OrtGetApiBase returned NULL");
		return 2;
	}
	*version = base->GetVersionString();
	const OrtApi *api = base->GetApi(api_version);
	if (api == NULL) {
		return 1;
	}
	char **names = NULL;
	int n = 0;
	OrtStatus *status = api->GetAvailableProviders(&names, &n);
	if (status != NULL) {
		*err = strdup(api->GetErrorMessage(status));
		api->ReleaseStatus(status);
		return 2;
	}
	size_t len = 1;
	for (int i = 0; i < n; i++) {
		len += strlen(names[i]) + 1;
	}
	char *out = malloc(len), *p = out;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		memcpy(p, names[i], l);
		p[l] = '\n';
		p += l + 1;
	}
	*p = '\0';
	status = api->ReleaseAvailableProviders(names, n);
	if (status != NULL) {
		api->ReleaseStatus(status);
	}
	*providers = out;
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// ortMinAPI is the oldest ORT C API the runner accepts (ORT 1.24, docs/protocol.md "Engines"): the version
// onnxruntime_go v1.27.0 asks for, so a library that passes this probe also initialises there.
const ortMinAPI = 24

// errORTTooOld says that the library lacks C API ortMinAPI.
var errORTTooOld = errors.New("older than ONNX Runtime 1.24 (C API 24)")

// ortProbe is what the library says about itself before any session exists.
type ortProbe struct {
	version   string
	providers []string // GetAvailableProviders, in ORT's order
}

// probeORT loads the library at path (ortOpen: dlopen or LoadLibrary; it stays loaded, as onnxruntime_go
// opens the same file next) and asks it for its version and available providers. onnxruntime_go has no
// wrapper for GetAvailableProviders, hence this call of the runner's own.
func probeORT(path string) (ortProbe, error) {
	getAPIBase, err := ortOpen(path)
	if err != nil {
		return ortProbe{}, err
	}
	var version *C.char
	var providers, cErr *C.char
	switch C.ortx_probe(C.uintptr_t(getAPIBase), ortMinAPI, &version, &providers, &cErr) {
	case 1:
		return ortProbe{version: C.GoString(version)}, fmt.Errorf("version %s is %w", C.GoString(version),
			errORTTooOld)
	case 2:
		return ortProbe{}, errors.New(takeCString(cErr))
	}
	defer C.free(unsafe.Pointer(providers))
	names := strings.Split(strings.TrimSuffix(C.GoString(providers), "\n"), "\n")
	if len(names) == 1 && names[0] == "" {
		names = []string{}
	}
	return ortProbe{version: C.GoString(version), providers: names}, nil
}
