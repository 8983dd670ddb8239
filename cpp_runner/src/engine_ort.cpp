// ONNX Runtime as the engine of step 4 (docs/protocol.md, "Engines"): one session per Inferer, the
// blob's buffer wrapped as the input tensor on every call (no copy), and an output tensor over a
// buffer of the runner's, allocated once per session, that Run writes and the pipeline reads in place.
#include "backend.hpp"
#include "engine.hpp"
#include "ort_api.hpp"

#include <filesystem>
#include <numeric>
#include <stdexcept>

namespace {

constexpr ONNXTensorElementDataType kFloat = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;

// "[4, 3, 320, 320]"; a symbolic dimension prints as ORT reports it, -1.
std::string dims_text(const std::vector<std::int64_t>& dims) {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

std::size_t element_count(const std::vector<std::int64_t>& dims) {
    return std::accumulate(dims.begin(), dims.end(), std::size_t{1},
                           [](std::size_t n, std::int64_t d) { return n * static_cast<std::size_t>(d); });
}

// A continuous float32 Mat of exactly these dims: the tensor ORT reads is the Mat's buffer.
bool same_dims(const cv::Mat& m, const std::vector<std::int64_t>& dims) {
    if (m.type() != CV_32F || !m.isContinuous() || m.dims != static_cast<int>(dims.size())) return false;
    for (int i = 0; i < m.dims; ++i)
        if (m.size[i] != dims[i]) return false;
    return true;
}

// The session's calls for its inputs or for its outputs, which have the same signatures.
struct IoQueries {
    const char* what;  // "input" or "output"
    decltype(OrtApi::SessionGetInputCount) count;
    decltype(OrtApi::SessionGetInputName) name;
    decltype(OrtApi::SessionGetInputTypeInfo) type_info;
};

struct TensorInfo {
    std::string name;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    std::vector<std::int64_t> dims;
};

std::string first_name(const OrtRuntime& rt, const OrtSession* session, const IoQueries& q) {
    std::size_t count = 0;
    rt.check(q.count(session, &count), "SessionGet*Count");
    if (count == 0) throw std::runtime_error(std::string("the model has no ") + q.what);
    OrtAllocator* allocator = nullptr;
    rt.check(rt.api().GetAllocatorWithDefaultOptions(&allocator), "GetAllocatorWithDefaultOptions");
    char* raw = nullptr;
    rt.check(q.name(session, 0, allocator, &raw), "SessionGet*Name");
    const std::string name = raw;
    rt.check(rt.api().AllocatorFree(allocator, raw), "AllocatorFree");
    return name;
}

// The name, element type and dims of the model's first input or output, read from the session.
TensorInfo first_tensor(const OrtRuntime& rt, const OrtSession* session, const IoQueries& q) {
    const OrtApi& api = rt.api();
    TensorInfo info;
    info.name = first_name(rt, session, q);
    OrtTypeInfo* raw = nullptr;
    rt.check(q.type_info(session, 0, &raw), "SessionGet*TypeInfo");
    const OrtPtr<OrtTypeInfo> type_info = rt.own(raw);
    const OrtTensorTypeAndShapeInfo* tensor = nullptr;  // owned by type_info
    rt.check(api.CastTypeInfoToTensorInfo(type_info.get(), &tensor), "CastTypeInfoToTensorInfo");
    if (!tensor) throw std::runtime_error("the model's " + std::string(q.what) + " " + info.name + " is not a tensor");
    rt.check(api.GetTensorElementType(tensor, &info.type), "GetTensorElementType");
    std::size_t rank = 0;
    rt.check(api.GetDimensionsCount(tensor, &rank), "GetDimensionsCount");
    info.dims.resize(rank);
    rt.check(api.GetDimensions(tensor, info.dims.data(), rank), "GetDimensions");
    return info;
}

class OrtInferer final : public Inferer {
public:
    OrtInferer(const OrtRuntime& rt, OrtPtr<OrtSession> session, const char* provider)
        : rt_(rt), session_(std::move(session)), provider_(provider) {}

    void prepare(const std::vector<std::int64_t>& input_dims) override;
    const cv::Mat& infer(const cv::Mat& blob) override;

    // ORT's C API cannot list a session's providers: the one appended, then the CPU fallback.
    std::vector<std::string> providers() const override {
        const std::string cpu = ort_provider_name("cpu");
        if (provider_ == cpu) return {cpu};
        return {provider_, cpu};
    }

private:
    std::vector<std::int64_t> check_model(const TensorInfo& in, const TensorInfo& out,
                                          const std::vector<std::int64_t>& blob) const;
    void allocate_output(const std::vector<std::int64_t>& dims);

    const OrtRuntime& rt_;
    OrtPtr<OrtSession> session_;
    std::string provider_;  // ORT's name of the appended provider
    std::string input_name_, output_name_;
    std::vector<std::int64_t> input_dims_;  // the blob's, which the model takes
    std::vector<float> output_data_;        // the runner's buffer that Run writes
    OrtPtr<OrtValue> output_value_;         // a tensor over output_data_, made once
    cv::Mat output_;                        // a header over output_data_ for the postprocess
};

// The model's shapes, one rule in all three runners (docs/protocol.md, "Engines"; go_runner/ort_inferer.go,
// py_runner/engine.py model_shapes): the first input is a float tensor of rank 4 matching the blob [B, 3, S, S]
// and the first output a float tensor of rank 3 [B, N, K] with K >= 6. A dimension may be dynamic (ORT reports
// -1 for a symbolic or unknown dim) ONLY in position 0, the batch, where the runner uses the run's B (the spec's
// batch in the batch scenario, else 1). Every fixed input dimension must equal the blob's, and a fixed output
// batch must be B. Any other dynamic dimension, of the input or of the output, is a model_load naming the
// model's shape: the runner allocates the output once per session and needs every dimension but the batch fixed.
// Returns the dims of that output buffer, [B, N, K].
std::vector<std::int64_t> OrtInferer::check_model(const TensorInfo& in, const TensorInfo& out,
                                                  const std::vector<std::int64_t>& blob) const {
    static const char* const kFixed =
        ": the runner allocates the output once per session and needs every dimension but the batch fixed";
    const auto dynamic = [](std::int64_t d) { return d <= 0; };
    if (in.type != kFloat || out.type != kFloat)
        throw std::runtime_error("the model's input " + in.name + " and output " + out.name +
                                 " must be float32 tensors");
    const std::string blob_text = dims_text(blob) + " (batch " + std::to_string(blob[0]) + ", input_size " +
                                  std::to_string(blob.back()) + ")";
    if (in.dims.size() != 4)
        throw std::runtime_error("the model's input " + in.name + " is " + dims_text(in.dims) +
                                 ", not a rank-4 [B, 3, S, S] tensor like the blob " + blob_text);
    for (std::size_t i = 1; i < 4; ++i)
        if (dynamic(in.dims[i]))
            throw std::runtime_error("the model's input " + in.name + " is " + dims_text(in.dims) + kFixed);
    for (std::size_t i = 0; i < 4; ++i)
        if (!dynamic(in.dims[i]) && in.dims[i] != blob[i])
            throw std::runtime_error("the model's input " + in.name + " is " + dims_text(in.dims) + ", the blob " +
                                     blob_text + ": export the model with that batch and size");
    const std::string out_text = "the model's output " + out.name + " is " + dims_text(out.dims);
    if (out.dims.size() != 3)
        throw std::runtime_error(out_text + ", not a rank-3 [B, N, K] tensor");
    if (dynamic(out.dims[1]) || dynamic(out.dims[2])) throw std::runtime_error(out_text + kFixed);
    // [B, N, 5 + classes]: one block of rows per image of the blob.
    if (!dynamic(out.dims[0]) && out.dims[0] != blob[0])
        throw std::runtime_error(out_text + " for a batch of " + std::to_string(blob[0]) + " images");
    if (out.dims[2] < 6)
        throw std::runtime_error(out_text + ": want [B, N, K] with K >= 6 (a box, its score and a class)");
    return {blob[0], out.dims[1], out.dims[2]};
}

void OrtInferer::allocate_output(const std::vector<std::int64_t>& dims) {
    output_data_.assign(element_count(dims), 0.f);
    OrtValue* raw = nullptr;
    rt_.check(rt_.api().CreateTensorWithDataAsOrtValue(rt_.cpu_memory(), output_data_.data(),
                                                       output_data_.size() * sizeof(float), dims.data(),
                                                       dims.size(), kFloat, &raw),
              "CreateTensorWithDataAsOrtValue (output)");
    output_value_ = rt_.own(raw);
    const std::vector<int> sizes(dims.begin(), dims.end());
    output_ = cv::Mat(static_cast<int>(sizes.size()), sizes.data(), CV_32F, output_data_.data());
}

void OrtInferer::prepare(const std::vector<std::int64_t>& input_dims) {
    const OrtApi& api = rt_.api();
    const IoQueries inputs{"input", api.SessionGetInputCount, api.SessionGetInputName, api.SessionGetInputTypeInfo};
    const IoQueries outputs{"output", api.SessionGetOutputCount, api.SessionGetOutputName,
                            api.SessionGetOutputTypeInfo};
    const TensorInfo in = first_tensor(rt_, session_.get(), inputs);
    const TensorInfo out = first_tensor(rt_, session_.get(), outputs);
    const std::vector<std::int64_t> output_dims = check_model(in, out, input_dims);
    input_name_ = in.name;
    output_name_ = out.name;
    input_dims_ = input_dims;
    allocate_output(output_dims);
}

const cv::Mat& OrtInferer::infer(const cv::Mat& blob) {
    const OrtApi& api = rt_.api();
    if (!same_dims(blob, input_dims_))
        throw std::runtime_error("the blob does not match the model's input " + dims_text(input_dims_));
    const std::size_t n = blob.total();
    // A view of the blob, which outlives the Run; ORT only reads an input, whatever its void* says.
    OrtValue* raw = nullptr;
    rt_.check(api.CreateTensorWithDataAsOrtValue(rt_.cpu_memory(), const_cast<float*>(blob.ptr<float>()),
                                                 n * sizeof(float), input_dims_.data(), input_dims_.size(), kFloat,
                                                 &raw),
              "CreateTensorWithDataAsOrtValue (input)");
    const OrtPtr<OrtValue> input = rt_.own(raw);
    const char* input_names[] = {input_name_.c_str()};
    const char* output_names[] = {output_name_.c_str()};
    const OrtValue* input_values[] = {input.get()};
    OrtValue* output_values[] = {output_value_.get()};  // preallocated: Run writes output_data_
    rt_.check(api.Run(session_.get(), nullptr, input_names, input_values, 1, output_names, 1, output_values), "Run");
    return output_;
}

// The protocol's session options, the same in every runner (hello.ort.session_options reports them). A
// failure here is neither the model's nor the provider's: EngineInternal (code internal).
OrtPtr<OrtSessionOptions> session_options(const OrtRuntime& rt, int threads) {
    const OrtApi& api = rt.api();
    try {
        OrtSessionOptions* raw = nullptr;
        rt.check(api.CreateSessionOptions(&raw), "CreateSessionOptions");
        OrtPtr<OrtSessionOptions> options = rt.own(raw);
        if (threads > 0) rt.check(api.SetIntraOpNumThreads(options.get(), threads), "SetIntraOpNumThreads");
        rt.check(api.SetInterOpNumThreads(options.get(), 1), "SetInterOpNumThreads");
        rt.check(api.SetSessionExecutionMode(options.get(), ORT_SEQUENTIAL), "SetSessionExecutionMode");
        rt.check(api.SetSessionGraphOptimizationLevel(options.get(), ORT_ENABLE_ALL),
                 "SetSessionGraphOptimizationLevel");
        return options;
    } catch (const std::runtime_error& e) {
        throw EngineInternal(std::string("cannot make ONNX Runtime's session options: ") + e.what());
    }
}

// Creates a provider's options, appends them and releases them (ORT copies them): ORT's message, or
// empty when the provider was appended.
template <class Options, class Create, class Append>
std::string append_with(const OrtRuntime& rt, OrtSessionOptions* session, Create create, Append append) {
    Options* raw = nullptr;
    std::string error = rt.take_error(create(&raw));
    const OrtPtr<Options> options = rt.own(raw);
    if (error.empty()) error = rt.take_error(append(session, options.get()));
    return error;
}

// The one requested provider; the CPU provider needs none, being ORT's fallback for every session.
void append_provider(const OrtRuntime& rt, OrtSessionOptions* session, const std::string& provider) {
    const OrtApi& api = rt.api();
    std::string error;
    if (provider == "cuda")
        error = append_with<OrtCUDAProviderOptionsV2>(rt, session, api.CreateCUDAProviderOptions,
                                                      api.SessionOptionsAppendExecutionProvider_CUDA_V2);
    else if (provider == "tensorrt")
        error = append_with<OrtTensorRTProviderOptionsV2>(rt, session, api.CreateTensorRTProviderOptions,
                                                          api.SessionOptionsAppendExecutionProvider_TensorRT_V2);
    if (!error.empty())
        throw EngineUnavailable("cannot append ONNX Runtime provider " + provider + " (" +
                                ort_provider_name(provider) + "): " + error);
}

}  // namespace

// Three steps, three codes: the session options (internal), the provider (backend_unavailable), the
// session on the model (model_load).
std::unique_ptr<Inferer> load_ort_inferer(const std::string& model_path, const OrtRuntime& rt,
                                          const std::string& provider, int threads) {
    const OrtPtr<OrtSessionOptions> options = session_options(rt, threads);
    append_provider(rt, options.get(), provider);
    OrtSession* raw = nullptr;
    // ORTCHAR_T is the platform's path character (wchar_t on Windows), as path::native() is.
    const std::filesystem::path path(model_path);
    rt.check(rt.api().CreateSession(rt.env(), path.native().c_str(), options.get(), &raw), "CreateSession");
    return std::make_unique<OrtInferer>(rt, rt.own(raw), ort_provider_name(provider));
}
