#include "version.hpp"

#if defined(_WIN32)
#include <process.h>
#else
#include <unistd.h>
#endif

std::string compiler_version() {
    using std::to_string;
#if defined(__clang__)
    return "clang++ " + to_string(__clang_major__) + "." + to_string(__clang_minor__) + "." +
           to_string(__clang_patchlevel__);
#elif defined(__GNUC__)
    return "g++ " + to_string(__GNUC__) + "." + to_string(__GNUC_MINOR__) + "." + to_string(__GNUC_PATCHLEVEL__);
#elif defined(_MSC_VER)
    return "msvc " + to_string(_MSC_FULL_VER);
#else
    return "unknown";
#endif
}

std::int64_t process_id() {
#if defined(_WIN32)
    return static_cast<std::int64_t>(_getpid());
#else
    return static_cast<std::int64_t>(getpid());
#endif
}
