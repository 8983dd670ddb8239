// video: frames from cv::VideoCapture; with realtime, played at the stream's own rate, and a frame
// is dropped when the next one has already arrived (docs/protocol.md, "Scenarios", video).
#include "memory.hpp"
#include "scenarios.hpp"
#include "schedule.hpp"

#include <opencv2/videoio.hpp>

#include <thread>

namespace {

cv::VideoCapture open_video(const std::string& path, bool realtime, double& fps) {
    cv::VideoCapture cap(path);
    if (!cap.isOpened()) throw RunError{"image_read", "cannot open video " + path};
    fps = cap.get(cv::CAP_PROP_FPS);
    if (realtime && !(fps > 0.0))
        throw RunError{"image_read", "video " + path + " reports no frame rate; realtime needs one"};
    return cap;
}

}  // namespace

int run_video(const RunContext& ctx) {
    const Spec& spec = ctx.spec;
    const bool realtime = spec.video.realtime;
    Pipeline pipe(spec.model.input_size, spec.conf_threshold, spec.nms_threshold, spec.max_detections);
    ctx.out.write(load_model(ctx, pipe));

    double fps = 0.0;
    cv::VideoCapture cap = open_video(spec.video.path, realtime, fps);
    VideoResult r;
    r.source_fps = fps;
    Clock::time_point start, first_measured, last_end;
    const int wanted = spec.warmup + spec.iterations;
    while (r.processed < wanted) {
        const int f = r.frames_read;
        // A frame cannot be read before it arrives; frame 0 arrives when it is read.
        if (realtime && f > 0) std::this_thread::sleep_until(start + std::chrono::nanoseconds(frame_arrival_ns(f, fps)));
        const Clock::time_point t0 = Clock::now();
        const bool ok = pipe.read_frame(cap);
        const Clock::time_point t1 = Clock::now();
        if (!ok) break;  // the end of the video
        ++r.frames_read;
        if (f == 0) start = t0;
        if (realtime && drop_frame(f, ns(start, t1), fps)) {
            ++r.dropped;
            continue;
        }
        const Timing t = finish_image(pipe, t0, t1);

        const bool warmup = r.processed < spec.warmup;
        if (r.processed == spec.warmup) first_measured = t.start;
        last_end = t.end;
        const std::string name = frame_name(f);
        IterationExtra x;
        x.frame = f;
        ctx.out.write(iteration_record(r.processed, warmup, name, t.phases, t.total_ns(),
                                       static_cast<int>(pipe.detections().size()), x));
        write_detections(ctx.out, name, pipe);  // every frame: frames differ
        ++r.processed;
    }
    if (r.frames_read == 0) throw RunError{"image_read", "cannot read any frame of " + spec.video.path};

    r.measured_wall_ns = r.processed > spec.warmup ? ns(first_measured, last_end) : 0;
    ctx.out.write(video_result_record(r));
    // The video may end first: end reports what was processed, as the protocol says for video.
    const int warm = std::min(r.processed, spec.warmup);
    ctx.out.write(end_record(r.processed - warm, warm, peak_rss_bytes(), pss_bytes()));
    return 0;
}
