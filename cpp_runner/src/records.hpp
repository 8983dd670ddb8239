// The protocol's records (docs/protocol.md, "Records"), one JSON object per line. The *_record
// functions only format; RecordSink writes and flushes, and is never called inside a timed region.
#pragma once
#include "pipeline.hpp"

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

// hello.ort (docs/protocol.md, "Records", hello): the ORT library that was loaded and the session options
// every session of the run gets. The C++ runner loads the file itself, so `linked` is always false.
struct OrtHello {
    std::string version;
    std::string library;
    std::string library_sha256;
    std::vector<std::string> available_providers;
    std::string provider;      // the spec's name: cpu, cuda, tensorrt
    int intra_op_threads = 0;  // spec.threads; 0 keeps ORT's default
};

struct Hello {
    std::string language_version;
    std::string opencv_version;
    std::string opencv_build_info;  // hashed into opencv_build_hash
    int threads = 0;
    std::int64_t pid = 0;
    std::string backend;
    std::string target;
    std::vector<std::string> available_targets;
    std::string engine = "opencv";  // "opencv" or "onnxruntime", as the spec asks
    std::optional<OrtHello> ort;     // under onnxruntime, once the library loaded
};

struct Phases {
    std::int64_t decode = 0, preprocess = 0, inference = 0, postprocess = 0;
};

// Keys that some scenarios add to an iteration record (docs/protocol.md, "Scenarios"), written
// after the common keys in this order when set.
struct IterationExtra {
    std::optional<int> frame;               // video
    std::optional<int> worker;              // concurrency, server
    std::optional<std::int64_t> queue_ns;   // server
    std::optional<std::int64_t> latency_ns; // server
    std::optional<std::int64_t> handler_ns; // http: the handler's entry to the response encoded
    std::optional<int> batch;               // batch
};

// What a result record says about a run of workers (concurrency, server).
struct PoolResult {
    std::string scenario;  // "concurrency" or "server"
    int workers = 0;
    std::string mode;
    std::optional<double> rate;  // server only
    std::int64_t startup_ns = 0;
    std::int64_t measured_wall_ns = 0;
    int completed = 0;
};

// One spawn sample (docs/protocol.md, "Scenarios", spawn).
struct SpawnSample {
    int index = 0;
    bool warmup = false;
    int workers = 0, tasks = 0;
    std::int64_t startup_ns = 0, tasks_ns = 0;
    std::int64_t rss_before_bytes = 0, rss_bytes = 0;
};

// The http scenario's result record.
struct HttpResult {
    int workers = 0;
    std::string mode;
    std::int64_t startup_ns = 0;
    std::int64_t served = 0, rejected = 0;
};

struct VideoResult {
    int frames_read = 0, processed = 0, dropped = 0;
    double source_fps = 0.0;
    std::int64_t measured_wall_ns = 0;
};

std::string hello_record(const Hello& h);
// `providers` (under onnxruntime: the providers the session uses) is written only when not empty.
std::string load_record(const std::string& model, std::int64_t load_ns, std::optional<int> worker = {},
                        const std::vector<std::string>& providers = {});
std::string iteration_record(int index, bool warmup, const std::string& image, const Phases& p,
                             std::int64_t total_ns, int detections, const IterationExtra& extra = {});
std::string video_result_record(const VideoResult& r);
std::string pool_result_record(const PoolResult& r);
std::string call_sample_record(const std::string& call, int index, bool warmup, int calls, std::int64_t total_ns);
std::string detections_record(const std::string& image, int width, int height, const std::vector<Detection>& dets);
std::string spawn_sample_record(const SpawnSample& s);
std::string listening_record(const std::string& address, int port, std::int64_t startup_ns);
std::string http_result_record(const HttpResult& r);
// The http scenario's response bodies: a detections record without its type, and a refusal.
std::string detections_body(const std::string& image, int width, int height, const std::vector<Detection>& dets);
std::string http_error_body(const std::string& code, const std::string& message);
std::string end_record(int iterations, int warmup, std::int64_t peak_rss_bytes, std::int64_t pss_bytes);
std::string error_record(const std::string& code, const std::string& message);

// Lower-case hex SHA-256 (OpenSSL's EVP): hello.opencv_build_hash.
std::string sha256_hex(const std::string& data);
// The same of a file's bytes (hello.ort.library_sha256); empty when the file cannot be read.
std::string sha256_file_hex(const std::string& path);

// Safe for concurrent writers: one mutex keeps each line whole. Workers format their records first
// and call write() only outside their timed regions, so the lock never lands inside a measurement.
class RecordSink {
public:
    explicit RecordSink(std::FILE* out) : out_(out) {}
    // Writes the line and a '\n', then flushes so the orchestrator sees each record at once.
    void write(const std::string& record);

private:
    std::mutex mu_;
    std::FILE* out_;
};
