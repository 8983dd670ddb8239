// Spec names <-> cv::dnn backend/target enums, and the availability check that stops OpenCV from
// silently falling back to the CPU.
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
