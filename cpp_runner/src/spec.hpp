// The run spec (docs/protocol.md, "Spec"): reading, parsing and validation.
#pragma once
#include <string>
#include <vector>

struct ModelSpec {
    std::string name;
    std::string path;
    std::string format;
    int input_size = 0;
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
// and null. This rewrites them: \uXXXX inside strings as raw UTF-8 (surrogate pairs joined, lone
// surrogates as U+FFFD; '"', '\\', \n, \r, \t, \b, \f stay escaped), "\/" as '/', and a null value
// as "" (so an unknown key may be null; a known key that is null fails its type check).
// Everything else is copied unchanged.
std::string filestorage_compatible_json(const std::string& json);

// Parses JSON text with cv::FileStorage and validates every key. The protocol version is checked
// first, so a spec of another version gets code "protocol" even if its keys differ.
// The scenario is not checked here: an unknown scenario is "unsupported_scenario", not a bad spec.
bool parse_spec(const std::string& text, Spec& spec, SpecError& err);
