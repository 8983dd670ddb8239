package main

import (
	"fmt"
	"syscall"
)

// ortOpen loads the ORT DLL at path (LoadLibrary) and returns the address of its OrtGetApiBase
// (GetProcAddress). The DLL is never freed: it stays loaded for the process, as onnxruntime_go loads it too.
func ortOpen(path string) (uintptr, error) {
	dll, err := syscall.LoadDLL(path)
	if err != nil {
		return 0, err
	}
	proc, err := dll.FindProc("OrtGetApiBase")
	if err != nil {
		return 0, fmt.Errorf("no OrtGetApiBase in it: not an ONNX Runtime library (%v)", err)
	}
	return proc.Addr(), nil
}
