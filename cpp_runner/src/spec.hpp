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

// The http scenario's `http` object (docs/protocol.md, "Scenarios", http).
struct HttpSpec {
    int queue = 0;           // Q: requests that may wait for a network, beyond the K in service
    int max_body_bytes = 0;  // B: a larger body is refused (413)
    int port = 0;            // 0: the OS picks a free port; the address is always 127.0.0.1
    std::string python_path; // the Python runner's; checked, never used here
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
    int workers = 1;                       // concurrency, server, spawn, http
    std::string mode;                      // concurrency, server, spawn, http ("threads" is the only one run here)
    double rate = 0.0;                     // server, echoed in the result record
    std::vector<std::int64_t> arrivals_ns; // server: one offset per measured request
    int batch = 1;                         // batch
    int calls_per_sample = 0;              // call_overhead
    int tasks = 0;                         // spawn: M tasks per sample
    std::int64_t task_sleep_ns = 0;        // spawn: each task's sleep
    bool print = false;                    // spawn: each task writes the article's line to stderr
    HttpSpec http;                         // http
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
