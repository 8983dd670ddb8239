package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const validSpec = `{
  "protocol": 1, "scenario": "single",
  "model": {"name": "yolov5s-320", "path": "/m.onnx", "format": "onnx", "input_size": 320},
  "images": ["../tests/fixtures/protocol/images/red.jpg", "../tests/fixtures/protocol/images/gray.jpg"], "conf_threshold": 0.25, "nms_threshold": 0.45, "max_detections": 300,
  "warmup": 3, "iterations": 20, "threads": 2, "backend": "opencv", "target": "cpu"
}`

// withKey returns validSpec with key set to value (a JSON literal), or removed when value is "".
func withKey(t *testing.T, key, value string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(validSpec), &m); err != nil {
		t.Fatal(err)
	}
	target := m
	if strings.HasPrefix(key, "model.") {
		target = m["model"].(map[string]any)
		key = strings.TrimPrefix(key, "model.")
	}
	if value == "" {
		delete(target, key)
	} else {
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			t.Fatal(err)
		}
		target[key] = v
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseSpecValid(t *testing.T) {
	s, err := parseSpec([]byte(validSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.Model.InputSize != 320 || len(s.Images) != 2 || s.Threads != 2 || s.ConfThreshold != 0.25 ||
		s.Warmup != 3 || s.Iterations != 20 || s.Backend != "opencv" || s.Target != "cpu" {
		t.Errorf("parsed %+v", s)
	}
	// Unknown keys are tolerated (optional keys do not bump the protocol).
	if _, err := parseSpec(withKey(t, "run_id", `"abc"`)); err != nil {
		t.Errorf("unknown key: %v", err)
	}
	// docs/protocol.md: at least one measured iteration, an input size that is a multiple of 32.
	if _, err := parseSpec(withKey(t, "iterations", "0")); err == nil {
		t.Error("iterations 0 accepted")
	}
}

func TestParseSpecFixture(t *testing.T) {
	data, err := os.ReadFile("../tests/fixtures/protocol/stream-single.spec.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseSpec(data); err != nil {
		t.Fatal(err)
	}
}

func TestBackendNames(t *testing.T) {
	// Values of cv::dnn::Backend and cv::dnn::Target in OpenCV 4.x.
	wantBackends := map[string]int{"default": 0, "openvino": 2, "opencv": 3, "cuda": 5}
	wantTargets := map[string]int{"cpu": 0, "opencl": 1, "opencl_fp16": 2, "cuda": 6, "cuda_fp16": 7}
	if len(backendIDs) != len(wantBackends) || len(targetIDs) != len(wantTargets) {
		t.Fatalf("tables %v %v", backendIDs, targetIDs)
	}
	for name, id := range wantBackends {
		if backendIDs[name] != id {
			t.Errorf("backend %s = %d, want %d", name, backendIDs[name], id)
		}
	}
	for name, id := range wantTargets {
		if targetIDs[name] != id {
			t.Errorf("target %s = %d, want %d", name, targetIDs[name], id)
		}
		if targetName(id) != name {
			t.Errorf("targetName(%d) = %s, want %s", id, targetName(id), name)
		}
	}
	if got := targetName(3); got != "target_3" {
		t.Errorf("targetName(3) = %s, want target_3", got)
	}
	if got := targetNames([]int{0, 9, 1}); strings.Join(got, ",") != "cpu,target_9,opencl" {
		t.Errorf("targetNames = %v", got)
	}
}
