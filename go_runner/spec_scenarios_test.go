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
