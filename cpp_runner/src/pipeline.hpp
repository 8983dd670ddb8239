// The per-image work of docs/protocol.md, "The algorithm": letterbox, blob, inference, YOLOv5
// decode + class-offset NMS + mapping back. Buffers live in the objects and are reused across
// iterations so that steady-state timings do not include allocation of same-sized Mats.
#pragma once
#include "engine.hpp"

#include <opencv2/core.hpp>

#include <memory>
#include <string>
#include <vector>

namespace cv { class VideoCapture; }

struct Letterbox {
    double r = 1.0;  // float64, as the protocol says
    int new_w = 0, new_h = 0;
    int left = 0, right = 0, top = 0, bottom = 0;
};

Letterbox letterbox_geometry(int w, int h, int S);

// Resizes (INTER_LINEAR, only when the size changes) and pads with 114 into dst (S x S, from g).
void letterbox(const cv::Mat& src, const Letterbox& g, cv::Mat& resized, cv::Mat& dst);

struct Detection {
    int class_id = 0;
    float score = 0.f;
    float box[4] = {0.f, 0.f, 0.f, 0.f};  // x1, y1, x2, y2 in original-image pixels
};

// Class-offset NMS: boxes of different classes never overlap (YOLOv5's max_wh trick).
constexpr int kClassOffset = 7680;

class Postprocessor {
public:
    // Steps 5-7 on an output Mat [1, N, 5+nc] (or [N, 5+nc]) of float32. Throws std::runtime_error
    // for any other shape or type.
    void run(const cv::Mat& output, float conf, float nms, int max_det, const Letterbox& g, int img_w,
             int img_h, std::vector<Detection>& out);

    // Step 5 on rows x cols float32 values read in place.
    void decode(const float* data, int rows, int cols, float conf);
    // Step 6: fills keep (indices into the candidates, score order), at most max_det.
    void nms(float conf, float nms_threshold, int max_det);
    // Step 7 for the kept candidates.
    void map_back(const Letterbox& g, int img_w, int img_h, std::vector<Detection>& out) const;

    // Candidates after decode (public for the self-test).
    std::vector<cv::Rect> rects;       // NMS input: truncated, class-offset
    std::vector<float> scores;
    std::vector<int> class_ids;
    std::vector<cv::Vec4f> boxes;      // x1, y1, w, h (float32, letterbox pixels)
    std::vector<int> keep;
};

// Row block j of a batched output [B, N, C] as an [N, C] header on the same data (no copy), so
// that Postprocessor::run reads each image's rows in place. Throws std::runtime_error for another
// shape, type or an index outside [0, B).
cv::Mat batch_slice(const cv::Mat& output, int j);

class Pipeline {
public:
    Pipeline(int input_size, float conf, float nms, int max_det);

    // The engine's load (the timed one, see load_inferer). Throws on failure.
    void load(const std::string& path, const EngineConfig& engine);
    // After the timed load: the engine checks the model against the blob [1, 3, S, S]. Throws on failure.
    void prepare();
    std::vector<std::string> providers() const { return inferer_->providers(); }

    bool decode(const std::string& path);  // imread(IMREAD_COLOR); false when the result is empty
    // imdecode(IMREAD_COLOR) of an encoded file's bytes (the http scenario's request body); false when they
    // do not decode.
    bool decode_bytes(const cv::Mat& bytes);
    bool read_frame(cv::VideoCapture& cap);  // VideoCapture::read (grab + decode); false at the end
    void preprocess();                     // letterbox + blobFromImage
    void infer();                          // the engine's step 4 (OpenCV: setInput + forward)
    void postprocess();                    // decode, NMS, map back

    const cv::Mat& image() const { return image_; }
    const std::vector<Detection>& detections() const { return detections_; }

private:
    int S_;
    float conf_, nms_;
    int max_det_;
    std::unique_ptr<Inferer> inferer_;
    cv::Mat image_, resized_, padded_, blob_;
    cv::Mat output_;  // a header on the engine's output, read in place
    Letterbox lb_;
    Postprocessor post_;
    std::vector<Detection> detections_;
};
