#include "pipeline_batch.hpp"

#include <opencv2/imgcodecs.hpp>

#include <stdexcept>

int batch_image_index(std::int64_t i, int j, int B, int n_images) {
    return static_cast<int>((i * B + j) % n_images);
}

BatchPipeline::BatchPipeline(int batch, int input_size, float conf, float nms, int max_det)
    : B_(batch), S_(input_size), conf_(conf), nms_(nms), max_det_(max_det),
      images_(batch), resized_(batch), padded_(batch), lb_(batch), detections_(batch) {}

void BatchPipeline::load(const std::string& path, const EngineConfig& engine) {
    inferer_ = load_inferer(path, engine);
}

void BatchPipeline::prepare() {
    inferer_->prepare({B_, 3, S_, S_});
}

bool BatchPipeline::decode(int j, const std::string& path) {
    images_[j] = cv::imread(path, cv::IMREAD_COLOR);
    return !images_[j].empty();
}

void BatchPipeline::preprocess() {
    for (int j = 0; j < B_; ++j) {
        lb_[j] = letterbox_geometry(images_[j].cols, images_[j].rows, S_);
        letterbox(images_[j], lb_[j], resized_[j], padded_[j]);
    }
    cv::dnn::blobFromImages(padded_, blob_, 1.0 / 255.0, cv::Size(S_, S_), cv::Scalar(), true, false, CV_32F);
}

void BatchPipeline::infer() {
    try {
        output_ = inferer_->infer(blob_);
    } catch (const cv::Exception& e) {
        // OpenCV's shape assertion alone does not say that the model's fixed batch is the cause.
        throw std::runtime_error("forward of a batch of " + std::to_string(B_) +
                                 " failed (is the model exported with batch " + std::to_string(B_) + "?): " + e.what());
    }
}

void BatchPipeline::postprocess() {
    // A model of another batch would leave images without rows (or rows without images).
    if (output_.dims != 3 || output_.size[0] != B_)
        throw std::runtime_error("the model returned a batch of " +
                                 std::to_string(output_.dims == 3 ? output_.size[0] : 1) + " for " +
                                 std::to_string(B_) + " images; export it with a fixed batch " +
                                 std::to_string(B_));
    for (int j = 0; j < B_; ++j)
        post_.run(batch_slice(output_, j), conf_, nms_, max_det_, lb_[j], images_[j].cols, images_[j].rows,
                  detections_[j]);
}

int BatchPipeline::total_detections() const {
    int n = 0;
    for (const auto& d : detections_) n += static_cast<int>(d.size());
    return n;
}
