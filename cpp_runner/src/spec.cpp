#include "spec.hpp"

#include "backend.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <sstream>

namespace {

using nlohmann::json;

struct Invalid {
    std::string message;
};

[[noreturn]] void fail(const std::string& m) { throw Invalid{m}; }

// parent[key], which must be present and not null ("where" is the enclosing object's path, "model.").
const json& need(const json& parent, const char* key, const std::string& where) {
    const auto it = parent.find(key);
    if (it == parent.end()) fail("missing key " + where + key);
    if (it->is_null()) fail("key " + where + key + " is null");
    return *it;
}

// JSON integers only: 2.0 and true are not integers, and a value beyond [lo, hi] is out of range.
std::int64_t get_int64(const json& parent, const char* key, const std::string& where, std::int64_t min_value,
                       std::int64_t max_value) {
    const json& n = need(parent, key, where);
    if (!n.is_number_integer()) fail(where + key + " must be an integer");
    // nlohmann holds a non-negative integer as unsigned: compare in the type it has.
    const bool too_big = n.is_number_unsigned() && n.get<std::uint64_t>() > static_cast<std::uint64_t>(max_value);
    if (too_big) fail(where + key + " is out of range (at most " + std::to_string(max_value) + ")");
    const std::int64_t v = n.get<std::int64_t>();
    if (v < min_value) fail(where + key + " " + std::to_string(v) + " must be >= " + std::to_string(min_value));
    if (v > max_value) fail(where + key + " " + std::to_string(v) + " must be <= " + std::to_string(max_value));
    return v;
}

int get_int(const json& parent, const char* key, const std::string& where, int min_value,
            int max_value = std::numeric_limits<int>::max()) {
    return static_cast<int>(get_int64(parent, key, where, min_value, max_value));
}

bool get_bool(const json& parent, const char* key, const std::string& where) {
    const json& b = need(parent, key, where);
    if (!b.is_boolean()) fail(where + key + " must be true or false");
    return b.get<bool>();
}

double get_number(const json& parent, const char* key, const std::string& where) {
    const json& n = need(parent, key, where);
    if (!n.is_number()) fail(where + key + " must be a number");
    return n.get<double>();
}

float get_unit_float(const json& parent, const char* key) {
    const double v = get_number(parent, key, "");
    if (!(v >= 0.0 && v <= 1.0)) fail(std::string(key) + " must be in [0, 1]");
    return static_cast<float>(v);
}

std::string get_string(const json& parent, const char* key, const std::string& where) {
    const json& n = need(parent, key, where);
    if (!n.is_string()) fail(where + key + " must be a string");
    std::string v = n.get<std::string>();
    if (v.empty()) fail(where + key + " must not be empty");
    return v;
}

const json& get_object(const json& parent, const char* key) {
    const json& n = need(parent, key, "");
    if (!n.is_object()) fail(std::string(key) + " must be an object");
    return n;
}

void parse_arrivals(const json& root, Spec& s) {
    const json& arrivals = need(root, "arrivals_ns", "");
    if (!arrivals.is_array()) fail("arrivals_ns must be an array");
    s.arrivals_ns.clear();
    for (const json& a : arrivals) {
        // An integer beyond int64 parses as unsigned or as a float: neither is an offset.
        if (!a.is_number_integer() || (a.is_number_unsigned() && a.get<std::uint64_t>() > INT64_MAX))
            fail("arrivals_ns[" + std::to_string(s.arrivals_ns.size()) + "] must be a 64-bit integer");
        const std::int64_t v = a.get<std::int64_t>();
        if (v < 0) fail("arrivals_ns must hold non-negative offsets");
        if (!s.arrivals_ns.empty() && v < s.arrivals_ns.back())
            fail("arrivals_ns[" + std::to_string(s.arrivals_ns.size()) + "] is before the one it follows");
        s.arrivals_ns.push_back(v);
    }
    // One arrival per measured request: the orchestrator's schedule is the run.
    if (static_cast<int>(s.arrivals_ns.size()) != s.iterations)
        fail("arrivals_ns has " + std::to_string(s.arrivals_ns.size()) + " entries for " +
             std::to_string(s.iterations) + " iterations");
}

// Optional text: absent or null means none, as the Python runner reads it.
std::string get_optional_text(const json& parent, const char* key, const std::string& where) {
    const auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return "";
    if (!it->is_string()) fail(where + key + " must be a string");
    return it->get<std::string>();
}

// The optional `engine` (docs/protocol.md, "Engines"). provider and library are onnxruntime's keys: under
// opencv they are ignored, as the keys of another scenario are.
void parse_engine(const json& root, Spec& s) {
    s.engine = EngineSpec{};
    const auto it = root.find("engine");
    if (it == root.end()) return;
    if (!it->is_object()) fail("engine must be an object, e.g. {\"name\": \"opencv\"}");
    const json& engine = *it;
    s.engine.name = get_string(engine, "name", "engine.");
    if (s.engine.name == "opencv") return;
    if (s.engine.name != "onnxruntime")
        fail("unknown engine.name \"" + s.engine.name + "\" (opencv, onnxruntime)");
    s.engine.provider = get_string(engine, "provider", "engine.");
    if (!ort_provider_name(s.engine.provider))
        fail("unknown engine.provider \"" + s.engine.provider + "\" (cpu, cuda, tensorrt)");
    s.engine.library = get_string(engine, "library", "engine.");
    s.engine.python_path = get_optional_text(engine, "python_path", "engine.");
}

// docs/protocol.md, "Scenarios", spawn: the ranges keep a typo from starting a million threads or a day of sleep.
void parse_spawn(const json& root, Spec& s) {
    s.workers = get_int(root, "workers", "", 1, 100000);
    s.mode = get_string(root, "mode", "");  // its value is checked by the run: unsupported_scenario
    s.tasks = get_int(root, "tasks", "", 1, 10000000);
    s.task_sleep_ns = get_int64(root, "task_sleep_ns", "", 0, 10000000000LL);
    s.print = get_bool(root, "print", "");
}

// docs/protocol.md, "Scenarios", http.
void parse_http(const json& root, Spec& s) {
    s.workers = get_int(root, "workers", "", 1, 1024);
    s.mode = get_string(root, "mode", "");
    const json& http = get_object(root, "http");
    s.http.queue = get_int(http, "queue", "http.", 0);
    s.http.max_body_bytes = get_int(http, "max_body_bytes", "http.", 1);
    s.http.port = get_int(http, "port", "http.", 0, 65535);
    s.http.python_path = get_optional_text(http, "python_path", "http.");
}

// The keys of docs/protocol.md, "Scenarios"; other scenarios' keys are ignored.
void parse_scenario_keys(const json& root, Spec& s) {
    if (s.scenario == "video") {
        const json& video = get_object(root, "video");
        s.video.path = get_string(video, "path", "video.");
        s.video.realtime = get_bool(video, "realtime", "video.");
    } else if (s.scenario == "concurrency" || s.scenario == "server") {
        s.workers = get_int(root, "workers", "", 1);
        s.mode = get_string(root, "mode", "");  // its value is checked by the run: unsupported_scenario
        if (s.scenario == "server") {
            s.rate = get_number(root, "rate", "");
            if (!(s.rate > 0.0)) fail("rate must be > 0");
            parse_arrivals(root, s);
        }
    } else if (s.scenario == "spawn") {
        parse_spawn(root, s);
    } else if (s.scenario == "http") {
        parse_http(root, s);
    } else if (s.scenario == "batch") {
        s.batch = get_int(root, "batch", "", 1);
    } else if (s.scenario == "call_overhead") {
        s.calls_per_sample = get_int(root, "calls_per_sample", "", 1);
    }
}

void parse_root(const json& root, Spec& s) {
    s.scenario = get_string(root, "scenario", "");

    const json& model = get_object(root, "model");
    s.model.name = get_string(model, "name", "model.");
    s.model.path = get_string(model, "path", "model.");
    s.model.format = get_string(model, "format", "model.");
    if (s.model.format != "onnx") fail("model.format must be \"onnx\", got \"" + s.model.format + "\"");
    s.model.input_size = get_int(model, "input_size", "model.", 32);
    if (s.model.input_size % 32 != 0) fail("model.input_size must be a multiple of 32 (YOLOv5's stride)");

    const json& images = need(root, "images", "");
    if (!images.is_array()) fail("images must be an array");
    s.images.clear();
    for (const json& img : images) {
        if (!img.is_string() || img.get<std::string>().empty()) fail("images must hold non-empty paths");
        s.images.push_back(img.get<std::string>());
    }
    // A video is its own input and call_overhead and spawn read none, so their images may be empty.
    if (s.images.empty() && s.scenario != "video" && s.scenario != "call_overhead" && s.scenario != "spawn")
        fail("images must not be empty");

    s.conf_threshold = get_unit_float(root, "conf_threshold");
    s.nms_threshold = get_unit_float(root, "nms_threshold");
    s.max_detections = get_int(root, "max_detections", "", 1);
    s.warmup = get_int(root, "warmup", "", 0);
    s.iterations = get_int(root, "iterations", "", 1);
    s.threads = get_int(root, "threads", "", 0);

    s.backend = get_string(root, "backend", "");
    cv::dnn::Backend b;
    if (!backend_from_name(s.backend, b))
        fail("unknown backend \"" + s.backend + "\" (default, opencv, cuda, openvino)");
    s.target = get_string(root, "target", "");
    cv::dnn::Target t;
    if (!target_from_name(s.target, t))
        fail("unknown target \"" + s.target + "\" (cpu, opencl, opencl_fp16, cuda, cuda_fp16)");

    parse_engine(root, s);
    parse_scenario_keys(root, s);
}

}  // namespace

bool read_spec_text(const std::string& path, std::istream& in, std::string& text, SpecError& err) {
    if (path == "-") {
        std::ostringstream ss;
        ss << in.rdbuf();
        text = ss.str();
        return true;
    }
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        err = {"spec", "cannot open spec file " + path};
        return false;
    }
    text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad()) {
        err = {"spec", "cannot read spec file " + path};
        return false;
    }
    return true;
}

bool parse_spec(const std::string& text, Spec& spec, SpecError& err) {
    const json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) {
        err = {"spec", "the spec is not valid JSON"};
        return false;
    }
    if (!root.is_object()) {
        err = {"spec", "the spec must be a JSON object"};
        return false;
    }
    // Version first: another version may have other keys, and deserves the clearer error.
    const auto p = root.find("protocol");
    if (p == root.end() || p->is_null()) {
        err = {"spec", "missing key protocol"};
        return false;
    }
    if (!p->is_number_integer() || *p != kProtocolVersion) {
        err = {"protocol", "spec protocol " + p->dump() + " is not supported: cpp_runner speaks protocol " +
                               std::to_string(kProtocolVersion)};
        return false;
    }
    spec.protocol = kProtocolVersion;
    try {
        parse_root(root, spec);
    } catch (const Invalid& e) {
        err = {"spec", e.message};
        return false;
    }
    return true;
}
