#include "spec.hpp"

#include "backend.hpp"

#include <opencv2/core.hpp>

#include <cctype>
#include <cstdint>
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

int get_int(const cv::FileNode& parent, const char* key, const std::string& where, int min_value) {
    cv::FileNode n = need(parent, key, where);
    if (!n.isInt()) fail(where + key + " must be an integer");
    const int v = static_cast<int>(n);
    if (v < min_value) fail(where + key + " must be >= " + std::to_string(min_value));
    return v;
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
    if (!n.isString()) fail(where + key + " must be a string");
    std::string v = static_cast<std::string>(n);
    if (v.empty()) fail(where + key + " must not be empty");
    return v;
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
        if (!img.isString()) fail("images must hold strings");
        std::string p = static_cast<std::string>(img);
        if (p.empty()) fail("images must not hold empty paths");
        s.images.push_back(p);
    }
    if (s.images.empty()) fail("images must not be empty");

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

}  // namespace

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
            if (c == 'n' && s.compare(i, 4, "null") == 0 && !(i > 0 && word(i - 1)) && !word(i + 4)) {
                out += "\"\"";
                i += 3;
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
