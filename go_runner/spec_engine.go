package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Engine names of the spec's optional "engine" key (docs/protocol.md, "Engines").
const (
	engineOpenCV = "opencv"
	engineORT    = "onnxruntime"
)

var engineNames = map[string]bool{engineOpenCV: true, engineORT: true}

// Protocol provider names -> ONNX Runtime's execution provider names.
var ortProviders = map[string]string{
	"cpu":      "CPUExecutionProvider",
	"cuda":     "CUDAExecutionProvider",
	"tensorrt": "TensorrtExecutionProvider",
}

// engineSpec is the spec's "engine" key; absent, it is OpenCV DNN. Provider and Library are set under
// onnxruntime only (PythonPath is the Python runner's; Go checks its type and ignores it).
type engineSpec struct {
	Name     string
	Provider string
	Library  string
}

// ortProviderName is the ONNX Runtime name of the spec's provider.
func (e engineSpec) ortProviderName() string { return ortProviders[e.Provider] }

// parseEngine reads the optional "engine" object. Its keys are checked only as far as the engine needs them:
// under opencv, provider and library are ignored like any unknown key.
func (s *spec) parseEngine(raw map[string]json.RawMessage) error {
	s.Engine = engineSpec{Name: engineOpenCV}
	if _, ok := raw["engine"]; !ok {
		return nil
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw["engine"], &obj); err != nil || obj == nil {
		return newError(codeSpec, "invalid spec: key engine must be an object such as {\"name\": \"opencv\"}, "+
			"not %s", strings.TrimSpace(string(raw["engine"])))
	}
	if err := decodeKey(obj, "name", &s.Engine.Name, "engine."); err != nil {
		bad("%v", err)
	} else if !engineNames[s.Engine.Name] {
		bad("engine.name %q is not one of %s", s.Engine.Name, strings.Join(sortedKeys(engineNames), ", "))
	} else if s.Engine.Name == engineORT {
		problems = append(problems, s.Engine.parseORTKeys(obj)...)
	}
	if len(problems) > 0 {
		return newError(codeSpec, "invalid spec: %s", strings.Join(problems, "; "))
	}
	return nil
}

// parseORTKeys reads the keys that onnxruntime requires: provider and library, both non-empty text, and the
// optional python_path (text when present).
func (e *engineSpec) parseORTKeys(obj map[string]json.RawMessage) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if err := decodeKey(obj, "provider", &e.Provider, "engine."); err != nil {
		bad("%v", err)
	} else if _, ok := ortProviders[e.Provider]; !ok {
		bad("engine.provider %q is not one of %s", e.Provider, strings.Join(sortedKeys(ortProviders), ", "))
	}
	if err := decodeKey(obj, "library", &e.Library, "engine."); err != nil {
		bad("%v", err)
	} else if e.Library == "" {
		bad("engine.library is empty")
	}
	var pythonPath string
	if _, ok := obj["python_path"]; ok && !isNull(obj["python_path"]) {
		if err := decodeKey(obj, "python_path", &pythonPath, "engine."); err != nil {
			bad("%v", err)
		}
	}
	return problems
}

func isNull(v json.RawMessage) bool { return strings.TrimSpace(string(v)) == "null" }
