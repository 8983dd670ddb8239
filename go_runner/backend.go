package main

import (
	"fmt"
	"sort"
)

// Protocol names -> cv::dnn::Backend values (opencv2/dnn/dnn.hpp, OpenCV 4.x).
var backendIDs = map[string]int{
	"default":  0, // DNN_BACKEND_DEFAULT
	"openvino": 2, // DNN_BACKEND_INFERENCE_ENGINE
	"opencv":   3, // DNN_BACKEND_OPENCV
	"cuda":     5, // DNN_BACKEND_CUDA
}

// Protocol names -> cv::dnn::Target values.
var targetIDs = map[string]int{
	"cpu":         0, // DNN_TARGET_CPU
	"opencl":      1, // DNN_TARGET_OPENCL
	"opencl_fp16": 2, // DNN_TARGET_OPENCL_FP16
	"cuda":        6, // DNN_TARGET_CUDA
	"cuda_fp16":   7, // DNN_TARGET_CUDA_FP16
}

// targetName is the protocol name of a cv::dnn::Target value, "target_<int>" for one the protocol lacks.
func targetName(id int) string {
	for name, v := range targetIDs {
		if v == id {
			return name
		}
	}
	return fmt.Sprintf("target_%d", id)
}

// targetNames maps ids to names, keeping OpenCV's order.
func targetNames(ids []int) []string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = targetName(id)
	}
	return names
}

// sortedKeys lists a name table for error messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
