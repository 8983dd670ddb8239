#include "memory.hpp"

#if defined(_WIN32)
#define NOMINMAX
#include <windows.h>
#include <psapi.h>
#else
#include <sys/resource.h>
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
