#pragma once
#include <cstdint>

// The process's own peak resident set size in bytes, or -1 when the platform cannot tell.
std::int64_t peak_rss_bytes();

// The process's proportional set size now in bytes (Linux: /proc/self/smaps_rollup), 0 where the OS has none.
std::int64_t pss_bytes();

// The process's resident set size now in bytes (Linux /proc/self/statm, Windows the working set, macOS
// task_info), 0 where the platform cannot tell. Cheap: the spawn scenario reads it around every sample.
std::int64_t current_rss_bytes();
