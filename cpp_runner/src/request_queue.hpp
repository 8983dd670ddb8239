// The server scenario's open-loop request queue (docs/protocol.md, "Scenarios", server): a
// dispatcher enqueues each request at its arrival time, whether or not a worker is free, and free
// workers take requests in arrival order.
#pragma once
#include "scenario_common.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

struct Request {
    int k = 0;                   // request number: images[k % len(images)]
    Clock::time_point arrival;  // when the client sent it: queue_ns and latency_ns start here
};

class RequestQueue {
public:
    void push(const Request& r);
    // Blocks until a request is there (true) or the queue is closed and empty, or aborted (false).
    bool pop(Request& r);
    void close();  // no more requests: workers drain the queue, then pop returns false
    void abort();  // a worker failed: pop and sleep_until return false at once

    // The dispatcher's sleep until t, cut short by abort() (false then). A plain sleep_until could
    // keep a failed run waiting for the rest of the schedule.
    bool sleep_until(Clock::time_point t);

private:
    std::mutex mu_;
    std::condition_variable ready_;    // workers wait here for requests
    std::condition_variable aborted_;  // the dispatcher waits here for its next arrival
    std::deque<Request> q_;
    bool closed_ = false, abort_ = false;
};

// Request numbers in the order they arrive: by offset, ties (and an already sorted schedule) in
// request order, so an unsorted arrivals_ns list is still served as an open-loop schedule.
std::vector<int> dispatch_order(const std::vector<std::int64_t>& arrivals_ns);
