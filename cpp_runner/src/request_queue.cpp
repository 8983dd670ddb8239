#include "request_queue.hpp"

#include <algorithm>
#include <numeric>

void RequestQueue::push(const Request& r) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        q_.push_back(r);
    }
    ready_.notify_one();
}

bool RequestQueue::pop(Request& r) {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return abort_ || closed_ || !q_.empty(); });
    if (abort_ || q_.empty()) return false;
    r = q_.front();
    q_.pop_front();
    return true;
}

void RequestQueue::close() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        closed_ = true;
    }
    ready_.notify_all();
}

void RequestQueue::abort() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        abort_ = true;
    }
    ready_.notify_all();
    aborted_.notify_all();
}

bool RequestQueue::sleep_until(Clock::time_point t) {
    std::unique_lock<std::mutex> lock(mu_);
    // wait_until on steady_clock: an absolute deadline on the monotonic clock, like std::this_thread::sleep_until.
    aborted_.wait_until(lock, t, [&] { return abort_; });
    return !abort_;
}

std::vector<int> dispatch_order(const std::vector<std::int64_t>& arrivals_ns) {
    std::vector<int> order(arrivals_ns.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return arrivals_ns[a] < arrivals_ns[b]; });
    return order;
}
