// What every scenario shares: the clock, run errors, the timed model load, the five clock reads of
// one image, and the "first time an image is seen" set that decides its detections record.
#pragma once
#include "engine.hpp"
#include "ort_api.hpp"
#include "pipeline.hpp"
#include "records.hpp"
#include "spec.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;

inline std::int64_t ns(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// An error that ends the run with a given protocol code.
struct RunError {
    std::string code;
    std::string message;
};

// The validated spec, where its records go and the engine of step 4; shared read-only by every worker.
struct RunContext {
    const Spec& spec;
    RecordSink& out;
    EngineConfig engine;
};

// One image's four contiguous phases: start is the first clock read, end the last.
struct Timing {
    Clock::time_point start, end;
    Phases phases;
    std::int64_t total_ns() const { return ns(start, end); }
};

// Loads the model into pipe and returns its load record: load_ns times pipe.load (the engine's load, see
// load_inferer); pipe.prepare (the engine's check of the model's shapes) follows, untimed. Throws RunError
// model_load, backend_unavailable when ORT cannot append the provider, or internal when ORT cannot make
// the session options (neither the model's fault nor the provider's). Works for Pipeline and BatchPipeline.
template <class P>
std::string load_model(const RunContext& ctx, P& pipe, std::optional<int> worker = {}) {
    const std::string& path = ctx.spec.model.path;
    // Checked before the clock starts: a clearer message than OpenCV's parse error, and no cost in load_ns.
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw RunError{"model_load", "cannot read model " + path + ": file not found"};
    std::int64_t load_ns = 0;
    try {
        const Clock::time_point t0 = Clock::now();
        pipe.load(path, ctx.engine);
        load_ns = ns(t0, Clock::now());
        pipe.prepare();
    } catch (const EngineUnavailable& e) {
        throw RunError{"backend_unavailable", e.what()};
    } catch (const EngineInternal& e) {
        throw RunError{"internal", e.what()};
    } catch (const std::exception& e) {
        throw RunError{"model_load", "cannot read model " + path + ": " + e.what()};
    }
    return load_record(ctx.spec.model.name, load_ns, worker, pipe.providers());
}

// preprocess, inference and postprocess of the image already in pipe, decoded between t0 and t1:
// three more clock reads, nothing else in between.
Timing finish_image(Pipeline& pipe, Clock::time_point t0, Clock::time_point t1);

// All four phases of one image file. Throws RunError image_read when imread returns nothing.
Timing process_image(Pipeline& pipe, const std::string& path);

// The images (positions in spec.images) whose detections record is written; safe for concurrent
// workers. claim() is called after the timed region, never inside it.
class FirstSeen {
public:
    explicit FirstSeen(std::size_t n_images) : seen_(n_images, false) {}
    // True exactly once per image: the caller writes its detections record.
    bool claim(int image);
    std::vector<int> unclaimed();

private:
    std::mutex mu_;
    std::vector<bool> seen_;
};

// "bus.jpg" for "/abs/data/images/bus.jpg".
std::string base_name(const std::string& path);

// The detections record of the image now in pipe.
void write_detections(RecordSink& out, const std::string& name, const Pipeline& pipe);

// The untimed pass at the end of a run: every image that no iteration processed is processed once
// more so that each image of the spec gets exactly one detections record.
void report_unseen(const RunContext& ctx, Pipeline& pipe, FirstSeen& seen);

RunError image_read_error(const std::string& path);
