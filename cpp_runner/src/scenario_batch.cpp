// batch: B images per iteration, one blob, one forward (docs/protocol.md, "Scenarios", batch).
#include "pipeline_batch.hpp"
#include "memory.hpp"
#include "scenarios.hpp"

#include <algorithm>

namespace {

// The four phases of one batch: decode reads the B images, preprocess letterboxes each and builds
// one blob, inference is one forward, postprocess decodes each image's slice.
Timing process_batch(BatchPipeline& pipe, const std::vector<std::string>& paths) {
    const Clock::time_point t0 = Clock::now();
    int bad = -1;
    for (int j = 0; j < pipe.batch() && bad < 0; ++j)
        if (!pipe.decode(j, paths[j])) bad = j;
    const Clock::time_point t1 = Clock::now();
    if (bad >= 0) throw image_read_error(paths[bad]);
    pipe.preprocess();
    const Clock::time_point t2 = Clock::now();
    pipe.infer();
    const Clock::time_point t3 = Clock::now();
    pipe.postprocess();
    const Clock::time_point t4 = Clock::now();
    return Timing{t0, t4, Phases{ns(t0, t1), ns(t1, t2), ns(t2, t3), ns(t3, t4)}};
}

// Detections records of the slots whose image nobody has reported yet (the first slot wins when
// an image fills two slots of one batch).
void report_new(const RunContext& ctx, const BatchPipeline& pipe, const std::vector<int>& slots, FirstSeen& seen) {
    for (int j = 0; j < pipe.batch(); ++j) {
        if (!seen.claim(slots[j])) continue;
        const cv::Mat& m = pipe.image(j);
        ctx.out.write(detections_record(base_name(ctx.spec.images[slots[j]]), m.cols, m.rows, pipe.detections(j)));
    }
}

// Untimed batches of the images no iteration processed; slots left over repeat the chunk's first
// image, since the model takes exactly B.
void report_unseen_batches(const RunContext& ctx, BatchPipeline& pipe, FirstSeen& seen) {
    const std::vector<int> unseen = seen.unclaimed();
    const int B = pipe.batch();
    std::vector<int> slots(B);
    std::vector<std::string> paths(B);
    for (std::size_t c = 0; c < unseen.size(); c += B) {
        for (int j = 0; j < B; ++j) {
            slots[j] = c + j < unseen.size() ? unseen[c + j] : unseen[c];
            paths[j] = ctx.spec.images[slots[j]];
        }
        process_batch(pipe, paths);
        report_new(ctx, pipe, slots, seen);
    }
}

}  // namespace

int run_batch(const RunContext& ctx) {
    const Spec& spec = ctx.spec;
    const int B = spec.batch, n_images = static_cast<int>(spec.images.size());
    BatchPipeline pipe(B, spec.model.input_size, spec.conf_threshold, spec.nms_threshold, spec.max_detections);
    ctx.out.write(load_model(ctx, pipe));

    FirstSeen seen(spec.images.size());
    std::vector<int> slots(B);
    std::vector<std::string> paths(B);
    IterationExtra x;
    x.batch = B;
    const int total = spec.warmup + spec.iterations;
    for (int i = 0; i < total; ++i) {
        for (int j = 0; j < B; ++j) {
            slots[j] = batch_image_index(i, j, B, n_images);
            paths[j] = spec.images[slots[j]];
        }
        const Timing t = process_batch(pipe, paths);
        ctx.out.write(iteration_record(i, i < spec.warmup, base_name(paths[0]), t.phases, t.total_ns(),
                                       pipe.total_detections(), x));
        report_new(ctx, pipe, slots, seen);
    }
    report_unseen_batches(ctx, pipe, seen);

    ctx.out.write(end_record(spec.iterations, spec.warmup, peak_rss_bytes(), pss_bytes()));
    return 0;
}
