package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// videoSpec is the video scenario's "video" key.
type videoSpec struct {
	Path     string `json:"path"`
	Realtime bool   `json:"realtime"`
}

// scenarioKeys are the keys that only one scenario requires (docs/protocol.md, "Scenarios"). They are read
// for the spec's own scenario alone, so that a stray key of another scenario is ignored, as the protocol
// says, whatever its type.
type scenarioKeys struct {
	Video          videoSpec
	Workers        int
	Mode           string
	Rate           float64
	ArrivalsNS     []int64
	Batch          int
	CallsPerSample int
	Spawn          spawnSpec
	HTTP           httpSpec
}

// spawnSpec is the spawn scenario's keys: workers and mode are the shared Workers and Mode.
type spawnSpec struct {
	Tasks       int
	TaskSleepNS int64
	Print       bool
}

// httpSpec is the http scenario's "http" key (python_path is the Python runner's: Go checks its type only).
type httpSpec struct {
	Queue        int
	MaxBodyBytes int64
	Port         int
}

// Limits of the spawn and http keys (docs/protocol.md): beyond them a run is a typo, not an experiment.
const (
	maxSpawnWorkers = 100_000
	maxSpawnTasks   = 10_000_000
	maxTaskSleepNS  = 10_000_000_000
	maxHTTPWorkers  = 1024
	maxPort         = 65535
)

// Scenarios in which "images" may be empty: they read a video, or no image at all.
var imagesOptional = map[string]bool{"video": true, "call_overhead": true, "spawn": true}

// Modes of the concurrency and server scenarios. The runner accepts any of them in the spec and refuses the
// ones it cannot run with unsupported_scenario (runScenario), as the protocol asks.

// parseScenarioKeys reads and checks the keys of s.Scenario. An unknown scenario has none: runScenario
// refuses it.
func (s *spec) parseScenarioKeys(raw map[string]json.RawMessage) error {
	var problems []string
	key := func(name string, dst any) bool {
		if err := decodeKey(raw, name, dst); err != nil {
			problems = append(problems, err.Error())
			return false
		}
		return true
	}
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch s.Scenario {
	case "video":
		var v map[string]json.RawMessage
		if key("video", &v) {
			if err := decodeKey(v, "path", &s.Video.Path, "video."); err != nil {
				bad("%v", err)
			} else if s.Video.Path == "" {
				bad("video.path is empty")
			}
			if err := decodeKey(v, "realtime", &s.Video.Realtime, "video."); err != nil {
				bad("%v", err)
			}
		}
	case "concurrency", "server":
		if key("workers", &s.Workers) && s.Workers < 1 {
			bad("workers %d must be >= 1", s.Workers)
		}
		// Any mode but goroutines is refused later with unsupported_scenario (docs/protocol.md), unknown ones too.
		key("mode", &s.Mode)
		if s.Scenario == "server" {
			if key("rate", &s.Rate) && !(s.Rate > 0) {
				bad("rate %v must be > 0", s.Rate)
			}
			if key("arrivals_ns", &s.ArrivalsNS) {
				if msg := checkArrivals(s.ArrivalsNS, s.Iterations); msg != "" {
					bad("%s", msg)
				}
			}
		}
	case "spawn":
		problems = append(problems, s.parseSpawnKeys(raw)...)
	case "http":
		problems = append(problems, s.parseHTTPKeys(raw)...)
	case "batch":
		if key("batch", &s.Batch) && s.Batch < 1 {
			bad("batch %d must be >= 1", s.Batch)
		}
	case "call_overhead":
		if key("calls_per_sample", &s.CallsPerSample) && s.CallsPerSample < 1 {
			bad("calls_per_sample %d must be >= 1", s.CallsPerSample)
		}
	}
	if len(problems) > 0 {
		return newError(codeSpec, "invalid spec: %s", strings.Join(problems, "; "))
	}
	return nil
}

// parseSpawnKeys reads workers, mode, tasks, task_sleep_ns and print, and returns what is wrong with them.
func (s *spec) parseSpawnKeys(raw map[string]json.RawMessage) []string {
	problems := []string{
		rangeKey(raw, "workers", &s.Workers, 1, maxSpawnWorkers),
		rangeKey(raw, "tasks", &s.Spawn.Tasks, 1, maxSpawnTasks),
		rangeKey(raw, "task_sleep_ns", &s.Spawn.TaskSleepNS, 0, maxTaskSleepNS),
		errText(decodeKey(raw, "mode", &s.Mode)), // refused before hello unless goroutines (runScenario)
		errText(decodeKey(raw, "print", &s.Spawn.Print)),
	}
	return nonEmpty(problems)
}

// parseHTTPKeys reads workers, mode and the "http" object, and returns what is wrong with them.
func (s *spec) parseHTTPKeys(raw map[string]json.RawMessage) []string {
	problems := []string{
		rangeKey(raw, "workers", &s.Workers, 1, maxHTTPWorkers),
		errText(decodeKey(raw, "mode", &s.Mode)), // refused before hello unless goroutines (runScenario)
	}
	var obj map[string]json.RawMessage
	if err := decodeKey(raw, "http", &obj); err != nil {
		problems = append(problems, err.Error())
	} else if obj == nil {
		problems = append(problems, `key http must be an object such as {"queue": 64, "max_body_bytes": 8388608, "port": 0}`)
	} else {
		problems = append(problems, s.HTTP.parse(obj)...)
	}
	return nonEmpty(problems)
}

// parse reads the "http" object's keys: queue >= 0, max_body_bytes >= 1, port 0 .. 65535 and the optional
// python_path (text when present, as engine.python_path; null counts as absent there too).
func (h *httpSpec) parse(obj map[string]json.RawMessage) []string {
	problems := []string{
		rangeKey(obj, "queue", &h.Queue, 0, math.MaxInt32, "http."),
		rangeKey(obj, "max_body_bytes", &h.MaxBodyBytes, 1, math.MaxInt64, "http."),
		rangeKey(obj, "port", &h.Port, 0, maxPort, "http."),
	}
	var pythonPath string
	if v, ok := obj["python_path"]; ok && !isNull(v) {
		problems = append(problems, errText(decodeKey(obj, "python_path", &pythonPath, "http.")))
	}
	return nonEmpty(problems)
}

// rangeKey decodes the integer key name into dst and returns what is wrong with it ("" when nothing is):
// missing, null, not an integer, or outside lo .. hi.
func rangeKey[T int | int64](raw map[string]json.RawMessage, name string, dst *T, lo, hi T, prefix ...string) string {
	if err := decodeKey(raw, name, dst, prefix...); err != nil {
		return err.Error()
	}
	if *dst < lo || *dst > hi {
		return fmt.Sprintf("%s%s %d must be in %d .. %d", strings.Join(prefix, ""), name, *dst, lo, hi)
	}
	return ""
}

// errText is err's message, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// nonEmpty drops the "" entries of a list of problems.
func nonEmpty(problems []string) []string {
	var out []string
	for _, p := range problems {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// decodeKey decodes raw[name] into dst: a missing key, a null or a value of the wrong type is an error
// (json.Unmarshal alone would leave dst untouched on null). The message names the key after prefix (the
// enclosing object's path, such as "video.").
func decodeKey(raw map[string]json.RawMessage, name string, dst any, prefix ...string) error {
	v, ok := raw[name]
	full := strings.Join(prefix, "") + name
	if !ok {
		return fmt.Errorf("missing key %s", full)
	}
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return fmt.Errorf("key %s is null", full)
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("key %s: %v", full, err)
	}
	return nil
}

// checkArrivals returns what is wrong with a server schedule, or "": one offset per measured request, none
// negative, in order (the dispatcher enqueues request k at its offset, so a schedule out of order would
// delay the requests after a late one).
func checkArrivals(arrivals []int64, iterations int) string {
	if len(arrivals) != iterations {
		return fmt.Sprintf("arrivals_ns has %d offsets, want one per measured request (iterations %d)",
			len(arrivals), iterations)
	}
	for k, a := range arrivals {
		if a < 0 {
			return fmt.Sprintf("arrivals_ns[%d] = %d is negative", k, a)
		}
		if k > 0 && a < arrivals[k-1] {
			return fmt.Sprintf("arrivals_ns[%d] = %d is before arrivals_ns[%d] = %d", k, a, k-1, arrivals[k-1])
		}
	}
	return ""
}
