// The http scenario's bounded queue (docs/protocol.md, "Scenarios", http): connection threads hand detect
// requests to the pool of K networks; K may be in service and Q waiting, and one more is refused at once
// (503 overloaded) instead of queueing without bound.
#pragma once
#include "scenario_common.hpp"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <vector>

// One request, owned by the handler that waits for it; a network fills in the outcome.
struct DetectJob {
    enum class Outcome { pending, done, bad_image, failed };

    DetectJob(const std::string& body, Clock::time_point body_read) : body(body), body_read(body_read) {}

    const std::string& body;       // the request body (the encoded image)
    Clock::time_point body_read;   // queue_ns starts here
    Outcome outcome = Outcome::pending;
    int worker = -1;
    Timing timing;                 // the four phases, decode = imdecode of the body
    int width = 0, height = 0;
    std::vector<Detection> detections;
    std::promise<void> finished;   // set once the outcome is final
};

class AdmissionQueue {
public:
    AdmissionQueue(int networks, int waiting) : capacity_(static_cast<long long>(networks) + waiting) {}

    // Connection thread: queues the job, or refuses it (false) when K are in service and Q wait.
    bool try_submit(DetectJob* job);
    // Network: blocks for the oldest job (true), or returns false once closed and drained, or aborted.
    bool take(DetectJob*& job);
    // Network: the job's outcome is final. Its place is freed before the handler wakes, so that a client
    // that sends its next request upon the response finds the network free.
    void finish(DetectJob* job);
    void close();  // no more jobs: the networks drain the queue, then take() returns false
    void abort();  // a network failed: waiting jobs fail at once and take() returns false

    int in_service() const;
    int waiting() const;

private:
    const long long capacity_;  // K + Q
    mutable std::mutex mu_;
    std::condition_variable ready_;
    std::deque<DetectJob*> waiting_;  // arrival order: the oldest is served first
    int in_service_ = 0;
    bool closed_ = false, aborted_ = false;
};
