// ONNX Runtime through its C API, loaded at run time (docs/protocol.md, "Engines"): the spec's
// engine.library is dlopen'ed, as the Go runner does with the same file, so no import library is
// linked and an OpenCV-only run never touches ORT. A small RAII layer: OrtPtr (unique_ptr with the
// Release* of the API table) and OrtRuntime::check (a non-null OrtStatus becomes an exception).
#pragma once
#include <onnxruntime_c_api.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// API 24 is ORT 1.24, the oldest release the protocol accepts; the runner asks the library for the
// API of the header it was built with, which must be at least that.
static_assert(ORT_API_VERSION >= 24, "ONNX Runtime's C API header must be API 24 (ORT 1.24) or newer");

// ORT (or the requested provider) cannot serve the run: code backend_unavailable.
struct EngineUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ORT failed at something that depends neither on the model nor on the provider (creating or setting the
// session options): code internal.
struct EngineInternal : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The Release* function of each handle type the runner owns, through the loaded library's API table.
struct OrtRelease {
    const OrtApi* api = nullptr;
    void operator()(OrtStatus* p) const { api->ReleaseStatus(p); }
    void operator()(OrtMemoryInfo* p) const { api->ReleaseMemoryInfo(p); }
    void operator()(OrtSessionOptions* p) const { api->ReleaseSessionOptions(p); }
    void operator()(OrtSession* p) const { api->ReleaseSession(p); }
    void operator()(OrtValue* p) const { api->ReleaseValue(p); }
    void operator()(OrtTypeInfo* p) const { api->ReleaseTypeInfo(p); }
    void operator()(OrtCUDAProviderOptionsV2* p) const { api->ReleaseCUDAProviderOptions(p); }
    void operator()(OrtTensorRTProviderOptionsV2* p) const { api->ReleaseTensorRTProviderOptions(p); }
};

template <class T>
using OrtPtr = std::unique_ptr<T, OrtRelease>;

// One loaded ORT library: its API table, the process's OrtEnv, a CPU OrtMemoryInfo and what the hello
// reports. Immutable once loaded, so every worker thread may use it at once (ORT's env and memory info
// are safe to share; sessions are per worker).
class OrtRuntime {
public:
    const OrtApi& api() const { return *api_; }
    OrtEnv* env() const { return env_; }
    // CPU memory, created once: every input and output tensor wraps a buffer the runner owns.
    const OrtMemoryInfo* cpu_memory() const { return cpu_memory_.get(); }

    const std::string& version() const { return version_; }        // GetVersionString()
    const std::string& library() const { return library_; }        // absolute path of the loaded file
    const std::string& library_sha256() const { return sha256_; }  // of that file
    // GetAvailableProviders(), asked once, before any session exists.
    const std::vector<std::string>& available_providers() const { return providers_; }
    bool has_provider(const std::string& ort_name) const;

    // Throws std::runtime_error("<what>: <ORT's message>") for a non-null status, which it releases.
    void check(OrtStatus* status, const char* what) const;
    // The status's message (empty for success), the status released.
    std::string take_error(OrtStatus* status) const;
    template <class T>
    OrtPtr<T> own(T* p) const { return OrtPtr<T>(p, OrtRelease{api_}); }

private:
    friend const OrtRuntime& ort_runtime(const std::string& library);
    OrtRuntime() = default;
    void load(const std::string& absolute_path);

    const OrtApi* api_ = nullptr;
    OrtEnv* env_ = nullptr;  // the process's one env, never released (see ort_api.cpp)
    OrtPtr<OrtMemoryInfo> cpu_memory_;
    std::string version_, library_, sha256_;
    std::vector<std::string> providers_;
};

// The process's ORT for `library` (resolved against the working directory), loaded on first use and
// kept for the life of the process: one dlopen, one GetApi, one OrtEnv (log level WARNING, as in the Go and
// Python runners). Thread-safe.
// Throws EngineUnavailable, naming the file, when it is missing, is no ORT library, is older than the
// C API this runner asks for, or cannot create its env.
const OrtRuntime& ort_runtime(const std::string& library);
