// The protocol's records (docs/protocol.md, "Records"), one JSON object per line. The *_record
// functions only format; RecordSink writes and flushes, and is never called inside a timed region.
#pragma once
#include "pipeline.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

struct Hello {
    std::string language_version;
    std::string opencv_version;
    std::string opencv_build_info;  // hashed into opencv_build_hash
    int threads = 0;
    std::int64_t pid = 0;
    std::string backend;
    std::string target;
    std::vector<std::string> available_targets;
};

struct Phases {
    std::int64_t decode = 0, preprocess = 0, inference = 0, postprocess = 0;
};

std::string hello_record(const Hello& h);
std::string load_record(const std::string& model, std::int64_t load_ns);
std::string iteration_record(int index, bool warmup, const std::string& image, const Phases& p,
                             std::int64_t total_ns, int detections);
std::string detections_record(const std::string& image, int width, int height, const std::vector<Detection>& dets);
std::string end_record(int iterations, int warmup, std::int64_t peak_rss_bytes);
std::string error_record(const std::string& code, const std::string& message);

class RecordSink {
public:
    explicit RecordSink(std::FILE* out) : out_(out) {}
    // Writes the line and a '\n', then flushes so the orchestrator sees each record at once.
    void write(const std::string& record);

private:
    std::FILE* out_;
};
