package main

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// End-to-end runs of each scenario of docs/protocol.md on the real 320 model, with tiny sizes.

func testVideo(t testing.TB) string {
	return testFile(t, "YOLO_BENCH_VIDEO", "../data/video/vtest.avi")
}

func testModelBatch4(t testing.TB) string {
	return testFile(t, "YOLO_BENCH_MODEL_320_B4", "../models/yolov5s-320-b4.onnx")
}

// scenarioRun runs the runner on the 320 model with three images, one thread, and the given overrides.
func scenarioRun(t *testing.T, overrides map[string]any) (int, []map[string]any) {
	t.Helper()
	spec := map[string]any{
		"model":   map[string]any{"name": "yolov5s-320", "path": testModel(t, 320), "format": "onnx", "input_size": 320},
		"images":  []any{testImage(t, "bus.jpg"), testImage(t, "dog.jpg"), testImage(t, "horses.jpg")},
		"threads": 1,
	}
	for k, v := range overrides {
		spec[k] = v
	}
	return runRecords(t, []string{"--spec", writeSpec(t, spec)}, "")
}

// ofType returns the records of one type, in order.
func ofType(recs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["type"] == typ {
			out = append(out, r)
		}
	}
	return out
}

// checkIteration checks what every iteration record must hold: phases that sum to total_ns.
func checkIteration(t *testing.T, r map[string]any) {
	t.Helper()
	ph := r["phases_ns"].(map[string]any)
	sum := ph["decode"].(float64) + ph["preprocess"].(float64) + ph["inference"].(float64) + ph["postprocess"].(float64)
	if sum != r["total_ns"] || ph["inference"].(float64) <= 0 {
		t.Errorf("iteration %v: phases %v, total_ns %v", r["index"], ph, r["total_ns"])
	}
}

// last returns the last record, which must be of type typ.
func last(t *testing.T, recs []map[string]any, typ string) map[string]any {
	t.Helper()
	if len(recs) == 0 || recs[len(recs)-1]["type"] != typ {
		t.Fatalf("records %s do not end with %s", types(recs), typ)
	}
	return recs[len(recs)-1]
}

func TestEndToEndVideo(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "video", "images": []any{},
		"video": map[string]any{"path": testVideo(t), "realtime": false}, "warmup": 1, "iterations": 7})
	want := "hello,load" + repeat(",iteration,detections", 8) + ",result,end"
	if status != 0 || types(recs) != want {
		t.Fatalf("status %d records %s, want %s", status, types(recs), want)
	}
	var measured float64
	for i, r := range ofType(recs, "iteration") {
		name := fmt.Sprintf("frame-%06d", i)
		if r["index"] != float64(i) || r["frame"] != float64(i) || r["image"] != name || r["warmup"] != (i < 1) {
			t.Errorf("iteration %d: %v", i, r)
		}
		checkIteration(t, r)
		if i >= 1 {
			measured += r["total_ns"].(float64)
		}
		d := ofType(recs, "detections")[i]
		if d["image"] != name || d["width"] != 768.0 || d["height"] != 576.0 {
			t.Errorf("detections %d: %v", i, d)
		}
	}
	res := ofType(recs, "result")[0]
	if res["scenario"] != "video" || res["frames_read"] != 8.0 || res["processed"] != 8.0 || res["dropped"] != 0.0 ||
		res["source_fps"] != 10.0 || res["measured_wall_ns"].(float64) < measured {
		t.Errorf("result %v (measured iterations sum to %v ns)", res, measured)
	}
	if end := last(t, recs, "end"); end["iterations"] != 7.0 || end["warmup"] != 1.0 {
		t.Errorf("end %v", end)
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

// checkRealtime checks a realtime run's counts and returns the frames of the processed iterations.
func checkRealtime(t *testing.T, recs []map[string]any) (frames []int, res map[string]any) {
	t.Helper()
	res = ofType(recs, "result")[0]
	read, processed, dropped := res["frames_read"].(float64), res["processed"].(float64), res["dropped"].(float64)
	if read != processed+dropped {
		t.Errorf("frames_read %v != processed %v + dropped %v", read, processed, dropped)
	}
	iters := ofType(recs, "iteration")
	if float64(len(iters)) != processed || len(ofType(recs, "detections")) != len(iters) {
		t.Errorf("%d iteration and %d detections records for %v processed frames", len(iters),
			len(ofType(recs, "detections")), processed)
	}
	for i, r := range iters {
		f := int(r["frame"].(float64))
		if i > 0 && f <= frames[i-1] {
			t.Errorf("frame %d processed after frame %d", f, frames[i-1])
		}
		frames = append(frames, f)
		checkIteration(t, r)
	}
	return frames, res
}

// On vtest.avi (10 fps) the runner waits for each frame: the run lasts at least until the last frame read
// has arrived, whether or not this machine keeps up (and drops frames).
func TestEndToEndVideoRealtime(t *testing.T) {
	t0 := time.Now()
	status, recs := scenarioRun(t, map[string]any{"scenario": "video", "images": []any{},
		"video": map[string]any{"path": testVideo(t), "realtime": true}, "warmup": 1, "iterations": 3})
	elapsed := time.Since(t0)
	if status != 0 {
		t.Fatalf("status %d records %v", status, recs)
	}
	frames, res := checkRealtime(t, recs)
	if len(frames) != 4 || res["frames_read"] != float64(frames[3]+1) {
		t.Errorf("processed frames %v, result %v: the run stops after the 4th processed frame", frames, res)
	}
	if elapsed < frameOffset(frames[len(frames)-1], 10) {
		t.Errorf("run took %v, but frame %d arrives at %v", elapsed, frames[len(frames)-1],
			frameOffset(frames[len(frames)-1], 10))
	}
	t.Logf("realtime vtest.avi: processed frames %v, dropped %v", frames, res["dropped"])
}

// writeFastVideo writes a 30-frame video at 1000 fps: no CPU infers a frame within 1 ms, so a realtime
// run must drop frames.
func writeFastVideo(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "fast.avi")
	w, err := gocv.VideoWriterFile(path, "MJPG", 1000, 64, 48, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), 48, 64, gocv.MatTypeCV8UC3)
	defer m.Close()
	for i := 0; i < 30; i++ {
		gocv.Circle(&m, image.Pt(2*i, 24), 5, color.RGBA{R: 255}, -1)
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestEndToEndVideoDrops(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "video", "images": []any{},
		"video": map[string]any{"path": writeFastVideo(t), "realtime": true}, "warmup": 1, "iterations": 100})
	if status != 0 {
		t.Fatalf("status %d records %v", status, recs)
	}
	frames, res := checkRealtime(t, recs)
	// The video ends before 101 frames are processed: every frame was read, most were dropped.
	if res["frames_read"] != 30.0 || res["dropped"].(float64) < 1 || len(frames) < 1 || frames[0] != 0 {
		t.Errorf("result %v, processed frames %v", res, frames)
	}
	if end := last(t, recs, "end"); end["iterations"].(float64)+end["warmup"].(float64) != res["processed"] {
		t.Errorf("end %v for %v processed frames", end, res["processed"])
	}
	t.Logf("1000 fps video: processed frames %v, dropped %v", frames, res["dropped"])
}

// A file that is not a video passes the input check but does not open: an image_read error after load.
func TestEndToEndVideoUnreadable(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.avi")
	if err := os.WriteFile(garbage, []byte("not a video"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, recs := scenarioRun(t, map[string]any{"scenario": "video", "images": []any{},
		"video": map[string]any{"path": garbage, "realtime": false}})
	if status != 1 || types(recs) != "hello,load,error" || recs[2]["code"] != codeImageRead {
		t.Errorf("status %d records %v", status, recs)
	}
}

// checkDetectionsOnce checks that every image of the spec got exactly one detections record.
func checkDetectionsOnce(t *testing.T, recs []map[string]any, images ...string) {
	t.Helper()
	count := map[string]int{}
	for _, d := range ofType(recs, "detections") {
		count[d["image"].(string)]++
	}
	for _, name := range images {
		if count[name] != 1 {
			t.Errorf("%d detections records for %s", count[name], name)
		}
	}
	if len(count) != len(images) {
		t.Errorf("detections records for %v, want %v", count, images)
	}
}

// checkWorkerRun checks the records that concurrency and server share: a load and warm-up iterations per
// worker, measured requests 0 .. n-1 each once, and the result's counts.
func checkWorkerRun(t *testing.T, recs []map[string]any, workers, warmup, n int) map[string]any {
	t.Helper()
	loads := ofType(recs, "load")
	if len(loads) != workers {
		t.Fatalf("%d load records for %d workers", len(loads), workers)
	}
	var ks []int
	warm := map[float64]int{}
	for _, r := range ofType(recs, "iteration") {
		checkIteration(t, r)
		w, ok := r["worker"].(float64)
		if !ok || w < 0 || w >= float64(workers) {
			t.Errorf("iteration %v: worker %v", r["index"], r["worker"])
		}
		if r["warmup"] == true {
			warm[w]++
			continue
		}
		ks = append(ks, int(r["index"].(float64)))
	}
	sort.Ints(ks)
	for k := range ks {
		if ks[k] != k || len(ks) != n {
			t.Fatalf("measured requests %v, want 0 .. %d once each", ks, n-1)
		}
	}
	for w := 0; w < workers; w++ {
		if warm[float64(w)] != warmup {
			t.Errorf("worker %d ran %d warm-up iterations, want %d", w, warm[float64(w)], warmup)
		}
	}
	res := ofType(recs, "result")[0]
	if res["workers"] != float64(workers) || res["mode"] != "goroutines" || res["completed"] != float64(n) ||
		res["startup_ns"].(float64) <= 0 || res["measured_wall_ns"].(float64) <= 0 {
		t.Errorf("result %v", res)
	}
	if end := last(t, recs, "end"); end["iterations"] != float64(n) || end["warmup"] != float64(warmup) {
		t.Errorf("end %v", end)
	}
	checkDetectionsOnce(t, recs, "bus.jpg", "dog.jpg", "horses.jpg")
	return res
}

func TestEndToEndConcurrency(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "concurrency", "workers": 2, "mode": "goroutines",
		"warmup": 1, "iterations": 6})
	if status != 0 {
		t.Fatalf("status %d records %s %v", status, types(recs), recs[len(recs)-1])
	}
	res := checkWorkerRun(t, recs, 2, 1, 6)
	if res["scenario"] != "concurrency" {
		t.Errorf("result %v", res)
	}
	// Start-up covers every worker's load and warm-up.
	for _, r := range ofType(recs, "load") {
		if r["load_ns"].(float64) > res["startup_ns"].(float64) {
			t.Errorf("load %v longer than startup_ns %v", r, res["startup_ns"])
		}
	}
	// The measured wall time covers the longest measured iteration.
	for _, r := range ofType(recs, "iteration") {
		if r["warmup"] == false && r["total_ns"].(float64) > res["measured_wall_ns"].(float64) {
			t.Errorf("iteration %v longer than measured_wall_ns %v", r, res["measured_wall_ns"])
		}
	}
}

// A failing request stops every worker; the error record is the last one.
func TestEndToEndConcurrencyError(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "concurrency", "workers": 2, "mode": "goroutines",
		"warmup": 0, "iterations": 6, "images": []any{testImage(t, "bus.jpg"), filepath.Join(t.TempDir(), "x.jpg")}})
	if err := last(t, recs, "error"); status != 1 || err["code"] != codeImageRead {
		t.Errorf("status %d, error %v", status, err)
	}
	if len(ofType(recs, "result")) != 0 || len(ofType(recs, "end")) != 0 {
		t.Errorf("records %s", types(recs))
	}

	// Every worker fails to load: one error record after hello, whoever failed first.
	status, recs = scenarioRun(t, map[string]any{"scenario": "concurrency", "workers": 2, "mode": "goroutines",
		"model": map[string]any{"name": "m", "path": filepath.Join(t.TempDir(), "m.onnx"), "format": "onnx",
			"input_size": 320}})
	if status != 1 || types(recs) != "hello,error" || recs[1]["code"] != codeModelLoad {
		t.Errorf("missing model: status %d records %v", status, recs)
	}
}

func TestEndToEndServer(t *testing.T) {
	ms := int64(time.Millisecond)
	arrivals := []int64{0, 10 * ms, 20 * ms, 300 * ms}
	t0 := time.Now()
	status, recs := scenarioRun(t, map[string]any{"scenario": "server", "workers": 2, "mode": "goroutines",
		"rate": 8.0, "arrivals_ns": arrivals, "warmup": 1, "iterations": 4})
	elapsed := time.Since(t0)
	if status != 0 {
		t.Fatalf("status %d records %s %v", status, types(recs), recs[len(recs)-1])
	}
	res := checkWorkerRun(t, recs, 2, 1, 4)
	if res["scenario"] != "server" || res["rate"] != 8.0 || res["measured_wall_ns"].(float64) < float64(300*ms) {
		t.Errorf("result %v", res)
	}
	if elapsed < 300*time.Millisecond {
		t.Errorf("the run took %v, less than the last arrival", elapsed)
	}
	for _, r := range ofType(recs, "iteration") {
		if r["warmup"] == true {
			continue
		}
		// latency = queueing + service, to the nanosecond: both are measured against the same times.
		q, lat := r["queue_ns"].(float64), r["latency_ns"].(float64)
		if q < 0 || lat != q+r["total_ns"].(float64) {
			t.Errorf("request %v: queue_ns %v latency_ns %v total_ns %v", r["index"], q, lat, r["total_ns"])
		}
	}
}

// detectionsByImage maps image names to their detections records.
func detectionsByImage(recs []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, d := range ofType(recs, "detections") {
		out[d["image"].(string)] = d
	}
	return out
}

func TestEndToEndBatch1(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "batch", "batch": 1, "warmup": 1, "iterations": 1})
	want := "hello,load,iteration,detections,iteration,detections,detections,end" // horses.jpg: untimed pass
	if status != 0 || types(recs) != want {
		t.Fatalf("status %d records %s, want %s", status, types(recs), want)
	}
	for i, r := range ofType(recs, "iteration") {
		if r["batch"] != 1.0 || r["index"] != float64(i) || r["image"] != []string{"bus.jpg", "dog.jpg"}[i] {
			t.Errorf("iteration %v", r)
		}
		checkIteration(t, r)
	}
	checkDetectionsOnce(t, recs, "bus.jpg", "dog.jpg", "horses.jpg")
}

// The batch-4 model: iteration 0 takes images 0-3, the fifth gets an untimed pass (a group filled up to
// 4), and each image's detections match a batch-1 run.
func TestEndToEndBatch4(t *testing.T) {
	names := []string{"bus.jpg", "dog.jpg", "horses.jpg", "zidane.jpg", "giraffe.jpg"}
	var images []any
	for _, n := range names {
		images = append(images, testImage(t, n))
	}
	status, recs := scenarioRun(t, map[string]any{"scenario": "batch", "batch": 4, "warmup": 0, "iterations": 1,
		"images": images, "model": map[string]any{"name": "yolov5s-320-b4", "path": testModelBatch4(t),
			"format": "onnx", "input_size": 320}})
	if status != 0 {
		t.Fatalf("status %d records %s %v", status, types(recs), recs[len(recs)-1])
	}
	it := ofType(recs, "iteration")
	if len(it) != 1 || it[0]["batch"] != 4.0 || it[0]["image"] != "bus.jpg" {
		t.Fatalf("iterations %v", it)
	}
	checkDetectionsOnce(t, recs, names...)
	batched := detectionsByImage(recs)
	var total float64
	for _, n := range names[:4] {
		total += float64(len(batched[n]["detections"].([]any)))
	}
	if it[0]["detections"] != total {
		t.Errorf("iteration detections %v, the 4 images have %v", it[0]["detections"], total)
	}
	_, single := scenarioRun(t, map[string]any{"scenario": "batch", "batch": 1, "warmup": 0, "iterations": 5,
		"images": images})
	for name, d := range detectionsByImage(single) {
		compareDetections(t, name, batched[name]["detections"].([]any), d["detections"].([]any))
	}
}

// compareDetections allows the small float differences of a different batch size (other GEMM blocking).
func compareDetections(t *testing.T, name string, got, want []any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d detections in the batch, %d alone", name, len(got), len(want))
		return
	}
	for i := range got {
		g, w := got[i].(map[string]any), want[i].(map[string]any)
		if g["class_id"] != w["class_id"] || abs(g["score"].(float64)-w["score"].(float64)) > 1e-3 {
			t.Errorf("%s detection %d: %v in the batch, %v alone", name, i, g, w)
		}
		gb, wb := g["box"].([]any), w["box"].([]any)
		for k := range gb {
			if abs(gb[k].(float64)-wb[k].(float64)) > 0.5 {
				t.Errorf("%s detection %d: box %v in the batch, %v alone", name, i, gb, wb)
				break
			}
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestEndToEndCallOverhead(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "call_overhead", "images": []any{},
		"calls_per_sample": 100, "warmup": 1, "iterations": 3,
		// No model is loaded: a missing file is no error.
		"model": map[string]any{"name": "none", "path": "/nonexistent.onnx", "format": "onnx", "input_size": 320}})
	want := "hello" + repeat(",call_sample,call_sample,call_sample,call_sample", 4) + ",end"
	if status != 0 || types(recs) != want {
		t.Fatalf("status %d records %s, want %s", status, types(recs), want)
	}
	for i, r := range ofType(recs, "call_sample") {
		call := []string{"empty", "opencv", "mat", "loop"}[i%4]
		if r["call"] != call || r["index"] != float64(i/4) || r["warmup"] != (i/4 < 1) || r["calls"] != 100.0 ||
			r["total_ns"].(float64) <= 0 {
			t.Errorf("sample %d: %v", i, r)
		}
	}
}
