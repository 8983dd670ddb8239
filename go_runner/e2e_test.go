package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// testFile returns the env var's value or the default, and fails (not skips) when the file is missing:
// the end-to-end tests are part of the suite, and their inputs come from `make models data`.
func testFile(t testing.TB, env, def string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		path = def
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("%s (set %s to override) is missing: run `make models data` in the repository root: %v",
			abs, env, err)
	}
	return abs
}

func testModel(t testing.TB, size int) string {
	if size == 640 {
		return testFile(t, "YOLO_BENCH_MODEL_640", "../models/yolov5s-640.onnx")
	}
	return testFile(t, "YOLO_BENCH_MODEL_320", "../models/yolov5s-320.onnx")
}

// testImage returns an image of the test set (YOLO_BENCH_IMAGES, default ../data/images).
func testImage(t testing.TB, name string) string {
	dir := os.Getenv("YOLO_BENCH_IMAGES")
	if dir == "" {
		dir = "../data/images"
	}
	return testFile(t, "YOLO_BENCH_IMAGES", filepath.Join(dir, name))
}

// newTestInferer loads a model with OpenCV DNN as runSingle does. The caller closes it.
func newTestInferer(t testing.TB, model string) inferer {
	t.Helper()
	net, err := readNet(model)
	if err != nil {
		t.Fatal(err)
	}
	net.SetPreferableBackend(gocv.NetBackendOpenCV)
	net.SetPreferableTarget(gocv.NetTargetCPU)
	return &cvInferer{net: net}
}

// newTestPipeline loads a model as runSingle does; the cleanup closes the Net and the pipeline's Mats.
func newTestPipeline(t testing.TB, model string, size int) *pipeline {
	t.Helper()
	inf := newTestInferer(t, model)
	p := newPipeline(inf, size, 0.25, 0.45, 300)
	t.Cleanup(func() {
		p.Close()
		inf.Close()
	})
	return p
}

// countClasses counts detections per class id.
func countClasses(dets []detection) map[int]int {
	counts := map[int]int{}
	for _, d := range dets {
		counts[d.ClassID]++
	}
	return counts
}

func checkDetections(t *testing.T, res result) {
	t.Helper()
	for i, d := range res.dets {
		b := d.Box
		if b[0] < 0 || b[1] < 0 || b[2] > float32(res.width) || b[3] > float32(res.height) ||
			b[0] > b[2] || b[1] > b[3] {
			t.Errorf("detection %d box %v outside %dx%d", i, b, res.width, res.height)
		}
		if d.Score <= 0.25 || d.Score > 1 {
			t.Errorf("detection %d score %v", i, d.Score)
		}
		if i > 0 && d.Score > res.dets[i-1].Score {
			t.Errorf("detection %d not sorted by score: %v > %v", i, d.Score, res.dets[i-1].Score)
		}
	}
}

func TestEndToEndBus320(t *testing.T) {
	p := newTestPipeline(t, testModel(t, 320), 320)
	res, err := p.process(testImage(t, "bus.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if res.width != 810 || res.height != 1080 {
		t.Errorf("size %dx%d, want 810x1080", res.width, res.height)
	}
	counts := countClasses(res.dets)
	if counts[0] == 0 || counts[5] == 0 {
		t.Errorf("want person (0) and bus (5) detections, got %+v", res.dets)
	}
	checkDetections(t, res)
	tm := res.times
	if tm.decode <= 0 || tm.preprocess <= 0 || tm.inference <= 0 || tm.postprocess <= 0 ||
		tm.total != tm.decode+tm.preprocess+tm.inference+tm.postprocess {
		t.Errorf("phase times %+v", tm)
	}
	// A second pass reuses the Mats and must give the same answer.
	first := append([]detection(nil), res.dets...)
	res, err = p.process(testImage(t, "bus.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.dets) != len(first) {
		t.Fatalf("second pass: %d detections, first %d", len(res.dets), len(first))
	}
	for i := range first {
		if res.dets[i] != first[i] {
			t.Errorf("second pass detection %d = %+v, first %+v", i, res.dets[i], first[i])
		}
	}
}

// The reference result of the tech notes: YOLOv5s 640 finds 4 person + 1 bus on bus.jpg.
func TestEndToEndBus640(t *testing.T) {
	p := newTestPipeline(t, testModel(t, 640), 640)
	res, err := p.process(testImage(t, "bus.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	counts := countClasses(res.dets)
	if len(res.dets) != 5 || counts[0] != 4 || counts[5] != 1 {
		t.Errorf("want 4 person + 1 bus, got %+v", res.dets)
	}
	checkDetections(t, res)
}

func TestEndToEndImageReadError(t *testing.T) {
	p := newTestPipeline(t, testModel(t, 320), 320)
	_, err := p.process(filepath.Join(t.TempDir(), "missing.jpg"))
	if re := asRunnerError(err); err == nil || re.code != codeImageRead {
		t.Fatalf("got %v, want an image_read error", err)
	}
}

// TestEndToEndRecords runs the whole runner on the real model and checks the record stream.
func TestEndToEndRecords(t *testing.T) {
	model := testModel(t, 320)
	images := []any{testImage(t, "bus.jpg"), testImage(t, "dog.jpg"), testImage(t, "horses.jpg")}
	spec := writeSpec(t, map[string]any{
		"model":  map[string]any{"name": "yolov5s-320", "path": model, "format": "onnx", "input_size": 320},
		"images": images, "warmup": 1, "iterations": 3, "threads": 1,
	})
	status, recs := runRecords(t, []string{"--spec", spec}, "")
	// 4 iterations over 3 images: horses.jpg is reached at index 2, bus.jpg again at 3.
	want := "hello,load,iteration,detections,iteration,detections,iteration,detections,iteration,end"
	if status != 0 || types(recs) != want {
		t.Fatalf("status %d records %s, want 0 and %s", status, types(recs), want)
	}
	if recs[1]["model"] != "yolov5s-320" || recs[1]["load_ns"].(float64) <= 0 {
		t.Errorf("load %v", recs[1])
	}
	index := 0
	for _, r := range recs {
		switch r["type"] {
		case "iteration":
			if r["index"] != float64(index) || r["warmup"] != (index < 1) ||
				r["image"] != filepath.Base(images[index%3].(string)) {
				t.Errorf("iteration %d: %v", index, r)
			}
			ph := r["phases_ns"].(map[string]any)
			sum := ph["decode"].(float64) + ph["preprocess"].(float64) + ph["inference"].(float64) +
				ph["postprocess"].(float64)
			if sum != r["total_ns"] {
				t.Errorf("iteration %d: phases sum %v != total_ns %v", index, sum, r["total_ns"])
			}
			index++
		case "detections":
			if r["image"] != filepath.Base(images[index-1].(string)) {
				t.Errorf("detections for %v after iteration %d", r["image"], index-1)
			}
			if _, ok := r["detections"].([]any); !ok {
				t.Errorf("detections %v", r)
			}
		}
	}
	end := recs[len(recs)-1]
	if end["iterations"] != 3.0 || end["warmup"] != 1.0 || end["peak_rss_bytes"].(float64) < 1<<20 {
		t.Errorf("end %v", end)
	}

	// Fewer iterations than images: the rest get an untimed detections pass, in spec order.
	spec = writeSpec(t, map[string]any{
		"model":  map[string]any{"name": "yolov5s-320", "path": model, "format": "onnx", "input_size": 320},
		"images": images, "warmup": 0, "iterations": 1, "threads": 0,
	})
	status, recs = runRecords(t, []string{"--spec", spec}, "")
	want = "hello,load,iteration,detections,detections,detections,end"
	if status != 0 || types(recs) != want {
		t.Fatalf("status %d records %s, want 0 and %s", status, types(recs), want)
	}
	for i, name := range []string{"bus.jpg", "dog.jpg", "horses.jpg"} {
		if recs[3+i]["image"] != name {
			t.Errorf("detections record %d is for %v, want %s", i, recs[3+i]["image"], name)
		}
	}

	// A file that is not an image passes the input check but fails to decode: an image_read error after load.
	garbage := filepath.Join(t.TempDir(), "garbage.jpg")
	if err := os.WriteFile(garbage, []byte("not a JPEG"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec = writeSpec(t, map[string]any{
		"model":  map[string]any{"name": "yolov5s-320", "path": model, "format": "onnx", "input_size": 320},
		"images": []any{garbage},
	})
	status, recs = runRecords(t, []string{"--spec", spec}, "")
	if status != 1 || types(recs) != "hello,load,error" || recs[2]["code"] != codeImageRead {
		t.Errorf("status %d records %v", status, recs)
	}
}

// gocv lets C++ exceptions escape (here: a 640 input into the static 320 model fails in forward()); the
// terminate handler must turn them into an internal error record and exit 1. Runs the runner in a child
// process because the handler ends the process.
func TestEndToEndUncaughtCppException(t *testing.T) {
	if spec := os.Getenv("GO_RUNNER_TEST_CHILD_SPEC"); spec != "" {
		installTerminateHandler()
		os.Exit(runMain([]string{"--spec", spec}, os.Stdin, os.Stdout, os.Stderr))
	}
	spec := writeSpec(t, map[string]any{
		"model":  map[string]any{"name": "yolov5s-320", "path": testModel(t, 320), "format": "onnx", "input_size": 640},
		"images": []any{testImage(t, "bus.jpg")}, "warmup": 0, "iterations": 1,
	})
	cmd := exec.Command(os.Args[0], "-test.run=^TestEndToEndUncaughtCppException$")
	cmd.Env = append(os.Environ(), "GO_RUNNER_TEST_CHILD_SPEC="+spec)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1; stderr:\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var last errorRecord
	dec := json.NewDecoder(strings.NewReader(lines[len(lines)-1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&last); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	if len(lines) != 3 || last.Type != "error" || last.Code != codeInternal || !last.Fatal ||
		!strings.Contains(last.Message, "uncaught C++ exception") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}
