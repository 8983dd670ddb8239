#pragma once
#include <cstdint>
#include <string>

// hello.language_version: the compiler that built this binary, e.g. "g++ 12.2.0".
std::string compiler_version();

std::int64_t process_id();
