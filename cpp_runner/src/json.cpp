#include "json.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace {

// Length of the valid UTF-8 sequence starting at s[i] (2..4), or 0 when it is invalid.
// Rejects overlong forms, surrogates and code points above U+10FFFF (RFC 3629).
std::size_t utf8_len(const std::string& s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) { n = 3; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) { n = 4; hi = 0x8F; }
    else return 0;
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    return n;
}

}  // namespace

void json_append_string(std::string& out, const std::string& s) {
    static const char* hexd = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_len(s, i);
            if (n == 0) { out += "\\ufffd"; ++i; }
            else { out.append(s, i, n); i += n; }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\u00";
                    out += hexd[c >> 4];
                    out += hexd[c & 0xf];
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
    out += '"';
}

std::string json_string(const std::string& s) {
    std::string out;
    json_append_string(out, s);
    return out;
}

namespace {

// Shortest text of at most max_digits significant digits that `parse` reads back as v.
template <class T>
std::string shortest_text(T v, int max_digits, T (*parse)(const char*, char**)) {
    if (!std::isfinite(v)) return "null";
    char buf[64];
    int digits = 1;
    for (; digits < max_digits; ++digits) {
        std::snprintf(buf, sizeof(buf), "%.*e", digits - 1, static_cast<double>(v));
        if (parse(buf, nullptr) == v) break;
    }
    std::snprintf(buf, sizeof(buf), "%.*e", digits - 1, static_cast<double>(v));
    const int exp10 = std::atoi(std::strchr(buf, 'e') + 1);
    // Positional notation in the range where Python's repr uses it (1e-4 <= |v| < 1e16), so 720
    // prints as "720.0", not "7.2e+02"; the same digits, so it still round-trips.
    if (exp10 >= -4 && exp10 < 16)
        std::snprintf(buf, sizeof(buf), "%.*f", std::max(digits - 1 - exp10, 0), static_cast<double>(v));
    std::string s(buf);
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
}

}  // namespace

// 9 significant digits always round-trip a float32, 17 a float64.
std::string json_float(float v) { return shortest_text<float>(v, 9, std::strtof); }

std::string json_double(double v) { return shortest_text<double>(v, 17, std::strtod); }

void JsonObject::key(const char* k) {
    if (!first_) s_ += ", ";
    first_ = false;
    json_append_string(s_, k);
    s_ += ": ";
}

JsonObject& JsonObject::str(const char* k, const std::string& v) {
    key(k);
    json_append_string(s_, v);
    return *this;
}

JsonObject& JsonObject::integer(const char* k, std::int64_t v) {
    key(k);
    s_ += std::to_string(v);
    return *this;
}

JsonObject& JsonObject::number(const char* k, float v) {
    key(k);
    s_ += json_float(v);
    return *this;
}

JsonObject& JsonObject::real(const char* k, double v) {
    key(k);
    s_ += json_double(v);
    return *this;
}

JsonObject& JsonObject::boolean(const char* k, bool v) {
    key(k);
    s_ += v ? "true" : "false";
    return *this;
}

JsonObject& JsonObject::raw(const char* k, const std::string& json) {
    key(k);
    s_ += json;
    return *this;
}

JsonObject& JsonObject::str_array(const char* k, const std::vector<std::string>& v) {
    key(k);
    s_ += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) s_ += ", ";
        json_append_string(s_, v[i]);
    }
    s_ += ']';
    return *this;
}

std::string JsonObject::done() {
    s_ += '}';
    return std::move(s_);
}
