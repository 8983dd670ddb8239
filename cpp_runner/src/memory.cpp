#include "memory.hpp"

#if defined(_WIN32)
#define NOMINMAX
#include <windows.h>
#include <psapi.h>
#else
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>
#if defined(__APPLE__)
#include <mach/mach.h>
#endif
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

std::int64_t current_rss_bytes() {
#if defined(_WIN32)
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc))) return 0;
    return static_cast<std::int64_t>(pmc.WorkingSetSize);
#elif defined(__APPLE__)
    mach_task_basic_info_data_t info;
    mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
    if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info), &count) != KERN_SUCCESS)
        return 0;
    return static_cast<std::int64_t>(info.resident_size);
#elif defined(__linux__)
    // statm's second field: resident pages (no page-table walk, unlike smaps_rollup).
    std::ifstream statm("/proc/self/statm");
    std::int64_t size = 0, resident = 0;
    if (!(statm >> size >> resident)) return 0;
    return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
#else
    return 0;
#endif
}
