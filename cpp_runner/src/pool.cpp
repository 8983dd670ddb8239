#include "pool.hpp"

#include <algorithm>

void StartGate::arrive(Clock::time_point ready) {
    std::lock_guard<std::mutex> lock(mu_);
    last_ready_ = std::max(last_ready_, ready);
    if (--missing_ == 0) cv_.notify_all();
}

Clock::time_point StartGate::wait_all() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return missing_ <= 0; });
    return last_ready_;
}

void StartGate::open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
}

void StartGate::wait_open() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
}

Worker::Worker(const RunContext& ctx, int id, FirstSeen& seen)
    : ctx_(ctx), id_(id), seen_(seen),
      pipe_(ctx.spec.model.input_size, ctx.spec.conf_threshold, ctx.spec.nms_threshold, ctx.spec.max_detections) {}

void Worker::start() {
    const Spec& spec = ctx_.spec;
    ctx_.out.write(load_model(ctx_, pipe_, id_));
    const int n_images = static_cast<int>(spec.images.size());
    for (int i = 0; i < spec.warmup; ++i) {
        const int img = i % n_images;
        report(i, true, img, process(img), IterationExtra{});
    }
}

Timing Worker::process(int img) {
    return process_image(pipe_, ctx_.spec.images[img]);
}

void Worker::report(int index, bool warmup, int img, const Timing& t, IterationExtra x) {
    const std::string name = base_name(ctx_.spec.images[img]);
    x.worker = id_;
    ctx_.out.write(iteration_record(index, warmup, name, t.phases, t.total_ns(),
                                    static_cast<int>(pipe_.detections().size()), x));
    if (seen_.claim(img)) write_detections(ctx_.out, name, pipe_);
}

void Worker::complete(const Timing& t) {
    last_completion_ = t.end;
    ++completed_;
}

WorkerPool::WorkerPool(const RunContext& ctx, int n, std::function<void()> on_stop)
    : ctx_(ctx), on_stop_(std::move(on_stop)), seen_(ctx.spec.images.size()), gate_(n) {
    for (int w = 0; w < n; ++w) workers_.push_back(std::make_unique<Worker>(ctx, w, seen_));
}

WorkerPool::~WorkerPool() {
    if (threads_.empty()) return;
    stop_.store(true, std::memory_order_release);
    if (on_stop_) on_stop_();
    gate_.open();
    join_threads();
}

std::int64_t WorkerPool::start(Serve serve) {
    const Clock::time_point begin = Clock::now();
    for (auto& w : workers_) threads_.emplace_back([this, wp = w.get(), serve] { body(*wp, serve); });
    const Clock::time_point ready = gate_.wait_all();
    if (stopped()) {  // a worker could not load or warm up: nothing to measure
        gate_.open();
        join();
    }
    return ns(begin, ready);
}

Clock::time_point WorkerPool::release() {
    const Clock::time_point t = Clock::now();
    gate_.open();
    return t;
}

void WorkerPool::join() {
    join_threads();
    std::lock_guard<std::mutex> lock(error_mu_);
    if (error_) std::rethrow_exception(error_);
}

Clock::time_point WorkerPool::last_completion() const {
    Clock::time_point last{};
    for (const auto& w : workers_) last = std::max(last, w->last_completion());
    return last;
}

int WorkerPool::completed() const {
    int n = 0;
    for (const auto& w : workers_) n += w->completed();
    return n;
}

void WorkerPool::body(Worker& w, const Serve& serve) {
    try {
        w.start();
    } catch (...) {
        fail(std::current_exception());
    }
    gate_.arrive(Clock::now());  // a failed worker arrives too, so the gate never waits forever
    gate_.wait_open();
    if (stopped()) return;
    try {
        serve(w);
    } catch (...) {
        fail(std::current_exception());
    }
}

void WorkerPool::fail(std::exception_ptr e) {
    {
        std::lock_guard<std::mutex> lock(error_mu_);
        if (!error_) error_ = e;  // the first error is the one reported
    }
    stop_.store(true, std::memory_order_release);
    if (on_stop_) on_stop_();
}

void WorkerPool::join_threads() {
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}
