// The pure rules of the video scenario (docs/protocol.md, "Scenarios", video), apart from the I/O
// so that the self-test can hold them to the protocol's arithmetic.
#pragma once
#include <cstdint>
#include <string>

// "frame-000123": the iteration's and the detections record's image name for frame f.
std::string frame_name(int f);

// When frame f arrives, as an offset from the stream's start: f / fps seconds in nanoseconds,
// rounded to the nearest (ties to even, as Python's round()), so every runner agrees to the ns.
std::int64_t frame_arrival_ns(std::int64_t f, double fps);

// The realtime drop rule: frame f, whose read ended read_end_ns after the start, is dropped when
// frame f + 1 has already arrived (inference is slower than the stream).
bool drop_frame(std::int64_t f, std::int64_t read_end_ns, double fps);
