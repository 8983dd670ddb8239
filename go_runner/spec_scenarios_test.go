package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// scenarioSpec returns validSpec as the given scenario with its keys (JSON literals; "" removes a key).
func scenarioSpec(t *testing.T, scenario string, keys map[string]string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(validSpec), &m); err != nil {
		t.Fatal(err)
	}
	m["scenario"] = scenario
	for k, v := range keys {
		if v == "" {
			delete(m, k)
			continue
		}
		var val any
		if err := json.Unmarshal([]byte(v), &val); err != nil {
			t.Fatal(err)
		}
		m[k] = val
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// twentyArrivals is a schedule for validSpec's 20 measured requests, 10 ms apart.
var twentyArrivals = func() string {
	a := make([]int64, 20)
	for k := range a {
		a[k] = int64(k) * 10_000_000
	}
	b, _ := json.Marshal(a)
	return string(b)
}()

func TestParseScenarioKeys(t *testing.T) {
	s, err := parseSpec(scenarioSpec(t, "video", map[string]string{
		"video": `{"path": "/v.avi", "realtime": true}`, "images": "[]"}))
	if err != nil || s.Video.Path != "/v.avi" || !s.Video.Realtime {
		t.Errorf("video: %+v, %v", s, err)
	}
	s, err = parseSpec(scenarioSpec(t, "concurrency", map[string]string{"workers": "4", "mode": `"threads"`}))
	if err != nil || s.Workers != 4 || s.Mode != "threads" {
		t.Errorf("concurrency: %+v, %v", s, err)
	}
	s, err = parseSpec(scenarioSpec(t, "server", map[string]string{"workers": "2", "mode": `"goroutines"`,
		"rate": "8", "arrivals_ns": twentyArrivals}))
	if err != nil || s.Workers != 2 || s.Rate != 8 || len(s.ArrivalsNS) != 20 || s.ArrivalsNS[19] != 190_000_000 {
		t.Errorf("server: %+v, %v", s, err)
	}
	s, err = parseSpec(scenarioSpec(t, "batch", map[string]string{"batch": "4"}))
	if err != nil || s.Batch != 4 {
		t.Errorf("batch: %+v, %v", s, err)
	}
	s, err = parseSpec(scenarioSpec(t, "call_overhead", map[string]string{"calls_per_sample": "1000",
		"images": "[]"}))
	if err != nil || s.CallsPerSample != 1000 {
		t.Errorf("call_overhead: %+v, %v", s, err)
	}
	// Keys of other scenarios are ignored, whatever their type.
	if _, err := parseSpec(scenarioSpec(t, "single", map[string]string{"batch": `"x"`, "workers": "null",
		"video": "7"})); err != nil {
		t.Errorf("single with stray scenario keys: %v", err)
	}
}

func TestCheckArrivals(t *testing.T) {
	if msg := checkArrivals([]int64{0, 0, 7, 7, 100}, 5); msg != "" {
		t.Errorf("ties are allowed: %s", msg)
	}
	if msg := checkArrivals(nil, 0); msg != "" {
		t.Errorf("empty schedule for no request: %s", msg)
	}
	if msg := checkArrivals([]int64{0}, 2); msg == "" {
		t.Error("one arrival for two requests accepted")
	}
}

// Go runs concurrency and server as goroutines; any other mode, known or not, is refused before hello.
func TestMainUnsupportedModes(t *testing.T) {
	for _, scenario := range []string{"concurrency", "server"} {
		for _, mode := range []string{"threads", "processes", "fibers"} {
			keys := map[string]string{"workers": "2", "mode": `"` + mode + `"`, "rate": "8",
				"arrivals_ns": twentyArrivals}
			status, recs := runRecords(t, []string{"--spec", "-"}, string(scenarioSpec(t, scenario, keys)))
			if status != 1 || types(recs) != "error" || recs[0]["code"] != codeUnsupportedScenario ||
				!strings.Contains(recs[0]["message"].(string), mode) {
				t.Errorf("%s %s: status %d records %v", scenario, mode, status, recs)
			}
		}
	}
}

func TestParseSpawnKeys(t *testing.T) {
	keys := map[string]string{"workers": "1000", "mode": `"goroutines"`, "tasks": "10000",
		"task_sleep_ns": "10000000", "print": "true", "images": "[]"}
	s, err := parseSpec(scenarioSpec(t, "spawn", keys))
	if err != nil || s.Workers != 1000 || s.Mode != "goroutines" || s.Spawn.Tasks != 10000 ||
		s.Spawn.TaskSleepNS != 10_000_000 || !s.Spawn.Print {
		t.Fatalf("spawn: %+v, %v", s, err)
	}
	// The bounds themselves are valid.
	for key, v := range map[string]string{"workers": "100000", "tasks": "10000000", "task_sleep_ns": "10000000000"} {
		if _, err := parseSpec(scenarioSpec(t, "spawn", withOverride(keys, key, v))); err != nil {
			t.Errorf("spawn %s %s: %v", key, v, err)
		}
	}
	for key, v := range map[string]string{"task_sleep_ns": "0", "workers": "1", "tasks": "1"} {
		if _, err := parseSpec(scenarioSpec(t, "spawn", withOverride(keys, key, v))); err != nil {
			t.Errorf("spawn %s %s: %v", key, v, err)
		}
	}
	for key, v := range map[string]string{"task_sleep_ns": "1.5", "tasks": "2.5", "print": `"yes"`, "mode": "1",
		"workers": "null"} {
		_, err := parseSpec(scenarioSpec(t, "spawn", withOverride(keys, key, v)))
		if err == nil || asRunnerError(err).code != codeSpec || !strings.Contains(err.Error(), key) {
			t.Errorf("spawn %s %s: %v, want a spec error naming the key", key, v, err)
		}
	}
}

func TestParseHTTPKeys(t *testing.T) {
	keys := map[string]string{"workers": "4", "mode": `"goroutines"`,
		"http": `{"queue": 0, "max_body_bytes": 1, "port": 65535, "python_path": "/py"}`}
	s, err := parseSpec(scenarioSpec(t, "http", keys))
	if err != nil || s.Workers != 4 || s.HTTP != (httpSpec{Queue: 0, MaxBodyBytes: 1, Port: 65535}) {
		t.Fatalf("http: %+v, %v", s, err)
	}
	valid := []string{`{"queue": 64, "max_body_bytes": 8388608, "port": 0}`,
		`{"queue": 1, "max_body_bytes": 9007199254740991, "port": 8080, "python_path": null}`}
	for _, v := range valid {
		if _, err := parseSpec(scenarioSpec(t, "http", withOverride(keys, "http", v))); err != nil {
			t.Errorf("http %s: %v", v, err)
		}
	}
	if _, err := parseSpec(scenarioSpec(t, "http", withOverride(keys, "workers", "1024"))); err != nil {
		t.Errorf("http workers 1024: %v", err)
	}
	invalid := map[string]string{
		`{"queue": 1.5, "max_body_bytes": 1, "port": 0}`:                  "http.queue",
		`{"queue": 1, "max_body_bytes": -5, "port": 0}`:                   "http.max_body_bytes",
		`{"queue": 1, "max_body_bytes": 1, "port": -1}`:                   "http.port",
		`{"queue": 1, "max_body_bytes": 1, "port": true}`:                 "http.port",
		`{"queue": null, "max_body_bytes": 1, "port": 0}`:                 "http.queue",
		`{"queue": 1, "max_body_bytes": 1, "port": 0, "python_path": []}`: "http.python_path",
		`[]`: "http",
		`7`:  "http",
	}
	for v, key := range invalid {
		_, err := parseSpec(scenarioSpec(t, "http", withOverride(keys, "http", v)))
		if err == nil || asRunnerError(err).code != codeSpec || !strings.Contains(err.Error(), key) {
			t.Errorf("http %s: %v, want a spec error naming %s", v, err, key)
		}
	}
	// http's limits are its own: a single spec ignores them whatever they hold.
	if _, err := parseSpec(scenarioSpec(t, "single", map[string]string{"http": "7", "tasks": `"x"`})); err != nil {
		t.Errorf("single with stray http and spawn keys: %v", err)
	}
}

// withOverride copies keys with key set to v.
func withOverride(keys map[string]string, key, v string) map[string]string {
	out := map[string]string{}
	for k, val := range keys {
		out[k] = val
	}
	out[key] = v
	return out
}

// spawn and http run as goroutines only; every other mode is refused before hello, naming it.
func TestMainUnsupportedModesSpawnHTTP(t *testing.T) {
	keys := map[string]map[string]string{
		"spawn": {"workers": "2", "tasks": "2", "task_sleep_ns": "0", "print": "false", "images": "[]"},
		"http":  {"workers": "1", "http": `{"queue": 0, "max_body_bytes": 10, "port": 0}`},
	}
	for scenario, k := range keys {
		for _, mode := range []string{"threads", "asyncio", "processes"} {
			spec := string(scenarioSpec(t, scenario, withOverride(k, "mode", `"`+mode+`"`)))
			status, recs := runRecords(t, []string{"--spec", "-"}, spec)
			if status != 1 || types(recs) != "error" || recs[0]["code"] != codeUnsupportedScenario ||
				!strings.Contains(recs[0]["message"].(string), mode) {
				t.Errorf("%s %s: status %d records %v", scenario, mode, status, recs)
			}
		}
	}
}
