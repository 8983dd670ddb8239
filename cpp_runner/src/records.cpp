#include "records.hpp"

#include "json.hpp"
#include "sha256.hpp"
#include "spec.hpp"

std::string hello_record(const Hello& h) {
    return JsonObject()
        .str("type", "hello")
        .integer("protocol", kProtocolVersion)
        .str("runner", "cpp_runner")
        .str("language", "cpp")
        .str("language_version", h.language_version)
        .str("opencv_version", h.opencv_version)
        .str("opencv_build_hash", sha256_hex(h.opencv_build_info))
        .str("opencv_build_info", h.opencv_build_info)
        .integer("threads", h.threads)
        .integer("pid", h.pid)
        .str("backend", h.backend)
        .str("target", h.target)
        .str_array("available_targets", h.available_targets)
        .done();
}

std::string load_record(const std::string& model, std::int64_t load_ns, std::optional<int> worker) {
    JsonObject o;
    o.str("type", "load").str("model", model).integer("load_ns", load_ns);
    if (worker) o.integer("worker", *worker);
    return o.done();
}

std::string iteration_record(int index, bool warmup, const std::string& image, const Phases& p,
                             std::int64_t total_ns, int detections, const IterationExtra& x) {
    const std::string phases = JsonObject()
                                   .integer("decode", p.decode)
                                   .integer("preprocess", p.preprocess)
                                   .integer("inference", p.inference)
                                   .integer("postprocess", p.postprocess)
                                   .done();
    JsonObject o;
    o.str("type", "iteration")
        .integer("index", index)
        .boolean("warmup", warmup)
        .str("image", image)
        .raw("phases_ns", phases)
        .integer("total_ns", total_ns)
        .integer("detections", detections);
    if (x.frame) o.integer("frame", *x.frame);
    if (x.worker) o.integer("worker", *x.worker);
    if (x.queue_ns) o.integer("queue_ns", *x.queue_ns);
    if (x.latency_ns) o.integer("latency_ns", *x.latency_ns);
    if (x.batch) o.integer("batch", *x.batch);
    return o.done();
}

std::string video_result_record(const VideoResult& r) {
    return JsonObject()
        .str("type", "result")
        .str("scenario", "video")
        .integer("frames_read", r.frames_read)
        .integer("processed", r.processed)
        .integer("dropped", r.dropped)
        .real("source_fps", r.source_fps)
        .integer("measured_wall_ns", r.measured_wall_ns)
        .done();
}

std::string pool_result_record(const PoolResult& r) {
    JsonObject o;
    o.str("type", "result").str("scenario", r.scenario).integer("workers", r.workers).str("mode", r.mode);
    if (r.rate) o.real("rate", *r.rate);
    return o.integer("startup_ns", r.startup_ns)
        .integer("measured_wall_ns", r.measured_wall_ns)
        .integer("completed", r.completed)
        .done();
}

std::string call_sample_record(const std::string& call, int index, bool warmup, int calls, std::int64_t total_ns) {
    return JsonObject()
        .str("type", "call_sample")
        .str("call", call)
        .integer("index", index)
        .boolean("warmup", warmup)
        .integer("calls", calls)
        .integer("total_ns", total_ns)
        .done();
}

std::string detections_record(const std::string& image, int width, int height, const std::vector<Detection>& dets) {
    std::string list = "[";
    for (std::size_t i = 0; i < dets.size(); ++i) {
        const Detection& d = dets[i];
        if (i) list += ", ";
        const std::string box = "[" + json_float(d.box[0]) + ", " + json_float(d.box[1]) + ", " +
                                json_float(d.box[2]) + ", " + json_float(d.box[3]) + "]";
        list += JsonObject().integer("class_id", d.class_id).number("score", d.score).raw("box", box).done();
    }
    list += "]";
    return JsonObject()
        .str("type", "detections")
        .str("image", image)
        .integer("width", width)
        .integer("height", height)
        .raw("detections", list)
        .done();
}

std::string end_record(int iterations, int warmup, std::int64_t peak_rss_bytes, std::int64_t pss_bytes) {
    return JsonObject()
        .str("type", "end")
        .integer("iterations", iterations)
        .integer("warmup", warmup)
        .integer("peak_rss_bytes", peak_rss_bytes)
        .integer("pss_bytes", pss_bytes)
        .done();
}

std::string error_record(const std::string& code, const std::string& message) {
    return JsonObject().str("type", "error").str("code", code).str("message", message).boolean("fatal", true).done();
}

void RecordSink::write(const std::string& record) {
    std::lock_guard<std::mutex> lock(mu_);
    std::fwrite(record.data(), 1, record.size(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
}
