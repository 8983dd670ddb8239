#include "pipeline.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

Letterbox letterbox_geometry(int w, int h, int S) {
    Letterbox g;
    g.r = std::min(static_cast<double>(S) / h, static_cast<double>(S) / w);
    // At least one pixel: a 4000 x 1 strip would round to 0 rows, which resize refuses (docs/protocol.md).
    g.new_w = std::max(1, static_cast<int>(std::floor(w * g.r + 0.5)));
    g.new_h = std::max(1, static_cast<int>(std::floor(h * g.r + 0.5)));
    g.left = (S - g.new_w) / 2;
    g.right = S - g.new_w - g.left;
    g.top = (S - g.new_h) / 2;
    g.bottom = S - g.new_h - g.top;
    return g;
}

void letterbox(const cv::Mat& src, const Letterbox& g, cv::Mat& resized, cv::Mat& dst) {
    const cv::Mat* from = &src;
    if (g.new_w != src.cols || g.new_h != src.rows) {
        cv::resize(src, resized, cv::Size(g.new_w, g.new_h), 0, 0, cv::INTER_LINEAR);
        from = &resized;
    }
    cv::copyMakeBorder(*from, dst, g.top, g.bottom, g.left, g.right, cv::BORDER_CONSTANT,
                       cv::Scalar(114, 114, 114));
}

void Postprocessor::decode(const float* data, int rows, int cols, float conf) {
    rects.clear();
    scores.clear();
    class_ids.clear();
    boxes.clear();
    const int nc = cols - 5;
    for (int i = 0; i < rows; ++i) {
        const float* p = data + static_cast<std::size_t>(i) * cols;
        const float obj = p[4];
        if (!(obj > conf)) continue;
        // First index of the maximum: only a strictly greater score moves it.
        int cls = 0;
        float best = obj * p[5];
        for (int k = 1; k < nc; ++k) {
            const float s = obj * p[5 + k];
            if (s > best) { best = s; cls = k; }
        }
        if (!(best > conf)) continue;
        const float w = p[2], h = p[3];
        const float x1 = p[0] - w / 2.f;
        const float y1 = p[1] - h / 2.f;
        // static_cast<int> truncates toward zero, as the protocol's trunc().
        const int off = cls * kClassOffset;
        rects.emplace_back(static_cast<int>(x1) + off, static_cast<int>(y1) + off, static_cast<int>(w),
                           static_cast<int>(h));
        scores.push_back(best);
        class_ids.push_back(cls);
        boxes.emplace_back(x1, y1, w, h);
    }
}

void Postprocessor::nms(float conf, float nms_threshold, int max_det) {
    keep.clear();
    if (rects.empty()) return;
    cv::dnn::NMSBoxes(rects, scores, conf, nms_threshold, keep);
    if (static_cast<int>(keep.size()) > max_det) keep.resize(max_det);
}

void Postprocessor::map_back(const Letterbox& g, int img_w, int img_h, std::vector<Detection>& out) const {
    out.clear();
    // float32 throughout, as on the other runners.
    const float r = static_cast<float>(g.r);
    const float left = static_cast<float>(g.left), top = static_cast<float>(g.top);
    const float W = static_cast<float>(img_w), H = static_cast<float>(img_h);
    const auto clip = [](float v, float hi) { return std::min(std::max(v, 0.f), hi); };
    for (int idx : keep) {
        const cv::Vec4f& b = boxes[idx];
        Detection d;
        d.class_id = class_ids[idx];
        d.score = scores[idx];
        d.box[0] = clip((b[0] - left) / r, W);
        d.box[1] = clip((b[1] - top) / r, H);
        d.box[2] = clip((b[0] + b[2] - left) / r, W);
        d.box[3] = clip((b[1] + b[3] - top) / r, H);
        out.push_back(d);
    }
}

void Postprocessor::run(const cv::Mat& output, float conf, float nms_threshold, int max_det, const Letterbox& g,
                        int img_w, int img_h, std::vector<Detection>& out) {
    const bool shape_ok = (output.dims == 3 && output.size[0] == 1) || output.dims == 2;
    if (!shape_ok || output.type() != CV_32F || !output.isContinuous() || output.size[output.dims - 1] < 6)
        throw std::runtime_error("unexpected network output: want float32 [1, N, 5+classes], got dims=" +
                                 std::to_string(output.dims) + " type=" + std::to_string(output.type()));
    const int cols = output.size[output.dims - 1];
    const int rows = static_cast<int>(output.total() / cols);
    decode(output.ptr<float>(), rows, cols, conf);
    nms(conf, nms_threshold, max_det);
    map_back(g, img_w, img_h, out);
}

cv::Mat batch_slice(const cv::Mat& output, int j) {
    if (output.dims != 3 || output.type() != CV_32F || !output.isContinuous())
        throw std::runtime_error("unexpected network output: want float32 [B, N, 5+classes], got dims=" +
                                 std::to_string(output.dims) + " type=" + std::to_string(output.type()));
    if (j < 0 || j >= output.size[0])
        throw std::runtime_error("batch index " + std::to_string(j) + " outside an output of batch " +
                                 std::to_string(output.size[0]));
    // const_cast: a Mat header has no const form; the slice is only read.
    return cv::Mat(output.size[1], output.size[2], CV_32F, const_cast<float*>(output.ptr<float>(j)));
}

Pipeline::Pipeline(int input_size, float conf, float nms, int max_det)
    : S_(input_size), conf_(conf), nms_(nms), max_det_(max_det) {}

void Pipeline::load(const std::string& path, const EngineConfig& engine) {
    inferer_ = load_inferer(path, engine);
}

void Pipeline::prepare() {
    inferer_->prepare({1, 3, S_, S_});
}

bool Pipeline::decode(const std::string& path) {
    image_ = cv::imread(path, cv::IMREAD_COLOR);
    return !image_.empty();
}

bool Pipeline::decode_bytes(const cv::Mat& bytes) {
    // imdecode asserts on an empty buffer, and a decoder may throw on bytes it cannot parse: both are bytes
    // that do not decode, the client's fault, never the run's.
    if (bytes.empty()) return false;
    try {
        image_ = cv::imdecode(bytes, cv::IMREAD_COLOR);
    } catch (const cv::Exception&) {
        image_.release();
    }
    return !image_.empty();
}

bool Pipeline::read_frame(cv::VideoCapture& cap) {
    return cap.read(image_) && !image_.empty();
}

void Pipeline::preprocess() {
    lb_ = letterbox_geometry(image_.cols, image_.rows, S_);
    letterbox(image_, lb_, resized_, padded_);
    cv::dnn::blobFromImage(padded_, blob_, 1.0 / 255.0, cv::Size(S_, S_), cv::Scalar(), true, false, CV_32F);
}

void Pipeline::infer() {
    output_ = inferer_->infer(blob_);
}

void Pipeline::postprocess() {
    post_.run(output_, conf_, nms_, max_det_, lb_, image_.cols, image_.rows, detections_);
}
