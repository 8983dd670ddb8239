#include "cli.hpp"

#include "records.hpp"
#include "run.hpp"
#include "spec.hpp"

namespace {

const char* kUsage = "usage: cpp_runner --spec PATH   (PATH is a JSON spec file; \"-\" reads stdin)\n";

// The spec path of `--spec PATH` or `--spec=PATH`, the only command lines there are; empty otherwise.
std::string spec_path(const std::vector<std::string>& args) {
    if (args.size() == 2 && args[0] == "--spec") return args[1];
    if (args.size() == 1 && args[0].rfind("--spec=", 0) == 0) return args[0].substr(7);
    return "";
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::istream& in, std::FILE* out) {
    RecordSink sink(out);
    if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
        std::fputs(kUsage, stderr);
        return 0;
    }
    const std::string path = spec_path(args);
    if (path.empty()) {
        std::fputs(kUsage, stderr);
        sink.write(error_record("spec", "bad command line: expected --spec PATH (\"-\" reads stdin)"));
        return 2;
    }
    std::string text;
    SpecError err;
    Spec spec;
    if (!read_spec_text(path, in, text, err) || !parse_spec(text, spec, err)) {
        std::fprintf(stderr, "cpp_runner: %s\n", err.message.c_str());
        sink.write(error_record(err.code, err.message));
        return 1;
    }
    return run_spec(spec, sink);
}
