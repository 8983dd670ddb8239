// http: an HTTP inference server on cpp-httplib (docs/protocol.md, "Scenarios", http). httplib runs a thread
// per connection; each detect handler reads the body and hands it to the pool of K networks (the workers of
// pool.hpp, each with its own Net or ORT session, started and warmed up as in concurrency) through a bounded
// queue: K in service and Q waiting, one more is 503 at once. The server listens on 127.0.0.1 only and stops
// when stdin reaches end of file, after the requests it admitted.
#include "http_queue.hpp"
#include "memory.hpp"
#include "pool.hpp"
#include "scenarios.hpp"

// Both only matter to a header-only cpp-httplib (Debian's is compiled with poll already): poll, because
// select() cannot watch a descriptor above FD_SETSIZE (1024) and the server holds more connections than that;
// and a listen backlog for a burst of 1000+ connections (see relisten below for a compiled library).
#define CPPHTTPLIB_USE_POLL
#define CPPHTTPLIB_LISTEN_BACKLOG 4096
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#if !defined(_WIN32)
#include <sys/resource.h>
#include <sys/socket.h>
#endif

namespace {

const char* const kAddress = "127.0.0.1";  // loopback only, whatever the spec says
constexpr int kListenBacklog = 4096;       // the kernel caps it at net.core.somaxconn

// httplib serves a connection on one thread for its whole keep-alive life, so the threads bound the
// connections served at once. A fixed ThreadPool would make every connection beyond its size wait unserved
// (not even refused), and one as large as the load generator's 1000+ connections would hold that many
// stacks from the start, which the memory figures would count. So the pool grows on demand, a thread per
// connection that finds none idle, keeps the threads it made for the next connections, and stops growing
// at max_threads; past that, accepted connections wait in arrival order for a thread to come free.
class ConnectionThreads : public httplib::TaskQueue {
public:
    explicit ConnectionThreads(std::size_t max_threads) : max_(max_threads) {}
    ~ConnectionThreads() override { shutdown(); }

    void enqueue(std::function<void()> fn) override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            jobs_.push_back(std::move(fn));
            if (idle_ < jobs_.size() && threads_.size() < max_) grow();
        }
        ready_.notify_one();
    }

    // httplib calls it once the server stopped accepting: the connections already accepted are still
    // served (their requests finish), then every thread is joined.
    void shutdown() override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (shutdown_) return;
            shutdown_ = true;
        }
        ready_.notify_all();
        for (std::thread& t : threads_) t.join();
    }

private:
    // Called under mu_. A thread the OS refuses leaves the job to the threads there are.
    void grow() {
        try {
            threads_.emplace_back([this] { run(); });
        } catch (const std::system_error& e) {
            std::fprintf(stderr, "cpp_runner: http: cannot start connection thread %zu: %s\n", threads_.size() + 1,
                         e.what());
            max_ = threads_.size();
        }
    }

    void run() {
        std::unique_lock<std::mutex> lock(mu_);
        for (;;) {
            ++idle_;
            ready_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
            --idle_;
            if (jobs_.empty()) return;  // shut down and drained
            std::function<void()> fn = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            fn();
            lock.lock();
        }
    }

    std::size_t max_;
    std::mutex mu_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0;
    bool shutdown_ = false;
};

// Every admitted request holds its connection's thread while it waits (K + Q of them), and the refused
// and idle keep-alive connections need theirs: room for the load generator's 1000+ connections beyond the
// admitted ones, and a cap that keeps a huge Q from asking the OS for tens of thousands of stacks.
std::size_t connection_threads(const Spec& spec) {
    const long long want = static_cast<long long>(spec.workers) + spec.http.queue + 1024;
    return static_cast<std::size_t>(std::clamp<long long>(want, 2048, 16384));
}

// Each connection is a descriptor: raise the soft limit to the hard one (as Go's runtime does at start-up),
// or the 1024 of many systems would stop accept() short of the connections the server is sized for.
void raise_open_file_limit() {
#if !defined(_WIN32)
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
#endif
}

// "image/jpeg; q=1" -> "image/jpeg": the media type, lower case, without parameters or spaces.
std::string media_type(const std::string& header) {
    std::string t;
    for (char c : header.substr(0, header.find(';'))) {
        const unsigned char u = static_cast<unsigned char>(c);
        if (!std::isspace(u)) t += static_cast<char>(std::tolower(u));
    }
    return t;
}

bool accepted_media_type(const httplib::Request& req) {
    const std::string t = media_type(req.get_header_value("Content-Type"));
    return t == "image/jpeg" || t == "image/png" || t == "application/octet-stream";
}

// Content-Length as a number; nullopt when absent or not a plain decimal number.
std::optional<std::uint64_t> content_length(const httplib::Request& req) {
    if (!req.has_header("Content-Length")) return std::nullopt;
    const std::string v = req.get_header_value("Content-Length");
    if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    return std::stoull(v);
}

// A body follows the headers (RFC 9112: a request has one only with Content-Length or Transfer-Encoding).
bool body_follows(const httplib::Request& req) {
    if (req.has_header("Transfer-Encoding")) return true;
    const std::optional<std::uint64_t> n = content_length(req);
    return req.has_header("Content-Length") && (!n || *n > 0);
}

const char* error_code(int status) {
    switch (status) {
        case 400: return "bad_request";
        case 404: return "not_found";
        case 405: return "method_not_allowed";
        case 413: return "too_large";
        case 415: return "unsupported_media_type";
        case 503: return "overloaded";
        default: return status >= 500 ? "internal" : "bad_request";
    }
}

void refuse(httplib::Response& res, int status, const std::string& code, const std::string& message) {
    res.status = status;
    res.set_content(http_error_body(code, message), "application/json");
}

// A refusal of a request whose body is still unread. Reading it would cost what the refusal saves (a 100 MB
// upload), and leaving it would make its bytes the connection's next request, so the connection closes after
// the response. httplib 0.11 closes a connection only when writing the response fails: the body is written
// through a content provider that writes all of it, then reports failure.
void refuse_unread(const httplib::Request& req, httplib::Response& res, int status, const std::string& code,
                   const std::string& message) {
    if (!body_follows(req)) return refuse(res, status, code, message);
    res.status = status;
    res.set_header("Connection", "close");
    const std::string body = http_error_body(code, message);
    res.set_content_provider(body.size(), "application/json",
                             [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                                 sink.write(body.data() + offset, length);
                                 return false;  // the response is complete; closes the connection
                             });
}

// What the handler measured and the network computed, kept until the response is written (the record is
// written after it, by the logger, on the same connection thread).
struct PendingRecord {
    std::string image;
    int worker = 0;
    Timing timing;
    int detections = 0;
    std::int64_t queue_ns = 0, handler_ns = 0;
};
thread_local std::optional<PendingRecord> t_pending;

// Stops the server once, when stdin reaches end of file or a network fails. httplib's stop() does nothing
// before listen_after_bind runs (and a second stop() trips its assert), so one thread does it once the server
// runs. Shared with the stdin reader, which may outlive the run (blocked on a stdin that never ends).
struct StopSignal {
    std::mutex mu;
    std::condition_variable cv;
    bool eof = false, failed = false, ended = false;

    void set(bool StopSignal::*flag) {
        {
            std::lock_guard<std::mutex> lock(mu);
            this->*flag = true;
        }
        cv.notify_all();
    }
};

class HttpServer {
public:
    HttpServer(const RunContext& ctx, AdmissionQueue& queue) : ctx_(ctx), spec_(ctx.spec), queue_(queue) {
        configure();
        route();
    }

    // Binds 127.0.0.1:port; returns the port. Throws RunError internal naming the address.
    int bind();
    // Serves until stdin reaches end of file or signal->failed; returns once every admitted request is done.
    void serve(const std::shared_ptr<StopSignal>& signal);

    std::int64_t served() const { return next_index_; }
    std::int64_t rejected() const { return rejected_.load(); }

private:
    void configure();
    void route();
    httplib::Server::HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res);
    void detect(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
    bool read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                   std::string& body);
    void answer(const httplib::Request& req, httplib::Response& res, DetectJob& job, Clock::time_point entry);
    httplib::Server::HandlerResponse on_error(httplib::Response& res);
    void on_written();

    const RunContext& ctx_;
    const Spec& spec_;
    AdmissionQueue& queue_;
    httplib::Server svr_;
    socket_t listener_ = INVALID_SOCKET;
    std::mutex record_mu_;  // indices in completion order, and the lines in that order
    std::int64_t next_index_ = 0;
    std::atomic<std::int64_t> rejected_{0};
};

void HttpServer::configure() {
    const std::size_t threads = connection_threads(spec_);
    svr_.new_task_queue = [threads] { return new ConnectionThreads(threads); };
    // Replaces httplib's SO_REUSEPORT, under which a second server could share a fixed port silently: a port in
    // use must fail the bind. Keeps the descriptor for relisten().
    svr_.set_socket_options([this](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&yes), sizeof(yes));
        listener_ = sock;
    });
    svr_.set_tcp_nodelay(true);  // headers and body are two writes: Nagle would hold the body for an ACK
    svr_.set_payload_max_length(static_cast<std::size_t>(spec_.http.max_body_bytes));
    // A connection closes after 1000 requests so that, once every thread is taken, waiting connections get
    // their turn; an idle one after 5 s (httplib's default), and a read or write stalled for 5 s ends its
    // connection, so that a slow client holds only its own thread, and not for long. The idle timeout has a
    // cost beyond the thread: httplib 0.11 waits on an idle keep-alive connection by polling it every 11 ms
    // (poll 10 ms, sleep 1 ms), so 1000 idle connections keep about two cores busy waking up.
    svr_.set_keep_alive_max_count(1000);
    svr_.set_keep_alive_timeout(5);
    svr_.set_read_timeout(5, 0);
    svr_.set_write_timeout(5, 0);
    svr_.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request&, httplib::Response& res) { return on_error(res); }));
    svr_.set_logger([this](const httplib::Request&, const httplib::Response&) { on_written(); });
}

void HttpServer::route() {
    svr_.set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { return pre_route(req, res); });
    svr_.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content("{\"status\":\"ready\",\"workers\":" + std::to_string(spec_.workers) + "}", "application/json");
    });
    svr_.Post("/v1/detect", [this](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) { detect(req, res, reader); });
}

// Other paths and methods, refused before any body is read.
httplib::Server::HandlerResponse HttpServer::pre_route(const httplib::Request& req, httplib::Response& res) {
    const bool get = req.method == "GET" || req.method == "HEAD";
    if ((req.path == "/healthz" && get) || (req.path == "/v1/detect" && req.method == "POST"))
        return httplib::Server::HandlerResponse::Unhandled;  // to the routes
    if (req.path == "/healthz" || req.path == "/v1/detect") {
        const char* allow = req.path == "/healthz" ? "GET" : "POST";
        res.set_header("Allow", allow);
        refuse_unread(req, res, 405, "method_not_allowed",
                      req.method + " is not allowed on " + req.path + ": use " + allow);
    } else {
        refuse_unread(req, res, 404, "not_found",
                      "no " + req.path + " here: POST an image to /v1/detect, or GET /healthz");
    }
    return httplib::Server::HandlerResponse::Handled;
}

void HttpServer::detect(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    const Clock::time_point entry = Clock::now();
    if (!accepted_media_type(req))
        return refuse_unread(req, res, 415, "unsupported_media_type",
                             "Content-Type \"" + req.get_header_value("Content-Type") + "\": send the image file's " +
                                 "bytes as image/jpeg, image/png or application/octet-stream");
    std::string body;
    if (!read_body(req, res, reader, body)) return;
    DetectJob job(body, Clock::now());
    std::future<void> finished = job.finished.get_future();
    if (!queue_.try_submit(&job))
        return refuse(res, 503, "overloaded",
                      std::to_string(spec_.workers) + " networks busy and " + std::to_string(spec_.http.queue) +
                          " requests waiting: retry later, or send fewer requests at once");
    finished.wait();
    answer(req, res, job, entry);
}

// The body, refused as soon as it passes B: from Content-Length before a byte is read, else while it comes.
// False when the request was refused.
bool HttpServer::read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                           std::string& body) {
    const std::size_t limit = static_cast<std::size_t>(spec_.http.max_body_bytes);
    const std::string too_large = "send at most " + std::to_string(limit) + " bytes (the image file itself)";
    const std::optional<std::uint64_t> length = content_length(req);
    if (req.has_header("Content-Length") && !length) {
        refuse_unread(req, res, 400, "bad_request", "Content-Length must be a decimal number of bytes");
        return false;
    }
    if (length && *length > limit) {
        refuse_unread(req, res, 413, "too_large", "Content-Length " + std::to_string(*length) + ": " + too_large);
        return false;
    }
    if (!body_follows(req)) {
        refuse(res, 400, "bad_image", "the body is empty: send the image file's bytes");
        return false;
    }
    if (length) body.reserve(static_cast<std::size_t>(*length));
    bool over = false;
    const bool read = reader([&](const char* data, std::size_t n) {
        over = body.size() + n > limit;
        if (!over) body.append(data, n);
        return !over;  // stops the read: the rest of the body is never received
    });
    if (over)
        refuse_unread(req, res, 413, "too_large", "the body passed " + std::to_string(limit) + " bytes: " + too_large);
    else if (!read)
        refuse_unread(req, res, 400, "bad_request", "the body could not be read to its end");
    return read && !over;
}

// The response of a job the networks are done with; the record waits for the response to be written.
void HttpServer::answer(const httplib::Request& req, httplib::Response& res, DetectJob& job, Clock::time_point entry) {
    if (job.outcome == DetectJob::Outcome::bad_image)
        return refuse(res, 400, "bad_image", "the body does not decode as an image: send a JPEG or PNG file's bytes");
    if (job.outcome != DetectJob::Outcome::done)
        return refuse(res, 500, "internal", "a network failed: the server is stopping");
    std::string name = req.get_header_value("X-Image-Name");
    if (name.empty()) name = "request";
    res.set_content(detections_body(name, job.width, job.height, job.detections), "application/json");
    const Clock::time_point encoded = Clock::now();
    t_pending = PendingRecord{name, job.worker, job.timing, static_cast<int>(job.detections.size()),
                              ns(job.body_read, job.timing.start), ns(entry, encoded)};
}

// Every refusal passes here, the library's own (a malformed request, 414) included: it is counted, and given
// the protocol's JSON body when it has none.
httplib::Server::HandlerResponse HttpServer::on_error(httplib::Response& res) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    if (res.has_header("Content-Type")) return httplib::Server::HandlerResponse::Unhandled;
    refuse(res, res.status, error_code(res.status),
           "HTTP " + std::to_string(res.status) + ": POST an image file's bytes to /v1/detect, or GET /healthz");
    return httplib::Server::HandlerResponse::Handled;
}

// After the response is written (httplib's logger runs then): the iteration record of a served request.
void HttpServer::on_written() {
    if (!t_pending) return;
    const PendingRecord p = std::move(*t_pending);
    t_pending.reset();
    IterationExtra x;
    x.worker = p.worker;
    x.queue_ns = p.queue_ns;
    x.handler_ns = p.handler_ns;
    std::lock_guard<std::mutex> lock(record_mu_);
    ctx_.out.write(iteration_record(static_cast<int>(next_index_++), false, p.image, p.timing.phases,
                                    p.timing.total_ns(), p.detections, x));
}

// httplib 0.11 as Debian builds it listens with a backlog of 5, which a burst of connections overflows
// (clients then wait a second for SYN retries). listen() again on the same socket sets the backlog.
void relisten(socket_t sock) {
    if (sock != INVALID_SOCKET) ::listen(sock, kListenBacklog);
}

int HttpServer::bind() {
    const int port = spec_.http.port;
    const int bound = port == 0 ? svr_.bind_to_any_port(kAddress) : (svr_.bind_to_port(kAddress, port) ? port : -1);
    if (bound <= 0)
        throw RunError{"internal", "cannot listen on " + std::string(kAddress) + ":" + std::to_string(port) + ": " +
                                       std::error_code(errno, std::generic_category()).message()};
    relisten(listener_);
    return bound;
}

// The one thread that calls stop(): once asked, and once the server runs.
void stop_when_asked(httplib::Server& svr, StopSignal& signal) {
    {
        std::unique_lock<std::mutex> lock(signal.mu);
        signal.cv.wait(lock, [&] { return signal.eof || signal.failed || signal.ended; });
    }
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(signal.mu);
            if (signal.ended) return;  // listen_after_bind returned on its own
        }
        if (svr.is_running()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    svr.stop();
}

void HttpServer::serve(const std::shared_ptr<StopSignal>& signal) {
    std::thread stopper([this, signal] { stop_when_asked(svr_, *signal); });
    const bool ok = svr_.listen_after_bind();
    signal->set(&StopSignal::ended);
    stopper.join();
    std::lock_guard<std::mutex> lock(signal->mu);
    if (!ok && !signal->eof && !signal->failed)
        throw RunError{"internal", "the server on " + std::string(kAddress) + " stopped accepting connections"};
}

// Reads stdin to its end, then asks the server to stop. Detached: when a network failed first, stdin may
// never end, and the thread must not keep the process.
void watch_stdin(const std::shared_ptr<StopSignal>& signal) {
    std::thread([signal] {
        std::cin.ignore(std::numeric_limits<std::streamsize>::max());
        signal->set(&StopSignal::eof);
    }).detach();
}

// One network's loop: the oldest admitted request, decoded from its body and run through the algorithm.
void serve_jobs(Worker& w, AdmissionQueue& queue) {
    DetectJob* job = nullptr;
    while (queue.take(job)) {
        try {
            const cv::Mat bytes(1, static_cast<int>(job->body.size()), CV_8UC1, const_cast<char*>(job->body.data()));
            const Clock::time_point t0 = Clock::now();
            const bool ok = w.pipe().decode_bytes(bytes);
            const Clock::time_point t1 = Clock::now();
            if (ok) {
                job->timing = finish_image(w.pipe(), t0, t1);
                job->worker = w.id();
                job->width = w.pipe().image().cols;
                job->height = w.pipe().image().rows;
                job->detections = w.pipe().detections();
            }
            job->outcome = ok ? DetectJob::Outcome::done : DetectJob::Outcome::bad_image;
        } catch (...) {  // the run ends with this error; the handler answers 500 meanwhile
            job->outcome = DetectJob::Outcome::failed;
            queue.finish(job);
            throw;
        }
        queue.finish(job);
    }
}

}  // namespace

int run_http(const RunContext& ctx) {
    const Spec& spec = ctx.spec;
    auto signal = std::make_shared<StopSignal>();
    AdmissionQueue queue(spec.workers, spec.http.queue);
    WorkerPool pool(ctx, spec.workers, [&queue, signal] {
        queue.abort();
        signal->set(&StopSignal::failed);
    });

    const Clock::time_point begin = Clock::now();
    pool.start([&queue](Worker& w) { serve_jobs(w, queue); });  // K loads and warm-ups at once
    pool.release();
    raise_open_file_limit();
    HttpServer server(ctx, queue);
    const int port = server.bind();
    const std::int64_t startup_ns = ns(begin, Clock::now());
    ctx.out.write(listening_record(kAddress, port, startup_ns));

    watch_stdin(signal);
    server.serve(signal);
    queue.close();
    pool.join();
    // No untimed pass over images the warm-up did not reach: the spec's images are the warm-up's only, and
    // serving has no "last measured iteration" of them (as the Go runner does).

    HttpResult r;
    r.workers = spec.workers;
    r.mode = spec.mode;
    r.startup_ns = startup_ns;
    r.served = server.served();
    r.rejected = server.rejected();
    ctx.out.write(http_result_record(r));
    ctx.out.write(end_record(static_cast<int>(r.served), spec.workers * spec.warmup, peak_rss_bytes(), pss_bytes()));
    return 0;
}
