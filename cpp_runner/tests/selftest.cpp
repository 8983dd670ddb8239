// Self-test for cpp_runner's own code (no test framework; run by CTest).
// Prints "N passed, M failed" last and exits non-zero on any failure.
#include "backend.hpp"
#include "cli.hpp"
#include "http_queue.hpp"
#include "memory.hpp"
#include "ort_api.hpp"
#include "pipeline_batch.hpp"
#include "pipeline.hpp"
#include "records.hpp"
#include "request_queue.hpp"
#include "run.hpp"
#include "scenario_common.hpp"
#include "spec.hpp"
#include "schedule.hpp"
#include "version.hpp"
#include "pool.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

int g_pass = 0, g_fail = 0;

void check(bool ok, const char* expr, const char* file, int line, const std::string& detail = "") {
    if (ok) { ++g_pass; return; }
    ++g_fail;
    std::fprintf(stderr, "%s:%d: CHECK failed: %s%s%s\n", file, line, expr, detail.empty() ? "" : "\n    ",
                 detail.c_str());
}

template <class A, class B>
std::string show(const A& a, const B& b) {
    std::ostringstream s;
    s << "got [" << a << "] want [" << b << "]";
    return s.str();
}

// Each operand is evaluated once.
template <class A, class B>
void check_eq(const A& a, const B& b, const char* expr, const char* file, int line) {
    check(a == b, expr, file, line, show(a, b));
}

template <class A, class B, class T>
void check_near(const A& a, const B& b, T tol, const char* expr, const char* file, int line) {
    check(std::fabs(a - b) <= tol, expr, file, line, show(a, b));
}

#define CHECK(c) check((c), #c, __FILE__, __LINE__)
#define CHECK_EQ(a, b) check_eq((a), (b), #a " == " #b, __FILE__, __LINE__)
#define CHECK_NEAR(a, b, tol) check_near((a), (b), (tol), #a " ~= " #b, __FILE__, __LINE__)

void check_geometry(int w, int h, int S, int nw, int nh, int l, int r, int t, int b, const char* what) {
    const Letterbox g = letterbox_geometry(w, h, S);
    const bool ok = g.new_w == nw && g.new_h == nh && g.left == l && g.right == r && g.top == t && g.bottom == b;
    std::ostringstream d;
    d << w << "x" << h << "@" << S << ": new " << g.new_w << "x" << g.new_h << " pad l" << g.left << " r" << g.right
      << " t" << g.top << " b" << g.bottom;
    check(ok, what, __FILE__, __LINE__, d.str());
}

void test_letterbox() {
    check_geometry(810, 1080, 640, 480, 640, 80, 80, 0, 0, "bus.jpg at 640");
    check_geometry(810, 1080, 320, 240, 320, 40, 40, 0, 0, "bus.jpg at 320");
    check_geometry(1280, 720, 640, 640, 360, 0, 0, 140, 140, "zidane.jpg at 640");
    check_geometry(641, 479, 320, 320, 239, 0, 0, 40, 41, "odd size, odd padding goes bottom");
    check_geometry(3, 5, 320, 192, 320, 64, 64, 0, 0, "tiny image is scaled up");
    check_geometry(3, 1, 5, 5, 2, 0, 0, 1, 2, "odd padding");
    check_geometry(1, 4, 2, 1, 2, 0, 1, 0, 0, "floor(x+0.5), not round-half-even: 0.5 -> 1");
    check_geometry(320, 320, 320, 320, 320, 0, 0, 0, 0, "already S x S");
    check_geometry(4000, 1, 640, 640, 1, 0, 0, 319, 320, "a strip keeps one row (0.16 + 0.5 floors to 0)");
    check_geometry(1, 4000, 320, 1, 320, 159, 160, 0, 0, "and one column");
    CHECK_NEAR(letterbox_geometry(810, 1080, 640).r, 640.0 / 1080.0, 1e-15);

    // Pixels: a 3x5 (w x h) image of 200 into 8x8: r = 1.6, 5x8, left 1, right 2.
    cv::Mat src(5, 3, CV_8UC3, cv::Scalar(200, 200, 200)), resized, dst;
    const Letterbox g = letterbox_geometry(3, 5, 8);
    letterbox(src, g, resized, dst);
    CHECK_EQ(dst.rows, 8);
    CHECK_EQ(dst.cols, 8);
    CHECK_EQ(dst.type(), CV_8UC3);
    CHECK(dst.at<cv::Vec3b>(4, 0) == cv::Vec3b(114, 114, 114));
    CHECK(dst.at<cv::Vec3b>(4, 1) == cv::Vec3b(200, 200, 200));
    CHECK(dst.at<cv::Vec3b>(4, 5) == cv::Vec3b(200, 200, 200));
    CHECK(dst.at<cv::Vec3b>(4, 6) == cv::Vec3b(114, 114, 114));
    CHECK(dst.at<cv::Vec3b>(7, 7) == cv::Vec3b(114, 114, 114));
    // No resize when the size is unchanged: the input goes straight to the border step.
    cv::Mat same(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), unused, out;
    letterbox(same, letterbox_geometry(8, 8, 8), unused, out);
    CHECK(unused.empty());
    CHECK(cv::norm(out, same, cv::NORM_INF) == 0);
}

// Synthetic output: 3 classes, so 8 columns per row.
std::vector<float> synthetic_rows() {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    return {
        // cx,   cy,    w,    h,    obj,   c0,    c1,   c2
        100.f, 100.f, 50.f, 40.f, 0.9f,  0.1f,  0.8f, 0.8f,  // 0: tie c1/c2 -> first index, class 1
        100.f, 100.f, 50.f, 40.f, 0.25f, 1.0f,  1.0f, 1.0f,  // 1: obj == conf -> dropped
        100.f, 100.f, 50.f, 40.f, 0.3f,  0.5f,  0.1f, 0.1f,  // 2: score 0.15 -> dropped
        102.f, 101.f, 50.f, 40.f, 0.9f,  0.9f,  0.0f, 0.0f,  // 3: class 0, overlaps 0 (other class)
        103.f, 100.f, 50.f, 40.f, 0.8f,  0.95f, 0.0f, 0.0f,  // 4: class 0, suppressed by 3
        1.5f,  2.5f,  6.f,  8.f,  0.99f, 0.0f,  0.0f, 0.5f,  // 5: negative x1/y1, class 2
        100.f, 100.f, 50.f, 40.f, nan,   1.0f,  1.0f, 1.0f,  // 6: NaN obj -> dropped
    };
}

void test_decode_nms() {
    const std::vector<float> rows = synthetic_rows();
    const float conf = 0.25f;
    Postprocessor pp;
    pp.decode(rows.data(), 7, 8, conf);
    CHECK_EQ(pp.rects.size(), 4u);
    if (pp.rects.size() != 4u) return;
    CHECK_EQ(pp.class_ids[0], 1);
    CHECK_EQ(pp.scores[0], 0.9f * 0.8f);
    CHECK(pp.rects[0] == cv::Rect(75 + 7680, 80 + 7680, 50, 40));
    CHECK_EQ(pp.class_ids[1], 0);
    CHECK(pp.rects[1] == cv::Rect(77, 81, 50, 40));
    CHECK_EQ(pp.class_ids[3], 2);
    CHECK_EQ(pp.scores[3], 0.99f * 0.5f);
    // trunc toward zero: x1 = y1 = -1.5 -> -1, not floor's -2
    CHECK(pp.rects[3] == cv::Rect(-1 + 2 * 7680, -1 + 2 * 7680, 6, 8));
    CHECK_EQ(pp.boxes[3][0], -1.5f);

    pp.nms(conf, 0.45f, 300);
    CHECK_EQ(pp.keep.size(), 3u);
    if (pp.keep.size() == 3u) {
        CHECK_EQ(pp.keep[0], 1);  // 0.81
        CHECK_EQ(pp.keep[1], 0);  // 0.72, other class: not suppressed by the 0.81 box
        CHECK_EQ(pp.keep[2], 3);  // 0.495; candidate 2 (0.76) suppressed by candidate 1
    }
    pp.nms(conf, 0.45f, 2);
    CHECK_EQ(pp.keep.size(), 2u);

    Postprocessor empty;
    empty.decode(rows.data() + 8, 1, 8, conf);
    empty.nms(conf, 0.45f, 300);
    CHECK(empty.keep.empty());
}

void test_map_back() {
    // bus.jpg at 640: r = 640/1080, left = 80, top = 0.
    const Letterbox g = letterbox_geometry(810, 1080, 640);
    Postprocessor pp;
    pp.boxes = {cv::Vec4f(100.f, 50.f, 200.f, 700.f), cv::Vec4f(70.f, -10.f, 600.f, 100.f)};
    pp.scores = {0.9f, 0.8f};
    pp.class_ids = {5, 0};
    pp.keep = {1, 0};
    std::vector<Detection> out;
    pp.map_back(g, 810, 1080, out);
    CHECK_EQ(out.size(), 2u);
    if (out.size() != 2u) return;
    CHECK_EQ(out[0].class_id, 0);  // keep order, not candidate order
    CHECK_EQ(out[0].box[0], 0.f);  // (70 - 80) / r < 0 -> 0
    CHECK_EQ(out[0].box[1], 0.f);  // -10 / r -> 0
    CHECK_EQ(out[0].box[2], 810.f);  // (670 - 80) / r > 810 -> 810
    CHECK_NEAR(out[0].box[3], 90.f / (640.f / 1080.f), 1e-3f);
    CHECK_EQ(out[1].class_id, 5);
    CHECK_EQ(out[1].score, 0.9f);
    CHECK_NEAR(out[1].box[0], 33.75f, 1e-3f);
    CHECK_NEAR(out[1].box[1], 84.375f, 1e-3f);
    CHECK_NEAR(out[1].box[2], 371.25f, 1e-3f);
    CHECK_EQ(out[1].box[3], 1080.f);  // 750 / r = 1265.6 -> 1080

    // Whole postprocess on a [1, N, 8] Mat, and a wrong output type.
    std::vector<float> rows = synthetic_rows();
    const int sz[3] = {1, 7, 8};
    cv::Mat outmat(3, sz, CV_32F, rows.data());
    Postprocessor run;
    std::vector<Detection> dets;
    run.run(outmat, 0.25f, 0.45f, 300, letterbox_geometry(640, 640, 640), 640, 640, dets);
    CHECK_EQ(dets.size(), 3u);
    if (dets.size() == 3u) {
        CHECK_EQ(dets[0].class_id, 0);
        CHECK_EQ(dets[0].box[0], 77.f);
        CHECK_EQ(dets[0].box[2], 127.f);
        CHECK_EQ(dets[2].box[0], 0.f);  // x1 = -1.5 clipped
        CHECK_EQ(dets[2].box[2], 4.5f);
    }
    bool threw = false;
    try {
        cv::Mat wrong(3, sz, CV_64F, cv::Scalar(0));
        run.run(wrong, 0.25f, 0.45f, 300, letterbox_geometry(640, 640, 640), 640, 640, dets);
    } catch (const std::runtime_error&) {
        threw = true;
    }
    CHECK(threw);
}

void test_backend() {
    cv::dnn::Backend b;
    CHECK(backend_from_name("default", b) && b == cv::dnn::DNN_BACKEND_DEFAULT);
    CHECK(backend_from_name("opencv", b) && b == cv::dnn::DNN_BACKEND_OPENCV);
    CHECK(backend_from_name("cuda", b) && b == cv::dnn::DNN_BACKEND_CUDA);
    CHECK(backend_from_name("openvino", b) && b == cv::dnn::DNN_BACKEND_INFERENCE_ENGINE);
    CHECK(!backend_from_name("OpenCV", b));
    CHECK(!backend_from_name("halide", b));
    cv::dnn::Target t;
    for (const char* n : {"cpu", "opencl", "opencl_fp16", "cuda", "cuda_fp16"}) {
        CHECK(target_from_name(n, t));
        CHECK_EQ(target_name(t), std::string(n));
    }
    CHECK(target_from_name("cuda_fp16", t) && t == cv::dnn::DNN_TARGET_CUDA_FP16);
    CHECK(!target_from_name("gpu", t));
    CHECK_EQ(target_name(cv::dnn::DNN_TARGET_MYRIAD), "target_3");
    CHECK_EQ(target_name(cv::dnn::DNN_TARGET_VULKAN), "target_4");
    const std::vector<std::string> cpu = available_target_names(cv::dnn::DNN_BACKEND_OPENCV);
    bool has_cpu = false;
    for (const auto& n : cpu) has_cpu = has_cpu || n == "cpu";
    CHECK(has_cpu);
}

void test_schedule() {
    CHECK_EQ(frame_name(0), "frame-000000");
    CHECK_EQ(frame_name(123), "frame-000123");
    CHECK_EQ(frame_name(1234567), "frame-1234567");
    CHECK_EQ(frame_arrival_ns(0, 10.0), 0);
    CHECK_EQ(frame_arrival_ns(3, 10.0), 300000000);
    CHECK_EQ(frame_arrival_ns(794, 10.0), 79400000000);
    CHECK_EQ(frame_arrival_ns(1, 29.97), 33366700);  // 33366700.03 -> nearest
    CHECK_EQ(frame_arrival_ns(2, 3.0), 666666667);   // 666666666.67 -> nearest
    // Ties go to even, as Python's round(): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
    CHECK_EQ(frame_arrival_ns(1, 2e9), 0);
    CHECK_EQ(frame_arrival_ns(3, 2e9), 2);
    CHECK_EQ(frame_arrival_ns(5, 2e9), 2);
    // Frame 2 at 10 fps is dropped once frame 3 (300 ms) has arrived, not a nanosecond earlier.
    CHECK(!drop_frame(2, 299999999, 10.0));
    CHECK(drop_frame(2, 300000000, 10.0));
    CHECK(!drop_frame(0, 50000000, 10.0));
    CHECK(drop_frame(0, 100000000, 10.0));
}

void test_batch_slicing() {
    // [2, 3, 8]: plane 0 all zeros (no detections), plane 1 the synthetic rows 0, 3, 5.
    const std::vector<float> syn = synthetic_rows();
    std::vector<float> data(2 * 3 * 8, 0.f);
    std::copy(syn.begin() + 0 * 8, syn.begin() + 1 * 8, data.begin() + 24);
    std::copy(syn.begin() + 3 * 8, syn.begin() + 4 * 8, data.begin() + 32);
    std::copy(syn.begin() + 5 * 8, syn.begin() + 6 * 8, data.begin() + 40);
    const int sz[3] = {2, 3, 8};
    const cv::Mat out(3, sz, CV_32F, data.data());
    const cv::Mat s1 = batch_slice(out, 1);
    CHECK_EQ(s1.dims, 2);
    CHECK_EQ(s1.rows, 3);
    CHECK_EQ(s1.cols, 8);
    CHECK(s1.ptr<float>() == data.data() + 24);  // in place: a header on the same data
    CHECK_EQ(s1.at<float>(1, 4), 0.9f);
    CHECK(batch_slice(out, 0).ptr<float>() == data.data());

    Postprocessor post;
    std::vector<Detection> dets;
    const Letterbox g = letterbox_geometry(640, 640, 640);
    post.run(batch_slice(out, 0), 0.25f, 0.45f, 300, g, 640, 640, dets);
    CHECK(dets.empty());
    post.run(batch_slice(out, 1), 0.25f, 0.45f, 300, g, 640, 640, dets);
    CHECK_EQ(dets.size(), 3u);

    int thrown = 0;
    for (int j : {-1, 2}) {
        try { batch_slice(out, j); } catch (const std::runtime_error&) { ++thrown; }
    }
    try { batch_slice(cv::Mat(3, 8, CV_32F, cv::Scalar(0)), 0); } catch (const std::runtime_error&) { ++thrown; }
    try { batch_slice(cv::Mat(3, sz, CV_64F, cv::Scalar(0)), 0); } catch (const std::runtime_error&) { ++thrown; }
    CHECK_EQ(thrown, 4);

    // images[(i * B + j) % len(images)]
    CHECK_EQ(batch_image_index(0, 0, 4, 3), 0);
    CHECK_EQ(batch_image_index(0, 3, 4, 3), 0);
    CHECK_EQ(batch_image_index(1, 0, 4, 3), 1);
    CHECK_EQ(batch_image_index(2, 1, 4, 3), 0);
    CHECK_EQ(batch_image_index(1, 2, 1, 9), 3);
    CHECK_EQ(batch_image_index(1000000000, 3, 4, 7), static_cast<int>((4000000000ll + 3) % 7));  // no int overflow
}

void test_dispatch_order() {
    CHECK(dispatch_order({0, 10, 20}) == std::vector<int>({0, 1, 2}));
    CHECK(dispatch_order({0, 5, 5, 3}) == std::vector<int>({0, 3, 1, 2}));  // by arrival, ties by k
    CHECK(dispatch_order({}).empty());
}

void test_first_seen() {
    FirstSeen seen(3);
    CHECK(seen.claim(1));
    CHECK(!seen.claim(1));
    CHECK(seen.unclaimed() == std::vector<int>({0, 2}));
    // Claimed from four threads at once: each image is won exactly once.
    FirstSeen many(200);
    std::atomic<int> won{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&] {
            for (int i = 0; i < 200; ++i) won += many.claim(i) ? 1 : 0;
        });
    for (auto& t : ts) t.join();
    CHECK_EQ(won.load(), 200);
    CHECK(many.unclaimed().empty());
}

void test_record_sink_threads() {
    std::FILE* f = std::tmpfile();
    CHECK(f != nullptr);
    if (!f) return;
    {
        RecordSink sink(f);
        std::vector<std::thread> ts;
        for (int t = 0; t < 4; ++t)
            ts.emplace_back([&sink, t] {
                for (int i = 0; i < 200; ++i) sink.write(std::string(300, static_cast<char>('a' + t)) + std::to_string(i));
            });
        for (auto& t : ts) t.join();
    }
    std::rewind(f);
    char buf[1024];
    int lines = 0;
    bool whole = true;
    while (std::fgets(buf, sizeof(buf), f)) {
        ++lines;
        const std::string line(buf);
        // One writer's characters only, then its number and the newline.
        const std::size_t letters = line.find_first_of("0123456789");
        whole = whole && letters == 300 && line.find_first_not_of(line[0]) == 300 && line.back() == '\n';
    }
    std::fclose(f);
    CHECK_EQ(lines, 800);
    CHECK(whole);
}

void test_start_gate() {
    StartGate gate(3);
    std::atomic<int> passed{0};
    const Clock::time_point base = Clock::now();
    std::vector<std::thread> ts;
    for (int w = 0; w < 3; ++w)
        ts.emplace_back([&, w] {
            gate.arrive(base + std::chrono::milliseconds(10 * (w + 1)));
            gate.wait_open();
            ++passed;
        });
    const Clock::time_point last = gate.wait_all();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK_EQ(passed.load(), 0);  // nobody leaves before the gate opens
    CHECK(last == base + std::chrono::milliseconds(30));  // the latest ready time
    gate.open();
    for (auto& t : ts) t.join();
    CHECK_EQ(passed.load(), 3);
}

void test_request_queue() {
    RequestQueue q;
    const Clock::time_point t = Clock::now();
    q.push(Request{2, t});
    q.push(Request{0, t});
    q.close();
    Request r;
    CHECK(q.pop(r) && r.k == 2);  // first in, first out: arrival order
    CHECK(q.pop(r) && r.k == 0);
    CHECK(!q.pop(r));  // closed and drained

    RequestQueue timed;
    const Clock::time_point due = Clock::now() + std::chrono::milliseconds(20);
    CHECK(timed.sleep_until(due));
    CHECK(Clock::now() >= due);  // never early

    // abort() wakes a blocked worker and cuts the dispatcher's sleep short.
    RequestQueue aborted;
    std::atomic<bool> popped{true};
    std::thread worker([&] { popped = aborted.pop(r); });
    std::thread aborter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        aborted.abort();
    });
    const Clock::time_point t0 = Clock::now();
    const bool slept = aborted.sleep_until(t0 + std::chrono::seconds(30));
    CHECK(!slept);
    CHECK(Clock::now() - t0 < std::chrono::seconds(5));
    worker.join();
    aborter.join();
    CHECK(!popped.load());
}

// ---- Records and JSON (nlohmann-json) ----

using Json = nlohmann::ordered_json;

// Floats compared as float32, the precision the protocol promises (a record widens a float32 to double).
Json as_float32(const Json& j) {
    if (j.is_number_float()) return static_cast<double>(static_cast<float>(j.get<double>()));
    if (!j.is_structured()) return j;
    Json out = j.is_array() ? Json::array() : Json::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (j.is_array()) out.push_back(as_float32(*it));
        else out[it.key()] = as_float32(*it);
    }
    return out;
}

// The same keys, in the same order, with the same values (ordered_json compares in order).
void check_json(const std::string& line, const std::string& want, const char* file, int n) {
    const Json got = Json::parse(line, nullptr, false);
    check(!got.is_discarded() && as_float32(got) == as_float32(Json::parse(want)), "record == expected", file, n,
          show(line, want));
}
#define CHECK_JSON(line, want) check_json((line), (want), __FILE__, __LINE__)

void test_sha256() {  // OpenSSL's EVP, checked against FIPS 180-4's examples
    CHECK_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// The formatters give the records of tests/fixtures/protocol/stream-single.jsonl's shapes, key for key.
void test_records() {
    CHECK_JSON(load_record("yolov5s-320", 41234567), R"({"type": "load", "model": "yolov5s-320", "load_ns": 41234567})");
    CHECK_JSON(iteration_record(0, true, "bus.jpg", Phases{5100000, 900000, 98000000, 300000}, 104300000, 5),
               R"({"type": "iteration", "index": 0, "warmup": true, "image": "bus.jpg", "phases_ns": {"decode": 5100000,
                   "preprocess": 900000, "inference": 98000000, "postprocess": 300000}, "total_ns": 104300000,
                   "detections": 5})");
    std::vector<Detection> dets(2);
    dets[0].class_id = 5; dets[0].score = 0.8731f;
    dets[0].box[0] = 22.1f; dets[0].box[1] = 231.5f; dets[0].box[2] = 805.f; dets[0].box[3] = 756.8f;
    dets[1].class_id = 0; dets[1].score = 0.85f;
    dets[1].box[0] = 48.f; dets[1].box[1] = 398.f; dets[1].box[2] = 245.5f; dets[1].box[3] = 902.f;
    const std::string d = detections_record("bus.jpg", 810, 1080, dets);
    CHECK_JSON(d, R"({"type": "detections", "image": "bus.jpg", "width": 810, "height": 1080, "detections":
                      [{"class_id": 5, "score": 0.8731, "box": [22.1, 231.5, 805.0, 756.8]},
                       {"class_id": 0, "score": 0.85, "box": [48.0, 398.0, 245.5, 902.0]}]})");
    // Exact float32 values: the text reads back as the very float32 the pipeline computed.
    CHECK_EQ(static_cast<float>(Json::parse(d)["detections"][0]["score"].get<double>()), 0.8731f);
    CHECK_JSON(detections_record("e.jpg", 1, 2, {}),
               R"({"type": "detections", "image": "e.jpg", "width": 1, "height": 2, "detections": []})");
    CHECK_JSON(end_record(3, 1, 312475648, 201326592),
               R"({"type": "end", "iterations": 3, "warmup": 1, "peak_rss_bytes": 312475648, "pss_bytes": 201326592})");
    CHECK_JSON(error_record("model_load", "cannot read model m.onnx"),
               R"({"type": "error", "code": "model_load", "message": "cannot read model m.onnx", "fatal": true})");
    // Bytes that are not UTF-8 (a file name, an OpenCV message) still give a line a strict reader takes.
    CHECK_JSON(error_record("image_read", "bad\xff name"),
               R"({"type": "error", "code": "image_read", "message": "bad\ufffd name", "fatal": true})");

    Hello h;
    h.language_version = "g++ 12.2.0";
    h.opencv_version = "4.6.0";
    h.opencv_build_info = "\nGeneral configuration for OpenCV 4.6.0 =====\n";
    h.threads = 1;
    h.pid = 4242;
    h.backend = "opencv";
    h.target = "cpu";
    h.available_targets = {"cpu", "opencl"};
    CHECK_JSON(hello_record(h),
               R"({"type": "hello", "protocol": 1, "runner": "cpp_runner", "language": "cpp",
                   "language_version": "g++ 12.2.0", "opencv_version": "4.6.0", "opencv_build_hash": ")" +
                   sha256_hex(h.opencv_build_info) +
                   R"(", "opencv_build_info": "\nGeneral configuration for OpenCV 4.6.0 =====\n", "threads": 1,
                   "pid": 4242, "backend": "opencv", "target": "cpu", "available_targets": ["cpu", "opencl"],
                   "engine": "opencv"})");
    CHECK_EQ(base_name("/abs/data/images/bus.jpg"), "bus.jpg");
    CHECK_EQ(base_name("zidane.jpg"), "zidane.jpg");
}

// The scenario records, key for key as docs/protocol.md, "Scenarios" shows them.
void test_scenario_records() {
    CHECK_JSON(load_record("yolov5s-320", 41234567, 1),
               R"({"type": "load", "model": "yolov5s-320", "load_ns": 41234567, "worker": 1})");
    const Phases ph{1, 2, 3, 4};
    const std::string phases = R"("phases_ns": {"decode": 1, "preprocess": 2, "inference": 3, "postprocess": 4})";
    IterationExtra v;
    v.frame = 123;
    CHECK_JSON(iteration_record(0, false, "frame-000123", ph, 10, 2, v),
               R"({"type": "iteration", "index": 0, "warmup": false, "image": "frame-000123", )" + phases +
                   R"(, "total_ns": 10, "detections": 2, "frame": 123})");
    IterationExtra srv;
    srv.worker = 1;
    srv.queue_ns = 5;
    srv.latency_ns = 15;
    CHECK_JSON(iteration_record(7, false, "bus.jpg", ph, 10, 0, srv),
               R"({"type": "iteration", "index": 7, "warmup": false, "image": "bus.jpg", )" + phases +
                   R"(, "total_ns": 10, "detections": 0, "worker": 1, "queue_ns": 5, "latency_ns": 15})");
    IterationExtra bat;
    bat.batch = 4;
    CHECK_JSON(iteration_record(0, true, "bus.jpg", ph, 10, 9, bat),
               R"({"type": "iteration", "index": 0, "warmup": true, "image": "bus.jpg", )" + phases +
                   R"(, "total_ns": 10, "detections": 9, "batch": 4})");

    VideoResult vr;
    vr.frames_read = 120;
    vr.processed = 110;
    vr.dropped = 10;
    vr.source_fps = 29.97;
    vr.measured_wall_ns = 5123456789;
    CHECK_JSON(video_result_record(vr),
               R"({"type": "result", "scenario": "video", "frames_read": 120, "processed": 110, "dropped": 10,
                   "source_fps": 29.97, "measured_wall_ns": 5123456789})");
    PoolResult pr;
    pr.scenario = "concurrency";
    pr.workers = 4;
    pr.mode = "threads";
    pr.startup_ns = 912345678;
    pr.measured_wall_ns = 8123456789;
    pr.completed = 200;
    CHECK_JSON(pool_result_record(pr),
               R"({"type": "result", "scenario": "concurrency", "workers": 4, "mode": "threads",
                   "startup_ns": 912345678, "measured_wall_ns": 8123456789, "completed": 200})");
    pr.scenario = "server";
    pr.rate = 8.0;
    CHECK_JSON(pool_result_record(pr),
               R"({"type": "result", "scenario": "server", "workers": 4, "mode": "threads", "rate": 8.0,
                   "startup_ns": 912345678, "measured_wall_ns": 8123456789, "completed": 200})");
    IterationExtra http;
    http.worker = 0;
    http.queue_ns = 5;
    http.handler_ns = 20;
    CHECK_JSON(iteration_record(3, false, "request", ph, 10, 1, http),
               R"({"type": "iteration", "index": 3, "warmup": false, "image": "request", )" + phases +
                   R"(, "total_ns": 10, "detections": 1, "worker": 0, "queue_ns": 5, "handler_ns": 20})");
    CHECK_JSON(listening_record("127.0.0.1", 43123, 912345678),
               R"({"type": "listening", "address": "127.0.0.1", "port": 43123, "startup_ns": 912345678})");
    HttpResult hr;
    hr.workers = 2;
    hr.mode = "threads";
    hr.startup_ns = 912345678;
    hr.served = 1234;
    hr.rejected = 5;
    CHECK_JSON(http_result_record(hr),
               R"({"type": "result", "scenario": "http", "workers": 2, "mode": "threads", "startup_ns": 912345678,
                   "served": 1234, "rejected": 5})");
    std::vector<Detection> one(1);
    one[0].class_id = 5;
    one[0].score = 0.8731f;
    one[0].box[2] = 805.f;
    CHECK_JSON(detections_body("bus.jpg", 810, 1080, one),
               R"({"image": "bus.jpg", "width": 810, "height": 1080,
                   "detections": [{"class_id": 5, "score": 0.8731, "box": [0.0, 0.0, 805.0, 0.0]}]})");
    CHECK_JSON(http_error_body("overloaded", "retry later"), R"({"error": "overloaded", "message": "retry later"})");
    SpawnSample ss;
    ss.index = 0;
    ss.warmup = true;
    ss.workers = 1000;
    ss.tasks = 10000;
    ss.startup_ns = 1234567;
    ss.tasks_ns = 101234567;
    ss.rss_before_bytes = 31457280;
    ss.rss_bytes = 41943040;
    CHECK_JSON(spawn_sample_record(ss),
               R"({"type": "spawn_sample", "index": 0, "warmup": true, "workers": 1000, "tasks": 10000,
                   "startup_ns": 1234567, "tasks_ns": 101234567, "rss_before_bytes": 31457280,
                   "rss_bytes": 41943040})");
    CHECK_JSON(call_sample_record("empty", 0, true, 10000, 412345),
               R"({"type": "call_sample", "call": "empty", "index": 0, "warmup": true, "calls": 10000,
                   "total_ns": 412345})");
}

// ---- The spec: parsed values (the refusals are the contract's cases below) ----

void test_spec_values() {
    Spec s;
    SpecError e;
    const char* text = R"({"protocol": 1, "scenario": "server", "workers": 2, "mode": "threads", "rate": 8,
        "arrivals_ns": [0, 81234567, 25000000001],
        "model": {"name": "yolov5s-320", "path": "/m/Jos\u00e9/\ud83d\ude00 \"q\".onnx", "format": "onnx", "input_size": 320},
        "images": ["a.jpg", "dir with space/b.jpg"], "conf_threshold": 0.25, "nms_threshold": 0.45,
        "max_detections": 300, "warmup": 1, "iterations": 3, "threads": 1, "backend": "opencv", "target": "cpu"})";
    check(parse_spec(text, s, e), "parse_spec", __FILE__, __LINE__, e.message);
    CHECK_EQ(s.protocol, 1);
    CHECK_EQ(s.scenario, "server");
    CHECK_EQ(s.model.path, "/m/Jos\xc3\xa9/\xf0\x9f\x98\x80 \"q\".onnx");
    CHECK_EQ(s.model.input_size, 320);
    CHECK_EQ(s.images.size(), 2u);
    CHECK_EQ(s.images[1], "dir with space/b.jpg");
    CHECK_EQ(s.conf_threshold, 0.25f);
    CHECK_EQ(s.nms_threshold, 0.45f);
    CHECK_EQ(s.max_detections, 300);
    CHECK_EQ(s.warmup, 1);
    CHECK_EQ(s.iterations, 3);
    CHECK_EQ(s.threads, 1);
    CHECK_EQ(s.workers, 2);
    CHECK_EQ(s.rate, 8.0);
    CHECK(s.arrivals_ns == std::vector<std::int64_t>({0, 81234567, 25000000001}));
}

// ---- The runner contract (tests/fixtures/protocol/conformance.json), shared with Go and Python ----

const std::string kRoot = CPP_RUNNER_REPO_ROOT;

Json load_contract() {
    std::ifstream f(kRoot + "/tests/fixtures/protocol/conformance.json");
    return Json::parse(f, nullptr, false);
}

// parent object of a dotted key ("model.path": spec["model"], "path"), created when absent.
Json& dotted(Json& spec, const std::string& key, std::string& leaf) {
    Json* obj = &spec;
    std::size_t start = 0;
    for (std::size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1) {
        Json& next = (*obj)[key.substr(start, dot - start)];
        if (!next.is_object()) next = Json::object();
        obj = &next;
    }
    leaf = key.substr(start);
    return *obj;
}

std::string absolute(const Json& p) {
    const std::string s = p.get<std::string>();
    return s.empty() ? s : kRoot + "/" + s;
}

// The absolute path of the contract's `ort` entry (the library, the Python path), relative to the root.
std::string ort_path(const Json& contract, const char* key) {
#if defined(_WIN32)
    if (std::string(key) == "library") key = "library_windows";
#endif
    return absolute(contract["ort"][key]);
}

// The engine cases' placeholders, wherever they stand, replaced by the paths of the contract's `ort`.
void substitute(Json& j, const Json& contract) {
    if (j == "$ort_library") j = ort_path(contract, "library");
    else if (j == "$ort_python_path") j = ort_path(contract, "python_path");
    else if (j.is_structured())
        for (Json& child : j) substitute(child, contract);
}

// The case's spec text: the base with `remove` dropped and `set` replaced, fixture paths made absolute.
std::string case_spec(const Json& contract, const Json& c) {
    if (c.contains("text")) return c["text"].get<std::string>();
    Json spec = contract["base"];
    std::string leaf;
    if (c.contains("remove")) {
        for (const Json& key : c["remove"]) dotted(spec, key.get<std::string>(), leaf).erase(leaf);
    }
    if (c.contains("set")) {
        for (auto it = c["set"].begin(); it != c["set"].end(); ++it)
            dotted(spec, it.key(), leaf)[leaf] = *it == "$native" ? contract["native_modes"]["cpp"] : *it;
    }
    substitute(spec, contract);
    for (const char* k : {"model", "video"}) {
        if (spec.contains(k) && spec[k].is_object() && spec[k].contains("path") && spec[k]["path"].is_string())
            spec[k]["path"] = absolute(spec[k]["path"]);
    }
    if (spec.contains("images") && spec["images"].is_array()) {
        for (Json& img : spec["images"])
            if (img.is_string()) img = absolute(img);
    }
    return spec.dump();
}

// Runs the command line in process and returns the status and the records.
int run_records(const std::vector<std::string>& args, const std::string& stdin_text, std::vector<Json>& records) {
    std::FILE* f = std::tmpfile();
    if (!f) return -1;
    std::istringstream in(stdin_text);
    const int status = run_cli(args, in, f);
    std::rewind(f);
    std::string line;
    for (int c; (c = std::fgetc(f)) != EOF;) {
        if (c != '\n') { line += static_cast<char>(c); continue; }
        Json record = Json::parse(line, nullptr, false);
        // A line that is not a JSON object fails the case's checks instead of aborting the selftest.
        records.push_back(record.is_object() ? record : Json{{"type", "not a JSON object: " + line}});
        line.clear();
    }
    std::fclose(f);
    return status;
}

// One run against a case: exit status, the last record, a hello first or not.
void check_case(const Json& c, int status, const std::vector<Json>& recs, bool cli) {
    const std::string name = c["name"].get<std::string>();
    if (recs.empty()) { check(false, "records", __FILE__, __LINE__, name + ": no records"); return; }
    const Json& last = recs.back();
    const bool hello = recs.front().value("type", "") == "hello";
    std::string want = c["code"].is_null() ? "" : c["code"].get<std::string>();
    if (c.contains("unless_available") && hello) {
        for (const Json& t : recs.front()["available_targets"])
            if (t == c["unless_available"]) want = "model_load";
    }
    // An ORT that has the provider goes on to load the (absent) model.
    if (c.contains("unless_provider") && hello && recs.front().contains("ort")) {
        for (const Json& p : recs.front()["ort"]["available_providers"])
            if (p == c["unless_provider"]) want = "model_load";
    }
    const std::string detail = name + ": status " + std::to_string(status) + ", last " + last.dump();
    if (want.empty()) {
        check(status == 0 && last.value("type", "") == "end", "complete run", __FILE__, __LINE__, detail);
        return;
    }
    check(status == c.value("status", 1) && last.value("type", "") == "error" && last.value("code", "") == want &&
              last.value("fatal", false),
          ("error " + want).c_str(), __FILE__, __LINE__, detail);
    check(last.value("message", "").find(c.value("mentions", "")) != std::string::npos, "message mentions", __FILE__,
          __LINE__, detail + " should mention " + c.value("mentions", ""));
    if (!cli) check(hello == c.value("hello", false), "hello first", __FILE__, __LINE__, detail);
}

void test_contract_spec_cases() {
    const Json contract = load_contract();
    CHECK(contract.is_object() && contract["spec_cases"].size() >= 50);
    if (!contract.is_object()) return;
    for (const Json& c : contract["spec_cases"]) {
        std::vector<Json> recs;
        const int status = run_records({"--spec", "-"}, case_spec(contract, c), recs);
        check_case(c, status, recs, false);
    }
}

void test_contract_cli_cases() {
    const Json contract = load_contract();
    if (!contract.is_object()) return;
    for (const Json& c : contract["cli_cases"]) {
        std::vector<std::string> args;
        for (const Json& a : c["args"]) {
            std::string s = a.get<std::string>();
            const std::size_t p = s.find("tests/");
            if (p != std::string::npos) s.replace(p, 6, kRoot + "/tests/");
            args.push_back(s);
        }
        const std::string stdin_text = c.value("stdin", "") == "base" ? case_spec(contract, Json::object()) : "";
        std::vector<Json> recs;
        const int status = run_records(args, stdin_text, recs);
        check_case(c, status, recs, true);
    }
}

// call_overhead needs no model: its whole stream, sample by sample.
void test_call_overhead_records() {
    Json c = Json::parse(R"({"set": {"scenario": "call_overhead", "calls_per_sample": 50, "images": []}})");
    std::vector<Json> recs;
    const int status = run_records({"--spec", "-"}, case_spec(load_contract(), c), recs);
    CHECK_EQ(status, 0);
    CHECK_EQ(recs.size(), 1u + 4u * 4u + 1u);  // hello, (1 warm-up + 3) samples of each of 4 calls, end
    if (recs.size() != 18u) return;
    const char* calls[] = {"empty", "opencv", "mat", "loop"};
    for (int i = 0; i < 16; ++i) {
        const Json& r = recs[1 + i];
        CHECK(r["type"] == "call_sample" && r["call"] == calls[i % 4] && r["index"] == i / 4 &&
              r["warmup"] == (i < 4) && r["calls"] == 50 && r["total_ns"].get<std::int64_t>() >= 0);
    }
    CHECK(recs[17]["type"] == "end" && recs[17]["iterations"] == 3 && recs[17]["warmup"] == 1);
}

// spawn needs no model, and no ONNX Runtime even when the spec names one (a library that is not there).
void test_spawn_records() {
    Json c = Json::parse(R"({"set": {"scenario": "spawn", "workers": 8, "mode": "threads", "tasks": 16,
        "task_sleep_ns": 1000000, "print": false, "images": [],
        "engine": {"name": "onnxruntime", "provider": "cpu", "library": "/nonexistent/libonnxruntime.so"}}})");
    std::vector<Json> recs;
    const int status = run_records({"--spec", "-"}, case_spec(load_contract(), c), recs);
    CHECK_EQ(status, 0);
    CHECK_EQ(recs.size(), 1u + 4u + 1u);  // hello, 1 warm-up + 3 samples, end
    if (recs.size() != 6u) return;
    CHECK(recs[0]["type"] == "hello" && recs[0]["engine"] == "onnxruntime" && !recs[0].contains("ort"));
    for (int i = 0; i < 4; ++i) {
        const Json& r = recs[1 + i];
        CHECK(r["type"] == "spawn_sample" && r["index"] == i && r["warmup"] == (i < 1) && r["workers"] == 8 &&
              r["tasks"] == 16);
        // 16 tasks of 1 ms on 8 workers: at least two sleeps one after the other.
        CHECK(r["tasks_ns"].get<std::int64_t>() >= 2000000 && r["startup_ns"].get<std::int64_t>() > 0);
        CHECK(r["rss_before_bytes"].get<std::int64_t>() > 0 && r["rss_bytes"].get<std::int64_t>() > 0);
    }
    CHECK(recs[5]["type"] == "end" && recs[5]["iterations"] == 3 && recs[5]["warmup"] == 1);
}

void test_current_rss() {
#if defined(__linux__) || defined(_WIN32) || defined(__APPLE__)
    const std::int64_t before = current_rss_bytes();
    CHECK(before > 0);
    std::vector<char> touched(64 << 20, 1);  // 64 MiB, every page written
    CHECK(current_rss_bytes() > before + (32 << 20));
    CHECK(touched[12345] == 1);
#endif
}

// The http scenario's bounded queue: K + Q admitted, one more refused at once, served oldest first.
void test_admission_queue() {
    AdmissionQueue q(1, 1);  // K = 1, Q = 1
    const std::string body = "x";
    DetectJob a(body, Clock::now()), b(body, Clock::now()), c(body, Clock::now());
    CHECK(q.try_submit(&a));
    CHECK(q.try_submit(&b));
    CHECK(!q.try_submit(&c));  // one waiting for the free network, one more: overloaded
    DetectJob* job = nullptr;
    CHECK(q.take(job) && job == &a);  // arrival order
    CHECK_EQ(q.in_service(), 1);
    CHECK_EQ(q.waiting(), 1);
    CHECK(!q.try_submit(&c));  // a in service, b waiting
    std::future<void> a_done = a.finished.get_future();
    a.outcome = DetectJob::Outcome::done;
    q.finish(&a);
    CHECK(a_done.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    CHECK_EQ(q.in_service(), 0);  // freed before the handler woke
    CHECK(q.try_submit(&c));
    std::future<void> b_done = b.finished.get_future(), c_done = c.finished.get_future();
    CHECK(q.take(job) && job == &b);
    q.abort();  // c, still waiting, fails at once; a network's take() returns false
    CHECK(c_done.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    CHECK(c.outcome == DetectJob::Outcome::failed);
    CHECK(!q.take(job));
    q.finish(&b);
    CHECK(b_done.wait_for(std::chrono::seconds(0)) == std::future_status::ready);

    AdmissionQueue none(1, 0);  // Q = 0: only the request in service
    DetectJob d(body, Clock::now()), e(body, Clock::now());
    CHECK(none.try_submit(&d));
    CHECK(!none.try_submit(&e));
    none.close();
    CHECK(none.take(job) && job == &d);  // closed: drained first
    CHECK(!none.take(job));
    none.finish(&d);
}


// ---- Engines (docs/protocol.md, "Engines") ----

void test_engine_spec() {
    const std::string head = R"({"protocol": 1, "scenario": "single",
        "model": {"name": "m", "path": "m.onnx", "format": "onnx", "input_size": 320}, "images": ["a.jpg"],
        "conf_threshold": 0.25, "nms_threshold": 0.45, "max_detections": 300, "warmup": 1, "iterations": 3,
        "threads": 2, "backend": "opencv", "target": "cpu")";
    Spec s;
    SpecError e;
    check(parse_spec(head + "}", s, e), "no engine", __FILE__, __LINE__, e.message);
    CHECK_EQ(s.engine.name, "opencv");
    const std::string ort = R"(, "engine": {"name": "onnxruntime", "provider": "cuda", "library": "lib/x.so",
                                            "python_path": "/py"}})";
    check(parse_spec(head + ort, s, e), "onnxruntime", __FILE__, __LINE__, e.message);
    CHECK_EQ(s.engine.name, "onnxruntime");
    CHECK_EQ(s.engine.provider, "cuda");
    CHECK_EQ(s.engine.library, "lib/x.so");
    CHECK_EQ(s.engine.python_path, "/py");
    // Under opencv the onnxruntime keys are ignored, as another scenario's keys are.
    check(parse_spec(head + R"(, "engine": {"name": "opencv", "provider": "rocm"}})", s, e), "opencv ignores provider",
          __FILE__, __LINE__, e.message);
    CHECK_EQ(s.engine.provider, "");
    check(parse_spec(head + R"(, "engine": {"name": "onnxruntime", "provider": "cpu", "library": "l.so",
                                           "python_path": null}})", s, e), "python_path null", __FILE__, __LINE__,
          e.message);
    CHECK(!parse_spec(head + R"(, "engine": {"name": "onnxruntime", "provider": "cpu", "library": "l.so",
                                            "python_path": 3}})", s, e));
    CHECK(e.code == "spec" && e.message.find("engine.python_path") != std::string::npos);

    CHECK_EQ(std::string(ort_provider_name("cpu")), "CPUExecutionProvider");
    CHECK_EQ(std::string(ort_provider_name("cuda")), "CUDAExecutionProvider");
    CHECK_EQ(std::string(ort_provider_name("tensorrt")), "TensorrtExecutionProvider");
    CHECK(ort_provider_name("CPUExecutionProvider") == nullptr);
}

// hello.ort and the load record's providers, key for key as docs/protocol.md, "Records" shows them.
void test_engine_records() {
    Hello h;
    h.engine = "onnxruntime";
    OrtHello o;
    o.version = "1.32.0";
    o.library = "/abs/libonnxruntime.so.1.32.0";
    o.library_sha256 = "ab";
    o.available_providers = {"CPUExecutionProvider"};
    o.provider = "cpu";
    o.intra_op_threads = 2;
    h.ort = o;
    const Json j = Json::parse(hello_record(h));
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    CHECK(keys.size() >= 2 && keys[keys.size() - 2] == "engine" && keys.back() == "ort");
    CHECK_EQ(j["engine"], "onnxruntime");
    CHECK_JSON(j["ort"].dump(), R"({"version": "1.32.0", "library": "/abs/libonnxruntime.so.1.32.0",
        "library_sha256": "ab", "linked": false, "available_providers": ["CPUExecutionProvider"], "provider": "cpu",
        "session_options": {"intra_op_threads": 2, "inter_op_threads": 1, "execution_mode": "sequential",
                            "graph_optimization": "all"}})");
    CHECK_JSON(load_record("m", 5, {}, {"CPUExecutionProvider"}),
               R"({"type": "load", "model": "m", "load_ns": 5, "providers": ["CPUExecutionProvider"]})");
    CHECK_JSON(load_record("m", 5, 1, {"CUDAExecutionProvider", "CPUExecutionProvider"}),
               R"({"type": "load", "model": "m", "load_ns": 5, "worker": 1,
                   "providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]})");
}

// A minimal protobuf writer, enough for an ONNX model of one node (onnx.proto's field numbers).
std::string varint(std::uint64_t v) {
    std::string out;
    for (; v >= 0x80; v >>= 7) out += static_cast<char>((v & 0x7f) | 0x80);
    return out + static_cast<char>(v);
}
std::string pb_int(int field, std::uint64_t v) { return varint(static_cast<std::uint64_t>(field) << 3) + varint(v); }
std::string pb_bytes(int field, const std::string& b) {
    return varint((static_cast<std::uint64_t>(field) << 3) | 2) + varint(b.size()) + b;
}

// ValueInfoProto of a tensor, float unless told; a negative dim is symbolic (dim_param "batch").
std::string pb_float_tensor(const std::string& name, const std::vector<int>& dims, int elem_type = 1 /* FLOAT */) {
    std::string shape;
    for (int d : dims) shape += pb_bytes(1, d < 0 ? pb_bytes(2, "batch") : pb_int(1, static_cast<std::uint64_t>(d)));
    const std::string tensor = pb_int(1, static_cast<std::uint64_t>(elem_type)) + pb_bytes(2, shape);
    return pb_bytes(1, name) + pb_bytes(2, pb_bytes(1, tensor));
}

std::string onnx_model(const std::string& graph) {
    return pb_int(1, 8 /* IR version */) + pb_bytes(7, graph) + pb_bytes(8, pb_bytes(1, "") + pb_int(2, 13));
}

// output = Identity(images), of rank 4 like the blob: an output the engine must refuse.
std::string identity_model(const std::vector<int>& dims) {
    const std::string node = pb_bytes(1, "images") + pb_bytes(2, "output") + pb_bytes(4, "Identity");
    return onnx_model(pb_bytes(1, node) + pb_bytes(2, "g") + pb_bytes(11, pb_float_tensor("images", dims)) +
                      pb_bytes(12, pb_float_tensor("output", dims)));
}

// output = Reshape(images, shape): the input's values, in order, in the output's declared dims. shape is an
// int64 initializer (raw little-endian data); with `hidden` it is the model's second input instead, unknown to
// shape inference, so that the output keeps the dims declared here (a symbolic one included). Such a model
// loads but cannot run without that input.
std::string reshape_model(const std::vector<int>& in, const std::vector<int>& out, const std::vector<int>& shape,
                          bool hidden = false) {
    std::string raw;
    for (int v : shape)
        for (int b = 0; b < 8; ++b)
            raw += static_cast<char>((static_cast<std::uint64_t>(static_cast<std::int64_t>(v)) >> (8 * b)) & 0xff);
    const std::string init = pb_int(1, shape.size()) + pb_int(2, 7 /* INT64 */) + pb_bytes(8, "shape") +
                             pb_bytes(9, raw);
    const std::string node = pb_bytes(1, "images") + pb_bytes(1, "shape") + pb_bytes(2, "output") +
                             pb_bytes(4, "Reshape");
    std::string graph = pb_bytes(1, node) + pb_bytes(2, "g");
    if (!hidden) graph += pb_bytes(5, init);
    graph += pb_bytes(11, pb_float_tensor("images", in));
    if (hidden) graph += pb_bytes(11, pb_float_tensor("shape", {static_cast<int>(shape.size())}, 7 /* INT64 */));
    return onnx_model(graph + pb_bytes(12, pb_float_tensor("output", out)));
}

std::string write_temp(const std::string& name, const std::string& bytes) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("cpp_runner_selftest_" + std::to_string(process_id()) + "_" + name)).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

template <class F>
std::string thrown_message(F f) {
    try { f(); } catch (const std::exception& e) { return e.what(); }
    return "";
}

void test_ort_runtime(const OrtRuntime& rt, const std::string& lib) {
    CHECK(&rt == &ort_runtime(lib));  // loaded once per process
    CHECK_EQ(rt.library(), lib);
    CHECK_EQ(rt.library_sha256(), sha256_file_hex(lib));
    CHECK_EQ(rt.library_sha256().size(), 64u);
    CHECK(!rt.version().empty());
    CHECK(rt.has_provider("CPUExecutionProvider"));
    CHECK(rt.env() != nullptr && rt.cpu_memory() != nullptr);
    const std::string missing = kRoot + "/tests/fixtures/protocol/no-such-libonnxruntime.so";
    CHECK(thrown_message([&] { ort_runtime(missing); }).find(missing) != std::string::npos);
    const std::string not_ort = kRoot + "/tests/fixtures/protocol/conformance.json";  // no ELF at all
    CHECK(thrown_message([&] { ort_runtime(not_ort); }).find(not_ort) != std::string::npos);
}

// A blob of dims [b, 3, 2, 2] holding i + 0.5 at position i.
cv::Mat ramp_blob(int b) {
    const int sz[4] = {b, 3, 2, 2};
    cv::Mat blob(4, sz, CV_32F);
    for (std::size_t i = 0; i < blob.total(); ++i) blob.ptr<float>()[i] = static_cast<float>(i) + 0.5f;
    return blob;
}

// What prepare(blob) throws for the model (empty when it accepts it); the model's file is removed.
std::string refusal(const OrtRuntime& rt, const std::string& name, const std::string& model,
                    const std::vector<std::int64_t>& blob) {
    const std::string path = write_temp(name, model);
    std::string message;
    try {
        std::unique_ptr<Inferer> inf = load_ort_inferer(path, rt, "cpu", 1);
        message = thrown_message([&] { inf->prepare(blob); });
    } catch (const std::exception& e) {
        message = std::string("load: ") + e.what();
    }
    std::filesystem::remove(path);
    return message;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The ORT engine on a Reshape model [1, 3, 2, 2] -> [1, 2, 6]: the output is the runner's buffer,
// allocated once, and holds what Run wrote.
void test_ort_inferer(const OrtRuntime& rt) {
    const std::string path = write_temp("reshape.onnx", reshape_model({1, 3, 2, 2}, {1, 2, 6}, {1, 2, 6}));
    std::unique_ptr<Inferer> inf = load_ort_inferer(path, rt, "cpu", 1);
    CHECK(inf->providers() == std::vector<std::string>({"CPUExecutionProvider"}));
    const std::string wrong = thrown_message([&] { inf->prepare({2, 3, 2, 2}); });
    CHECK(has(wrong, "[1, 3, 2, 2]") && has(wrong, "[2, 3, 2, 2]"));
    inf->prepare({1, 3, 2, 2});
    cv::Mat blob = ramp_blob(1);
    const cv::Mat& out = inf->infer(blob);
    const float* first = out.ptr<float>();
    CHECK(out.dims == 3 && out.size[0] == 1 && out.size[1] == 2 && out.size[2] == 6 && out.type() == CV_32F);
    CHECK(first != blob.ptr<float>() && out.ptr<float>()[11] == 11.5f);
    blob.setTo(cv::Scalar(7.f));
    const cv::Mat& again = inf->infer(blob);
    CHECK(again.ptr<float>() == first && again.ptr<float>()[0] == 7.f);  // the same buffer, written in place
    CHECK(!thrown_message([&] { inf->infer(cv::Mat(3, 4, CV_32F, cv::Scalar(0))); }).empty());
    inf.reset();
    std::filesystem::remove(path);
    CHECK(!thrown_message([&] { load_ort_inferer(kRoot + "/README.md", rt, "cpu", 1); }).empty());
}

// The rule of docs/protocol.md, "Engines" (engine_ort.cpp, check_model): only the batch may be dynamic, and
// takes the run's B; every other dimension is fixed and matches.
void test_ort_shapes(const OrtRuntime& rt) {
    // A dynamic batch in and out: the output buffer is allocated [B, N, K] with the run's B.
    const std::string path = write_temp("dynamic_batch.onnx", reshape_model({-1, 3, 2, 2}, {-1, 2, 6}, {-1, 2, 6}));
    std::unique_ptr<Inferer> inf = load_ort_inferer(path, rt, "cpu", 1);
    inf->prepare({2, 3, 2, 2});
    const cv::Mat blob = ramp_blob(2);
    const cv::Mat& out = inf->infer(blob);
    CHECK(out.dims == 3 && out.size[0] == 2 && out.size[1] == 2 && out.size[2] == 6);
    CHECK(out.ptr<float>()[23] == 23.5f && out.ptr<float>(1)[0] == 12.5f);  // row 1 is the second image
    CHECK(has(thrown_message([&] { inf->infer(ramp_blob(1)); }), "[2, 3, 2, 2]"));  // B is the run's, fixed
    inf.reset();
    std::filesystem::remove(path);
    CHECK_EQ(refusal(rt, "dynamic_batch1.onnx", reshape_model({-1, 3, 2, 2}, {-1, 2, 6}, {-1, 2, 6}), {1, 3, 2, 2}),
             "");

    const std::string fixed = "needs every dimension but the batch fixed";
    // A dynamic dimension other than the batch, in the output or in the input.
    const std::string out_dyn =
        refusal(rt, "dynamic_n.onnx", reshape_model({1, 3, 2, 2}, {1, -1, 6}, {1, 2, 6}, true), {1, 3, 2, 2});
    CHECK(has(out_dyn, fixed) && has(out_dyn, "output output is [1, -1, 6]"));
    const std::string in_dyn =
        refusal(rt, "dynamic_s.onnx", reshape_model({1, 3, -1, -1}, {1, 2, 6}, {1, 2, 6}), {1, 3, 2, 2});
    CHECK(has(in_dyn, fixed) && has(in_dyn, "input images is [1, 3, -1, -1]"));
    // Ranks other than 4 in and 3 out.
    const std::string out_rank = refusal(rt, "rank4_out.onnx", identity_model({1, 3, 2, 2}), {1, 3, 2, 2});
    CHECK(has(out_rank, "[1, 3, 2, 2], not a rank-3 [B, N, K]"));
    const std::string in_rank =
        refusal(rt, "rank3_in.onnx", reshape_model({3, 2, 2}, {1, 2, 6}, {1, 2, 6}), {1, 3, 2, 2});
    CHECK(has(in_rank, "[3, 2, 2], not a rank-4 [B, 3, S, S]"));
    // A fixed output batch other than B, and K < 6.
    const std::string out_b =
        refusal(rt, "out_batch.onnx", reshape_model({-1, 3, 2, 2}, {1, 2, 6}, {1, 2, 6}, true), {2, 3, 2, 2});
    CHECK(has(out_b, "[1, 2, 6] for a batch of 2 images"));
    const std::string small_k = refusal(rt, "k4.onnx", reshape_model({1, 3, 2, 2}, {1, 3, 4}, {1, 3, 4}), {1, 3, 2, 2});
    CHECK(has(small_k, "K >= 6"));
}

// A pipeline whose engine load throws `E`, for load_model's codes.
template <class E>
struct FailingPipe {
    void load(const std::string&, const EngineConfig&) { throw E("refused"); }
    void prepare() {}
    std::vector<std::string> providers() const { return {}; }
};

template <class E>
std::string load_code(const RunContext& ctx) {
    FailingPipe<E> pipe;
    try {
        load_model(ctx, pipe);
    } catch (const RunError& e) {
        return e.code;
    }
    return "";
}

// One code per step of the ORT load: session options internal (not the model's fault), the provider
// backend_unavailable, CreateSession model_load (scenario_common.hpp, load_model; engine_ort.cpp).
void test_ort_codes(const OrtRuntime& rt) {
    Spec spec;
    spec.model.path = kRoot + "/README.md";  // a regular file: load_model goes on to the engine's load
    RecordSink sink(stdout);                 // written to by no load that fails
    const RunContext ctx{spec, sink, EngineConfig{}};
    CHECK_EQ(load_code<EngineInternal>(ctx), "internal");
    CHECK_EQ(load_code<EngineUnavailable>(ctx), "backend_unavailable");
    CHECK_EQ(load_code<std::runtime_error>(ctx), "model_load");
    // CreateSession on a file that is no model: neither EngineInternal nor EngineUnavailable.
    std::string code;
    try {
        load_ort_inferer(spec.model.path, rt, "cpu", 1);
    } catch (const EngineInternal&) {
        code = "internal";
    } catch (const EngineUnavailable&) {
        code = "backend_unavailable";
    } catch (const std::exception& e) {
        code = has(e.what(), "CreateSession") ? "model_load" : e.what();
    }
    CHECK_EQ(code, "model_load");
}

void test_ort() {
    const std::string lib = ort_path(load_contract(), "library");
    try {
        const OrtRuntime& rt = ort_runtime(lib);
        test_ort_runtime(rt, lib);
        test_ort_inferer(rt);
        test_ort_shapes(rt);
        test_ort_codes(rt);
    } catch (const std::exception& e) {
        check(false, "ONNX Runtime", __FILE__, __LINE__, std::string(e.what()) + " (make onnxruntime installs it)");
    }
}
}  // namespace

int main() {
    test_sha256();
    test_records();
    test_scenario_records();
    test_spec_values();
    test_contract_spec_cases();
    test_contract_cli_cases();
    test_call_overhead_records();
    test_spawn_records();
    test_current_rss();
    test_admission_queue();
    test_engine_spec();
    test_engine_records();
    test_ort();
    test_letterbox();
    test_decode_nms();
    test_map_back();
    test_backend();
    test_schedule();
    test_batch_slicing();
    test_dispatch_order();
    test_first_seen();
    test_record_sink_threads();
    test_start_gate();
    test_request_queue();
    std::fflush(stderr);
    std::printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail == 0 ? 0 : 1;
}
