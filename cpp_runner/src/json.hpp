// Minimal JSON output: string escaping, float32 formatting and an ordered object builder.
// Output only: the spec is read with cv::FileStorage (spec.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

// Appends s as a quoted JSON string. Escapes '"', '\\' and control characters; passes valid UTF-8
// through and replaces each invalid byte by \ufffd so that a strict decoder never rejects the line
// (file names and OpenCV messages are not guaranteed to be UTF-8).
void json_append_string(std::string& out, const std::string& s);
std::string json_string(const std::string& s);

// Shortest decimal text that reads back as the same float32 (like Go's float32 encoding), always with
// a '.' or an exponent so that readers see a float. Non-finite values become null (JSON has no NaN).
std::string json_float(float v);
// The same for a float64 (spec values echoed back, such as server.rate, and CAP_PROP_FPS).
std::string json_double(double v);

// Builds {"k": v, ...} with keys in insertion order, Python-style ", " / ": " separators.
class JsonObject {
public:
    JsonObject& str(const char* key, const std::string& v);
    JsonObject& integer(const char* key, std::int64_t v);
    JsonObject& number(const char* key, float v);
    JsonObject& real(const char* key, double v);  // float64
    JsonObject& boolean(const char* key, bool v);
    JsonObject& raw(const char* key, const std::string& json);  // v already encoded
    JsonObject& str_array(const char* key, const std::vector<std::string>& v);
    std::string done();

private:
    void key(const char* k);
    std::string s_ = "{";
    bool first_ = true;
};
