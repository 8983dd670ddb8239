// One entry point per scenario of docs/protocol.md. Each runs after the hello record (and the
// backend check) and writes everything up to and including `end`; it throws RunError (or any
// std::exception, reported as "internal") to end the run with an error record instead.
#pragma once
#include "scenario_common.hpp"

int run_single(const RunContext& ctx);
int run_video(const RunContext& ctx);
int run_concurrency(const RunContext& ctx);
int run_server(const RunContext& ctx);
int run_batch(const RunContext& ctx);
int run_call_overhead(const RunContext& ctx);
int run_spawn(const RunContext& ctx);
int run_http(const RunContext& ctx);
