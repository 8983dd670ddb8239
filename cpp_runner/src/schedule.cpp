#include "schedule.hpp"

#include <cmath>
#include <cstdio>

std::string frame_name(int f) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "frame-%06d", f);
    return buf;
}

std::int64_t frame_arrival_ns(std::int64_t f, double fps) {
    // nearbyint rounds in the default mode, to nearest with ties to even.
    return static_cast<std::int64_t>(std::nearbyint(static_cast<double>(f) * 1e9 / fps));
}

bool drop_frame(std::int64_t f, std::int64_t read_end_ns, double fps) {
    return read_end_ns >= frame_arrival_ns(f + 1, fps);
}
