#include "spec.hpp"

#include "backend.hpp"

#include <opencv2/core.hpp>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace {

struct Invalid {
    std::string message;
};

[[noreturn]] void fail(const std::string& m) { throw Invalid{m}; }

cv::FileNode need(const cv::FileNode& parent, const char* key, const std::string& where) {
    cv::FileNode n = parent[key];
    if (n.empty() || n.isNone()) fail("missing key " + where + key);
    return n;
}

bool is_marker(const cv::FileNode& n, const char* marker) {
    if (!n.isString()) return false;
    const std::string v = static_cast<std::string>(n);
    return v.compare(0, std::strlen(marker), marker) == 0;
}

// A string that is really a rewritten true, false or big integer: all markers start with 0x01.
bool is_json_string(const cv::FileNode& n) {
    return n.isString() && static_cast<std::string>(n).rfind('\x01', 0) != 0;
}

int get_int(const cv::FileNode& parent, const char* key, const std::string& where, int min_value) {
    cv::FileNode n = need(parent, key, where);
    if (is_marker(n, kJsonBigInt)) fail(where + key + " is out of range");
    if (!n.isInt()) fail(where + key + " must be an integer");
    const int v = static_cast<int>(n);
    if (v < min_value) fail(where + key + " must be >= " + std::to_string(min_value));
    return v;
}

// An integer of any size that fits int64 (FileStorage holds only int32; see filestorage_compatible_json).
std::int64_t as_int64(const cv::FileNode& n, const std::string& what) {
    if (n.isInt()) return static_cast<int>(n);
    if (!is_marker(n, kJsonBigInt)) fail(what + " must be an integer");
    const std::string digits = static_cast<std::string>(n).substr(std::strlen(kJsonBigInt));
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(digits.c_str(), &end, 10);
    if (errno == ERANGE || end == digits.c_str() || *end != '\0') fail(what + " is out of range");
    return static_cast<std::int64_t>(v);
}

bool get_bool(const cv::FileNode& parent, const char* key, const std::string& where) {
    cv::FileNode n = need(parent, key, where);
    if (is_marker(n, kJsonTrue)) return true;
    if (is_marker(n, kJsonFalse)) return false;
    fail(where + key + " must be true or false");
}

double get_number(const cv::FileNode& parent, const char* key, const std::string& where) {
    cv::FileNode n = need(parent, key, where);
    if (n.isInt() || n.isReal()) return static_cast<double>(n);
    if (is_marker(n, kJsonBigInt)) return static_cast<double>(as_int64(n, where + key));
    fail(where + key + " must be a number");
}

float get_unit_float(const cv::FileNode& parent, const char* key) {
    cv::FileNode n = need(parent, key, "");
    if (!n.isInt() && !n.isReal()) fail(std::string(key) + " must be a number");
    const double v = static_cast<double>(n);
    if (!(v >= 0.0 && v <= 1.0)) fail(std::string(key) + " must be in [0, 1]");
    return static_cast<float>(v);
}

std::string get_string(const cv::FileNode& parent, const char* key, const std::string& where) {
    cv::FileNode n = need(parent, key, where);
    if (!is_json_string(n)) fail(where + key + " must be a string");
    std::string v = static_cast<std::string>(n);
    if (v.empty()) fail(where + key + " must not be empty");
    return v;
}

void parse_arrivals(const cv::FileNode& root, Spec& s) {
    cv::FileNode arrivals = need(root, "arrivals_ns", "");
    if (!arrivals.isSeq()) fail("arrivals_ns must be an array");
    s.arrivals_ns.clear();
    for (const cv::FileNode& a : arrivals) {
        const std::int64_t v = as_int64(a, "arrivals_ns[" + std::to_string(s.arrivals_ns.size()) + "]");
        if (v < 0) fail("arrivals_ns must hold non-negative offsets");
        s.arrivals_ns.push_back(v);
    }
    // One arrival per measured request: the orchestrator's schedule is the run.
    if (static_cast<int>(s.arrivals_ns.size()) != s.iterations)
        fail("arrivals_ns has " + std::to_string(s.arrivals_ns.size()) + " entries for " +
             std::to_string(s.iterations) + " iterations");
}

// The keys of docs/protocol.md, "Scenarios"; other scenarios' keys are ignored.
void parse_scenario_keys(const cv::FileNode& root, Spec& s) {
    if (s.scenario == "video") {
        cv::FileNode video = need(root, "video", "");
        if (!video.isMap()) fail("video must be an object");
        s.video.path = get_string(video, "path", "video.");
        s.video.realtime = get_bool(video, "realtime", "video.");
    } else if (s.scenario == "concurrency" || s.scenario == "server") {
        s.workers = get_int(root, "workers", "", 1);
        s.mode = get_string(root, "mode", "");  // its value is checked by the run: unsupported_scenario
        if (s.scenario == "server") {
            s.rate = get_number(root, "rate", "");
            if (!(s.rate >= 0.0)) fail("rate must be >= 0");
            parse_arrivals(root, s);
        }
    } else if (s.scenario == "batch") {
        s.batch = get_int(root, "batch", "", 1);
    } else if (s.scenario == "call_overhead") {
        s.calls_per_sample = get_int(root, "calls_per_sample", "", 1);
    }
}

void parse_root(const cv::FileNode& root, Spec& s) {
    if (!root.isMap()) fail("the spec must be a JSON object");

    s.scenario = get_string(root, "scenario", "");

    cv::FileNode model = need(root, "model", "");
    if (!model.isMap()) fail("model must be an object");
    s.model.name = get_string(model, "name", "model.");
    s.model.path = get_string(model, "path", "model.");
    s.model.format = get_string(model, "format", "model.");
    if (s.model.format != "onnx") fail("model.format must be \"onnx\", got \"" + s.model.format + "\"");
    s.model.input_size = get_int(model, "input_size", "model.", 32);
    if (s.model.input_size % 32 != 0) fail("model.input_size must be a multiple of 32 (YOLOv5's stride)");

    cv::FileNode images = need(root, "images", "");
    if (!images.isSeq()) fail("images must be an array");
    s.images.clear();
    for (const cv::FileNode& img : images) {
        if (!is_json_string(img)) fail("images must hold strings");
        std::string p = static_cast<std::string>(img);
        if (p.empty()) fail("images must not hold empty paths");
        s.images.push_back(p);
    }
    // A video is its own input and call_overhead reads none, so their images may be empty.
    if (s.images.empty() && s.scenario != "video" && s.scenario != "call_overhead")
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

    parse_scenario_keys(root, s);
}

int hex4(const std::string& s, std::size_t i) {
    if (i + 4 > s.size()) return -1;
    int v = 0;
    for (std::size_t k = i; k < i + 4; ++k) {
        const char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    switch (cp) {  // characters that must stay escaped inside a JSON string
        case '"': out += "\\\""; return;
        case '\\': out += "\\\\"; return;
        case '\n': out += "\\n"; return;
        case '\r': out += "\\r"; return;
        case '\t': out += "\\t"; return;
        case '\b': out += "\\b"; return;
        case '\f': out += "\\f"; return;
        default: break;
    }
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Length of the JSON number starting at s[i], and whether it is an integer (no fraction, no exponent).
std::size_t number_len(const std::string& s, std::size_t i, bool& integer) {
    std::size_t j = i;
    if (j < s.size() && s[j] == '-') ++j;
    const std::size_t first_digit = j;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    integer = j > first_digit && !(j < s.size() && (s[j] == '.' || s[j] == 'e' || s[j] == 'E'));
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || std::strchr(".eE+-", s[j]))) ++j;
    return j - i;
}

bool fits_int32(const std::string& digits) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(digits.c_str(), &end, 10);
    return errno != ERANGE && v >= INT_MIN && v <= INT_MAX;
}

}  // namespace

const char* const kJsonTrue = "\x01true";
const char* const kJsonFalse = "\x01" "false";  // split: "\x01f" would be one hex escape
const char* const kJsonBigInt = "\x01int:";

std::string filestorage_compatible_json(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    bool in_string = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (!in_string) {
            const auto word = [&](std::size_t k) {
                return k < s.size() && std::isalnum(static_cast<unsigned char>(s[k]));
            };
            const auto literal = [&](const char* lit) {
                const std::size_t n = std::strlen(lit);
                return s.compare(i, n, lit) == 0 && !(i > 0 && word(i - 1)) && !word(i + n);
            };
            const char* replacement = literal("null") ? "" : literal("true") ? kJsonTrue
                                                         : literal("false") ? kJsonFalse : nullptr;
            if (replacement) {
                out += '"';
                out += replacement;
                out += '"';
                i += s[i] == 'f' ? 4 : 3;
                continue;
            }
            if ((c == '-' || std::isdigit(static_cast<unsigned char>(c))) && !(i > 0 && word(i - 1))) {
                bool integer = false;
                const std::size_t n = number_len(s, i, integer);
                const std::string token = s.substr(i, n);
                if (integer && !fits_int32(token)) out += '"' + std::string(kJsonBigInt) + token + '"';
                else out += token;
                i += n - 1;
                continue;
            }
            in_string = c == '"';
            out += c;
            continue;
        }
        if (c == '"') {
            in_string = false;
            out += c;
            continue;
        }
        if (c != '\\' || i + 1 >= s.size()) {
            out += c;
            continue;
        }
        if (s[i + 1] == '/') {  // "\/" is legal JSON that FileStorage does not know either
            out += '/';
            ++i;
            continue;
        }
        int cp = s[i + 1] == 'u' ? hex4(s, i + 2) : -1;
        if (cp < 0) {  // another escape (or a malformed one, left for the parser to reject)
            out += c;
            out += s[++i];
            continue;
        }
        i += 5;  // now on the last hex digit
        std::uint32_t code = static_cast<std::uint32_t>(cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            const int lo = (i + 2 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u') ? hex4(s, i + 3) : -1;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                code = 0x10000 + ((static_cast<std::uint32_t>(cp) - 0xD800) << 10) +
                       (static_cast<std::uint32_t>(lo) - 0xDC00);
                i += 6;
            } else {
                code = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            code = 0xFFFD;
        }
        if (code == 0) {
            out += "\\u0000";  // no raw NUL in the text; FileStorage rejects it, as it should
            continue;
        }
        append_utf8(out, code);
    }
    return out;
}

bool read_spec_text(const std::string& path, std::string& text, SpecError& err) {
    if (path == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
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
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
        err = {"spec", "the spec is empty"};
        return false;
    }
    try {
        cv::FileStorage fs(filestorage_compatible_json(text), cv::FileStorage::READ | cv::FileStorage::MEMORY | cv::FileStorage::FORMAT_JSON);
        if (!fs.isOpened()) {
            err = {"spec", "the spec is not valid JSON"};
            return false;
        }
        cv::FileNode root = fs.root();
        // Version first: another version may have other keys, and deserves the clearer error.
        if (root.isMap()) {
            cv::FileNode p = root["protocol"];
            if (p.empty() || p.isNone()) {
                err = {"spec", "missing key protocol"};
                return false;
            }
            if (!p.isInt()) {
                err = {"spec", "protocol must be an integer"};
                return false;
            }
            spec.protocol = static_cast<int>(p);
            if (spec.protocol != kProtocolVersion) {
                err = {"protocol", "spec protocol " + std::to_string(spec.protocol) +
                                       " is not supported: cpp_runner speaks protocol " +
                                       std::to_string(kProtocolVersion)};
                return false;
            }
        }
        parse_root(root, spec);
    } catch (const Invalid& e) {
        err = {"spec", e.message};
        return false;
    } catch (const cv::Exception& e) {
        err = {"spec", std::string("the spec is not valid JSON: ") + e.what()};
        return false;
    }
    return true;
}
