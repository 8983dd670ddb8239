#include "ort_api.hpp"

#include "records.hpp"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include <filesystem>
#include <map>
#include <mutex>

namespace {

using OrtGetApiBaseFn = const OrtApiBase* (*)();

// The runner resolves a relative engine.library itself, as it does an image path: dlopen would
// search LD_LIBRARY_PATH for a bare name and could load another file than the one the hello names.
std::string absolute_path(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path p = std::filesystem::absolute(path, ec);
    return ec ? path : p.lexically_normal().string();
}

#if defined(_WIN32)
// LoadLibraryExW with the file's own folder first, so that the providers' DLLs beside it are found.
void* open_handle(const std::string& path, std::string& why) {
    const std::wstring wide = std::filesystem::path(path).wstring();
    HMODULE h = LoadLibraryExW(wide.c_str(), nullptr,
                               LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS);
    if (!h) why = "LoadLibrary error " + std::to_string(GetLastError());
    return reinterpret_cast<void*>(h);
}

void* find_symbol(void* handle, const char* name) {
    return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(handle), name));
}
#else
// RTLD_LOCAL: ORT's symbols stay out of the global namespace (OpenCV links its own protobuf, for one).
void* open_handle(const std::string& path, std::string& why) {
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char* e = dlerror();
        why = e ? e : "dlopen failed";
    }
    return h;
}

void* find_symbol(void* handle, const char* name) { return dlsym(handle, name); }
#endif

// The handle is never closed: the API table, the env and every session point into the library.
OrtGetApiBaseFn open_library(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw EngineUnavailable("ONNX Runtime library " + path + " not found (make onnxruntime installs it)");
    std::string why;
    void* handle = open_handle(path, why);
    if (!handle) throw EngineUnavailable("cannot load the ONNX Runtime library " + path + ": " + why);
    // POSIX (and Windows) guarantee that the symbol's address converts to a function pointer.
    const auto get_base = reinterpret_cast<OrtGetApiBaseFn>(find_symbol(handle, "OrtGetApiBase"));
    if (!get_base) throw EngineUnavailable(path + " is not an ONNX Runtime library (it has no OrtGetApiBase)");
    return get_base;
}

}  // namespace

bool OrtRuntime::has_provider(const std::string& ort_name) const {
    for (const std::string& p : providers_)
        if (p == ort_name) return true;
    return false;
}

std::string OrtRuntime::take_error(OrtStatus* status) const {
    if (!status) return "";
    const OrtPtr<OrtStatus> owned = own(status);
    return api_->GetErrorMessage(status);
}

void OrtRuntime::check(OrtStatus* status, const char* what) const {
    if (status) throw std::runtime_error(std::string(what) + ": " + take_error(status));
}

void OrtRuntime::load(const std::string& path) {
    const OrtApiBase* base = open_library(path)();
    library_ = path;
    version_ = base->GetVersionString();
    // NULL when the library predates the API this runner was built against.
    api_ = base->GetApi(ORT_API_VERSION);
    if (!api_)
        throw EngineUnavailable("ONNX Runtime " + version_ + " in " + path + " is older than C API " +
                                std::to_string(ORT_API_VERSION) + " (ORT 1." + std::to_string(ORT_API_VERSION) +
                                "), the oldest this runner accepts");
    try {
        check(api_->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "cpp_runner", &env_), "CreateEnv");
        char** names = nullptr;
        int n = 0;
        check(api_->GetAvailableProviders(&names, &n), "GetAvailableProviders");
        providers_.assign(names, names + n);
        check(api_->ReleaseAvailableProviders(names, n), "ReleaseAvailableProviders");
        OrtMemoryInfo* memory = nullptr;
        check(api_->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &memory), "CreateCpuMemoryInfo");
        cpu_memory_ = own(memory);
    } catch (const std::runtime_error& e) {
        if (env_) api_->ReleaseEnv(env_);  // ORT is still whole here, unlike at exit
        env_ = nullptr;
        throw EngineUnavailable("ONNX Runtime " + version_ + " in " + path + " cannot start: " + e.what());
    }
    sha256_ = sha256_file_hex(path);
    if (sha256_.empty()) throw EngineUnavailable("cannot read " + path + " to hash it");
}

const OrtRuntime& ort_runtime(const std::string& library) {
    // Leaked on purpose, env included: ORT's own static objects are destroyed at exit before a static
    // of ours would be, so releasing the env then would touch freed state; the process's end frees it.
    static auto* loaded = new std::map<std::string, std::unique_ptr<OrtRuntime>>;
    static std::mutex mu;
    const std::string path = absolute_path(library);
    const std::lock_guard<std::mutex> lock(mu);
    const auto it = loaded->find(path);
    if (it != loaded->end()) return *it->second;
    // A failure is not kept: load() released what it had made, and the file may be there next time.
    std::unique_ptr<OrtRuntime> rt(new OrtRuntime);
    rt->load(path);
    return *loaded->emplace(path, std::move(rt)).first->second;
}
