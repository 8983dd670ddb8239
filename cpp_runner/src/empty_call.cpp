#include "empty_call.hpp"

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline)) void empty_call() {
    // An empty volatile asm: no instructions, but a side effect the optimiser must keep, so the
    // function is neither pure nor const and every call stays a real call.
    asm volatile("");
}
#elif defined(_MSC_VER)
__declspec(noinline) void empty_call() {
    // No inline asm on x64 MSVC: a compiler barrier plays the same part.
    _ReadWriteBarrier();
}
#else
void empty_call() {}
#endif
