package main

import (
	"errors"
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// An ONNX model is a protobuf ModelProto (onnx/onnx.proto). The runner reads from it only what an ORT session
// would say of its first input and first output, with protowire and no generated code: the field numbers
// below are the only part of the schema it needs.
const (
	onnxModelGraph       protowire.Number = 7  // ModelProto.graph: GraphProto
	onnxGraphInitializer protowire.Number = 5  // GraphProto.initializer: repeated TensorProto
	onnxGraphInput       protowire.Number = 11 // GraphProto.input: repeated ValueInfoProto
	onnxGraphOutput      protowire.Number = 12 // GraphProto.output: repeated ValueInfoProto
	onnxTensorName       protowire.Number = 8  // TensorProto.name
	onnxValueName        protowire.Number = 1  // ValueInfoProto.name
	onnxValueType        protowire.Number = 2  // ValueInfoProto.type: TypeProto
	onnxTypeTensor       protowire.Number = 1  // TypeProto.tensor_type: TypeProto.Tensor
	onnxTensorElemType   protowire.Number = 1  // TypeProto.Tensor.elem_type: TensorProto.DataType (int32)
	onnxTensorShape      protowire.Number = 2  // TypeProto.Tensor.shape: TensorShapeProto
	onnxShapeDim         protowire.Number = 1  // TensorShapeProto.dim: repeated Dimension
	onnxDimValue         protowire.Number = 1  // Dimension.dim_value (int64)
	onnxDimParam         protowire.Number = 2  // Dimension.dim_param (string)
	onnxFloat            int32            = 1  // TensorProto.DataType FLOAT
	onnxDynamic          int64            = -1 // a dimension without a dim_value > 0, as ORT reports it
	onnxNotATensor       int32            = -1 // elemType of a value whose type is not a tensor
)

// onnxValue is a graph input or output as the model declares it.
type onnxValue struct {
	name     string
	elemType int32   // TensorProto.DataType; onnxNotATensor for a sequence, map or optional
	ranked   bool    // the tensor type has a shape (an unranked tensor has none)
	dims     []int64 // dim_value, or onnxDynamic for a dim_param or a missing or non-positive dim_value
}

// readONNXModelIO reads the first graph input and the first graph output of the ONNX model at path. A graph
// input that is also an initializer is a weight (older exports list every weight as an input), not an input
// of the session: it is skipped, as ORT skips it. Every failure is model_load naming the file.
func readONNXModelIO(path string) (in, out onnxValue, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return onnxValue{}, onnxValue{}, newError(codeModelLoad, "cannot read model %s: %v", path, err)
	}
	in, out, err = parseONNXModelIO(data)
	if err != nil {
		return onnxValue{}, onnxValue{}, newError(codeModelLoad, "cannot read model %s: %v", path, err)
	}
	return in, out, nil
}

// parseONNXModelIO is readONNXModelIO on the file's bytes.
func parseONNXModelIO(model []byte) (in, out onnxValue, err error) {
	// A message field that occurs more than once is merged: for the graph's repeated fields, the occurrences
	// in order, which is what walking every occurrence gives.
	var inputs, outputs [][]byte
	initializers := map[string]bool{}
	graphs := 0
	err = walkMessage(model, "ModelProto", func(num protowire.Number, v field) error {
		if num != onnxModelGraph {
			return nil
		}
		graph, err := v.message("ModelProto.graph")
		if err != nil {
			return err
		}
		graphs++
		return walkMessage(graph, "GraphProto", func(num protowire.Number, v field) error {
			switch num {
			case onnxGraphInput:
				b, err := v.message("GraphProto.input")
				inputs = append(inputs, b)
				return err
			case onnxGraphOutput:
				b, err := v.message("GraphProto.output")
				outputs = append(outputs, b)
				return err
			case onnxGraphInitializer:
				name, err := tensorName(v)
				initializers[name] = true
				return err
			}
			return nil
		})
	})
	if err != nil {
		return onnxValue{}, onnxValue{}, err
	}
	if graphs == 0 {
		return onnxValue{}, onnxValue{}, errors.New("not an ONNX model: no graph")
	}
	var values []onnxValue
	for _, b := range inputs {
		v, err := parseValueInfo(b)
		if err != nil {
			return onnxValue{}, onnxValue{}, err
		}
		if !initializers[v.name] {
			values = append(values, v)
		}
	}
	if len(values) == 0 || len(outputs) == 0 {
		return onnxValue{}, onnxValue{}, fmt.Errorf("the graph has %d inputs (initializers aside) and %d outputs, "+
			"want at least one of each", len(values), len(outputs))
	}
	out, err = parseValueInfo(outputs[0])
	if err != nil {
		return onnxValue{}, onnxValue{}, err
	}
	return values[0], out, nil
}

// tensorName is the name of the TensorProto in v (its data, often most of the file, is skipped).
func tensorName(v field) (string, error) {
	b, err := v.message("GraphProto.initializer")
	if err != nil {
		return "", err
	}
	var name string
	err = walkMessage(b, "TensorProto", func(num protowire.Number, v field) error {
		if num == onnxTensorName {
			var err error
			name, err = v.text("TensorProto.name")
			return err
		}
		return nil
	})
	return name, err
}

// parseValueInfo reads a ValueInfoProto: its name, and its type when that is a tensor.
func parseValueInfo(b []byte) (onnxValue, error) {
	v := onnxValue{elemType: onnxNotATensor}
	err := walkMessage(b, "ValueInfoProto", func(num protowire.Number, f field) error {
		var err error
		switch num {
		case onnxValueName:
			v.name, err = f.text("ValueInfoProto.name")
		case onnxValueType:
			var t []byte
			if t, err = f.message("ValueInfoProto.type"); err == nil {
				err = parseTypeProto(t, &v)
			}
		}
		return err
	})
	return v, err
}

// parseTypeProto reads a TypeProto into v: elem_type and shape when it is a tensor_type.
func parseTypeProto(b []byte, v *onnxValue) error {
	return walkMessage(b, "TypeProto", func(num protowire.Number, f field) error {
		if num != onnxTypeTensor {
			return nil
		}
		t, err := f.message("TypeProto.tensor_type")
		if err != nil {
			return err
		}
		if v.elemType == onnxNotATensor {
			v.elemType = 0 // UNDEFINED until an elem_type says otherwise
		}
		return walkMessage(t, "TypeProto.Tensor", func(num protowire.Number, f field) error {
			switch num {
			case onnxTensorElemType:
				x, err := f.varint("TypeProto.Tensor.elem_type")
				v.elemType = int32(x)
				return err
			case onnxTensorShape:
				s, err := f.message("TypeProto.Tensor.shape")
				if err != nil {
					return err
				}
				v.ranked = true
				return walkMessage(s, "TensorShapeProto", func(num protowire.Number, f field) error {
					if num != onnxShapeDim {
						return nil
					}
					d, err := f.message("TensorShapeProto.dim")
					if err != nil {
						return err
					}
					dim, err := parseDimension(d)
					v.dims = append(v.dims, dim)
					return err
				})
			}
			return nil
		})
	})
}

// parseDimension reads a TensorShapeProto.Dimension: its dim_value when one is set and positive, else
// onnxDynamic (a dim_param, or nothing at all: both mean a size the model leaves open).
func parseDimension(b []byte) (int64, error) {
	dim := onnxDynamic
	err := walkMessage(b, "TensorShapeProto.Dimension", func(num protowire.Number, f field) error {
		switch num { // a oneof: the last one set wins
		case onnxDimValue:
			x, err := f.varint("Dimension.dim_value")
			if dim = int64(x); dim <= 0 {
				dim = onnxDynamic
			}
			return err
		case onnxDimParam:
			_, err := f.text("Dimension.dim_param")
			dim = onnxDynamic
			return err
		}
		return nil
	})
	return dim, err
}

// field is one field's value as it is on the wire, still undecoded.
type field struct {
	typ  protowire.Type
	x    uint64 // VarintType
	data []byte // BytesType
}

func (f field) message(name string) ([]byte, error) {
	if f.typ != protowire.BytesType {
		return nil, fmt.Errorf("malformed %s: wire type %d, want a message", name, f.typ)
	}
	return f.data, nil
}

func (f field) text(name string) (string, error) {
	b, err := f.message(name)
	return string(b), err
}

func (f field) varint(name string) (uint64, error) {
	if f.typ != protowire.VarintType {
		return 0, fmt.Errorf("malformed %s: wire type %d, want a varint", name, f.typ)
	}
	return f.x, nil
}

// walkMessage calls fn on each field of the protobuf message b (named msg in errors), in order, and stops at
// fn's first error. Bytes that are not a well-formed message (truncated, a bad tag or wire type) are an
// error, never a panic.
func walkMessage(b []byte, msg string, fn func(protowire.Number, field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("malformed %s: %v", msg, protowire.ParseError(n))
		}
		b = b[n:]
		f := field{typ: typ}
		switch typ {
		case protowire.VarintType:
			f.x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.data, n = protowire.ConsumeBytes(b)
		default: // fixed32, fixed64 or a group: nothing the runner reads
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("malformed %s (field %d): %v", msg, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, f); err != nil {
			return err
		}
	}
	return nil
}
