//go:build !windows

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeORT is a library whose OrtGetApiBase offers no API at all, as an ORT older than the runner's minimum
// answers GetApi(24).
const fakeORT = `
#include <stddef.h>
#include <stdint.h>
typedef struct { const void *(*GetApi)(uint32_t); const char *(*GetVersionString)(void); } base_t;
static const void *get_api(uint32_t v) { (void)v; return NULL; }
static const char *version(void) { return "1.16.3"; }
static const base_t base = {get_api, version};
const base_t *OrtGetApiBase(void) { return &base; }
`

// buildSharedLibrary compiles C source into a shared library with cgo's compiler.
func buildSharedLibrary(t *testing.T, name, source string) string {
	t.Helper()
	dir := t.TempDir()
	src, lib := filepath.Join(dir, name+".c"), filepath.Join(dir, name+".so")
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "env", "CC").Output()
	if err != nil {
		t.Fatal(err)
	}
	cc := strings.Fields(string(out))
	cmd := exec.Command(cc[0], append(cc[1:], "-shared", "-fPIC", "-o", lib, src)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, msg)
	}
	return lib
}

func TestProbeORTRefusesOldAndForeignLibraries(t *testing.T) {
	old := buildSharedLibrary(t, "libold_ort", fakeORT)
	p, err := probeORT(old)
	if !errors.Is(err, errORTTooOld) || p.version != "1.16.3" || !strings.Contains(err.Error(), "1.16.3") {
		t.Errorf("an ORT without C API 24: %+v, %v", p, err)
	}
	foreign := buildSharedLibrary(t, "libforeign", "int not_ort(void) { return 0; }\n")
	if _, err := probeORT(foreign); err == nil || !strings.Contains(err.Error(), "OrtGetApiBase") {
		t.Errorf("a library without OrtGetApiBase: %v", err)
	}
	// Both are backend_unavailable naming the file, and neither becomes the process's ORT.
	if _, err := loadORT(old); asRunnerError(err).code != codeBackendUnavailable ||
		!strings.Contains(err.Error(), old) {
		t.Errorf("loadORT(old): %v", err)
	}
}

func TestProbeORT(t *testing.T) {
	p, err := probeORT(testORTLibrary(t))
	if err != nil || !strings.HasPrefix(p.version, "1.") || !contains(p.providers, "CPUExecutionProvider") {
		t.Errorf("probe %+v, %v", p, err)
	}
}
