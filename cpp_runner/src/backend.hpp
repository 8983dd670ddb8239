// Spec names <-> cv::dnn backend/target enums and ONNX Runtime provider names, and the availability
// check that stops OpenCV from silently falling back to the CPU.
#pragma once
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

// false for a name outside the spec table.
bool backend_from_name(const std::string& name, cv::dnn::Backend& out);
bool target_from_name(const std::string& name, cv::dnn::Target& out);

// Spec-table name, or "target_<int>" for a target the protocol does not name (MYRIAD, VULKAN, ...).
std::string target_name(int target);

// cv::dnn::getAvailableTargets(backend) as names, in OpenCV's order.
std::vector<std::string> available_target_names(cv::dnn::Backend backend);

// ONNX Runtime's name of a spec provider (docs/protocol.md, "Engines"): "cpu" -> "CPUExecutionProvider";
// nullptr for a name outside the spec table.
const char* ort_provider_name(const std::string& provider);
