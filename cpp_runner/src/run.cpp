#include "run.hpp"

#include "backend.hpp"
#include "ort_api.hpp"
#include "scenarios.hpp"
#include "version.hpp"

#include <opencv2/core.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace {

struct Scenario {
    const char* name;
    int (*run)(const RunContext&);
};

const Scenario kScenarios[] = {
    {"single", run_single},
    {"video", run_video},
    {"concurrency", run_concurrency},
    {"server", run_server},
    {"batch", run_batch},
    {"call_overhead", run_call_overhead},
    {"spawn", run_spawn},
    {"http", run_http},
};

const Scenario& find_scenario(const Spec& spec) {
    for (const Scenario& s : kScenarios)
        if (spec.scenario == s.name) return s;
    std::string names;
    for (const Scenario& s : kScenarios) names += std::string(names.empty() ? "" : ", ") + s.name;
    throw RunError{"unsupported_scenario",
                   "scenario \"" + spec.scenario + "\" is not supported by cpp_runner (supported: " + names + ")"};
}

// C++ runs workers as threads only; another mode is a cell this runner cannot fill.
void check_mode(const Spec& spec) {
    const bool has_mode = spec.scenario == "concurrency" || spec.scenario == "server" || spec.scenario == "spawn" ||
                          spec.scenario == "http";
    if (has_mode && spec.mode != "threads")
        throw RunError{"unsupported_scenario", "cpp_runner runs scenario " + spec.scenario +
                                                   " in mode threads only, not in mode \"" + spec.mode + "\""};
}

// Under onnxruntime, the library is loaded before the hello, which reports it; what went wrong, if
// anything, is said right after the hello (backend_unavailable).
struct OrtLoad {
    const OrtRuntime* runtime = nullptr;
    std::string problem;
};

// spawn runs no model, so it loads no ORT either (docs/protocol.md, "Scenarios", spawn).
bool uses_ort(const Spec& spec) { return spec.engine.name == "onnxruntime" && spec.scenario != "spawn"; }

OrtLoad load_ort(const Spec& spec) {
    OrtLoad load;
    if (!uses_ort(spec)) return load;
    try {
        load.runtime = &ort_runtime(spec.engine.library);
    } catch (const EngineUnavailable& e) {
        load.problem = e.what();
    }
    return load;
}

OrtHello ort_hello(const Spec& spec, const OrtRuntime& rt) {
    OrtHello o;
    o.version = rt.version();
    o.library = rt.library();
    o.library_sha256 = rt.library_sha256();
    o.available_providers = rt.available_providers();
    o.provider = spec.engine.provider;
    o.intra_op_threads = spec.threads;
    return o;
}

Hello make_hello(const Spec& spec, cv::dnn::Backend backend, const OrtLoad& ort) {
    Hello h;
    h.language_version = compiler_version();
    h.opencv_version = cv::getVersionString();
    h.opencv_build_info = cv::getBuildInformation();
    h.threads = cv::getNumThreads();
    h.pid = process_id();
    h.backend = spec.backend;
    h.target = spec.target;
    h.available_targets = available_target_names(backend);
    h.engine = spec.engine.name;
    if (ort.runtime) h.ort = ort_hello(spec, *ort.runtime);
    return h;
}

// The library, then the provider: ORT's available providers, asked before any session exists, since a
// session would fall back to the CPU silently.
void check_ort(const Spec& spec, const OrtLoad& ort) {
    if (!uses_ort(spec)) return;
    if (!ort.runtime) throw RunError{"backend_unavailable", ort.problem};
    const std::string want = ort_provider_name(spec.engine.provider);
    if (ort.runtime->has_provider(want)) return;
    std::string available;
    for (const std::string& p : ort.runtime->available_providers()) available += (available.empty() ? "" : ", ") + p;
    throw RunError{"backend_unavailable", "ONNX Runtime provider " + spec.engine.provider + " (" + want +
                                              ") is not available in ONNX Runtime " + ort.runtime->version() +
                                              " at " + ort.runtime->library() + " (available: " + available + ")"};
}

void check_target(const Spec& spec, const Hello& h) {
    for (const std::string& t : h.available_targets)
        if (t == spec.target) return;
    throw RunError{"backend_unavailable",
                   "target " + spec.target + " is not available for backend " + spec.backend + " in this OpenCV build"};
}

EngineConfig engine_config(const Spec& spec, const OrtLoad& ort, cv::dnn::Backend backend, cv::dnn::Target target) {
    EngineConfig e;
    e.backend = backend;
    e.target = target;
    e.ort = ort.runtime;
    e.provider = spec.engine.provider;
    e.threads = spec.threads;
    return e;
}

// Fails fast, before seconds go into loading a model, on an input file that cannot be opened.
// call_overhead and spawn read none.
void check_inputs(const Spec& spec) {
    std::vector<std::string> paths;
    if (spec.scenario == "video") paths.push_back(spec.video.path);
    if (spec.scenario != "call_overhead" && spec.scenario != "spawn")
        paths.insert(paths.end(), spec.images.begin(), spec.images.end());
    for (const std::string& path : paths) {
        if (!std::ifstream(path, std::ios::binary))
            throw RunError{"image_read", "cannot read input " + path + ": " + std::strerror(errno)};
    }
}

}  // namespace

int run_spec(const Spec& spec, RecordSink& out) {
    try {
        // Before the model is loaded, as the protocol asks; 0 keeps OpenCV's default.
        if (spec.threads > 0) cv::setNumThreads(spec.threads);

        cv::dnn::Backend backend = cv::dnn::DNN_BACKEND_DEFAULT;
        cv::dnn::Target target = cv::dnn::DNN_TARGET_CPU;
        backend_from_name(spec.backend, backend);  // names were validated with the spec
        target_from_name(spec.target, target);

        // A scenario or mode this runner lacks is refused before hello, as in every runner.
        const Scenario& scenario = find_scenario(spec);
        check_mode(spec);

        const OrtLoad ort = load_ort(spec);
        const Hello h = make_hello(spec, backend, ort);
        out.write(hello_record(h));

        check_ort(spec, ort);
        check_target(spec, h);
        check_inputs(spec);

        return scenario.run(RunContext{spec, out, engine_config(spec, ort, backend, target)});
    } catch (const RunError& e) {
        out.write(error_record(e.code, e.message));
    } catch (const std::exception& e) {  // cv::Exception included
        out.write(error_record("internal", e.what()));
    }
    return 1;
}
