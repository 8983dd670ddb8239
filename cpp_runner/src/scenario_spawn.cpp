// spawn: the article's section 4.3 as it wrote it (docs/protocol.md, "Scenarios", spawn). N std::threads take
// M tasks from one queue, each task a sleep; a sample times the start of the N threads and the M tasks apart.
// No model is loaded and no ONNX Runtime either.
#include "memory.hpp"
#include "scenarios.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace {

// The one queue of the article: a deque under a mutex with a condition variable, ended by a closed flag.
class TaskQueue {
public:
    void push(int task) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            tasks_.push_back(task);
        }
        ready_.notify_one();
    }

    void close() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            closed_ = true;
        }
        ready_.notify_all();
    }

    // Blocks until there is a task (true) or the queue is closed and empty (false).
    bool pop(int& task) {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [&] { return !tasks_.empty() || closed_; });
        if (tasks_.empty()) return false;
        task = tasks_.front();
        tasks_.pop_front();
        return true;
    }

private:
    std::mutex mu_;
    std::condition_variable ready_;
    std::deque<int> tasks_;
    bool closed_ = false;
};

// Each worker counts itself in once it runs (an atomic counter); the last one wakes the main, which waits on
// a condition variable until all N have.
class CheckIn {
public:
    explicit CheckIn(int n) : n_(n) {}

    void arrive() {
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 < n_) return;
        std::lock_guard<std::mutex> lock(mu_);  // taken so that the notify cannot fall before the main waits
        all_.notify_one();
    }

    void wait_all() {
        std::unique_lock<std::mutex> lock(mu_);
        all_.wait(lock, [&] { return arrived_.load(std::memory_order_acquire) >= n_; });
    }

private:
    const int n_;
    std::atomic<int> arrived_{0};
    std::mutex mu_;
    std::condition_variable all_;
};

void work(int w, TaskQueue& queue, CheckIn& check_in, std::chrono::nanoseconds sleep, bool print) {
    check_in.arrive();
    int task = 0;
    while (queue.pop(task)) {
        std::this_thread::sleep_for(sleep);
        // The article's line, part of the task as it wrote it (stderr: stdout carries records only).
        if (print) std::fprintf(stderr, "Worker %d processed %d\n", w, task);
    }
}

// Starts the N workers. A thread the OS refuses is an internal error: the workers already started are
// released (the queue closed) and joined first, so that no joinable std::thread is left behind.
void start_workers(const Spec& spec, TaskQueue& queue, CheckIn& check_in, std::vector<std::thread>& threads) {
    const std::chrono::nanoseconds sleep(spec.task_sleep_ns);
    try {
        for (int w = 0; w < spec.workers; ++w)
            threads.emplace_back(work, w, std::ref(queue), std::ref(check_in), sleep, spec.print);
    } catch (const std::system_error& e) {
        queue.close();
        const std::size_t started = threads.size();
        for (std::thread& t : threads) t.join();
        throw RunError{"internal", "cannot start thread " + std::to_string(started + 1) + " of " +
                                       std::to_string(spec.workers) + ": " + e.what()};
    }
}

// One sample: the four clock reads of the protocol, the resident set before and with the workers alive.
SpawnSample run_sample(const Spec& spec, int index) {
    SpawnSample s;
    s.index = index;
    s.warmup = index < spec.warmup;
    s.workers = spec.workers;
    s.tasks = spec.tasks;
    TaskQueue queue;
    CheckIn check_in(spec.workers);
    std::vector<std::thread> threads;
    threads.reserve(spec.workers);  // outside the timed region: the article's loop allocates nothing

    s.rss_before_bytes = current_rss_bytes();
    const Clock::time_point t0 = Clock::now();
    start_workers(spec, queue, check_in, threads);
    check_in.wait_all();
    const Clock::time_point t1 = Clock::now();
    s.rss_bytes = current_rss_bytes();  // the N workers alive, blocked on the empty queue

    const Clock::time_point t2 = Clock::now();
    for (int k = 0; k < spec.tasks; ++k) queue.push(k);
    queue.close();
    for (std::thread& t : threads) t.join();
    const Clock::time_point t3 = Clock::now();

    s.startup_ns = ns(t0, t1);
    s.tasks_ns = ns(t2, t3);
    return s;
}

}  // namespace

int run_spawn(const RunContext& ctx) {
    const Spec& spec = ctx.spec;
    const int total = spec.warmup + spec.iterations;
    for (int i = 0; i < total; ++i) {
        const SpawnSample s = run_sample(spec, i);
        ctx.out.write(spawn_sample_record(s));  // after the sample's workers are joined
    }
    ctx.out.write(end_record(spec.iterations, spec.warmup, peak_rss_bytes(), pss_bytes()));
    return 0;
}
