#pragma once

// call_overhead's `empty` call: the cheapest call into compiled code, as the floor. Defined in its
// own translation unit and marked noinline, so neither the compiler nor a link-time optimiser can
// inline it or drop it.
void empty_call();
