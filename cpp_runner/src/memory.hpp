#pragma once
#include <cstdint>

// The process's own peak resident set size in bytes, or -1 when the platform cannot tell.
std::int64_t peak_rss_bytes();
