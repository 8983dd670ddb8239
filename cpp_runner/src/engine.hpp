// Step 4 of the algorithm, the inference, on the spec's engine (docs/protocol.md, "Engines"): OpenCV DNN
// or ONNX Runtime. Every other step stays OpenCV's, so the pipelines only swap the Inferer.
#pragma once
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

class OrtRuntime;

// What runs step 4, fixed for the run and shared read-only by every worker.
struct EngineConfig {
    // opencv: the spec's backend and target.
    cv::dnn::Backend backend = cv::dnn::DNN_BACKEND_DEFAULT;
    cv::dnn::Target target = cv::dnn::DNN_TARGET_CPU;
    // onnxruntime when set: the process's library and env (run.cpp loads it before the hello).
    const OrtRuntime* ort = nullptr;
    std::string provider;  // onnxruntime: the spec's name (cpu, cuda, tensorrt)
    int threads = 0;       // onnxruntime: intra-op threads; 0 keeps ORT's default
};

// One loaded model of one engine. Not thread-safe: every worker loads its own, as with a cv::dnn::Net.
class Inferer {
public:
    virtual ~Inferer() = default;

    // After the timed load: checks the model's first input against the blob the pipeline will give, dims
    // [B, 3, S, S], and its first output against [B, N, K] (the rule is in engine_ort.cpp, check_model),
    // and prepares the output. Throws std::runtime_error (a model_load) for a model that fails the rule.
    // OpenCV checks nothing here: its forward() says it.
    virtual void prepare(const std::vector<std::int64_t>& input_dims) { (void)input_dims; }

    // Step 4 on a continuous float32 NCHW blob. The result is float32 in the model's output dims,
    // [B, N, 5 + classes], read in place; it stays valid until the next call.
    virtual const cv::Mat& infer(const cv::Mat& blob) = 0;

    // The providers the session uses, for the load record; empty (no key) under OpenCV.
    virtual std::vector<std::string> providers() const { return {}; }
};

// The load that load_ns times: readNet + setPreferableBackend + setPreferableTarget, or ORT's session
// options, provider and CreateSession. Throws EngineInternal (ort_api.hpp) when ORT cannot make the
// session options, EngineUnavailable when it cannot append the provider, std::exception for a model that
// does not load.
std::unique_ptr<Inferer> load_inferer(const std::string& model_path, const EngineConfig& engine);

std::unique_ptr<Inferer> load_opencv_inferer(const std::string& model_path, cv::dnn::Backend backend,
                                             cv::dnn::Target target);
std::unique_ptr<Inferer> load_ort_inferer(const std::string& model_path, const OrtRuntime& ort,
                                          const std::string& provider, int threads);
