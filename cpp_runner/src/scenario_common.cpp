#include "scenario_common.hpp"

Timing finish_image(Pipeline& pipe, Clock::time_point t0, Clock::time_point t1) {
    pipe.preprocess();
    const Clock::time_point t2 = Clock::now();
    pipe.infer();
    const Clock::time_point t3 = Clock::now();
    pipe.postprocess();
    const Clock::time_point t4 = Clock::now();
    return Timing{t0, t4, Phases{ns(t0, t1), ns(t1, t2), ns(t2, t3), ns(t3, t4)}};
}

Timing process_image(Pipeline& pipe, const std::string& path) {
    const Clock::time_point t0 = Clock::now();
    const bool ok = pipe.decode(path);
    const Clock::time_point t1 = Clock::now();
    if (!ok) throw image_read_error(path);
    return finish_image(pipe, t0, t1);
}

bool FirstSeen::claim(int image) {
    std::lock_guard<std::mutex> lock(mu_);
    if (seen_[image]) return false;
    seen_[image] = true;
    return true;
}

std::vector<int> FirstSeen::unclaimed() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<int> out;
    for (std::size_t i = 0; i < seen_.size(); ++i)
        if (!seen_[i]) out.push_back(static_cast<int>(i));
    return out;
}

std::string base_name(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

void write_detections(RecordSink& out, const std::string& name, const Pipeline& pipe) {
    const cv::Mat& m = pipe.image();
    out.write(detections_record(name, m.cols, m.rows, pipe.detections()));
}

void report_unseen(const RunContext& ctx, Pipeline& pipe, FirstSeen& seen) {
    for (int img : seen.unclaimed()) {
        const std::string& path = ctx.spec.images[img];
        if (!pipe.decode(path)) throw image_read_error(path);
        pipe.preprocess();
        pipe.infer();
        pipe.postprocess();
        seen.claim(img);
        write_detections(ctx.out, base_name(path), pipe);
    }
}

RunError image_read_error(const std::string& path) {
    return RunError{"image_read", "cannot read image " + path};
}
