// Worker threads for the concurrency and server scenarios (docs/protocol.md, "Scenarios"): each
// worker owns its model (a Net, or an ORT session: a Net is not thread-safe; ORT's env is the
// process's) and its reusable Mats, loads and warms up on its own, and waits at a start gate until
// every worker is ready; then all are released together.
#pragma once
#include "scenario_common.hpp"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

// A one-shot barrier: every worker arrives once (ready or failed); the main thread waits for all
// of them, then opens the gate so that they leave at the same moment.
class StartGate {
public:
    explicit StartGate(int parties) : missing_(parties) {}
    void arrive(Clock::time_point ready);  // worker: done with start-up at `ready`
    Clock::time_point wait_all();          // main: blocks until all arrived; the latest `ready`
    void open();                           // main: releases every waiting worker
    void wait_open();                      // worker: blocks until open()

private:
    std::mutex mu_;
    std::condition_variable cv_;
    int missing_;
    bool open_ = false;
    Clock::time_point last_ready_{};
};

class Worker {
public:
    Worker(const RunContext& ctx, int id, FirstSeen& seen);

    int id() const { return id_; }
    Pipeline& pipe() { return pipe_; }

    // Loads its own model (load record with "worker") and runs the warm-up iterations, reported with
    // "warmup": true and per-worker indices 0 .. warmup - 1.
    void start();
    // The four timed phases of spec.images[img]. Throws RunError image_read.
    Timing process(int img);
    // The iteration record of image img (with "worker" added to x), then its detections record if
    // no worker has reported it yet. Called after the timed region.
    void report(int index, bool warmup, int img, const Timing& t, IterationExtra x);
    // Counts a measured request as completed at t.end.
    void complete(const Timing& t);

    Clock::time_point last_completion() const { return last_completion_; }
    int completed() const { return completed_; }

private:
    const RunContext& ctx_;
    int id_;
    FirstSeen& seen_;
    Pipeline pipe_;
    Clock::time_point last_completion_{};
    int completed_ = 0;
};

class WorkerPool {
public:
    using Serve = std::function<void(Worker&)>;

    // on_stop runs (once, on the failing thread) when a worker fails, to wake what the workers wait on.
    WorkerPool(const RunContext& ctx, int n, std::function<void()> on_stop = {});
    ~WorkerPool();  // stops and joins workers still running (the main thread threw)
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Starts the n workers at once; each loads, warms up, waits at the gate, then runs serve(worker).
    // Returns startup_ns: from before the first thread starts to the last worker's end of warm-up.
    // When a start-up failed, joins every worker and throws that error.
    std::int64_t start(Serve serve);
    // Opens the gate: all workers go at once. Returns the release time.
    Clock::time_point release();
    // Waits for every worker to return, then rethrows the first worker error, if any.
    void join();

    bool stopped() const { return stop_.load(std::memory_order_acquire); }
    // After join(): the last measured completion and the number of measured completions.
    Clock::time_point last_completion() const;
    int completed() const;
    Worker& worker(int i) { return *workers_[i]; }
    FirstSeen& seen() { return seen_; }

private:
    void body(Worker& w, const Serve& serve);
    void fail(std::exception_ptr e);
    void join_threads();

    const RunContext& ctx_;
    std::function<void()> on_stop_;
    FirstSeen seen_;
    StartGate gate_;
    std::vector<std::unique_ptr<Worker>> workers_;  // separate allocations: no shared cache lines
    std::vector<std::thread> threads_;
    std::atomic<bool> stop_{false};
    std::mutex error_mu_;
    std::exception_ptr error_;
};
