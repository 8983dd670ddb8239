package main

import (
	"bytes"
	"encoding/json"
	"fmt"
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
}

// Scenarios in which "images" may be empty: they read a video, or no image at all.
var imagesOptional = map[string]bool{"video": true, "call_overhead": true}

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
