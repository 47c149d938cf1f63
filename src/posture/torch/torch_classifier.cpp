#include "vg/posture/torch/torch_classifier.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "model_file.hpp"
#include "vg/posture/native/native_classifier.hpp"
#include "vg/posture/native/safetensors.hpp"
#include "vg/posture/torch/training.hpp"

namespace vg::posture {

namespace fs = std::filesystem;
namespace json = boost::json;

TorchClassifier::TorchClassifier(net::PostureNet net, ClassifierInfo info)
    : net_(std::move(net)), info_(std::move(info)) {
    net::FuseForInference(net_);
}

Result<std::vector<PosturePrediction>> TorchClassifier::Classify(std::span<const ModelWindow> windows) const {
    std::vector<PosturePrediction> out;
    out.reserve(windows.size());
    constexpr size_t kChunk = 256;
    try {
        torch::InferenceMode inference;
        for (size_t begin = 0; begin < windows.size(); begin += kChunk) {
            const auto chunk = windows.subspan(begin, std::min(kChunk, windows.size() - begin));
            auto probabilities = torch::softmax(net_->forward(net::InputTensor(chunk)), 1).contiguous();
            const float* p = probabilities.data_ptr<float>();
            for (size_t i = 0; i < chunk.size(); ++i) {
                std::array<float, kNumModelClasses> row{};
                std::copy(p + i * kNumModelClasses, p + (i + 1) * kNumModelClasses, row.begin());
                out.push_back(PredictionFromProbabilities(row));
            }
        }
    } catch (const std::exception& e) {
        return Status::Error(ErrorCode::kInternal, std::string("posture model failed: ") + e.what());
    }
    return out;
}

Status SaveWeights(net::PostureNet& net, const fs::path& file) {
    try {
        torch::save(net, file.string());
    } catch (const std::exception& e) {
        return Status::Error(ErrorCode::kInternal, "cannot write " + file.string() + ": " + e.what());
    }
    return Status::Ok();
}

Status ExportServingWeights(net::PostureNet& net, const fs::path& file, const std::string& version) {
    native::TensorFile contents;
    auto add = [&](const std::string& name, const torch::Tensor& tensor) {
        if (tensor.scalar_type() != torch::kFloat32) return;  // num_batches_tracked: a training counter
        const torch::Tensor t = tensor.detach().contiguous().cpu();
        native::Tensor out;
        out.shape = t.sizes().vec();
        out.values.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
        contents.tensors.emplace(name, std::move(out));
    };
    for (const auto& item : net->named_parameters()) add(item.key(), item.value());
    for (const auto& item : net->named_buffers()) add(item.key(), item.value());
    contents.metadata = {{"format", "vitalguard-posture"}, {"network", net->config.Describe()}, {"version", version}};
    return native::WriteSafetensors(file, contents);
}

Result<net::PostureNet> LoadWeights(const net::NetworkConfig& config, const fs::path& file) {
    if (!fs::exists(file)) return Status::Error(ErrorCode::kNotFound, file.string() + " does not exist");
    try {
        net::PostureNet net(config);
        // libtorch's load replaces each tensor by the archive's without comparing shapes, so weights of
        // another network would load "successfully": every shape is checked against the manifest's.
        std::map<std::string, std::vector<int64_t>> expected;
        for (const auto& item : net->named_parameters()) expected[item.key()] = item.value().sizes().vec();
        for (const auto& item : net->named_buffers()) expected[item.key()] = item.value().sizes().vec();
        torch::load(net, file.string());
        auto check = [&](const std::string& name, const torch::Tensor& t) -> Status {
            if (expected[name] != t.sizes().vec()) {
                return Status::Error(ErrorCode::kValidationFailed,
                                     file.string() + ": " + name + " does not have the shape of a " +
                                         config.Describe() + " posture network (the manifest's)",
                                     {{"network", "does not match the weights"}});
            }
            return Status::Ok();
        };
        for (const auto& item : net->named_parameters()) VG_RETURN_IF_ERROR(check(item.key(), item.value()));
        for (const auto& item : net->named_buffers()) VG_RETURN_IF_ERROR(check(item.key(), item.value()));
        return net;
    } catch (const std::exception& e) {
        return Status::Error(ErrorCode::kValidationFailed, file.string() + ": not the weights of a " +
                                                               config.Describe() + " posture network (" +
                                                               std::string(e.what()).substr(0, 300) + ")");
    }
}

json::object ConfigToJson(const net::NetworkConfig& c) {
    return {{"architecture", "MobileViTv3-1D"},
            {"width", c.width},
            {"transformer_dim", c.transformer_dim},
            {"heads", c.heads},
            {"layers", c.layers},
            {"mlp_ratio", c.mlp_ratio},
            {"dropout", c.dropout}};
}

Result<net::NetworkConfig> ConfigFromJson(const json::object& n) {
    net::NetworkConfig c;
    std::vector<FieldError> errors;
    auto read_int = [&](const char* key, int& target, int lo, int hi) {
        const json::value* v = n.if_contains(key);
        if (v == nullptr || !v->is_int64() || v->as_int64() < lo || v->as_int64() > hi) {
            errors.push_back({std::string("network.") + key,
                              "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi)});
            return;
        }
        target = static_cast<int>(v->as_int64());
    };
    read_int("width", c.width, 4, 256);
    read_int("transformer_dim", c.transformer_dim, 8, 512);
    read_int("heads", c.heads, 1, 16);
    read_int("layers", c.layers, 1, 8);
    read_int("mlp_ratio", c.mlp_ratio, 1, 8);
    if (const json::value* v = n.if_contains("dropout"); v != nullptr && v->is_number())
        c.dropout = v->to_number<double>();
    if (errors.empty() && c.transformer_dim % c.heads != 0) {
        errors.push_back({"network.heads", "must divide transformer_dim"});
    }
    if (!errors.empty())
        return Status::Error(ErrorCode::kValidationFailed, "the posture network's shape is wrong", errors);
    return c;
}

namespace {

struct Manifest {
    json::object json;
    net::NetworkConfig config;
    ClassifierInfo info;
    fs::path weights;
};

Result<Manifest> ReadManifest(const fs::path& models_dir) {
    const fs::path manifest_path = models_dir / kManifestFile;
    std::ifstream in(manifest_path);
    if (!in) return Status::Error(ErrorCode::kNotFound, manifest_path.string() + " does not exist");
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    json::value manifest = json::parse(text.str(), ec);
    if (ec || !manifest.is_object()) {
        return Status::Error(ErrorCode::kValidationFailed, manifest_path.string() + ": not a JSON object");
    }
    Manifest out;
    out.json = std::move(manifest.as_object());
    const json::object& m = out.json;
    const json::value* network = m.if_contains("network");
    if (network == nullptr || !network->is_object()) {
        return Status::Error(ErrorCode::kValidationFailed, manifest_path.string() + ": no \"network\" object",
                             {{"network", "is required"}});
    }
    auto config = ConfigFromJson(network->as_object());
    if (!config.ok()) {
        return Status::Error(ErrorCode::kValidationFailed, manifest_path.string() + ": " + config.status().message(),
                             config.status().fields());
    }
    out.config = *config;
    if (const json::value* v = m.if_contains("version"); v != nullptr && v->is_string()) {
        out.info.version = std::string(v->as_string());
    } else {
        return Status::Error(ErrorCode::kValidationFailed, manifest_path.string() + ": no \"version\"",
                             {{"version", "is required"}});
    }
    const json::value* threshold = m.if_contains("fall_threshold");
    if (threshold == nullptr || !threshold->is_number() || threshold->to_number<double>() <= 0 ||
        threshold->to_number<double>() >= 1) {
        return Status::Error(ErrorCode::kValidationFailed,
                             manifest_path.string() + ": fall_threshold must be in (0, 1)",
                             {{"fall_threshold", "must be a number between 0 and 1"}});
    }
    out.info.fall_threshold = static_cast<float>(threshold->to_number<double>());
    std::string weights = kWeightsFile;
    if (const json::value* v = m.if_contains("weights"); v != nullptr && v->is_string()) weights = v->as_string();
    out.weights = models_dir / weights;
    return out;
}

}  // namespace

Result<std::unique_ptr<PostureClassifier>> LoadTorchClassifier(const fs::path& models_dir,
                                                               const TorchClassifierOptions& options) {
    auto manifest = ReadManifest(models_dir);
    if (!manifest.ok()) return manifest.status();
    auto net = LoadWeights(manifest->config, manifest->weights);
    if (!net.ok()) return net.status();
    torch::set_num_threads(std::max(1, options.intra_op_threads));
    SetBlasThreads(1);
    return std::unique_ptr<PostureClassifier>(
        std::make_unique<TorchClassifier>(std::move(net).value(), manifest->info));
}

Result<std::filesystem::path> ConvertToServingWeights(const fs::path& models_dir) {
    auto manifest = ReadManifest(models_dir);
    if (!manifest.ok()) return manifest.status();
    auto loaded = LoadWeights(manifest->config, manifest->weights);
    if (!loaded.ok()) return loaded.status();
    net::PostureNet net = std::move(loaded).value();
    const fs::path out = models_dir / native::kServingWeightsFile;
    VG_RETURN_IF_ERROR(ExportServingWeights(net, out, manifest->info.version));
    manifest->json["serving_weights"] = native::kServingWeightsFile;
    const fs::path manifest_path = models_dir / kManifestFile;
    const fs::path temporary = manifest_path.string() + ".tmp";
    {
        std::ofstream file(temporary, std::ios::trunc);
        file << json::serialize(manifest->json) << "\n";
        if (!file) return Status::Error(ErrorCode::kInternal, "cannot write " + temporary.string());
    }
    std::error_code ec;
    fs::rename(temporary, manifest_path, ec);
    if (ec)
        return Status::Error(ErrorCode::kInternal, "cannot replace " + manifest_path.string() + ": " + ec.message());
    return out;
}

}  // namespace vg::posture
