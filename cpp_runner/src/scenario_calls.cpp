// call_overhead: a micro-benchmark of one call, the same in every language (docs/protocol.md,
// "Scenarios", call_overhead). No model is loaded.
#include "empty_call.hpp"
#include "memory.hpp"
#include "scenarios.hpp"

#include <opencv2/core.hpp>

namespace {

volatile int g_sink;  // written once per opencv sample

// Each sample: K calls in a loop between two clock reads.
std::int64_t time_empty(int K) {
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < K; ++i) empty_call();
    return ns(t0, Clock::now());
}

// The results feed a volatile once per sample, so that no call can be proved useless; the cost is
// one add per call.
std::int64_t time_count_non_zero(int K, const cv::Mat& m) {
    int sum = 0;
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < K; ++i) sum += cv::countNonZero(m);
    const Clock::time_point t1 = Clock::now();
    g_sink = sum;
    return ns(t0, t1);
}

// A new 1x1 Mat each call, counted and freed (its destructor), as a benchmark of "one call" most likely did.
std::int64_t time_mat_count_free(int K) {
    int sum = 0;
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < K; ++i) {
        const cv::Mat m(1, 1, CV_8UC1, cv::Scalar(0));
        sum += cv::countNonZero(m);
    }
    const Clock::time_point t1 = Clock::now();
    g_sink = sum;
    return ns(t0, t1);
}

// The loop alone, the baseline: an empty asm statement keeps each iteration.
std::int64_t time_loop(int K) {
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < K; ++i) {
#if defined(__GNUC__) || defined(__clang__)
        asm volatile("");
#endif
    }
    return ns(t0, Clock::now());
}

}  // namespace

int run_call_overhead(const RunContext& ctx) {
    const Spec& spec = ctx.spec;
    const int K = spec.calls_per_sample;
    const cv::Mat one(1, 1, CV_8UC1, cv::Scalar(1));  // created once; the call is what is measured
    const int total = spec.warmup + spec.iterations;
    // Interleaved sample by sample, so that drift (frequency, other load) touches every call alike.
    for (int s = 0; s < total; ++s) {
        const bool warmup = s < spec.warmup;
        const std::int64_t empty_ns = time_empty(K);
        ctx.out.write(call_sample_record("empty", s, warmup, K, empty_ns));
        const std::int64_t opencv_ns = time_count_non_zero(K, one);
        ctx.out.write(call_sample_record("opencv", s, warmup, K, opencv_ns));
        const std::int64_t mat_ns = time_mat_count_free(K);
        ctx.out.write(call_sample_record("mat", s, warmup, K, mat_ns));
        const std::int64_t loop_ns = time_loop(K);
        ctx.out.write(call_sample_record("loop", s, warmup, K, loop_ns));
    }
    ctx.out.write(end_record(spec.iterations, spec.warmup, peak_rss_bytes(), pss_bytes()));
    return 0;
}
