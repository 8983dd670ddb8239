#include "backend.hpp"

namespace {

struct BackendName { const char* name; cv::dnn::Backend value; };
struct TargetName { const char* name; cv::dnn::Target value; };

const BackendName kBackends[] = {
    {"default", cv::dnn::DNN_BACKEND_DEFAULT},
    {"opencv", cv::dnn::DNN_BACKEND_OPENCV},
    {"cuda", cv::dnn::DNN_BACKEND_CUDA},
    {"openvino", cv::dnn::DNN_BACKEND_INFERENCE_ENGINE},
};

const TargetName kTargets[] = {
    {"cpu", cv::dnn::DNN_TARGET_CPU},
    {"opencl", cv::dnn::DNN_TARGET_OPENCL},
    {"opencl_fp16", cv::dnn::DNN_TARGET_OPENCL_FP16},
    {"cuda", cv::dnn::DNN_TARGET_CUDA},
    {"cuda_fp16", cv::dnn::DNN_TARGET_CUDA_FP16},
};

struct ProviderName { const char* name; const char* ort; };

const ProviderName kProviders[] = {
    {"cpu", "CPUExecutionProvider"},
    {"cuda", "CUDAExecutionProvider"},
    {"tensorrt", "TensorrtExecutionProvider"},
};

}  // namespace

bool backend_from_name(const std::string& name, cv::dnn::Backend& out) {
    for (const auto& b : kBackends)
        if (name == b.name) { out = b.value; return true; }
    return false;
}

bool target_from_name(const std::string& name, cv::dnn::Target& out) {
    for (const auto& t : kTargets)
        if (name == t.name) { out = t.value; return true; }
    return false;
}

std::string target_name(int target) {
    for (const auto& t : kTargets)
        if (target == static_cast<int>(t.value)) return t.name;
    return "target_" + std::to_string(target);
}

std::vector<std::string> available_target_names(cv::dnn::Backend backend) {
    std::vector<std::string> names;
    for (cv::dnn::Target t : cv::dnn::getAvailableTargets(backend)) names.push_back(target_name(t));
    return names;
}

const char* ort_provider_name(const std::string& provider) {
    for (const auto& p : kProviders)
        if (provider == p.name) return p.ort;
    return nullptr;
}
