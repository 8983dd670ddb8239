// server: an open-loop schedule. After start-up and warm-up (as in concurrency) the clock starts;
// a dispatcher enqueues request k at start + arrivals_ns[k] whether or not a worker is free, and
// free workers take requests in arrival order (docs/protocol.md, "Scenarios", server).
#include "memory.hpp"
#include "request_queue.hpp"
#include "scenarios.hpp"
#include "pool.hpp"

#include <algorithm>

namespace {

// Sleeps until each arrival and enqueues the request; stops early when a worker failed.
void dispatch(const Spec& spec, Clock::time_point start, RequestQueue& queue) {
    for (int k : dispatch_order(spec.arrivals_ns)) {
        const Clock::time_point arrival = start + std::chrono::nanoseconds(spec.arrivals_ns[k]);
        if (!queue.sleep_until(arrival)) return;
        // The scheduled time, not the time the dispatcher woke: the client sent it then.
        queue.push(Request{k, arrival});
    }
}

}  // namespace

int run_server(const RunContext& ctx) {
    const Spec& spec = ctx.spec;
    const int n_images = static_cast<int>(spec.images.size());
    RequestQueue queue;
    WorkerPool pool(ctx, spec.workers, [&queue] { queue.abort(); });

    const auto serve = [&](Worker& w) {
        Request req;
        while (queue.pop(req)) {
            const Timing t = w.process(req.k % n_images);
            w.complete(t);
            IterationExtra x;
            x.queue_ns = ns(req.arrival, t.start);   // waiting for a free worker
            x.latency_ns = ns(req.arrival, t.end);   // what the client waits: queueing + service
            w.report(req.k, false, req.k % n_images, t, x);
        }
    };
    const std::int64_t startup_ns = pool.start(serve);
    const Clock::time_point start = pool.release();
    dispatch(spec, start, queue);
    queue.close();
    pool.join();
    report_unseen(ctx, pool.worker(0).pipe(), pool.seen());

    const std::int64_t first_arrival = *std::min_element(spec.arrivals_ns.begin(), spec.arrivals_ns.end());
    PoolResult r;
    r.scenario = "server";
    r.workers = spec.workers;
    r.mode = spec.mode;
    r.rate = spec.rate;
    r.startup_ns = startup_ns;
    r.measured_wall_ns = ns(start + std::chrono::nanoseconds(first_arrival), pool.last_completion());
    r.completed = pool.completed();
    ctx.out.write(pool_result_record(r));
    ctx.out.write(end_record(spec.iterations, spec.warmup, peak_rss_bytes(), pss_bytes()));
    return 0;
}
