//go:build matprofile

package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// Run with: go test -tags matprofile ./...

// checkMatCount fails with the profile of the Mats still alive when the count is not want.
func checkMatCount(t *testing.T, what string, want int) {
	t.Helper()
	if n := gocv.MatProfile.Count(); n != want {
		var b bytes.Buffer
		gocv.MatProfile.WriteTo(&b, 1)
		t.Fatalf("%s: %d Mats alive, want %d:\n%s", what, n, want, b.String())
	}
}

// TestNoMatLeak runs the pipeline over real images and checks that every Mat it created was closed.
func TestNoMatLeak(t *testing.T) {
	images := []string{testImage(t, "bus.jpg"), testImage(t, "dog.jpg"), testImage(t, "horses.jpg")}
	model := testModel(t, 320)
	start := gocv.MatProfile.Count()
	func() {
		inf := newTestInferer(t, model)
		defer inf.Close()
		p := newPipeline(inf, 320, 0.25, 0.45, 300)
		defer p.Close()
		for i := 0; i < 30; i++ {
			if _, err := p.process(images[i%len(images)]); err != nil {
				t.Fatal(err)
			}
			// Inside the loop only the pipeline's three reused Mats may be alive.
			checkMatCount(t, "pipeline iteration", start+3)
		}
	}()
	checkMatCount(t, "after the pipeline", start)
}

// TestNoMatLeakProcessBytes checks the http scenario's decode of a request body, valid or not.
func TestNoMatLeakProcessBytes(t *testing.T) {
	data, err := os.ReadFile(testImage(t, "bus.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	start := gocv.MatProfile.Count()
	func() {
		inf := newTestInferer(t, testModel(t, 320))
		defer inf.Close()
		p := newPipeline(inf, 320, 0.25, 0.45, 300)
		defer p.Close()
		for _, body := range [][]byte{data, []byte("not an image"), nil, data} {
			p.processBytes(body)
			checkMatCount(t, "request body", start+3)
		}
	}()
	checkMatCount(t, "after the pipeline", start)
}

// TestNoMatLeakBatch does the same for the batch pipeline: B padded Mats, resized and blob stay alive.
func TestNoMatLeakBatch(t *testing.T) {
	images := []string{testImage(t, "bus.jpg"), testImage(t, "dog.jpg"), testImage(t, "horses.jpg"),
		testImage(t, "zidane.jpg")}
	model := testModelBatch4(t)
	start := gocv.MatProfile.Count()
	func() {
		inf := newTestInferer(t, model)
		defer inf.Close()
		b := newBatchPipeline(inf, 4, 320, 0.25, 0.45, 300)
		defer b.Close()
		for i := 0; i < 3; i++ {
			if _, _, err := b.process(images); err != nil {
				t.Fatal(err)
			}
			checkMatCount(t, "batch iteration", start+4+2)
		}
		// A failed decode closes the images it had read.
		if _, _, err := b.process(append(images[:2:2], "/nonexistent.jpg", images[3])); err == nil {
			t.Fatal("no error for a missing image")
		}
		checkMatCount(t, "batch decode error", start+4+2)
	}()
	checkMatCount(t, "after the batch pipeline", start)
}

// TestNoMatLeakScenarios runs whole scenarios, the concurrent ones included, and checks that the Mat count
// is back to its start value afterwards, also after a failed run.
func TestNoMatLeakScenarios(t *testing.T) {
	video := map[string]any{"path": testVideo(t), "realtime": false}
	badImages := []any{testImage(t, "bus.jpg"), "/nonexistent.jpg"}
	ort := ortEngine(t, "cpu")
	runs := []struct {
		name      string
		overrides map[string]any
	}{
		{"single", map[string]any{"scenario": "single", "warmup": 1, "iterations": 3}},
		{"video", map[string]any{"scenario": "video", "video": video, "warmup": 1, "iterations": 3}},
		{"concurrency", map[string]any{"scenario": "concurrency", "workers": 2, "mode": "goroutines",
			"warmup": 1, "iterations": 6}},
		{"concurrency error", map[string]any{"scenario": "concurrency", "workers": 2, "mode": "goroutines",
			"warmup": 0, "iterations": 6, "images": badImages}},
		{"server", map[string]any{"scenario": "server", "workers": 2, "mode": "goroutines", "rate": 100.0,
			"arrivals_ns": []int64{0, 1e6, 2e6, 3e6}, "warmup": 1, "iterations": 4}},
		{"batch", map[string]any{"scenario": "batch", "batch": 4, "warmup": 1, "iterations": 2,
			"model": map[string]any{"name": "b4", "path": testModelBatch4(t), "format": "onnx", "input_size": 320}}},
		{"call_overhead", map[string]any{"scenario": "call_overhead", "calls_per_sample": 10, "warmup": 1,
			"iterations": 1}},
		{"spawn", map[string]any{"scenario": "spawn", "workers": 4, "mode": "goroutines", "tasks": 8,
			"task_sleep_ns": 0, "print": false, "warmup": 0, "iterations": 1}},
		// stdin is at end of file: the server warms up, listens and stops at once.
		{"http", map[string]any{"scenario": "http", "workers": 2, "mode": "goroutines", "warmup": 1,
			"http": map[string]any{"queue": 0, "max_body_bytes": 10, "port": 0}}},
		// ONNX Runtime reads the blob Mat in place and owns no Mat of its own.
		{"single onnxruntime", map[string]any{"scenario": "single", "warmup": 1, "iterations": 2, "engine": ort}},
		{"concurrency onnxruntime", map[string]any{"scenario": "concurrency", "workers": 2, "mode": "goroutines",
			"warmup": 1, "iterations": 2, "engine": ort}},
		{"batch onnxruntime", map[string]any{"scenario": "batch", "batch": 4, "warmup": 0, "iterations": 1,
			"engine": ort, "model": map[string]any{"name": "b4", "path": testModelBatch4(t), "format": "onnx",
				"input_size": 320}}},
	}
	for _, r := range runs {
		start := gocv.MatProfile.Count()
		status, recs := scenarioRun(t, r.overrides)
		wantStatus := 0
		if strings.HasSuffix(r.name, "error") {
			wantStatus = 1
		}
		if status != wantStatus {
			t.Errorf("%s: status %d, records %s", r.name, status, types(recs))
		}
		checkMatCount(t, r.name, start)
	}
}
