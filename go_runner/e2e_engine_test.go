package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// End-to-end runs on ONNX Runtime (docs/protocol.md, "Engines"), with the library of the fixture's "ort"
// section (scripts/fetch_onnxruntime.sh installs it) and the real models.

// testORTLibrary is the absolute path of the ORT library the conformance fixture names.
func testORTLibrary(t testing.TB) string {
	t.Helper()
	path := os.Getenv("YOLO_BENCH_ORT_LIBRARY")
	if path == "" {
		path = filepath.Join("..", loadContract(t).ORT["library"])
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("%s (set YOLO_BENCH_ORT_LIBRARY to override) is missing: run scripts/fetch_onnxruntime.sh: %v",
			abs, err)
	}
	return abs
}

// ortEngine is the spec's engine key for ORT with provider.
func ortEngine(t testing.TB, provider string) map[string]any {
	return map[string]any{"name": "onnxruntime", "provider": provider, "library": testORTLibrary(t)}
}

// allTestImages lists the test set's images (data/images), in name order.
func allTestImages(t *testing.T) []any {
	t.Helper()
	dir := filepath.Dir(testImage(t, "bus.jpg"))
	names, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(names) < 3 {
		t.Fatalf("images in %s: %v %v", dir, names, err)
	}
	images := make([]any, len(names))
	for i, n := range names {
		images[i] = n
	}
	return images
}

// checkORTHello checks the hello's engine and ort object against the loaded library.
func checkORTHello(t *testing.T, hello map[string]any, provider string, threads int) {
	t.Helper()
	o, ok := hello["ort"].(map[string]any)
	if hello["engine"] != "onnxruntime" || !ok {
		t.Fatalf("hello %v: want engine onnxruntime and an ort object", hello)
	}
	lib := testORTLibrary(t)
	sum, err := fileSHA256(lib)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := o["session_options"].(map[string]any)
	if !strings.HasPrefix(o["version"].(string), "1.") || o["library"] != lib || o["library_sha256"] != sum ||
		o["linked"] != false || o["provider"] != provider || !contains(anyStrings(o["available_providers"]),
		"CPUExecutionProvider") || opts["intra_op_threads"] != float64(threads) || opts["inter_op_threads"] != 1.0 ||
		opts["execution_mode"] != "sequential" || opts["graph_optimization"] != "all" {
		t.Errorf("hello.ort %v", o)
	}
}

// checkCPUProviders checks that every load record names the session's providers: the CPU alone.
func checkCPUProviders(t *testing.T, recs []map[string]any) {
	t.Helper()
	for _, r := range ofType(recs, "load") {
		if p := anyStrings(r["providers"]); len(p) != 1 || p[0] != "CPUExecutionProvider" {
			t.Errorf("load %v: want providers [CPUExecutionProvider]", r)
		}
	}
}

// Cross-engine tolerance: other kernels, other float rounding, the same detections.
const (
	crossEngineIoU   = 0.9
	crossEngineScore = 0.02
)

// TestEndToEndORTMatchesOpenCV runs the single scenario on both engines over every test image: ORT's
// detections must be OpenCV's, within the cross-engine tolerance.
func TestEndToEndORTMatchesOpenCV(t *testing.T) {
	images := allTestImages(t)
	run := func(engine map[string]any) []map[string]any {
		status, recs := scenarioRun(t, map[string]any{"images": images, "warmup": 0, "iterations": len(images),
			"threads": 2, "engine": engine})
		if status != 0 || len(ofType(recs, "detections")) != len(images) {
			t.Fatalf("engine %v: status %d records %s %v", engine, status, types(recs), recs[len(recs)-1])
		}
		return recs
	}
	cv := run(map[string]any{"name": "opencv"})
	ortRecs := run(ortEngine(t, "cpu"))
	if cv[0]["engine"] != "opencv" || cv[0]["ort"] != nil || cv[1]["providers"] != nil {
		t.Errorf("opencv hello %v, load %v", cv[0]["engine"], cv[1])
	}
	checkORTHello(t, ortRecs[0], "cpu", 2)
	checkCPUProviders(t, ortRecs)

	ortDets := detectionsByImage(ortRecs)
	var worst matchStats
	worst.iou = 1
	for name, d := range detectionsByImage(cv) {
		st := matchDetections(t, name, d["detections"].([]any), ortDets[name]["detections"].([]any))
		worst.iou = math.Min(worst.iou, st.iou)
		worst.score = math.Max(worst.score, st.score)
		worst.matched += st.matched
	}
	t.Logf("ORT vs OpenCV over %d images: %d detections matched, worst IoU %.6f, worst score difference %.2g",
		len(images), worst.matched, worst.iou, worst.score)
}

type matchStats struct {
	matched    int
	iou, score float64 // the worst IoU and the largest score difference of the matched pairs
}

// matchDetections pairs each of want's detections with the got detection of its class that overlaps it
// most, each used once. A detection within the score tolerance of the threshold may be missing on the other
// side (it may fall either way), any other must be matched with IoU >= 0.9 and a score within 0.02.
func matchDetections(t *testing.T, name string, want, got []any) matchStats {
	t.Helper()
	st := matchStats{iou: 1}
	used := make([]bool, len(got))
	for i, w := range want {
		wd := w.(map[string]any)
		best, bestIoU := -1, 0.0
		for j, g := range got {
			gd := g.(map[string]any)
			if iou := boxIoU(wd["box"].([]any), gd["box"].([]any)); !used[j] && gd["class_id"] == wd["class_id"] &&
				iou > bestIoU {
				best, bestIoU = j, iou
			}
		}
		ws := wd["score"].(float64)
		if best < 0 {
			if ws >= 0.25+crossEngineScore {
				t.Errorf("%s: OpenCV detection %d %v has no ORT match in %v", name, i, wd, got)
			}
			continue
		}
		used[best] = true
		diff := abs(ws - got[best].(map[string]any)["score"].(float64))
		if bestIoU < crossEngineIoU || diff > crossEngineScore {
			t.Errorf("%s: OpenCV detection %d %v, ORT %v: IoU %.3f, score difference %.3f", name, i, wd,
				got[best], bestIoU, diff)
		}
		st.matched++
		st.iou, st.score = math.Min(st.iou, bestIoU), math.Max(st.score, diff)
	}
	for j, g := range got {
		if !used[j] && g.(map[string]any)["score"].(float64) >= 0.25+crossEngineScore {
			t.Errorf("%s: ORT detection %v has no OpenCV match", name, g)
		}
	}
	return st
}

// boxIoU is the intersection over union of two [x1, y1, x2, y2] boxes.
func boxIoU(a, b []any) float64 {
	f := func(v []any) (x1, y1, x2, y2 float64) {
		return v[0].(float64), v[1].(float64), v[2].(float64), v[3].(float64)
	}
	ax1, ay1, ax2, ay2 := f(a)
	bx1, by1, bx2, by2 := f(b)
	iw := math.Max(0, math.Min(ax2, bx2)-math.Max(ax1, bx1))
	ih := math.Max(0, math.Min(ay2, by2)-math.Max(ay1, by1))
	inter := iw * ih
	union := (ax2-ax1)*(ay2-ay1) + (bx2-bx1)*(by2-by1) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// Two workers, one session each, on the shared queue.
func TestEndToEndORTConcurrency(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "concurrency", "workers": 2, "mode": "goroutines",
		"warmup": 1, "iterations": 4, "engine": ortEngine(t, "cpu")})
	if status != 0 {
		t.Fatalf("status %d records %s %v", status, types(recs), recs[len(recs)-1])
	}
	checkWorkerRun(t, recs, 2, 1, 4)
	checkORTHello(t, recs[0], "cpu", 1)
	checkCPUProviders(t, recs)
}

func TestEndToEndORTServer(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "server", "workers": 2, "mode": "goroutines",
		"rate": 100.0, "arrivals_ns": []int64{0, 1e6, 2e6}, "warmup": 1, "iterations": 3,
		"engine": ortEngine(t, "cpu")})
	if status != 0 {
		t.Fatalf("status %d records %s %v", status, types(recs), recs[len(recs)-1])
	}
	checkWorkerRun(t, recs, 2, 1, 3)
	checkCPUProviders(t, recs)
}

func TestEndToEndORTVideo(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "video", "images": []any{},
		"video": map[string]any{"path": testVideo(t), "realtime": false}, "warmup": 1, "iterations": 2,
		"engine": ortEngine(t, "cpu")})
	want := "hello,load" + repeat(",iteration,detections", 3) + ",result,end"
	if status != 0 || types(recs) != want {
		t.Fatalf("status %d records %s, want %s", status, types(recs), want)
	}
	checkCPUProviders(t, recs)
}

// The static batch-4 model on ORT: one detections record per image, the same detections as ORT's batch 1.
func TestEndToEndORTBatch4(t *testing.T) {
	names := []string{"bus.jpg", "dog.jpg", "horses.jpg", "zidane.jpg", "giraffe.jpg"}
	var images []any
	for _, n := range names {
		images = append(images, testImage(t, n))
	}
	b4 := map[string]any{"name": "yolov5s-320-b4", "path": testModelBatch4(t), "format": "onnx", "input_size": 320}
	status, recs := scenarioRun(t, map[string]any{"scenario": "batch", "batch": 4, "warmup": 1, "iterations": 1,
		"images": images, "model": b4, "engine": ortEngine(t, "cpu")})
	if status != 0 {
		t.Fatalf("status %d records %s %v", status, types(recs), recs[len(recs)-1])
	}
	it := ofType(recs, "iteration")
	if len(it) != 2 || it[1]["batch"] != 4.0 || it[1]["image"] != "giraffe.jpg" {
		t.Fatalf("iterations %v", it)
	}
	checkDetectionsOnce(t, recs, names...)
	checkCPUProviders(t, recs)
	_, single := scenarioRun(t, map[string]any{"scenario": "batch", "batch": 1, "warmup": 0, "iterations": 5,
		"images": images, "engine": ortEngine(t, "cpu")})
	batched := detectionsByImage(recs)
	for name, d := range detectionsByImage(single) {
		compareDetections(t, name, batched[name]["detections"].([]any), d["detections"].([]any))
	}
}

// A batch the model was not exported for is model_load, naming both shapes, before any session exists.
func TestEndToEndORTBatchMismatch(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "batch", "batch": 4, "warmup": 0, "iterations": 1,
		"engine": ortEngine(t, "cpu")})
	if status != 1 || types(recs) != "hello,error" || recs[1]["code"] != codeModelLoad ||
		!strings.Contains(recs[1]["message"].(string), "[1 3 320 320]") ||
		!strings.Contains(recs[1]["message"].(string), "[4 3 320 320]") {
		t.Errorf("status %d records %v", status, recs)
	}
}

// This ORT is the CPU build: asking for CUDA is backend_unavailable after the hello, never a CPU run.
func TestEndToEndORTCUDAUnavailable(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"engine": ortEngine(t, "cuda"), "warmup": 0, "iterations": 1})
	if contains(helloProviders(recs[0]), "CUDAExecutionProvider") {
		t.Skip("this ONNX Runtime has the CUDA provider")
	}
	if status != 1 || types(recs) != "hello,error" || recs[1]["code"] != codeBackendUnavailable ||
		!strings.Contains(recs[1]["message"].(string), "cuda") ||
		!strings.Contains(recs[1]["message"].(string), "CUDAExecutionProvider") {
		t.Errorf("status %d records %v", status, recs)
	}
	checkORTHello(t, recs[0], "cuda", 1)

	// Appending the provider fails too (the check above comes first): backend_unavailable as well.
	if _, err := newORTSessionOptions(1, "cuda"); asRunnerError(err).code != codeBackendUnavailable {
		t.Errorf("appending CUDA: %v, want backend_unavailable", err)
	}
}

// A model whose first input and output pass the runner's checks but that ORT cannot load (a graph without
// nodes or opset) is model_load from the session itself, naming the file, after the hello.
func TestEndToEndORTSessionModelLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hollow.onnx")
	if err := os.WriteFile(path, pbModel(pbInput(yoloInput), pbOutput(yoloOutput)), 0o644); err != nil {
		t.Fatal(err)
	}
	model := map[string]any{"name": "hollow", "path": path, "format": "onnx", "input_size": 320}
	status, recs := scenarioRun(t, map[string]any{"model": model, "warmup": 0, "iterations": 1,
		"engine": ortEngine(t, "cpu")})
	if status != 1 || types(recs) != "hello,error" || recs[1]["code"] != codeModelLoad ||
		!strings.Contains(recs[1]["message"].(string), "cannot read model "+path) {
		t.Errorf("status %d records %v", status, recs)
	}
}
