#include "memory.hpp"

#if defined(_WIN32)
#define NOMINMAX
#include <windows.h>
#include <psapi.h>
#else
#include <sys/resource.h>

#include <fstream>
#include <string>
#endif

std::int64_t peak_rss_bytes() {
#if defined(_WIN32)
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc))) return -1;
    return static_cast<std::int64_t>(pmc.PeakWorkingSetSize);
#else
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
#if defined(__APPLE__)
    return static_cast<std::int64_t>(ru.ru_maxrss);  // bytes on macOS
#else
    return static_cast<std::int64_t>(ru.ru_maxrss) * 1024;  // KiB on Linux and the BSDs
#endif
#endif
}

std::int64_t pss_bytes() {
#if defined(__linux__)
    // The kernel walks every page table for this (about 10 ms with a model loaded): read once, after the last
    // timed region.
    std::ifstream rollup("/proc/self/smaps_rollup");
    std::string key;
    std::int64_t kib = 0;
    while (rollup >> key) {
        if (key == "Pss:" && rollup >> kib) return kib * 1024;
        rollup.ignore(4096, '\n');
    }
#endif
    return 0;
}
