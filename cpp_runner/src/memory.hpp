#pragma once
#include <cstdint>

// The process's own peak resident set size in bytes, or -1 when the platform cannot tell.
std::int64_t peak_rss_bytes();

// The process's proportional set size now in bytes (Linux: /proc/self/smaps_rollup), 0 where the OS has none.
std::int64_t pss_bytes();
