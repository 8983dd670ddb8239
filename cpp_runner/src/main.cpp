// cpp_runner: the native C++ runner of the benchmark (docs/protocol.md).
//   cpp_runner --spec PATH      PATH is a JSON spec; "-" reads it from stdin
// Exit status: 0 run completed, 1 after an error record, 2 bad command line.
#include "records.hpp"
#include "run.hpp"
#include "spec.hpp"

#include <cstdio>
#include <cstring>
#include <string>

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

namespace {

const char* kUsage = "usage: cpp_runner --spec PATH   (PATH is a JSON spec file; \"-\" reads stdin)\n";

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
    std::FILE* rec = take_record_stream();
    RecordSink out(rec);

    std::string spec_path;
    bool have_spec = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stderr);
            return 0;
        }
        if (a == "--spec" && i + 1 < argc && !have_spec) {
            spec_path = argv[++i];
            have_spec = true;
        } else if (a.rfind("--spec=", 0) == 0 && !have_spec) {
            spec_path = a.substr(7);
            have_spec = true;
        } else {
            have_spec = false;
            spec_path.clear();
            break;
        }
    }
    if (!have_spec || spec_path.empty()) {
        std::fputs(kUsage, stderr);
        out.write(error_record("spec", "bad command line: expected --spec PATH (\"-\" reads stdin)"));
        return 2;
    }

    std::string text;
    SpecError err;
    Spec spec;
    if (!read_spec_text(spec_path, text, err) || !parse_spec(text, spec, err)) {
        std::fprintf(stderr, "cpp_runner: %s\n", err.message.c_str());
        out.write(error_record(err.code, err.message));
        return 1;
    }
    return run_spec(spec, out);
}
