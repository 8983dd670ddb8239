package main

import (
	"fmt"
	"runtime/debug"
	"time"

	ort "github.com/yalue/onnxruntime_go"
	"gocv.io/x/gocv"
)

// ortModel is what an ORT session needs to know of the model: its first input and first output (the
// protocol's names), with the shapes the run uses.
type ortModel struct {
	path                    string
	inputName, outputName   string
	inputShape, outputShape ort.Shape
}

// inspectORTModel reads the model's first input and first output from the file itself (readONNXModelIO: no
// ORT session, so the load record's session is the process's first, as in the C++ and Python runners) and
// checks them against the run's blob, [batch, 3, size, size], by checkORTModel.
//
// readONNXModelIO reads the whole file into the Go heap. Garbage once it returns, those pages would stay
// resident (Go hands free memory back to the OS slowly, and ORT allocates with malloc, never reusing them)
// and add the model's size to the runner's peak RSS and PSS, which the C++ and Python runners do not pay:
// FreeOSMemory returns them before any session exists (untimed, once per run).
func inspectORTModel(path string, batch, size int) (*ortModel, error) {
	in, out, err := readONNXModelIO(path)
	debug.FreeOSMemory()
	if err != nil {
		return nil, err
	}
	m, err := checkORTModel(path, in, out, batch, size)
	if err == nil || !(undeclared(in) || undeclared(out)) {
		return m, err
	}
	// The file leaves a dimension open that ORT's shape inference may fix, and C++ and Python check the
	// shapes ORT reports: ask ORT too (a temporary session, only for a model that would be refused otherwise).
	inputs, outputs, ortErr := ort.GetInputOutputInfo(path)
	if ortErr != nil || len(inputs) == 0 || len(outputs) == 0 {
		return nil, err
	}
	return checkORTModel(path, fromORTInfo(inputs[0], in), fromORTInfo(outputs[0], out), batch, size)
}

// undeclared says whether the file left a dimension other than the batch open, or the shape unranked.
func undeclared(v onnxValue) bool {
	if !v.ranked {
		return true
	}
	for i, d := range v.dims {
		if i > 0 && d == onnxDynamic {
			return true
		}
	}
	return false
}

// fromORTInfo is the value as ORT sees it after its shape inference, keeping the file's element type.
func fromORTInfo(info ort.InputOutputInfo, file onnxValue) onnxValue {
	dims := make([]int64, len(info.Dimensions))
	for i, d := range info.Dimensions {
		dims[i] = d
		if d <= 0 {
			dims[i] = onnxDynamic
		}
	}
	return onnxValue{name: info.Name, elemType: file.elemType, ranked: true, dims: dims}
}

// checkORTModel applies the model rule of the onnxruntime engine, the same in the Go, C++ and Python
// runners:
//
//   - the model's first input is a float tensor of rank 4 matching the blob [B, 3, S, S], and its first
//     output a float tensor of rank 3, [B, N, K] with K >= 6 (four box numbers, the objectness, at least
//     one class);
//   - a dimension may be dynamic (a dim_param, or a dim_value absent or <= 0) only in position 0, the
//     batch, where the runner uses the run's B (the spec's batch in the batch scenario, else 1);
//   - every fixed dimension of the input must equal the blob's (a model exported for another batch or size
//     is model_load naming both shapes), and a fixed output batch must be B;
//   - any other dynamic dimension is model_load naming the model's shape: the runner allocates the output
//     once per session and needs every dimension but the batch fixed.
//
// The ortModel it returns has the blob's shape as the input's and the output's shape with its batch
// resolved to B.
func checkORTModel(path string, in, out onnxValue, batch, size int) (*ortModel, error) {
	if in.elemType != onnxFloat || out.elemType != onnxFloat {
		return nil, newError(codeModelLoad, "model %s: input %q is %s and output %q is %s, want float tensors",
			path, in.name, onnxTypeName(in.elemType), out.name, onnxTypeName(out.elemType))
	}
	blob := ort.NewShape(int64(batch), 3, int64(size), int64(size))
	inShape, err := resolveBatch(in, 4, int64(batch), blob.String())
	if err != nil {
		return nil, newError(codeModelLoad, "model %s: input %q: %v", path, in.name, err)
	}
	if !equalShapes(inShape, blob) {
		return nil, newError(codeModelLoad, "model %s takes input %q of shape %s, but the blob is %v (batch %d, "+
			"input_size %d): the model must be exported for this batch and size", path, in.name, onnxShape(in),
			blob, batch, size)
	}
	outShape, err := resolveBatch(out, 3, int64(batch), fmt.Sprintf("[%d N K]", batch))
	if err != nil {
		return nil, newError(codeModelLoad, "model %s: output %q: %v", path, out.name, err)
	}
	if outShape[0] != int64(batch) || outShape[2] < 6 {
		return nil, newError(codeModelLoad, "model %s gives output %q of shape %s, want [%d N K] with K >= 6 "+
			"(batch %d; K: 4 box numbers, the objectness, at least one class)", path, out.name, onnxShape(out),
			batch, batch)
	}
	return &ortModel{path: path, inputName: in.name, outputName: out.name, inputShape: blob,
		outputShape: outShape}, nil
}

// resolveBatch is v's shape with a dynamic batch (position 0) set to batch. A rank other than rank is an
// error naming v's shape and the one wanted (want); so is a dynamic dimension in any other position.
func resolveBatch(v onnxValue, rank int, batch int64, want string) (ort.Shape, error) {
	if !v.ranked || len(v.dims) != rank {
		return nil, fmt.Errorf("shape %s, want rank %d: %s", onnxShape(v), rank, want)
	}
	shape := ort.Shape(v.dims).Clone()
	for i, d := range shape {
		switch {
		case d != onnxDynamic:
		case i == 0:
			shape[i] = batch
		default:
			return nil, fmt.Errorf("dynamic shape %s: only the batch (dimension 0) may be dynamic: the runner "+
				"allocates the output once per session and needs every dimension but the batch fixed", onnxShape(v))
		}
	}
	return shape, nil
}

func equalShapes(a, b ort.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// onnxShape is v's shape as the messages write it: [1 3 320 320], a dynamic dimension as -1 (ORT's way),
// "unranked" for a tensor without a shape.
func onnxShape(v onnxValue) string {
	if !v.ranked {
		return "unranked"
	}
	return fmt.Sprint(v.dims)
}

// onnxTypeName names a TensorProto.DataType as ORT does (ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: both enums
// number the types alike).
func onnxTypeName(t int32) string {
	if t == onnxNotATensor {
		return "not a tensor"
	}
	return ort.TensorElementDataType(t).String()
}

// ortInferer is one ORT session: the blob's buffer wrapped as the input tensor on every call (no copy), run
// into an output tensor allocated once per session, read in place.
type ortInferer struct {
	session    *ort.DynamicAdvancedSession
	inputShape ort.Shape
	output     *ort.Tensor[float32]
	outDims    []int
	inputs     []ort.Value // Run's arguments, reused across calls
	outputs    []ort.Value
}

// loadORTInferer creates the session. load_ns times what creating it takes: the options (threads, mode,
// optimisation level, provider) and NewDynamicAdvancedSession, which reads and optimises the model. The
// output tensor is allocated after the clock read. The caller closes the inferer.
func loadORTInferer(s *spec, m *ortModel) (inferer, loadRecord, error) {
	t0 := time.Now()
	opts, err := newORTSessionOptions(s.Threads, s.Engine.Provider)
	if err != nil {
		return nil, loadRecord{}, err
	}
	session, err := ort.NewDynamicAdvancedSession(m.path, []string{m.inputName}, []string{m.outputName}, opts)
	loadNS := time.Since(t0).Nanoseconds()
	opts.Destroy()
	if err != nil {
		return nil, loadRecord{}, newError(codeModelLoad, "cannot read model %s: %v", m.path, err)
	}
	output, err := ort.NewEmptyTensor[float32](m.outputShape)
	if err != nil {
		session.Destroy()
		return nil, loadRecord{}, newError(codeInternal, "cannot allocate the output tensor %v: %v",
			m.outputShape, err)
	}
	o := &ortInferer{session: session, inputShape: m.inputShape, output: output, outDims: intDims(m.outputShape),
		inputs: make([]ort.Value, 1), outputs: []ort.Value{output}}
	rec := loadRecord{Type: "load", Model: s.Model.Name, LoadNS: loadNS, Providers: sessionProviders(s.Engine.Provider)}
	return o, rec, nil
}

func (o *ortInferer) infer(blob gocv.Mat) (netOutput, error) {
	data, err := blob.DataPtrFloat32()
	if err != nil {
		return netOutput{}, newError(codeInternal, "cannot read the blob: %v", err)
	}
	// The model's input was checked against the spec at load; a blob of another size is a bug, not a misread.
	if int64(len(data)) != o.inputShape.FlattenedSize() {
		return netOutput{}, newError(codeInternal, "blob %v holds %d floats, the session's input %v wants %d",
			blob.Size(), len(data), o.inputShape, o.inputShape.FlattenedSize())
	}
	in, err := ort.NewTensor(o.inputShape, data)
	if err != nil {
		return netOutput{}, newError(codeInternal, "cannot wrap the blob as an ONNX Runtime tensor: %v", err)
	}
	o.inputs[0] = in
	err = o.session.Run(o.inputs, o.outputs)
	o.inputs[0] = nil
	in.Destroy()
	if err != nil {
		return netOutput{}, newError(codeInternal, "ONNX Runtime: %v", err)
	}
	return netOutput{data: o.output.GetData(), dims: o.outDims}, nil
}

func (o *ortInferer) Close() {
	o.output.Destroy()
	o.session.Destroy()
}

func intDims(s ort.Shape) []int {
	dims := make([]int, len(s))
	for i, d := range s {
		dims[i] = int(d)
	}
	return dims
}
