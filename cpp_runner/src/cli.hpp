// The command line of docs/protocol.md: `cpp_runner --spec PATH` ("-" reads the spec from `in`).
#pragma once
#include <cstdio>
#include <istream>
#include <string>
#include <vector>

// Writes the records to `out` and returns the exit status: 0 when the run completed, 1 after an error
// record, 2 for a bad command line (after an error record too). The selftest calls it in process.
int run_cli(const std::vector<std::string>& args, std::istream& in, std::FILE* out);
