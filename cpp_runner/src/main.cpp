// cpp_runner: the native C++ runner of the benchmark (docs/protocol.md).
//   cpp_runner --spec PATH      PATH is a JSON spec; "-" reads it from stdin
// Exit status: 0 run completed, 1 after an error record, 2 bad command line.
#include "cli.hpp"

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

namespace {

// Records go to a private duplicate of the original stdout, and fd 1 is pointed at stderr:
// OpenCV's logger prints INFO-level messages to std::cout, which would corrupt the JSON Lines
// stream. Falls back to plain stdout if the descriptors cannot be duplicated.
std::FILE* take_record_stream() {
#if defined(_WIN32)
    const int fd = _dup(_fileno(stdout));
    if (fd < 0) return stdout;
    if (_dup2(_fileno(stderr), _fileno(stdout)) != 0) { _close(fd); return stdout; }
    _setmode(fd, _O_BINARY);  // "\n", never "\r\n"
    std::FILE* f = _fdopen(fd, "wb");
#else
    const int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return stdout;
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) { close(fd); return stdout; }
    std::FILE* f = fdopen(fd, "w");
#endif
    return f ? f : stdout;
}

}  // namespace

int main(int argc, char** argv) {
    std::FILE* records = take_record_stream();
    return run_cli(std::vector<std::string>(argv + 1, argv + argc), std::cin, records);
}
