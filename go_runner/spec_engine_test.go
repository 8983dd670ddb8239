package main

import (
	"strings"
	"testing"
)

func TestParseEngine(t *testing.T) {
	s, err := parseSpec([]byte(validSpec))
	if err != nil || s.Engine.Name != engineOpenCV {
		t.Fatalf("no engine key: %+v, %v; want opencv", s, err)
	}
	// Under opencv, the onnxruntime keys are ignored like any unknown key.
	s, err = parseSpec(withKey(t, "engine", `{"name": "opencv", "provider": 7}`))
	if err != nil || s.Engine != (engineSpec{Name: engineOpenCV}) {
		t.Errorf("opencv with a stray provider: %+v, %v", s, err)
	}
	s, err = parseSpec(withKey(t, "engine", `{"name": "onnxruntime", "provider": "cuda", "library": "/l.so",
		"python_path": null}`))
	want := engineSpec{Name: engineORT, Provider: "cuda", Library: "/l.so"}
	if err != nil || s.Engine != want || s.Engine.ortProviderName() != "CUDAExecutionProvider" {
		t.Errorf("onnxruntime: %+v, %v; want %+v", s, err, want)
	}
	for _, c := range []struct{ engine, mentions string }{
		{`null`, "engine"},
		{`["onnxruntime"]`, "engine"},
		{`{"name": 1}`, "engine.name"},
		{`{"name": "onnxruntime", "provider": "", "library": "/l.so"}`, "engine.provider"},
		{`{"name": "onnxruntime", "provider": "cpu", "library": null}`, "engine.library"},
		{`{"name": "onnxruntime", "provider": "cpu", "library": "/l.so", "python_path": 3}`, "engine.python_path"},
	} {
		_, err := parseSpec(withKey(t, "engine", c.engine))
		if re := asRunnerError(err); err == nil || re.code != codeSpec || !strings.Contains(re.msg, c.mentions) {
			t.Errorf("engine %s: %v; want a spec error naming %s", c.engine, err, c.mentions)
		}
	}
}

func TestSessionProviders(t *testing.T) {
	if got := sessionProviders("cpu"); len(got) != 1 || got[0] != "CPUExecutionProvider" {
		t.Errorf("cpu: %v", got)
	}
	if got := sessionProviders("tensorrt"); len(got) != 2 || got[0] != "TensorrtExecutionProvider" ||
		got[1] != "CPUExecutionProvider" {
		t.Errorf("tensorrt: %v", got)
	}
}

func TestORTShapes(t *testing.T) {
	if !shapeAccepts([]int64{-1, 3, 320, 320}, []int64{4, 3, 320, 320}) ||
		shapeAccepts([]int64{1, 3, 320, 320}, []int64{4, 3, 320, 320}) ||
		shapeAccepts([]int64{3, 320, 320}, []int64{1, 3, 320, 320}) {
		t.Error("shapeAccepts")
	}
	got, err := resolveOutputShape([]int64{-1, 6300, 85}, 4)
	if err != nil || got.String() != "[4 6300 85]" {
		t.Errorf("dynamic batch: %v, %v", got, err)
	}
	if _, err := resolveOutputShape([]int64{1, -1, 85}, 1); err == nil {
		t.Error("a dynamic row count accepted: the output cannot be allocated ahead")
	}
}
