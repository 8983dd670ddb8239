package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runRecords runs runMain and returns its status and decoded records.
func runRecords(t *testing.T, args []string, stdin string) (int, []map[string]any) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := runMain(args, strings.NewReader(stdin), &stdout, &stderr)
	recs := decodeLines(t, stdout.Bytes())
	if t.Failed() {
		t.Logf("stderr: %s", stderr.String())
	}
	return status, recs
}

// decodeLines decodes JSON Lines records.
func decodeLines(t *testing.T, stdout []byte) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q: %v", sc.Text(), err)
		}
		recs = append(recs, m)
	}
	return recs
}

// types lists the record types in order.
func types(recs []map[string]any) string {
	var s []string
	for _, r := range recs {
		s = append(s, r["type"].(string))
	}
	return strings.Join(s, ",")
}

// writeSpec writes a spec (validSpec with overrides) to a temp file.
func writeSpec(t *testing.T, overrides map[string]any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(validSpec), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range overrides {
		m[k] = v
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMainHelloThenModelLoadError(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("this is not an ONNX model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.onnx"), garbage} {
		spec := writeSpec(t, map[string]any{
			"model": map[string]any{"name": "m", "path": path, "format": "onnx", "input_size": 320},
		})
		status, recs := runRecords(t, []string{"--spec", spec}, "")
		if status != 1 || types(recs) != "hello,error" || recs[1]["code"] != codeModelLoad {
			t.Fatalf("%s: status %d records %s %v", path, status, types(recs), recs[len(recs)-1])
		}
		if !strings.Contains(recs[1]["message"].(string), path) {
			t.Errorf("message %q does not name the model", recs[1]["message"])
		}
	}
}

func TestMainHello(t *testing.T) {
	spec := writeSpec(t, map[string]any{"threads": 1,
		"model": map[string]any{"name": "m", "path": "/nonexistent.onnx", "format": "onnx", "input_size": 320}})
	_, recs := runRecords(t, []string{"--spec", spec}, "")
	h := recs[0]
	if h["type"] != "hello" || h["protocol"] != 1.0 || h["runner"] != "go_runner" || h["language"] != "go" ||
		!strings.HasPrefix(h["language_version"].(string), "go") || h["threads"] != 1.0 ||
		h["pid"] != float64(os.Getpid()) || h["backend"] != "opencv" || h["target"] != "cpu" {
		t.Errorf("hello %v", h)
	}
	if v := h["opencv_version"].(string); !strings.HasPrefix(v, "4.") && !strings.HasPrefix(v, "5.") {
		t.Errorf("opencv_version %q", v)
	}
	if info := h["opencv_build_info"].(string); !strings.Contains(info, "General configuration for OpenCV") {
		t.Errorf("opencv_build_info %.80q", info)
	}
	if hash := h["opencv_build_hash"].(string); len(hash) != 64 {
		t.Errorf("opencv_build_hash %q", hash)
	}
	// The OpenCV backend always offers the CPU (not necessarily first: OpenCL targets come before it).
	targets, _ := h["available_targets"].([]any)
	hasCPU := false
	for _, v := range targets {
		hasCPU = hasCPU || v == "cpu"
	}
	if !hasCPU {
		t.Errorf("available_targets %v", h["available_targets"])
	}
}
