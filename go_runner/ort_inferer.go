package main

import (
	"fmt"
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

// inspectORTModel reads the model's first input and output and checks that the input takes the run's blob,
// [batch, 3, size, size]: a model exported for another batch or size is model_load, naming both shapes.
// GetInputOutputInfo loads the model into a temporary session: this runs once per run, outside every timed
// region (the load record times the real session alone).
func inspectORTModel(path string, batch, size int) (*ortModel, error) {
	inputs, outputs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, newError(codeModelLoad, "cannot read model %s: %v", path, err)
	}
	if len(inputs) == 0 || len(outputs) == 0 {
		return nil, newError(codeModelLoad, "model %s has %d inputs and %d outputs, want at least one of each",
			path, len(inputs), len(outputs))
	}
	in, out := inputs[0], outputs[0]
	if in.DataType != ort.TensorElementDataTypeFloat || out.DataType != ort.TensorElementDataTypeFloat {
		return nil, newError(codeModelLoad, "model %s: input %q is %v and output %q is %v, want float tensors",
			path, in.Name, in.DataType, out.Name, out.DataType)
	}
	blob := ort.NewShape(int64(batch), 3, int64(size), int64(size))
	if !shapeAccepts(in.Dimensions, blob) {
		return nil, newError(codeModelLoad, "model %s takes input %q of shape %v, but the blob is %v (batch %d, "+
			"input_size %d): the model must be exported for this batch and size", path, in.Name, in.Dimensions,
			blob, batch, size)
	}
	outShape, err := resolveOutputShape(out.Dimensions, batch)
	if err != nil {
		return nil, newError(codeModelLoad, "model %s: output %q: %v", path, out.Name, err)
	}
	return &ortModel{path: path, inputName: in.Name, outputName: out.Name, inputShape: blob,
		outputShape: outShape}, nil
}

// shapeAccepts says whether a model input of shape model takes a tensor of shape want; a dynamic
// dimension (ORT reports it as -1) takes any size.
func shapeAccepts(model, want ort.Shape) bool {
	if len(model) != len(want) {
		return false
	}
	for i, d := range model {
		if d > 0 && d != want[i] {
			return false
		}
	}
	return true
}

// resolveOutputShape is the shape of the output buffer allocated once per session: the model's, a dynamic
// batch dimension set to batch. Any other dynamic dimension cannot be allocated ahead.
func resolveOutputShape(model ort.Shape, batch int) (ort.Shape, error) {
	shape := model.Clone()
	for i, d := range shape {
		switch {
		case d > 0:
		case i == 0:
			shape[i] = int64(batch)
		default:
			return nil, fmt.Errorf("dynamic shape %v: the runner allocates the output once per session and "+
				"needs every dimension but the batch fixed", model)
		}
	}
	return shape, nil
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
