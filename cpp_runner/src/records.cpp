#include "records.hpp"

#include "spec.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <fstream>
#include <memory>

namespace {

// Keys in the order the protocol lists them (ordered_json keeps insertion order).
using Json = nlohmann::ordered_json;

// One line of JSON. File names and OpenCV messages need not be UTF-8: an invalid byte becomes U+FFFD, so
// that a strict reader never rejects the line. A float32 is widened to double, which prints its exact value.
std::string line(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string hex(const unsigned char* digest, unsigned int len) {
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

// hello.ort; the session options are the protocol's, the same for every runner.
Json ort_hello(const OrtHello& o) {
    return {{"version", o.version},
            {"library", o.library},
            {"library_sha256", o.library_sha256},
            {"linked", false},
            {"available_providers", o.available_providers},
            {"provider", o.provider},
            {"session_options",
             {{"intra_op_threads", o.intra_op_threads},
              {"inter_op_threads", 1},
              {"execution_mode", "sequential"},
              {"graph_optimization", "all"}}}};
}

}  // namespace

std::string sha256_hex(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) return "";
    return hex(digest, len);
}

// Streamed in blocks: the ORT library is tens of megabytes.
std::string sha256_file_hex(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!f || !ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return "";
    std::vector<char> block(1 << 20);
    while (f) {
        f.read(block.data(), static_cast<std::streamsize>(block.size()));
        if (f.gcount() > 0 && EVP_DigestUpdate(ctx.get(), block.data(), static_cast<std::size_t>(f.gcount())) != 1)
            return "";
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (f.bad() || EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) return "";
    return hex(digest, len);
}

std::string hello_record(const Hello& h) {
    Json j = {{"type", "hello"},
              {"protocol", kProtocolVersion},
              {"runner", "cpp_runner"},
              {"language", "cpp"},
              {"language_version", h.language_version},
              {"opencv_version", h.opencv_version},
              {"opencv_build_hash", sha256_hex(h.opencv_build_info)},
              {"opencv_build_info", h.opencv_build_info},
              {"threads", h.threads},
              {"pid", h.pid},
              {"backend", h.backend},
              {"target", h.target},
              {"available_targets", h.available_targets},
              {"engine", h.engine}};
    if (h.ort) j["ort"] = ort_hello(*h.ort);
    return line(j);
}

std::string load_record(const std::string& model, std::int64_t load_ns, std::optional<int> worker,
                        const std::vector<std::string>& providers) {
    Json j = {{"type", "load"}, {"model", model}, {"load_ns", load_ns}};
    if (worker) j["worker"] = *worker;
    if (!providers.empty()) j["providers"] = providers;
    return line(j);
}

std::string iteration_record(int index, bool warmup, const std::string& image, const Phases& p,
                             std::int64_t total_ns, int detections, const IterationExtra& x) {
    Json j = {{"type", "iteration"},
              {"index", index},
              {"warmup", warmup},
              {"image", image},
              {"phases_ns",
               {{"decode", p.decode}, {"preprocess", p.preprocess}, {"inference", p.inference},
                {"postprocess", p.postprocess}}},
              {"total_ns", total_ns},
              {"detections", detections}};
    if (x.frame) j["frame"] = *x.frame;
    if (x.worker) j["worker"] = *x.worker;
    if (x.queue_ns) j["queue_ns"] = *x.queue_ns;
    if (x.latency_ns) j["latency_ns"] = *x.latency_ns;
    if (x.handler_ns) j["handler_ns"] = *x.handler_ns;
    if (x.batch) j["batch"] = *x.batch;
    return line(j);
}

std::string video_result_record(const VideoResult& r) {
    return line({{"type", "result"},
                 {"scenario", "video"},
                 {"frames_read", r.frames_read},
                 {"processed", r.processed},
                 {"dropped", r.dropped},
                 {"source_fps", r.source_fps},
                 {"measured_wall_ns", r.measured_wall_ns}});
}

std::string pool_result_record(const PoolResult& r) {
    Json j = {{"type", "result"}, {"scenario", r.scenario}, {"workers", r.workers}, {"mode", r.mode}};
    if (r.rate) j["rate"] = *r.rate;
    j["startup_ns"] = r.startup_ns;
    j["measured_wall_ns"] = r.measured_wall_ns;
    j["completed"] = r.completed;
    return line(j);
}

std::string call_sample_record(const std::string& call, int index, bool warmup, int calls, std::int64_t total_ns) {
    return line({{"type", "call_sample"},
                 {"call", call},
                 {"index", index},
                 {"warmup", warmup},
                 {"calls", calls},
                 {"total_ns", total_ns}});
}

namespace {

// The keys of a detections record after its type: the record and the http response share them.
Json detections_json(Json j, const std::string& image, int width, int height, const std::vector<Detection>& dets) {
    Json list = Json::array();
    for (const Detection& d : dets) {
        list.push_back({{"class_id", d.class_id},
                        {"score", static_cast<double>(d.score)},
                        {"box", {static_cast<double>(d.box[0]), static_cast<double>(d.box[1]),
                                 static_cast<double>(d.box[2]), static_cast<double>(d.box[3])}}});
    }
    j["image"] = image;
    j["width"] = width;
    j["height"] = height;
    j["detections"] = list;
    return j;
}

}  // namespace

std::string detections_record(const std::string& image, int width, int height, const std::vector<Detection>& dets) {
    return line(detections_json({{"type", "detections"}}, image, width, height, dets));
}

std::string detections_body(const std::string& image, int width, int height, const std::vector<Detection>& dets) {
    return line(detections_json(Json::object(), image, width, height, dets));
}

std::string http_error_body(const std::string& code, const std::string& message) {
    return line({{"error", code}, {"message", message}});
}

std::string spawn_sample_record(const SpawnSample& s) {
    return line({{"type", "spawn_sample"},
                 {"index", s.index},
                 {"warmup", s.warmup},
                 {"workers", s.workers},
                 {"tasks", s.tasks},
                 {"startup_ns", s.startup_ns},
                 {"tasks_ns", s.tasks_ns},
                 {"rss_before_bytes", s.rss_before_bytes},
                 {"rss_bytes", s.rss_bytes}});
}

std::string listening_record(const std::string& address, int port, std::int64_t startup_ns) {
    return line({{"type", "listening"}, {"address", address}, {"port", port}, {"startup_ns", startup_ns}});
}

std::string http_result_record(const HttpResult& r) {
    return line({{"type", "result"},
                 {"scenario", "http"},
                 {"workers", r.workers},
                 {"mode", r.mode},
                 {"startup_ns", r.startup_ns},
                 {"served", r.served},
                 {"rejected", r.rejected}});
}

std::string end_record(int iterations, int warmup, std::int64_t peak_rss_bytes, std::int64_t pss_bytes) {
    return line({{"type", "end"},
                 {"iterations", iterations},
                 {"warmup", warmup},
                 {"peak_rss_bytes", peak_rss_bytes},
                 {"pss_bytes", pss_bytes}});
}

std::string error_record(const std::string& code, const std::string& message) {
    return line({{"type", "error"}, {"code", code}, {"message", message}, {"fatal", true}});
}

void RecordSink::write(const std::string& record) {
    std::lock_guard<std::mutex> lock(mu_);
    std::fwrite(record.data(), 1, record.size(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
}
