package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// encodeKeys encodes rec with the runner's writer and returns its top-level keys, sorted.
func encodeKeys(t *testing.T, rec any) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := newRecordWriter(&buf).write(rec); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedList(s string) []string {
	keys := strings.Fields(s)
	sort.Strings(keys)
	return keys
}

// The keys of docs/protocol.md, "Scenarios": each record carries exactly these, zero values included.
func TestScenarioRecordKeys(t *testing.T) {
	iter := "type index warmup image phases_ns total_ns detections"
	cases := []struct {
		rec  any
		keys string
	}{
		{workerLoadRecord{}, "type model load_ns worker"},
		{videoIterationRecord{}, iter + " frame"},
		{workerIterationRecord{}, iter + " worker"},
		{serverIterationRecord{}, iter + " worker queue_ns latency_ns"},
		{batchIterationRecord{}, iter + " batch"},
		{videoResultRecord{}, "type scenario frames_read processed dropped source_fps measured_wall_ns"},
		{concurrencyResultRecord{}, "type scenario workers mode startup_ns measured_wall_ns completed"},
		{serverResultRecord{}, "type scenario workers mode rate startup_ns measured_wall_ns completed"},
		{callSampleRecord{}, "type call index warmup calls total_ns"},
		{httpIterationRecord{}, iter + " worker queue_ns handler_ns"},
		{httpResultRecord{}, "type scenario workers mode startup_ns served rejected"},
		{listeningRecord{}, "type address port startup_ns"},
		{spawnSampleRecord{}, "type index warmup workers tasks startup_ns tasks_ns rss_before_bytes rss_bytes"},
	}
	for _, c := range cases {
		if got, want := encodeKeys(t, c.rec), sortedList(c.keys); !reflect.DeepEqual(got, want) {
			t.Errorf("%T keys %v, want %v", c.rec, got, want)
		}
	}
}

func TestJSONFloat(t *testing.T) {
	cases := map[jsonFloat]string{10: "10.0", 0: "0.0", 8.5: "8.5", 29.97002997002997: "29.97002997002997",
		-3: "-3.0", 1e21: "1e+21", 1e-7: "1e-07"}
	for v, want := range cases {
		b, err := json.Marshal(v)
		if err != nil || string(b) != want {
			t.Errorf("jsonFloat(%v) encodes as %s, %v; want %s", float64(v), b, err, want)
		}
	}
	if _, err := json.Marshal(jsonFloat(0) / jsonFloat(zero())); err == nil {
		t.Error("NaN encoded")
	}
}

func zero() float64 { return 0 }

// Workers write their own records: concurrent writes must give whole lines, none lost.
func TestRecordWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	rw := newRecordWriter(&buf)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 100; k++ {
				rec := workerIterationRecord{iterationRecord{Type: "iteration", Index: k, Image: strings.Repeat("x", 500)}, w}
				if err := rw.write(rec); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, line := range lines {
		var rec workerIterationRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %.80q: %v", line, err)
		}
	}
}
