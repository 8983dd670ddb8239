package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// recordFor returns a new typed record for a protocol record type in a scenario's stream.
// The warm-up iterations of server and http are not requests: their records are a concurrency scenario's.
func recordFor(scenario, typ string, warmup bool) any {
	if (scenario == "server" || scenario == "http") && warmup && typ == "iteration" {
		scenario = "concurrency"
	}
	switch scenario + "/" + typ {
	case "video/iteration":
		return &videoIterationRecord{}
	case "concurrency/iteration":
		return &workerIterationRecord{}
	case "server/iteration":
		return &serverIterationRecord{}
	case "http/iteration":
		return &httpIterationRecord{}
	case "batch/iteration":
		return &batchIterationRecord{}
	case "concurrency/load", "server/load", "http/load":
		return &workerLoadRecord{}
	case "http/result":
		return &httpResultRecord{}
	case "video/result":
		return &videoResultRecord{}
	case "concurrency/result":
		return &concurrencyResultRecord{}
	case "server/result":
		return &serverResultRecord{}
	}
	switch typ {
	case "hello":
		return &helloRecord{}
	case "load":
		return &loadRecord{}
	case "iteration":
		return &iterationRecord{}
	case "detections":
		return &detectionsRecord{}
	case "end":
		return &endRecord{}
	case "error":
		return &errorRecord{}
	case "call_sample":
		return &callSampleRecord{}
	case "spawn_sample":
		return &spawnSampleRecord{}
	case "listening":
		return &listeningRecord{}
	}
	return nil
}

// keyPaths lists every object key of a decoded JSON value as a path (a.b, a[].b), so nested objects count.
func keyPaths(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			out[prefix+k] = true
			keyPaths(child, prefix+k+".", out)
		}
	case []any:
		for _, child := range x {
			keyPaths(child, prefix+"[].", out)
		}
	}
}

func sortedPaths(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// TestFixtureRoundTrip keeps the Go structs in step with the protocol: every fixture line decodes into its
// typed record with no unknown field, and re-encodes to the same keys and values.
func TestFixtureRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	names, err := filepath.Glob("../tests/fixtures/protocol/stream-*.jsonl")
	if err != nil || len(names) < 9 {
		t.Fatalf("stream fixtures: %v %v", names, err)
	}
	for _, name := range names {
		name = filepath.Base(name)
		scenario := strings.TrimSuffix(strings.TrimPrefix(name, "stream-"), ".jsonl")
		f, err := os.Open("../tests/fixtures/protocol/" + name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Bytes()
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var head struct {
				Type   string          `json:"type"`
				Warmup json.RawMessage `json:"warmup"` // a bool in iterations, a count in the end record
			}
			if err := json.Unmarshal(line, &head); err != nil {
				t.Fatalf("%s:%d: %v", name, n, err)
			}
			rec := recordFor(scenario, head.Type, string(head.Warmup) == "true")
			if rec == nil {
				t.Fatalf("%s:%d: unknown record type %q", name, n, head.Type)
			}
			seen[head.Type] = true
			seen[scenario+"/"+head.Type] = true
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(rec); err != nil {
				t.Fatalf("%s:%d: %s record: %v", name, n, head.Type, err)
			}
			var buf bytes.Buffer
			if err := newRecordWriter(&buf).write(rec); err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(line, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			wantKeys, gotKeys := map[string]bool{}, map[string]bool{}
			keyPaths(want, "", wantKeys)
			keyPaths(got, "", gotKeys)
			if !reflect.DeepEqual(wantKeys, gotKeys) {
				t.Errorf("%s:%d: %s keys\n got %v\nwant %v", name, n, head.Type, sortedPaths(gotKeys),
					sortedPaths(wantKeys))
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("%s:%d: %s values\n got %s\nwant %s", name, n, head.Type, buf.Bytes(), line)
			}
			if bytes.Count(buf.Bytes(), []byte("\n")) != 1 || !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
				t.Errorf("%s:%d: record is not exactly one line: %q", name, n, buf.Bytes())
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	for _, typ := range []string{"hello", "load", "iteration", "detections", "end", "error", "result",
		"call_sample", "spawn_sample", "listening", "http/iteration", "http/result"} {
		if !seen[typ] {
			t.Errorf("the fixtures have no %s record: the test does not cover it", typ)
		}
	}
}

func TestEmptyDetectionsEncodeAsArray(t *testing.T) {
	var buf bytes.Buffer
	rec := newDetectionsRecord("/x/y.jpg", result{width: 4, height: 3})
	if err := newRecordWriter(&buf).write(rec); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"detections","image":"y.jpg","width":4,"height":3,"detections":[]}` + "\n"
	if buf.String() != want {
		t.Errorf("got %s want %s", buf.String(), want)
	}
}
