// The run spec (docs/protocol.md, "Spec"): reading, parsing and validation.
#pragma once
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

struct ModelSpec {
    std::string name;
    std::string path;
    std::string format;
    int input_size = 0;
};

struct VideoSpec {
    std::string path;
    bool realtime = false;
};

// The optional `engine` (docs/protocol.md, "Engines"): what runs step 4, the inference.
struct EngineSpec {
    std::string name = "opencv";  // absent engine: OpenCV DNN
    std::string provider;         // onnxruntime: cpu, cuda or tensorrt
    std::string library;          // onnxruntime: the ORT shared library, loaded at run time
    std::string python_path;      // the Python runner's; checked, never used here
};

struct Spec {
    int protocol = 0;
    std::string scenario;
    ModelSpec model;
    std::vector<std::string> images;
    float conf_threshold = 0.f;  // float32: the thresholds compare against float32 scores
    float nms_threshold = 0.f;
    int max_detections = 0;
    int warmup = 0;
    int iterations = 0;
    int threads = 0;
    std::string backend;
    std::string target;
    EngineSpec engine;

    // Scenario keys (docs/protocol.md, "Scenarios"): read and checked only for the spec's scenario.
    VideoSpec video;                       // video
    int workers = 1;                       // concurrency, server
    std::string mode;                      // concurrency, server ("threads" is the only one run here)
    double rate = 0.0;                     // server, echoed in the result record
    std::vector<std::int64_t> arrivals_ns; // server: one offset per measured request
    int batch = 1;                         // batch
    int calls_per_sample = 0;              // call_overhead
};

constexpr int kProtocolVersion = 1;

struct SpecError {
    std::string code;  // "spec" or "protocol"
    std::string message;
};

// Reads the whole file, or `in` when path is "-".
bool read_spec_text(const std::string& path, std::istream& in, std::string& text, SpecError& err);

// Parses JSON text (nlohmann-json) and validates every key. The protocol version is checked first, so a
// spec of another version gets code "protocol" even if its keys differ. The scenario name is not checked
// here: an unknown scenario is "unsupported_scenario", not a bad spec; the keys of a known scenario are
// (a missing, null or mistyped one is code "spec").
bool parse_spec(const std::string& text, Spec& spec, SpecError& err);
