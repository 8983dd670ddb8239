#include "cvextra.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

static char* dup_string(const std::string& s) {
    char* p = static_cast<char*>(std::malloc(s.size() + 1));
    if (p != nullptr) {
        std::memcpy(p, s.c_str(), s.size() + 1);
    }
    return p;
}

void cvx_empty(void) {}

void cvx_set_num_threads(int n) { cv::setNumThreads(n); }

int cvx_get_num_threads(void) { return cv::getNumThreads(); }

char* cvx_version_string(void) { return dup_string(cv::getVersionString()); }

char* cvx_build_information(void) { return dup_string(cv::getBuildInformation()); }

int cvx_available_targets(int backend, int* out, int cap) {
    std::vector<cv::dnn::Target> targets =
        cv::dnn::getAvailableTargets(static_cast<cv::dnn::Backend>(backend));
    int n = static_cast<int>(targets.size());
    for (int i = 0; i < n && i < cap; ++i) {
        out[i] = static_cast<int>(targets[i]);
    }
    return n;
}

static std::string json_escape(const std::string& s) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else if (c >= 0x80) {
            out += '?'; // keeps the record valid JSON whatever the bytes
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

static void write_all(int fd, const std::string& s) {
    const char* p = s.data();
    size_t left = s.size();
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n <= 0) {
            return;
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
}

// The fd that records go to: 1 until cvx_claim_stdout moves them to a private duplicate.
static int records_fd = 1;

int cvx_claim_stdout(void) {
#ifdef _WIN32
    return -1;  // OpenCV logs through the CRT there; the records keep the real stdout
#else
    const int fd = dup(1);
    if (fd < 0) {
        return -1;
    }
    if (dup2(2, 1) < 0) {
        close(fd);
        return -1;
    }
    records_fd = fd;
    return fd;
#endif
}

// Go flushes stdout after every record, so nothing of Go's is pending when this writes a record.
static void on_terminate() {
    std::string msg = "uncaught C++ exception";
    if (std::exception_ptr e = std::current_exception()) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            msg += ": ";
            msg += ex.what();
        } catch (...) {
        }
    }
    write_all(2, "go_runner: " + msg + "\n");
    write_all(records_fd, "{\"type\":\"error\",\"code\":\"internal\",\"message\":\"" + json_escape(msg) +
                     "\",\"fatal\":true}\n");
    _exit(1);
}

void cvx_install_terminate_handler(void) { std::set_terminate(on_terminate); }

// gocv's ReadNet lets a cv::Exception escape into Go, which aborts the process; catching it here lets the
// runner emit a model_load error record instead.
void* cvx_read_net(const char* model, char** err) {
    *err = nullptr;
    try {
        cv::dnn::Net net = cv::dnn::readNet(model);
        if (net.empty()) {
            *err = dup_string("cv::dnn::readNet returned an empty network");
            return nullptr;
        }
        return new cv::dnn::Net(net);
    } catch (const std::exception& e) {
        *err = dup_string(e.what());
    } catch (...) {
        *err = dup_string("unknown C++ exception");
    }
    return nullptr;
}
