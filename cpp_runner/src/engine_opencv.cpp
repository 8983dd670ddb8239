// OpenCV DNN as the engine of step 4: setInput + forward on the Net, as before engines existed.
#include "engine.hpp"

#include <stdexcept>

namespace {

class OpenCvInferer final : public Inferer {
public:
    explicit OpenCvInferer(cv::dnn::Net net) : net_(std::move(net)) {}

    const cv::Mat& infer(const cv::Mat& blob) override {
        net_.setInput(blob);
        output_ = net_.forward();  // the single, default output
        return output_;
    }

private:
    cv::dnn::Net net_;
    cv::Mat output_;
};

}  // namespace

std::unique_ptr<Inferer> load_opencv_inferer(const std::string& model_path, cv::dnn::Backend backend,
                                             cv::dnn::Target target) {
    cv::dnn::Net net = cv::dnn::readNet(model_path);
    if (net.empty()) throw std::runtime_error("readNet returned an empty network");
    net.setPreferableBackend(backend);
    net.setPreferableTarget(target);
    return std::make_unique<OpenCvInferer>(std::move(net));
}

std::unique_ptr<Inferer> load_inferer(const std::string& model_path, const EngineConfig& engine) {
    if (engine.ort) return load_ort_inferer(model_path, *engine.ort, engine.provider, engine.threads);
    return load_opencv_inferer(model_path, engine.backend, engine.target);
}
