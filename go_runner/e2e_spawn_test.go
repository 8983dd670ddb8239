package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// End-to-end runs of the spawn scenario: no model, only goroutines, a channel and sleeps.

// spawnRun runs the spawn scenario in process with the given keys and returns status, records and stderr.
func spawnRun(t *testing.T, keys map[string]any) (int, []map[string]any, string) {
	t.Helper()
	spec := map[string]any{"scenario": "spawn", "mode": "goroutines", "images": []any{}, "print": false,
		// No model is loaded: a missing file is no error.
		"model": map[string]any{"name": "none", "path": "/nonexistent.onnx", "format": "onnx", "input_size": 32}}
	for k, v := range keys {
		spec[k] = v
	}
	var stderr bytes.Buffer
	var stdout bytes.Buffer
	status := runMain([]string{"--spec", writeSpec(t, spec)}, strings.NewReader(""), &stdout, &stderr)
	return status, decodeLines(t, stdout.Bytes()), stderr.String()
}

// 1000 goroutines x 10 tasks of 1 ms each: every sample takes at least 10 ms of tasks.
func TestEndToEndSpawn(t *testing.T) {
	status, recs, _ := spawnRun(t, map[string]any{"workers": 1000, "tasks": 10000, "task_sleep_ns": 1_000_000,
		"warmup": 1, "iterations": 2})
	if want := "hello,spawn_sample,spawn_sample,spawn_sample,end"; status != 0 || types(recs) != want {
		t.Fatalf("status %d records %s, want %s", status, types(recs), want)
	}
	minTasks := float64(10000 / 1000 * time.Millisecond)
	for i, r := range ofType(recs, "spawn_sample") {
		if r["index"] != float64(i) || r["warmup"] != (i < 1) || r["workers"] != 1000.0 || r["tasks"] != 10000.0 {
			t.Errorf("sample %d: %v", i, r)
		}
		if r["startup_ns"].(float64) <= 0 || r["tasks_ns"].(float64) < minTasks {
			t.Errorf("sample %d: startup_ns %v, tasks_ns %v (at least %v)", i, r["startup_ns"], r["tasks_ns"], minTasks)
		}
		if r["rss_before_bytes"].(float64) < 1<<20 || r["rss_bytes"].(float64) < 1<<20 {
			t.Errorf("sample %d: resident sets %v and %v", i, r["rss_before_bytes"], r["rss_bytes"])
		}
	}
	if end := last(t, recs, "end"); end["iterations"] != 2.0 || end["warmup"] != 1.0 {
		t.Errorf("end %v", end)
	}
}

// print: true writes the article's line per task to stderr, never to the records.
func TestEndToEndSpawnPrint(t *testing.T) {
	status, recs, stderr := spawnRun(t, map[string]any{"workers": 3, "tasks": 7, "task_sleep_ns": 0,
		"print": true, "warmup": 0, "iterations": 1})
	if status != 0 || types(recs) != "hello,spawn_sample,end" {
		t.Fatalf("status %d records %s", status, types(recs))
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "Worker ") || !strings.Contains(lines[0], " processed ") {
		t.Errorf("stderr %q, want 7 lines \"Worker <w> processed <task>\"", stderr)
	}
	for task := 0; task < 7; task++ {
		if !strings.Contains(stderr, " processed "+string(rune('0'+task))+"\n") {
			t.Errorf("task %d not printed: %q", task, stderr)
		}
	}
}

// Under onnxruntime spawn still loads nothing: a library that does not exist is never opened.
func TestEndToEndSpawnLoadsNoORT(t *testing.T) {
	status, recs, _ := spawnRun(t, map[string]any{"workers": 2, "tasks": 2, "task_sleep_ns": 0, "warmup": 0,
		"iterations": 1, "engine": map[string]any{"name": "onnxruntime", "provider": "cpu",
			"library": "/nonexistent/libonnxruntime.so"}})
	if status != 0 || types(recs) != "hello,spawn_sample,end" || recs[0]["engine"] != "onnxruntime" ||
		recs[0]["ort"] != nil {
		t.Errorf("status %d records %v", status, recs)
	}
}
