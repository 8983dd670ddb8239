package main

import (
	"os"

	"gocv.io/x/gocv"
)

// inferer runs step 4 of the algorithm, the inference, on the spec's engine: OpenCV DNN (cvInferer) or
// ONNX Runtime (ortInferer). Every other step is OpenCV's in every engine. An inferer is used by one
// goroutine at a time: a pool gives each worker its own.
type inferer interface {
	// infer runs the network on blob (NCHW float32). The output stays valid until netOutput.close or the
	// next infer call.
	infer(blob gocv.Mat) (netOutput, error)
	Close()
}

// netOutput is one inference's output, read in place by the postprocess: OpenCV's forward() Mat, read
// (DataPtrFloat32, Size) in the postprocess phase and closed after the iteration's last clock read, as
// before engines existed; or ORT's output buffer, allocated once per session.
type netOutput struct {
	mat   gocv.Mat // OpenCV: the forward() result, owned
	isMat bool
	data  []float32 // ORT: the session's output tensor's data
	dims  []int
}

func matOutput(m gocv.Mat) netOutput { return netOutput{mat: m, isMat: true} }

// rows returns the output's float32 data (no copy) and its dims.
func (o netOutput) rows() ([]float32, []int, error) {
	if !o.isMat {
		return o.data, o.dims, nil
	}
	data, err := o.mat.DataPtrFloat32()
	if err != nil {
		return nil, nil, newError(codeInternal, "cannot read network output: %v", err)
	}
	return data, o.mat.Size(), nil
}

// close releases an OpenCV output; an ORT buffer belongs to its session.
func (o netOutput) close() {
	if o.isMat {
		o.mat.Close()
	}
}

// cvInferer is OpenCV DNN: setInput + forward on its own Net.
type cvInferer struct {
	net gocv.Net
}

func (c *cvInferer) infer(blob gocv.Mat) (netOutput, error) {
	c.net.SetInput(blob, "")
	return matOutput(c.net.Forward("")), nil
}

func (c *cvInferer) Close() { c.net.Close() }

// modelLoader loads the spec's model on its engine, once per inferer (a pool loads one per worker).
// newModelLoader does, once and untimed, what no load record times: under onnxruntime, reading the model's
// first input and output (names, types, shapes) from the ONNX file and checking them (checkORTModel).
type modelLoader struct {
	s   *spec
	ort *ortModel // onnxruntime only
}

// newModelLoader prepares the loads of a run whose blob holds batch images.
func newModelLoader(s *spec, batch int) (*modelLoader, error) {
	l := &modelLoader{s: s}
	if s.Engine.Name != engineORT {
		return l, nil
	}
	if err := statModel(s.Model.Path); err != nil {
		return nil, err
	}
	m, err := inspectORTModel(s.Model.Path, batch, s.Model.InputSize)
	if err != nil {
		return nil, err
	}
	l.ort = m
	return l, nil
}

// load creates one inferer and its load record (without a worker number). The caller closes the inferer.
func (l *modelLoader) load() (inferer, loadRecord, error) {
	if l.ort != nil {
		return loadORTInferer(l.s, l.ort)
	}
	net, loadNS, err := loadNet(l.s)
	if err != nil {
		return nil, loadRecord{}, err
	}
	return &cvInferer{net: net}, loadRecord{Type: "load", Model: l.s.Model.Name, LoadNS: loadNS}, nil
}

// statModel answers model_load for a model file that cannot be read, before any engine tries.
func statModel(path string) error {
	if _, err := os.Stat(path); err != nil {
		return newError(codeModelLoad, "cannot read model %s: %v", path, err)
	}
	return nil
}
