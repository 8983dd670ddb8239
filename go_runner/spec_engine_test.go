package main

import (
	"fmt"
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

func TestORTModelRule(t *testing.T) {
	value := func(name string, dims ...int64) onnxValue {
		return onnxValue{name: name, elemType: onnxFloat, ranked: true, dims: dims}
	}
	const path = "/m.onnx"
	// Fixed shapes that take the blob, and a dynamic batch resolved to the run's.
	for _, c := range []struct {
		in, out onnxValue
		batch   int
		want    string
	}{
		{value("images", 1, 3, 320, 320), value("output", 1, 6300, 85), 1, "[1 6300 85]"},
		{value("images", 4, 3, 320, 320), value("output", 4, 6300, 85), 4, "[4 6300 85]"},
		{value("images", -1, 3, 320, 320), value("output", -1, 6300, 85), 4, "[4 6300 85]"},
		{value("images", -1, 3, 320, 320), value("output", 1, 6300, 6), 1, "[1 6300 6]"},
	} {
		m, err := checkORTModel(path, c.in, c.out, c.batch, 320)
		if err != nil || m.inputShape.String() != fmt.Sprintf("[%d 3 320 320]", c.batch) ||
			m.outputShape.String() != c.want || m.inputName != "images" || m.outputName != "output" {
			t.Errorf("%v %v batch %d: %+v, %v; want output %s", c.in.dims, c.out.dims, c.batch, m, err, c.want)
		}
	}
	in, out := value("images", 1, 3, 320, 320), value("output", 1, 6300, 85)
	for _, c := range []struct {
		name    string
		in, out onnxValue
		batch   int
		mention []string
	}{
		{"another batch", in, out, 4, []string{"[1 3 320 320]", "[4 3 320 320]", "exported for this batch"}},
		{"another size", value("images", 1, 3, 640, 640), out, 1, []string{"[1 3 640 640]", "[1 3 320 320]"}},
		{"rank 3 input", value("images", 3, 320, 320), out, 1, []string{"[3 320 320]", "rank 4", "[1 3 320 320]"}},
		{"unranked input", onnxValue{name: "images", elemType: onnxFloat}, out, 1, []string{"unranked"}},
		{"dynamic size", value("images", 1, 3, -1, -1), out, 1, []string{"[1 3 -1 -1]", "allocates the output"}},
		{"dynamic rows", in, value("output", 1, -1, 85), 1, []string{"[1 -1 85]", "allocates the output"}},
		{"dynamic K", in, value("output", -1, 6300, -1), 1, []string{"[-1 6300 -1]", "allocates the output"}},
		{"rank 2 output", in, value("output", 6300, 85), 1, []string{"[6300 85]", "rank 3", "[1 N K]"}},
		{"K < 6", in, value("output", 1, 6300, 5), 1, []string{"[1 6300 5]", "K >= 6"}},
		{"another output batch", in, value("output", 2, 6300, 85), 1, []string{"[2 6300 85]", "[1 N K]"}},
		{"int64 input", onnxValue{name: "images", elemType: 7, ranked: true, dims: in.dims}, out, 1,
			[]string{"ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64", "want float"}},
		{"a sequence output", in, onnxValue{name: "output", elemType: onnxNotATensor}, 1,
			[]string{"not a tensor", "want float"}},
	} {
		_, err := checkORTModel(path, c.in, c.out, c.batch, 320)
		re := asRunnerError(err)
		if err == nil || re.code != codeModelLoad || !strings.Contains(re.msg, path) {
			t.Errorf("%s: %v, want model_load naming the model", c.name, err)
			continue
		}
		for _, m := range c.mention {
			if !strings.Contains(re.msg, m) {
				t.Errorf("%s: %q does not say %q", c.name, re.msg, m)
			}
		}
	}
}
