// The batch scenario's work (docs/protocol.md, "Scenarios", batch): B images per iteration through
// one blobFromImages blob and one forward of a model exported with a fixed batch B.
#pragma once
#include "pipeline.hpp"

#include <opencv2/core.hpp>

#include <memory>
#include <string>
#include <vector>

// Position in spec.images of slot j of iteration i: images[(i * B + j) % len(images)].
int batch_image_index(std::int64_t i, int j, int B, int n_images);

class BatchPipeline {
public:
    BatchPipeline(int batch, int input_size, float conf, float nms, int max_det);

    // The engine's load (the timed one, see load_inferer). Throws on failure.
    void load(const std::string& path, const EngineConfig& engine);
    // After the timed load: the engine checks the model against the blob [B, 3, S, S] (ORT refuses
    // another fixed batch here and gives a dynamic one B; OpenCV finds a wrong batch in forward()).
    // Throws on failure.
    void prepare();
    std::vector<std::string> providers() const { return inferer_->providers(); }

    // imread of slot j; false when the result is empty.
    bool decode(int j, const std::string& path);
    void preprocess();   // letterbox each image, then one blobFromImages
    void infer();        // the engine's step 4: [B, N, 5+classes]; a hint when the batch does not fit
    void postprocess();  // decode, NMS, map back of each image's slice, read in place

    int batch() const { return B_; }
    const cv::Mat& image(int j) const { return images_[j]; }
    const std::vector<Detection>& detections(int j) const { return detections_[j]; }
    int total_detections() const;

private:
    int B_, S_;
    float conf_, nms_;
    int max_det_;
    std::unique_ptr<Inferer> inferer_;
    // One reused buffer per slot, so steady-state iterations allocate nothing new.
    std::vector<cv::Mat> images_, resized_, padded_;
    std::vector<Letterbox> lb_;
    std::vector<std::vector<Detection>> detections_;
    cv::Mat blob_, output_;
    Postprocessor post_;
};
