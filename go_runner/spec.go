package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

type modelSpec struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	Format    string `json:"format"`
	InputSize int    `json:"input_size"`
}

type spec struct {
	Protocol      int       `json:"protocol"`
	Scenario      string    `json:"scenario"`
	Model         modelSpec `json:"model"`
	Images        []string  `json:"images"`
	ConfThreshold float64   `json:"conf_threshold"`
	NMSThreshold  float64   `json:"nms_threshold"`
	MaxDetections int       `json:"max_detections"`
	Warmup        int       `json:"warmup"`
	Iterations    int       `json:"iterations"`
	Threads       int       `json:"threads"`
	Backend       string    `json:"backend"`
	Target        string    `json:"target"`

	// The optional engine of step 4, read by parseEngine from the spec's raw keys (spec_engine.go).
	Engine engineSpec `json:"-"`

	// The scenario's own keys, read by parseScenarioKeys from the spec's raw keys (spec_scenarios.go).
	scenarioKeys `json:"-"`

	// The process's stdin and stderr, set by runMain: the http scenario serves until stdin reaches end of
	// file (the orchestrator's signal to stop), spawn's print: true writes the article's lines to stderr.
	stdin  io.Reader
	stderr io.Writer
}

// runnerError carries a protocol error code to the error record.
type runnerError struct {
	code string
	msg  string
}

func (e *runnerError) Error() string { return e.msg }

func newError(code, format string, args ...any) *runnerError {
	return &runnerError{code: code, msg: fmt.Sprintf(format, args...)}
}

// readSpec reads the spec from path, or from stdin when path is "-".
func readSpec(path string, stdin io.Reader) (*spec, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, newError(codeSpec, "cannot read spec %s: %v", path, err)
	}
	return parseSpec(data)
}

// Keys every spec must carry: no defaults, so a typo or a missing key is an error, not a silent default.
var requiredKeys = []string{"protocol", "scenario", "model", "images", "conf_threshold", "nms_threshold",
	"max_detections", "warmup", "iterations", "threads", "backend", "target"}
var requiredModelKeys = []string{"name", "path", "format", "input_size"}

// parseSpec decodes and validates a spec. Unknown keys are ignored: a later orchestrator may add optional
// ones without bumping the protocol.
func parseSpec(data []byte) (*spec, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, newError(codeSpec, "spec is not a JSON object: %v", err)
	}
	// Check the version first: a spec of another version may legitimately fail the rest.
	if p, ok := raw["protocol"]; ok {
		var v int
		if err := json.Unmarshal(p, &v); err != nil || v != protocolVersion {
			return nil, newError(codeProtocol, "spec protocol %s, this runner speaks protocol %d",
				strings.TrimSpace(string(p)), protocolVersion)
		}
	}
	var problems []string
	problems = append(problems, missingKeys(raw, requiredKeys, "")...)
	if m, ok := raw["model"]; ok {
		var rawModel map[string]json.RawMessage
		if err := json.Unmarshal(m, &rawModel); err == nil {
			problems = append(problems, missingKeys(rawModel, requiredModelKeys, "model.")...)
		}
	}
	if len(problems) > 0 {
		return nil, newError(codeSpec, "invalid spec: %s", strings.Join(problems, "; "))
	}
	var s spec
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&s); err != nil {
		return nil, newError(codeSpec, "invalid spec: %v", err)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := s.parseEngine(raw); err != nil {
		return nil, err
	}
	if err := s.parseScenarioKeys(raw); err != nil {
		return nil, err
	}
	return &s, nil
}

// missingKeys names the keys that are absent or null (json.Unmarshal would leave a null's field at its zero
// value, a silent default).
func missingKeys(raw map[string]json.RawMessage, keys []string, prefix string) []string {
	var problems []string
	for _, k := range keys {
		v, ok := raw[k]
		if !ok {
			problems = append(problems, "missing key "+prefix+k)
		} else if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			problems = append(problems, "key "+prefix+k+" is null")
		}
	}
	return problems
}

// validate checks values; the scenario is the runner's to accept or refuse (runScenario).
func (s *spec) validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if s.Model.Name == "" {
		bad("model.name is empty")
	}
	if s.Model.Path == "" {
		bad("model.path is empty")
	}
	if s.Model.Format != "onnx" {
		bad("model.format %q is not supported (onnx)", s.Model.Format)
	}
	if s.Model.InputSize <= 0 || s.Model.InputSize%32 != 0 {
		bad("model.input_size %d must be a positive multiple of 32", s.Model.InputSize)
	}
	if len(s.Images) == 0 && !imagesOptional[s.Scenario] {
		bad("images is empty")
	}
	for i, img := range s.Images {
		if img == "" {
			bad("images[%d] is empty", i)
		}
	}
	if !(s.ConfThreshold >= 0 && s.ConfThreshold <= 1) {
		bad("conf_threshold %v must be in [0, 1]", s.ConfThreshold)
	}
	if !(s.NMSThreshold >= 0 && s.NMSThreshold <= 1) {
		bad("nms_threshold %v must be in [0, 1]", s.NMSThreshold)
	}
	if s.MaxDetections <= 0 {
		bad("max_detections %d must be > 0", s.MaxDetections)
	}
	if s.Warmup < 0 {
		bad("warmup %d must be >= 0", s.Warmup)
	}
	if s.Iterations < 1 {
		bad("iterations %d must be >= 1", s.Iterations)
	}
	if s.Threads < 0 {
		bad("threads %d must be >= 0", s.Threads)
	}
	if _, ok := backendIDs[s.Backend]; !ok {
		bad("backend %q is not one of %s", s.Backend, strings.Join(sortedKeys(backendIDs), ", "))
	}
	if _, ok := targetIDs[s.Target]; !ok {
		bad("target %q is not one of %s", s.Target, strings.Join(sortedKeys(targetIDs), ", "))
	}
	if len(problems) > 0 {
		return newError(codeSpec, "invalid spec: %s", strings.Join(problems, "; "))
	}
	return nil
}

// asRunnerError gives any error a protocol code (internal when it has none).
func asRunnerError(err error) *runnerError {
	var re *runnerError
	if errors.As(err, &re) {
		return re
	}
	return &runnerError{code: codeInternal, msg: err.Error()}
}
