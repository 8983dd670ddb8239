// single: one image per iteration, warm-up first (docs/protocol.md, "Records").
#include "memory.hpp"
#include "scenarios.hpp"

int run_single(const RunContext& ctx) {
    const Spec& spec = ctx.spec;
    Pipeline pipe(spec.model.input_size, spec.conf_threshold, spec.nms_threshold, spec.max_detections);
    ctx.out.write(load_model(ctx, pipe));

    const int n_images = static_cast<int>(spec.images.size());
    FirstSeen seen(spec.images.size());
    const int total = spec.warmup + spec.iterations;
    for (int i = 0; i < total; ++i) {
        const int img = i % n_images;
        const std::string& path = spec.images[img];
        const Timing t = process_image(pipe, path);
        const std::string name = base_name(path);
        ctx.out.write(iteration_record(i, i < spec.warmup, name, t.phases, t.total_ns(),
                                       static_cast<int>(pipe.detections().size())));
        if (seen.claim(img)) write_detections(ctx.out, name, pipe);
    }
    report_unseen(ctx, pipe, seen);

    ctx.out.write(end_record(spec.iterations, spec.warmup, peak_rss_bytes(), pss_bytes()));
    return 0;
}
