// C interface to the few OpenCV calls that gocv v0.31.0 does not wrap.
#ifndef GO_RUNNER_CVEXTRA_H
#define GO_RUNNER_CVEXTRA_H

#ifdef __cplusplus
extern "C" {
#endif

void cvx_set_num_threads(int n);
int cvx_get_num_threads(void);

// Both return malloc'd strings: the caller frees them.
char* cvx_version_string(void);
char* cvx_build_information(void);

// Writes up to cap target ids of cv::dnn::getAvailableTargets(backend) into out; returns the full count.
int cvx_available_targets(int backend, int* out, int cap);

// Makes an uncaught C++ exception (which gocv lets escape, e.g. from Net.Forward) write a protocol error
// record to stdout and exit with status 1, instead of aborting (Go would then exit 2, the bad-usage status).
void cvx_install_terminate_handler(void);

// Keeps stdout for records alone: OpenCV's logger prints INFO/DEBUG lines to fd 1. Returns a private duplicate
// of fd 1 for the records and points fd 1 at stderr; -1 when that is not possible (Windows).
int cvx_claim_stdout(void);

// Does nothing: the call_overhead scenario's "empty" call, the floor cost of one cgo call. It lives in
// cvextra.cpp, a separate translation unit, so nothing can inline it into the caller.
void cvx_empty(void);

// Returns a new cv::dnn::Net* (the pointer gocv's Net holds), or NULL with *err set to a malloc'd message.
void* cvx_read_net(const char* model, char** err);

#ifdef __cplusplus
}
#endif

#endif
