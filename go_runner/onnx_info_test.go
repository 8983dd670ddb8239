package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Hand-built ONNX messages: just the fields readONNXModelIO reads.

func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

// pbDim is a Dimension: a dim_value, or a dim_param when param is not empty.
func pbDim(value int64, param string) []byte {
	if param != "" {
		return pbBytes(nil, onnxDimParam, []byte(param))
	}
	return pbVarint(nil, onnxDimValue, uint64(value))
}

// pbTensorValue is a ValueInfoProto of a tensor of elemType with the given dims (each a pbDim).
func pbTensorValue(name string, elemType int32, dims ...[]byte) []byte {
	var shape []byte
	for _, d := range dims {
		shape = pbBytes(shape, onnxShapeDim, d)
	}
	tensor := pbVarint(nil, onnxTensorElemType, uint64(elemType))
	tensor = pbBytes(tensor, onnxTensorShape, shape)
	v := pbBytes(nil, onnxValueName, []byte(name))
	return pbBytes(v, onnxValueType, pbBytes(nil, onnxTypeTensor, tensor))
}

// pbInitializer is a TensorProto named name, with some data (field 9, raw_data) after its name.
func pbInitializer(name string) []byte {
	return pbBytes(pbBytes(nil, onnxTensorName, []byte(name)), 9, make([]byte, 64))
}

// pbModel is a ModelProto (ir_version 8) whose graph has the given fields, already encoded.
func pbModel(graphFields ...[]byte) []byte {
	var graph []byte
	for _, f := range graphFields {
		graph = append(graph, f...)
	}
	return pbBytes(pbVarint(nil, 1, 8), onnxModelGraph, graph)
}

func pbInput(v []byte) []byte  { return pbBytes(nil, onnxGraphInput, v) }
func pbOutput(v []byte) []byte { return pbBytes(nil, onnxGraphOutput, v) }

var (
	yoloInput  = pbTensorValue("images", onnxFloat, pbDim(1, ""), pbDim(3, ""), pbDim(320, ""), pbDim(320, ""))
	yoloOutput = pbTensorValue("output", onnxFloat, pbDim(1, ""), pbDim(6300, ""), pbDim(85, ""))
)

func TestReadONNXModelIORealModels(t *testing.T) {
	for _, c := range []struct {
		path        string
		batch, size int64
	}{{testModel(t, 320), 1, 320}, {testModelBatch4(t), 4, 320}, {testModel(t, 640), 1, 640}} {
		in, out, err := readONNXModelIO(c.path)
		rows := 3 * (c.size/8*c.size/8 + c.size/16*c.size/16 + c.size/32*c.size/32)
		wantIn := onnxValue{name: "images", elemType: onnxFloat, ranked: true, dims: []int64{c.batch, 3, c.size, c.size}}
		wantOut := onnxValue{name: "output", elemType: onnxFloat, ranked: true, dims: []int64{c.batch, rows, 85}}
		if err != nil || !reflect.DeepEqual(in, wantIn) || !reflect.DeepEqual(out, wantOut) {
			t.Errorf("%s: %+v %+v %v; want %+v %+v", c.path, in, out, err, wantIn, wantOut)
		}
	}
}

func TestParseONNXModelIO(t *testing.T) {
	// A dynamic batch, given by name, and one left without a value: both are onnxDynamic.
	dyn := pbTensorValue("images", onnxFloat, pbDim(0, "batch"), pbDim(3, ""), pbDim(320, ""), pbDim(320, ""))
	noValue := pbTensorValue("output", onnxFloat, pbBytes(nil, 3, []byte("denotation")), pbDim(6300, ""),
		pbDim(85, ""))
	in, out, err := parseONNXModelIO(pbModel(pbInput(dyn), pbOutput(noValue)))
	if err != nil || in.name != "images" || !reflect.DeepEqual(in.dims, []int64{-1, 3, 320, 320}) ||
		out.name != "output" || !reflect.DeepEqual(out.dims, []int64{-1, 6300, 85}) {
		t.Errorf("dynamic batch: %+v %+v %v", in, out, err)
	}

	// Weights listed as inputs (older exports) are skipped, wherever their initializer comes; a second output
	// is not the first.
	extra := pbTensorValue("scores", onnxFloat, pbDim(1, ""))
	weight := pbTensorValue("conv.weight", onnxFloat, pbDim(16, ""))
	in, out, err = parseONNXModelIO(pbModel(pbInput(weight), pbInput(yoloInput), pbOutput(yoloOutput),
		pbOutput(extra), pbBytes(nil, onnxGraphInitializer, pbInitializer("conv.weight"))))
	if err != nil || in.name != "images" || out.name != "output" {
		t.Errorf("a weight as the first input: %+v %+v %v", in, out, err)
	}

	// A graph field given twice merges: its inputs and outputs, in order.
	model := append(pbModel(pbInput(yoloInput)), pbModel(pbOutput(yoloOutput))...)
	if in, out, err = parseONNXModelIO(model); err != nil || in.name != "images" || out.name != "output" {
		t.Errorf("two graph fields: %+v %+v %v", in, out, err)
	}

	// A non-float input is read as it is (checkORTModel refuses it); so are an unranked tensor and a type
	// that is not a tensor (a sequence: TypeProto field 4).
	int64In := pbTensorValue("ids", 7, pbDim(1, ""))
	unranked := pbBytes(pbBytes(nil, onnxValueName, []byte("u")), onnxValueType,
		pbBytes(nil, onnxTypeTensor, pbVarint(nil, onnxTensorElemType, 1)))
	sequence := pbBytes(pbBytes(nil, onnxValueName, []byte("s")), onnxValueType, pbBytes(nil, 4, nil))
	in, out, err = parseONNXModelIO(pbModel(pbInput(int64In), pbOutput(unranked)))
	if err != nil || in.elemType != 7 || out.elemType != onnxFloat || out.ranked || out.dims != nil {
		t.Errorf("int64 input, unranked output: %+v %+v %v", in, out, err)
	}
	if _, out, err = parseONNXModelIO(pbModel(pbInput(yoloInput), pbOutput(sequence))); err != nil ||
		out.elemType != onnxNotATensor {
		t.Errorf("a sequence output: %+v %v", out, err)
	}
}

func TestParseONNXModelIOErrors(t *testing.T) {
	good := pbModel(pbInput(yoloInput), pbOutput(yoloOutput))
	for _, c := range []struct {
		name, want string
		model      []byte
	}{
		{"empty file", "no graph", nil},
		{"no graph", "no graph", pbVarint(nil, 1, 8)},
		{"no input", "0 inputs", pbModel(pbOutput(yoloOutput))},
		{"only weights", "0 inputs", pbModel(pbInput(yoloInput), pbOutput(yoloOutput),
			pbBytes(nil, onnxGraphInitializer, pbInitializer("images")))},
		{"no output", "0 outputs", pbModel(pbInput(yoloInput))},
		{"graph not a message", "ModelProto.graph", pbVarint(nil, onnxModelGraph, 1)},
		{"elem_type not a varint", "elem_type", pbModel(pbInput(pbBytes(nil, onnxValueType,
			pbBytes(nil, onnxTypeTensor, pbBytes(nil, onnxTensorElemType, []byte{1})))), pbOutput(yoloOutput))},
		{"bad tag", "malformed ModelProto", []byte{0x00}},
		{"text", "malformed", []byte("not an onnx model\n")},
	} {
		if _, _, err := parseONNXModelIO(c.model); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	// Truncated anywhere, this model is an error (cut after its ir_version, a model without a graph), never a
	// panic.
	for n := 0; n < len(good); n++ {
		if in, out, err := parseONNXModelIO(good[:n]); err == nil {
			t.Errorf("truncated to %d bytes: %+v %+v", n, in, out)
		}
	}
}

func TestReadONNXModelIOErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	real, err := os.ReadFile(testModel(t, 320))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"truncated.onnx": real[:len(real)/2], "empty.onnx": nil} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := readONNXModelIO(path)
		if re := asRunnerError(err); err == nil || re.code != codeModelLoad ||
			!strings.Contains(re.msg, "cannot read model "+path) {
			t.Errorf("%s: %v, want model_load naming the file", name, err)
		}
	}
	missing := filepath.Join(dir, "missing.onnx")
	if _, _, err := readONNXModelIO(missing); asRunnerError(err).code != codeModelLoad ||
		!strings.Contains(err.Error(), missing) {
		t.Errorf("a missing file: %v", err)
	}
}

// pbReshapeModel is a runnable model, images [1,3,2,2] -> Reshape to the constant [1,2,6] -> output, whose
// declared output is [1, "n", 6]: the file leaves N open, ORT's shape inference fixes it.
func pbReshapeModel() []byte {
	shape := pbVarint(nil, 1, 3)                            // TensorProto.dims = [3]
	shape = pbVarint(shape, 2, 7)                           // data_type INT64
	shape = pbBytes(shape, onnxTensorName, []byte("shape")) // name
	raw := make([]byte, 0, 24)                              // raw_data: 1, 2, 6 as little-endian int64
	for _, v := range []uint64{1, 2, 6} {
		raw = append(raw, byte(v), 0, 0, 0, 0, 0, 0, 0)
	}
	shape = pbBytes(shape, 9, raw)
	node := pbBytes(nil, 1, []byte("images")) // NodeProto.input
	node = pbBytes(node, 1, []byte("shape"))
	node = pbBytes(node, 2, []byte("output"))  // output
	node = pbBytes(node, 4, []byte("Reshape")) // op_type
	graph := pbBytes(nil, 1, node)             // GraphProto.node
	graph = pbBytes(graph, onnxGraphInitializer, shape)
	graph = append(graph, pbInput(pbTensorValue("images", onnxFloat, pbDim(1, ""), pbDim(3, ""), pbDim(2, ""),
		pbDim(2, "")))...)
	graph = append(graph, pbOutput(pbTensorValue("output", onnxFloat, pbDim(1, ""), pbDim(0, "n"),
		pbDim(6, "")))...)
	model := pbVarint(nil, 1, 8) // ir_version 8
	model = pbBytes(model, onnxModelGraph, graph)
	return pbBytes(model, 8, pbVarint(nil, 2, 13)) // opset_import {version: 13}
}

// A dimension the file leaves open but ORT infers is checked on ORT's shapes, as the C++ and Python runners
// (which read them from their session) do.
func TestInspectORTModelAsksORTWhenTheFileLeavesADimensionOpen(t *testing.T) {
	if _, err := loadORT(testORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "reshape.onnx")
	if err := os.WriteFile(path, pbReshapeModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	in, out, err := readONNXModelIO(path)
	if err != nil || !undeclared(out) || undeclared(in) {
		t.Fatalf("the file should declare [1, n, 6]: %v %v %v", in, out, err)
	}
	m, err := inspectORTModel(path, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 2, 6}; !reflect.DeepEqual([]int64(m.outputShape), want) {
		t.Fatalf("output shape %v, want %v", m.outputShape, want)
	}
}
