#include "run.hpp"

#include "backend.hpp"
#include "memory.hpp"
#include "pipeline.hpp"
#include "version.hpp"

#include <opencv2/core.hpp>

#include <chrono>
#include <filesystem>
#include <stdexcept>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ns(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// An error that ends the run with a given protocol code.
struct RunError {
    std::string code;
    std::string message;
};

int run_single(const Spec& spec, RecordSink& out, cv::dnn::Backend backend, cv::dnn::Target target) {
    Pipeline pipe(spec.model.input_size, spec.conf_threshold, spec.nms_threshold, spec.max_detections);

    // Checked before the clock starts: a clearer message than OpenCV's parse error, and no cost in load_ns.
    std::error_code ec;
    if (!std::filesystem::is_regular_file(spec.model.path, ec))
        throw RunError{"model_load", "cannot read model " + spec.model.path + ": file not found"};
    Clock::time_point l0, l1;
    try {
        l0 = Clock::now();
        pipe.load(spec.model.path, backend, target);
        l1 = Clock::now();
    } catch (const std::exception& e) {
        throw RunError{"model_load", "cannot read model " + spec.model.path + ": " + e.what()};
    }
    out.write(load_record(spec.model.name, ns(l0, l1)));

    const int n_images = static_cast<int>(spec.images.size());
    std::vector<bool> reported(n_images, false);  // per position in spec.images
    const auto report = [&](int img) {
        const cv::Mat& m = pipe.image();
        out.write(detections_record(base_name(spec.images[img]), m.cols, m.rows, pipe.detections()));
        reported[img] = true;
    };
    const auto image_error = [&](int img) {
        return RunError{"image_read", "cannot read image " + spec.images[img]};
    };

    const int total = spec.warmup + spec.iterations;
    for (int i = 0; i < total; ++i) {
        const int img = i % n_images;
        const std::string& path = spec.images[img];
        // Five clock reads, nothing but the four phases between the first and the last.
        const Clock::time_point t0 = Clock::now();
        const bool ok = pipe.decode(path);
        const Clock::time_point t1 = Clock::now();
        if (!ok) throw image_error(img);
        pipe.preprocess();
        const Clock::time_point t2 = Clock::now();
        pipe.infer();
        const Clock::time_point t3 = Clock::now();
        pipe.postprocess();
        const Clock::time_point t4 = Clock::now();

        const Phases ph{ns(t0, t1), ns(t1, t2), ns(t2, t3), ns(t3, t4)};
        out.write(iteration_record(i, i < spec.warmup, base_name(path), ph, ns(t0, t4),
                                   static_cast<int>(pipe.detections().size())));
        if (!reported[img]) report(img);
    }

    // Untimed pass so that every image of the spec gets its detections record.
    for (int img = 0; img < n_images; ++img) {
        if (reported[img]) continue;
        if (!pipe.decode(spec.images[img])) throw image_error(img);
        pipe.preprocess();
        pipe.infer();
        pipe.postprocess();
        report(img);
    }

    out.write(end_record(spec.iterations, spec.warmup, peak_rss_bytes()));
    return 0;
}

}  // namespace

std::string base_name(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

int run_spec(const Spec& spec, RecordSink& out) {
    try {
        // Before the model is loaded, as the protocol asks; 0 keeps OpenCV's default.
        if (spec.threads > 0) cv::setNumThreads(spec.threads);

        cv::dnn::Backend backend = cv::dnn::DNN_BACKEND_DEFAULT;
        cv::dnn::Target target = cv::dnn::DNN_TARGET_CPU;
        backend_from_name(spec.backend, backend);  // names were validated with the spec
        target_from_name(spec.target, target);

        Hello h;
        h.language_version = compiler_version();
        h.opencv_version = cv::getVersionString();
        h.opencv_build_info = cv::getBuildInformation();
        h.threads = cv::getNumThreads();
        h.pid = process_id();
        h.backend = spec.backend;
        h.target = spec.target;
        h.available_targets = available_target_names(backend);
        out.write(hello_record(h));

        if (spec.scenario != "single")
            throw RunError{"unsupported_scenario",
                           "scenario \"" + spec.scenario + "\" is not supported by cpp_runner (supported: single)"};

        bool available = false;
        for (const std::string& t : h.available_targets) available = available || t == spec.target;
        if (!available)
            throw RunError{"backend_unavailable", "target " + spec.target + " is not available for backend " +
                                                      spec.backend + " in this OpenCV build"};

        return run_single(spec, out, backend, target);
    } catch (const RunError& e) {
        out.write(error_record(e.code, e.message));
    } catch (const std::exception& e) {  // cv::Exception included
        out.write(error_record("internal", e.what()));
    }
    return 1;
}
