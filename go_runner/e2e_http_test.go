package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// End-to-end runs of the http scenario: the runner as a child process (this test binary, see TestMain),
// driven over HTTP on 127.0.0.1 and stopped by closing its stdin, as the orchestrator does.

// childSpecEnv makes the test binary run the runner on that spec instead of the tests (TestMain).
const childSpecEnv = "GO_RUNNER_TEST_RUNNER_SPEC"

// TestMain lets a test start the runner as a process of its own with the code under test: the child runs
// before the testing framework, which would turn its os.Exit(0) into a failure.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childSpecEnv); spec != "" {
		installTerminateHandler()
		os.Exit(runMain([]string{"--spec", spec}, os.Stdin, recordsOutput(), os.Stderr))
	}
	os.Exit(m.Run())
}

// httpRunner is a started http runner: its stdin, its records so far, its address.
type httpRunner struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan map[string]any
	recs   []map[string]any
	addr   string // 127.0.0.1:port
	stderr bytes.Buffer
}

// startHTTPRunner starts the runner on the 320 model and the given overrides, and returns once it listens.
func startHTTPRunner(t *testing.T, overrides map[string]any) *httpRunner {
	t.Helper()
	spec := map[string]any{"scenario": "http", "mode": "goroutines", "threads": 1, "warmup": 1,
		"model":  map[string]any{"name": "yolov5s-320", "path": testModel(t, 320), "format": "onnx", "input_size": 320},
		"images": []any{testImage(t, "bus.jpg"), testImage(t, "zidane.jpg")}}
	for k, v := range overrides {
		spec[k] = v
	}
	r := &httpRunner{cmd: exec.Command(os.Args[0]), lines: make(chan map[string]any, 1024)}
	r.cmd.Env = append(os.Environ(), childSpecEnv+"="+writeSpec(t, spec))
	r.cmd.Stderr = &r.stderr
	stdin, err1 := r.cmd.StdinPipe()
	stdout, err2 := r.cmd.StdoutPipe()
	if err := errors.Join(err1, err2, r.cmd.Start()); err != nil {
		t.Fatal(err)
	}
	r.stdin = stdin
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	})
	go readRecords(stdout, r.lines)
	stopAt := func(rec map[string]any) bool { return rec["type"] == "listening" || rec["type"] == "error" }
	if !r.collect(60*time.Second, stopAt) || r.recs[len(r.recs)-1]["type"] != "listening" {
		t.Fatalf("no listening record (records %s %v)", types(r.recs), r.recs[len(r.recs)-1])
	}
	r.addr = fmt.Sprintf("127.0.0.1:%v", r.recs[len(r.recs)-1]["port"])
	return r
}

// readRecords decodes stdout's lines into lines, and closes it at end of file.
func readRecords(stdout io.Reader, lines chan<- map[string]any) {
	defer close(lines)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			m = map[string]any{"type": "not JSON: " + sc.Text()}
		}
		lines <- m
	}
}

// collect keeps the records that arrive until until(rec) holds (true), stdout closes or timeout passes.
func (r *httpRunner) collect(timeout time.Duration, until func(map[string]any) bool) bool {
	deadline := time.After(timeout)
	for {
		select {
		case rec, ok := <-r.lines:
			if !ok {
				return false
			}
			r.recs = append(r.recs, rec)
			if until(rec) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// stop closes stdin, reads the records to the end and returns the exit status.
func (r *httpRunner) stop(t *testing.T) int {
	t.Helper()
	r.stdin.Close()
	r.collect(60*time.Second, func(map[string]any) bool { return false })
	err := r.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// send makes one request and returns the status and the decoded JSON body; any failure ends the test.
func send(t *testing.T, method, url, contentType, name string, body io.Reader) (int, map[string]any) {
	t.Helper()
	status, m, err := doRequest(method, url, contentType, name, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, m
}

// doRequest is send for any goroutine: it returns its failure.
func doRequest(method, url, contentType, name string, body io.Reader) (int, map[string]any, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if name != "" {
		req.Header.Set("X-Image-Name", name)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return 0, nil, fmt.Errorf("%s %s: %d, body not JSON: %v", method, url, resp.StatusCode, err)
	}
	return resp.StatusCode, m, nil
}

func readImage(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(testImage(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// asDetections reads a decoded detections list as the pipeline's float32 detections.
func asDetections(t *testing.T, v any) []detection {
	t.Helper()
	raw, _ := json.Marshal(v)
	var dets []detection
	if err := json.Unmarshal(raw, &dets); err != nil {
		t.Fatal(err)
	}
	return dets
}

// refusals counts what the test was refused, by error code.
type refusals map[string]int

func (rf refusals) expect(t *testing.T, what string, status int, body map[string]any, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || body["error"] != code || body["message"] == "" {
		t.Errorf("%s: %d %v, want %d %s", what, status, body, wantStatus, code)
	}
	rf[code]++
}

func (rf refusals) total() int {
	n := 0
	for _, c := range rf {
		n += c
	}
	return n
}

// One network, no queue: every check of docs/protocol.md's http section against one server.
func TestEndToEndHTTP(t *testing.T) {
	r := startHTTPRunner(t, map[string]any{"workers": 1,
		"http": map[string]any{"queue": 0, "max_body_bytes": 200_000, "port": 0}})
	base := "http://" + r.addr
	status, body := send(t, "GET", base+"/healthz", "", "", nil)
	if status != 200 || body["status"] != "ready" || body["workers"] != 1.0 {
		t.Errorf("healthz: %d %v", status, body)
	}
	served := 0
	status, body = send(t, "POST", base+"/v1/detect", "image/jpeg", "bus.jpg", bytes.NewReader(readImage(t, "bus.jpg")))
	if status != 200 || body["image"] != "bus.jpg" || body["width"] != 810.0 || body["height"] != 1080.0 {
		t.Fatalf("detect bus.jpg: %d %v", status, body)
	}
	served++
	checkSameAsSingle(t, body)

	rf := refusals{}
	checkRefusals(t, base, rf)
	checkTooLarge(t, r.addr, base, rf)
	ok, overloaded := checkOverload(t, base)
	served += ok
	rf["overloaded"] += overloaded
	checkManyConnections(t, r.addr, 1100)

	if status := r.stop(t); status != 0 {
		t.Fatalf("exit status %d, records %s; stderr:\n%s", status, types(r.recs), r.stderr.String())
	}
	checkHTTPRecords(t, r.recs, served, rf.total())
}

// checkSameAsSingle holds a detect answer to the single scenario's detections for the same file: imdecode
// of the bytes and imread of the file give the same pixels, so the floats are the same to the bit.
func checkSameAsSingle(t *testing.T, answer map[string]any) {
	t.Helper()
	status, recs := scenarioRun(t, map[string]any{"scenario": "single", "warmup": 0, "iterations": 1,
		"images": []any{testImage(t, "bus.jpg")}})
	single := ofType(recs, "detections")
	if status != 0 || len(single) != 1 {
		t.Fatalf("single: status %d records %s", status, types(recs))
	}
	got, want := asDetections(t, answer["detections"]), asDetections(t, single[0]["detections"])
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("http detections %v, single scenario %v", got, want)
	}
}

// checkRefusals sends a bad image, a wrong type, a wrong path and wrong methods.
func checkRefusals(t *testing.T, base string, rf refusals) {
	t.Helper()
	s, b := send(t, "POST", base+"/v1/detect", "image/jpeg", "bad.jpg", strings.NewReader("not a JPEG at all"))
	rf.expect(t, "bad bytes", s, b, 400, "bad_image")
	s, b = send(t, "POST", base+"/v1/detect", "image/jpeg", "", http.NoBody)
	rf.expect(t, "empty body", s, b, 400, "bad_image")
	s, b = send(t, "POST", base+"/v1/detect", "text/plain", "", bytes.NewReader(readImage(t, "zidane.jpg")))
	rf.expect(t, "text/plain", s, b, 415, "unsupported_media_type")
	s, b = send(t, "POST", base+"/v1/detect", "", "", bytes.NewReader(readImage(t, "zidane.jpg")))
	rf.expect(t, "no Content-Type", s, b, 415, "unsupported_media_type")
	s, b = send(t, "GET", base+"/nowhere", "", "", nil)
	rf.expect(t, "unknown path", s, b, 404, "not_found")
	s, b = send(t, "GET", base+"/v1/detect", "", "", nil)
	rf.expect(t, "GET detect", s, b, 405, "method_not_allowed")
	s, b = send(t, "POST", base+"/healthz", "image/png", "", strings.NewReader("x"))
	rf.expect(t, "POST healthz", s, b, 405, "method_not_allowed")
}

// checkTooLarge announces 100 MB and sends 4 KB: the 413 must come from Content-Length alone, at once. A
// chunked body (no Content-Length) is refused once it passes the limit. The server still answers after both.
func checkTooLarge(t *testing.T, addr, base string, rf refusals) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t0 := time.Now()
	fmt.Fprintf(conn, "POST /v1/detect HTTP/1.1\r\nHost: %s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n",
		addr, 100<<20)
	conn.Write(make([]byte, 4096))
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("100 MB Content-Length: %v", err)
	}
	var b map[string]any
	json.NewDecoder(resp.Body).Decode(&b)
	rf.expect(t, "100 MB Content-Length", resp.StatusCode, b, 413, "too_large")
	if elapsed := time.Since(t0); elapsed > 3*time.Second {
		t.Errorf("the 413 took %v: the server waited for the body", elapsed)
	}

	chunked := struct{ io.Reader }{bytes.NewReader(make([]byte, 300_000))} // no length: sent chunked
	s, body := send(t, "POST", base+"/v1/detect", "image/jpeg", "", chunked)
	rf.expect(t, "chunked body over the limit", s, body, 413, "too_large")
	if s, _ := send(t, "GET", base+"/healthz", "", "", nil); s != 200 {
		t.Errorf("healthz after the refusals: %d", s)
	}
}

// checkOverload sends 6 requests at once to one network without a queue: one is served at a time, and the
// requests that find it busy are refused at once with 503. Returns the counts of 200 and 503 answers.
func checkOverload(t *testing.T, base string) (ok, overloaded int) {
	t.Helper()
	img := readImage(t, "bus.jpg")
	statuses := make([]int, 6)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, b, err := doRequest("POST", base+"/v1/detect", "application/octet-stream", "", bytes.NewReader(img))
			if err != nil {
				t.Error(err)
			}
			if s == 200 && b["image"] != "request" {
				t.Errorf("a request without X-Image-Name is named %v, want request", b["image"])
			}
			if s == 503 && b["error"] != "overloaded" {
				t.Errorf("503 body %v", b)
			}
			statuses[i] = s
		}()
	}
	wg.Wait()
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 503:
			overloaded++
		default:
			t.Errorf("overload: status %d", s)
		}
	}
	if ok < 1 || overloaded < 1 {
		t.Errorf("6 requests at once on 1 network, queue 0: statuses %v, want some 200 and some 503", statuses)
	}
	return ok, overloaded
}

// checkManyConnections opens n connections, asks healthz on each twice (keep-alive) with all of them open.
func checkManyConnections(t *testing.T, addr string, n int) {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	readers := make([]*bufio.Reader, n)
	for round := 0; round < 2; round++ {
		for _, c := range conns {
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		}
		for i, c := range conns {
			if readers[i] == nil {
				readers[i] = bufio.NewReader(c)
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(readers[i], nil)
			if err != nil {
				t.Fatalf("round %d, connection %d of %d: %v", round, i, n, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Close {
				t.Fatalf("round %d, connection %d: %d, close %v", round, i, resp.StatusCode, resp.Close)
			}
		}
	}
}

// checkHTTPRecords checks the stream: warm-up, listening, one iteration per served request, result, end.
func checkHTTPRecords(t *testing.T, recs []map[string]any, served, rejected int) {
	t.Helper()
	if recs[0]["type"] != "hello" || len(ofType(recs, "load")) != 1 || len(ofType(recs, "listening")) != 1 {
		t.Fatalf("records %s", types(recs))
	}
	listening := ofType(recs, "listening")[0]
	if listening["address"] != "127.0.0.1" || listening["startup_ns"].(float64) <= 0 {
		t.Errorf("listening %v", listening)
	}
	seen := map[float64]bool{}
	measured := 0
	for _, it := range ofType(recs, "iteration") {
		checkIteration(t, it)
		if it["warmup"] == true {
			continue
		}
		measured++
		seen[it["index"].(float64)] = true
		q, h, total := it["queue_ns"].(float64), it["handler_ns"].(float64), it["total_ns"].(float64)
		if it["worker"] != 0.0 || q < 0 || h < q+total {
			t.Errorf("request %v: worker %v queue_ns %v handler_ns %v total_ns %v", it["index"], it["worker"], q, h, total)
		}
	}
	for k := 0; k < served; k++ {
		if !seen[float64(k)] {
			t.Errorf("no iteration record with index %d (%d served)", k, served)
		}
	}
	res := ofType(recs, "result")
	if measured != served || len(res) != 1 || res[0]["served"] != float64(served) ||
		res[0]["rejected"] != float64(rejected) || res[0]["workers"] != 1.0 || res[0]["mode"] != "goroutines" ||
		res[0]["startup_ns"] != listening["startup_ns"] {
		t.Errorf("%d iteration records, result %v; the test saw %d served, %d refused", measured, res, served, rejected)
	}
	if end := last(t, recs, "end"); end["iterations"] != float64(served) || end["warmup"] != 1.0 {
		t.Errorf("end %v", end)
	}
}

// Under onnxruntime the same server runs on ORT sessions: two networks, one request each way.
func TestEndToEndORTHTTP(t *testing.T) {
	r := startHTTPRunner(t, map[string]any{"workers": 2, "engine": ortEngine(t, "cpu"),
		"http": map[string]any{"queue": 2, "max_body_bytes": 1 << 20, "port": 0}})
	s, body := send(t, "POST", "http://"+r.addr+"/v1/detect", "image/jpeg", "zidane.jpg",
		bytes.NewReader(readImage(t, "zidane.jpg")))
	if s != 200 || body["image"] != "zidane.jpg" || len(asDetections(t, body["detections"])) == 0 {
		t.Errorf("detect zidane.jpg: %d %v", s, body)
	}
	if status := r.stop(t); status != 0 {
		t.Fatalf("exit status %d, records %s; stderr:\n%s", status, types(r.recs), r.stderr.String())
	}
	checkORTHello(t, r.recs[0], "cpu", 1)
	checkCPUProviders(t, r.recs)
	if res := ofType(r.recs, "result"); len(res) != 1 || res[0]["served"] != 1.0 {
		t.Errorf("result %v", res)
	}
}

// A port in use is an internal error that names the address, after the warm-up.
func TestEndToEndHTTPPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	status, recs := scenarioRun(t, map[string]any{"scenario": "http", "workers": 1, "mode": "goroutines",
		"warmup": 0, "http": map[string]any{"queue": 0, "max_body_bytes": 10, "port": port}})
	e := last(t, recs, "error")
	if status != 1 || e["code"] != codeInternal || !strings.Contains(e["message"].(string), ln.Addr().String()) ||
		types(recs) != "hello,load,error" {
		t.Errorf("status %d records %v", status, recs)
	}
}

// With stdin already at end of file the server warms up, listens, serves nothing and ends cleanly.
func TestEndToEndHTTPClosedStdin(t *testing.T) {
	status, recs := scenarioRun(t, map[string]any{"scenario": "http", "workers": 1, "mode": "goroutines",
		"warmup": 1, "http": map[string]any{"queue": 0, "max_body_bytes": 10, "port": 0}})
	want := "hello,load,iteration,detections,listening,result,end"
	if status != 0 || types(recs) != want {
		t.Fatalf("status %d records %s, want %s", status, types(recs), want)
	}
	if res := recs[5]; res["served"] != 0.0 || res["rejected"] != 0.0 {
		t.Errorf("result %v", res)
	}
}
