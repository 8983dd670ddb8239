// The run spec (docs/protocol.md, "Spec"): reading, parsing and validation.
#pragma once
#include <cstdint>
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

// Reads the whole file, or stdin when path is "-".
bool read_spec_text(const std::string& path, std::string& text, SpecError& err);

// cv::FileStorage's JSON parser (OpenCV 4.6) lacks parts of JSON that other runners' parsers accept:
// \uXXXX escapes (Python's json.dumps writes one for every non-ASCII character by default), "\/",
// and null; it reads true/false as the integers 1/0 and truncates integers to 32 bits (arrivals_ns
// holds nanosecond offsets of many seconds). This rewrites them: \uXXXX inside strings as raw UTF-8
// (surrogate pairs joined, lone surrogates as U+FFFD; '"', '\\', \n, \r, \t, \b, \f stay escaped),
// "\/" as '/', a null value as "" (so an unknown key may be null; a known key that is null fails its
// type check), true/false as the marker strings kJsonTrue/kJsonFalse, and an integer outside the
// int32 range as kJsonBigInt followed by its digits. Everything else is copied unchanged.
std::string filestorage_compatible_json(const std::string& json);

// Marker strings (a 0x01 byte cannot appear raw in JSON text, so no real string collides unless it
// was written as "\u0001...").
extern const char* const kJsonTrue;
extern const char* const kJsonFalse;
extern const char* const kJsonBigInt;

// Parses JSON text with cv::FileStorage and validates every key. The protocol version is checked
// first, so a spec of another version gets code "protocol" even if its keys differ.
// The scenario name is not checked here: an unknown scenario is "unsupported_scenario", not a bad spec;
// the keys of a known scenario are (a missing or mistyped one is code "spec").
bool parse_spec(const std::string& text, Spec& spec, SpecError& err);
