// concurrency: N worker threads, released together, pull request numbers k = 0 .. iterations - 1
// from one shared counter (docs/protocol.md, "Scenarios", concurrency).
#include "memory.hpp"
#include "scenarios.hpp"
#include "pool.hpp"

#include <atomic>

int run_concurrency(const RunContext& ctx) {
    const Spec& spec = ctx.spec;
    const int n_images = static_cast<int>(spec.images.size());
    std::atomic<int> next{0};  // the shared queue: a request is its number
    WorkerPool pool(ctx, spec.workers);

    const auto serve = [&](Worker& w) {
        while (!pool.stopped()) {
            const int k = next.fetch_add(1, std::memory_order_relaxed);
            if (k >= spec.iterations) return;
            const Timing t = w.process(k % n_images);
            w.complete(t);
            w.report(k, false, k % n_images, t, IterationExtra{});
        }
    };
    const std::int64_t startup_ns = pool.start(serve);
    const Clock::time_point released = pool.release();
    pool.join();
    report_unseen(ctx, pool.worker(0).pipe(), pool.seen());

    PoolResult r;
    r.scenario = "concurrency";
    r.workers = spec.workers;
    r.mode = spec.mode;
    r.startup_ns = startup_ns;
    r.measured_wall_ns = ns(released, pool.last_completion());
    r.completed = pool.completed();
    ctx.out.write(pool_result_record(r));
    ctx.out.write(end_record(spec.iterations, spec.warmup, peak_rss_bytes(), pss_bytes()));
    return 0;
}
