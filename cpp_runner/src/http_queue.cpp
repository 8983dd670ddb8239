#include "http_queue.hpp"

bool AdmissionQueue::try_submit(DetectJob* job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (closed_ || aborted_) return false;
        if (in_service_ + static_cast<long long>(waiting_.size()) >= capacity_) return false;
        waiting_.push_back(job);
    }
    ready_.notify_one();
    return true;
}

bool AdmissionQueue::take(DetectJob*& job) {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return !waiting_.empty() || closed_ || aborted_; });
    if (aborted_ || waiting_.empty()) return false;
    job = waiting_.front();
    waiting_.pop_front();
    ++in_service_;
    return true;
}

void AdmissionQueue::finish(DetectJob* job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        --in_service_;
    }
    job->finished.set_value();
}

void AdmissionQueue::close() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        closed_ = true;
    }
    ready_.notify_all();
}

void AdmissionQueue::abort() {
    std::deque<DetectJob*> failed;
    {
        std::lock_guard<std::mutex> lock(mu_);
        aborted_ = true;
        failed.swap(waiting_);
    }
    ready_.notify_all();
    for (DetectJob* job : failed) {
        job->outcome = DetectJob::Outcome::failed;
        job->finished.set_value();
    }
}

int AdmissionQueue::in_service() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_service_;
}

int AdmissionQueue::waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(waiting_.size());
}
