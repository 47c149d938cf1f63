#include "vg/posture/native/native_classifier.hpp"

#include <Eigen/Core>
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

namespace vg::posture::native {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Activations are column-major (channels × windows·time): column b·T + t holds window b's channels at
// time t, so a column is also a transformer token and a 1×1 convolution is one matrix product.
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
using Vector = Eigen::VectorXf;

constexpr float kBatchNormEps = 1e-5F;  // libtorch's BatchNorm1d and LayerNorm defaults, as trained
constexpr float kLayerNormEps = 1e-5F;
constexpr int kInputChannels = 8;        // ax ay az gx gy gz, waist flag, gravity-removed flag
constexpr float kGyroScaleDps = 250.0F;  // network.hpp's kGyroScaleDps

void SiluInPlace(Matrix& x) { x.array() = x.array() / (1.0F + (-x.array()).exp()); }

// A convolution with its batch norm folded in, optionally followed by SiLU. Pointwise and general ones
// keep their weight as (out × kernel·in), column k·in + i for input channel i at tap k; depthwise ones as
// (channels × kernel).
struct Conv {
    int in = 0, out = 0, kernel = 1, stride = 1;
    bool depthwise = false, activation = false;
    Matrix weight;
    Vector bias;

    // x: (in × batch·t_in) → (out × batch·t_out); padding kernel / 2 as in network.cpp.
    Matrix Apply(const Matrix& x, int batch, int t_in) const {
        const int t_out = OutputLength(t_in);
        Matrix y;
        if (kernel == 1 && stride == 1 && !depthwise) {
            y.noalias() = weight * x;
            y.colwise() += bias;
        } else if (depthwise) {
            y.resize(out, static_cast<Eigen::Index>(batch) * t_out);
            const int pad = kernel / 2;
            for (int b = 0; b < batch; ++b) {
                for (int t = 0; t < t_out; ++t) {
                    auto column = y.col(b * t_out + t);
                    column = bias;
                    for (int k = 0; k < kernel; ++k) {
                        const int source = t * stride + k - pad;
                        if (source < 0 || source >= t_in) continue;
                        column.array() += weight.col(k).array() * x.col(b * t_in + source).array();
                    }
                }
            }
        } else {
            const int pad = kernel / 2;
            Matrix columns =
                Matrix::Zero(static_cast<Eigen::Index>(kernel) * in, static_cast<Eigen::Index>(batch) * t_out);
            for (int b = 0; b < batch; ++b) {
                for (int t = 0; t < t_out; ++t) {
                    for (int k = 0; k < kernel; ++k) {
                        const int source = t * stride + k - pad;
                        if (source < 0 || source >= t_in) continue;
                        columns.block(static_cast<Eigen::Index>(k) * in, b * t_out + t, in, 1) =
                            x.col(b * t_in + source);
                    }
                }
            }
            y.noalias() = weight * columns;
            y.colwise() += bias;
        }
        if (activation) SiluInPlace(y);
        return y;
    }
    int OutputLength(int t_in) const { return (t_in + 2 * (kernel / 2) - kernel) / stride + 1; }
};

struct Linear {
    Matrix weight;  // out × in
    Vector bias;
    Matrix Apply(const Matrix& x) const {
        Matrix y;
        y.noalias() = weight * x;
        y.colwise() += bias;
        return y;
    }
};

struct LayerNorm {
    Vector gamma, beta;
    Matrix Apply(const Matrix& x) const {
        Matrix y(x.rows(), x.cols());
        const float n = static_cast<float>(x.rows());
        for (Eigen::Index c = 0; c < x.cols(); ++c) {
            const float mean = x.col(c).sum() / n;
            const float variance = (x.col(c).array() - mean).square().sum() / n;
            const float inv = 1.0F / std::sqrt(variance + kLayerNormEps);
            y.col(c) = (((x.col(c).array() - mean) * inv) * gamma.array() + beta.array()).matrix();
        }
        return y;
    }
};

struct TransformerLayer {
    LayerNorm norm1, norm2;
    Linear qkv, out, ff1, ff2;
    int heads = 4;

    // x: (d × batch·tokens), updated in place.
    void Apply(Matrix& x, int batch, int tokens) const {
        const auto dim = static_cast<int>(x.rows());
        const int head_dim = dim / heads;
        const float scale = 1.0F / std::sqrt(static_cast<float>(head_dim));
        const Matrix q_k_v = qkv.Apply(norm1.Apply(x));  // rows: q (d), k (d), v (d); each head_dim per head
        Matrix mixed(dim, x.cols());
        Matrix scores(tokens, tokens);
        for (int b = 0; b < batch; ++b) {
            const Eigen::Index c0 = static_cast<Eigen::Index>(b) * tokens;
            for (int h = 0; h < heads; ++h) {
                const auto q = q_k_v.block(h * head_dim, c0, head_dim, tokens);
                const auto k = q_k_v.block(dim + h * head_dim, c0, head_dim, tokens);
                const auto v = q_k_v.block(2 * dim + h * head_dim, c0, head_dim, tokens);
                // scores(j, i) = k_j · q_i: column i is query i's distribution over keys j.
                scores.noalias() = (k.transpose() * q) * scale;
                for (Eigen::Index i = 0; i < tokens; ++i) {
                    auto column = scores.col(i).array();
                    column = (column - column.maxCoeff()).exp();
                    column /= column.sum();
                }
                mixed.block(h * head_dim, c0, head_dim, tokens).noalias() = v * scores;
            }
        }
        x.noalias() += out.Apply(mixed);
        Matrix hidden = ff1.Apply(norm2.Apply(x));
        SiluInPlace(hidden);
        x.noalias() += ff2.Apply(hidden);
    }
};

struct InvertedResidual {
    Conv expand, depthwise, project;
    bool residual = false;
    Matrix Apply(const Matrix& x, int batch, int& t) const {
        const Matrix e = expand.Apply(x, batch, t);
        const Matrix d = depthwise.Apply(e, batch, t);
        t = depthwise.OutputLength(t);
        Matrix y = project.Apply(d, batch, t);
        if (residual) y += x;
        return y;
    }
};

struct MobileViTv3Block {
    Conv local_depthwise;
    Matrix local_pointwise;  // d × channels, no bias
    std::vector<TransformerLayer> transformer;
    LayerNorm norm;
    Conv project, fusion;
    Matrix Apply(const Matrix& x, int batch, int t) const {
        Matrix local;
        local.noalias() = local_pointwise * local_depthwise.Apply(x, batch, t);
        Matrix global = local;
        for (const TransformerLayer& layer : transformer) layer.Apply(global, batch, t);
        const Matrix projected = project.Apply(norm.Apply(global), batch, t);
        Matrix both(local.rows() + projected.rows(), local.cols());
        both.topRows(local.rows()) = local;
        both.bottomRows(projected.rows()) = projected;
        Matrix y = fusion.Apply(both, batch, t);
        y += x;
        return y;
    }
};

struct Network {
    Conv stem;
    InvertedResidual mv2_1, mv2_2, mv2_3;
    MobileViTv3Block mvit_1, mvit_2;
    Conv head;
    Linear classifier;

    // (kNumModelClasses × batch) probabilities.
    Matrix Forward(std::span<const ModelWindow> windows) const {
        const int batch = static_cast<int>(windows.size());
        int t = static_cast<int>(kWindowSamples);
        Matrix x(kInputChannels, static_cast<Eigen::Index>(batch) * t);
        for (int b = 0; b < batch; ++b) {
            const ModelWindow& w = windows[static_cast<size_t>(b)];
            const float waist = w.placement == Placement::kWaist ? 1.0F : 0.0F;
            const float no_gravity = w.gravity_removed ? 1.0F : 0.0F;
            for (int s = 0; s < t; ++s) {
                const float* v = &w.values[static_cast<size_t>(s) * kChannels];
                auto column = x.col(b * t + s);
                column << v[0], v[1], v[2], v[3] / kGyroScaleDps, v[4] / kGyroScaleDps, v[5] / kGyroScaleDps, waist,
                    no_gravity;
            }
        }
        Matrix y = stem.Apply(x, batch, t);
        t = stem.OutputLength(t);
        y = mv2_1.Apply(y, batch, t);
        y = mv2_2.Apply(y, batch, t);
        y = mvit_1.Apply(y, batch, t);
        y = mv2_3.Apply(y, batch, t);
        y = mvit_2.Apply(y, batch, t);
        const Matrix features = head.Apply(y, batch, t);
        Matrix pooled(features.rows(), batch);
        for (int b = 0; b < batch; ++b) {
            pooled.col(b) = features.middleCols(static_cast<Eigen::Index>(b) * t, t).rowwise().mean();
        }
        Matrix logits = classifier.Apply(pooled);
        for (Eigen::Index b = 0; b < logits.cols(); ++b) {
            auto column = logits.col(b).array();
            column = (column - column.maxCoeff()).exp();
            column /= column.sum();
        }
        return logits;
    }
};

// Takes tensors out of a TensorFile by name, checking each against the expected shapes; reports the first
// problem with the tensor's name.
class TensorSource {
  public:
    TensorSource(const TensorFile& file, std::map<std::string, std::vector<int64_t>> expected)
        : file_(file), expected_(std::move(expected)) {}

    Status Check() const {
        for (const auto& [name, shape] : expected_) {
            auto it = file_.tensors.find(name);
            if (it == file_.tensors.end()) return Problem(name, "is missing");
            if (it->second.shape != shape)
                return Problem(name, "has shape " + ShapeText(it->second.shape) + ", the manifest's network needs " +
                                         ShapeText(shape));
        }
        for (const auto& [name, tensor] : file_.tensors) {
            if (!expected_.contains(name)) return Problem(name, "is not part of the manifest's network");
            for (float v : tensor.values) {
                if (!std::isfinite(v)) return Problem(name, "holds a value that is not finite");
            }
        }
        return Status::Ok();
    }
    const Tensor& Get(const std::string& name) const { return file_.tensors.at(name); }

  private:
    static std::string ShapeText(const std::vector<int64_t>& shape) {
        std::string s = "[";
        for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
        return s + "]";
    }
    static Status Problem(const std::string& name, const std::string& problem) {
        return Status::Error(ErrorCode::kValidationFailed, "serving weights: " + name + " " + problem,
                             {{name, problem}});
    }
    const TensorFile& file_;
    std::map<std::string, std::vector<int64_t>> expected_;
};

Vector VectorOf(const Tensor& t) {
    return Eigen::Map<const Vector>(t.values.data(), static_cast<Eigen::Index>(t.values.size()));
}

// A row-major (out × in) weight as a column-major matrix.
Matrix MatrixOf(const Tensor& t, int64_t rows, int64_t cols) {
    return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(t.values.data(),
                                                                                                   rows, cols);
}

Linear LinearOf(const TensorSource& s, const std::string& prefix) {
    const Tensor& w = s.Get(prefix + ".weight");
    return {MatrixOf(w, w.shape[0], w.shape[1]), VectorOf(s.Get(prefix + ".bias"))};
}

LayerNorm LayerNormOf(const TensorSource& s, const std::string& prefix) {
    return {VectorOf(s.Get(prefix + ".weight")), VectorOf(s.Get(prefix + ".bias"))};
}

// ConvBnAct of network.cpp: conv (no bias) + batch norm, folded.
Conv ConvOf(const TensorSource& s, const std::string& prefix, int in, int out, int kernel, int stride, bool depthwise,
            bool activation) {
    Conv c;
    c.in = in;
    c.out = out;
    c.kernel = kernel;
    c.stride = stride;
    c.depthwise = depthwise;
    c.activation = activation;
    const Tensor& w = s.Get(prefix + ".conv.weight");  // (out, in / groups, kernel)
    const Vector gamma = VectorOf(s.Get(prefix + ".bn.weight"));
    const Vector beta = VectorOf(s.Get(prefix + ".bn.bias"));
    const Vector mean = VectorOf(s.Get(prefix + ".bn.running_mean"));
    const Vector var = VectorOf(s.Get(prefix + ".bn.running_var"));
    const Vector scale = (gamma.array() / (var.array() + kBatchNormEps).sqrt()).matrix();
    c.bias = (beta.array() - mean.array() * scale.array()).matrix();
    if (depthwise) {
        c.weight.resize(out, kernel);
        for (int o = 0; o < out; ++o) {
            for (int k = 0; k < kernel; ++k) c.weight(o, k) = w.values[static_cast<size_t>(o * kernel + k)] * scale(o);
        }
    } else {
        c.weight.resize(out, static_cast<Eigen::Index>(kernel) * in);
        for (int o = 0; o < out; ++o) {
            for (int i = 0; i < in; ++i) {
                for (int k = 0; k < kernel; ++k) {
                    c.weight(o, k * in + i) = w.values[static_cast<size_t>((o * in + i) * kernel + k)] * scale(o);
                }
            }
        }
    }
    return c;
}

InvertedResidual InvertedResidualOf(const TensorSource& s, const std::string& prefix, int in, int out, int stride) {
    const int hidden = in * 2;  // network.cpp's expand ratio
    InvertedResidual r;
    r.expand = ConvOf(s, prefix + ".expand", in, hidden, 1, 1, false, true);
    r.depthwise = ConvOf(s, prefix + ".depthwise", hidden, hidden, 3, stride, true, true);
    r.project = ConvOf(s, prefix + ".project", hidden, out, 1, 1, false, false);
    r.residual = stride == 1 && in == out;
    return r;
}

MobileViTv3Block BlockOf(const TensorSource& s, const std::string& prefix, int channels, const NetworkShape& shape) {
    const int d = shape.transformer_dim;
    MobileViTv3Block m;
    m.local_depthwise = ConvOf(s, prefix + ".local_depthwise", channels, channels, 3, 1, true, true);
    m.local_pointwise = MatrixOf(s.Get(prefix + ".local_pointwise.weight"), d, channels);
    for (int l = 0; l < shape.layers; ++l) {
        const std::string p = prefix + ".transformer." + std::to_string(l);
        TransformerLayer layer;
        layer.norm1 = LayerNormOf(s, p + ".norm1");
        layer.norm2 = LayerNormOf(s, p + ".norm2");
        layer.qkv = LinearOf(s, p + ".qkv");
        layer.out = LinearOf(s, p + ".out");
        layer.ff1 = LinearOf(s, p + ".ff1");
        layer.ff2 = LinearOf(s, p + ".ff2");
        layer.heads = shape.heads;
        m.transformer.push_back(std::move(layer));
    }
    m.norm = LayerNormOf(s, prefix + ".norm");
    m.project = ConvOf(s, prefix + ".project", d, channels, 1, 1, false, true);
    m.fusion = ConvOf(s, prefix + ".fusion", d + channels, channels, 1, 1, false, true);
    return m;
}

class NativeClassifier final : public PostureClassifier {
  public:
    NativeClassifier(Network network, ClassifierInfo info) : network_(std::move(network)), info_(std::move(info)) {}

    Result<std::vector<PosturePrediction>> Classify(std::span<const ModelWindow> windows) const override {
        std::vector<PosturePrediction> out;
        out.reserve(windows.size());
        // Chunks keep every activation matrix small (under 200 KB): with 64 windows a chunk, allocating and
        // zero-filling the large matrices (fresh pages each call) cost 5x the arithmetic; from 8 on, a bigger
        // chunk gains nothing (bench: vg_posture_native_benchmark).
        constexpr size_t kChunk = 8;
        for (size_t begin = 0; begin < windows.size(); begin += kChunk) {
            const auto chunk = windows.subspan(begin, std::min(kChunk, windows.size() - begin));
            const Matrix probabilities = network_.Forward(chunk);
            for (Eigen::Index b = 0; b < probabilities.cols(); ++b) {
                std::array<float, kNumModelClasses> row{};
                for (size_t c = 0; c < kNumModelClasses; ++c) row[c] = probabilities(static_cast<Eigen::Index>(c), b);
                if (!std::isfinite(row[0])) {
                    return Status::Error(ErrorCode::kInternal, "posture model produced a non-finite probability");
                }
                out.push_back(PredictionFromProbabilities(row));
            }
        }
        return out;
    }
    const ClassifierInfo& info() const override { return info_; }

  private:
    Network network_;
    ClassifierInfo info_;
};

void AddConvBn(std::map<std::string, std::vector<int64_t>>& t, const std::string& prefix, int64_t in, int64_t out,
               int64_t kernel, bool depthwise) {
    t[prefix + ".conv.weight"] = {out, depthwise ? 1 : in, kernel};
    for (const char* p : {".bn.weight", ".bn.bias", ".bn.running_mean", ".bn.running_var"}) t[prefix + p] = {out};
}

Status ManifestError(const fs::path& path, const std::string& field, const std::string& problem) {
    return Status::Error(ErrorCode::kValidationFailed, path.string() + ": " + field + " " + problem,
                         {{field, problem}});
}

}  // namespace

std::map<std::string, std::vector<int64_t>> ExpectedTensors(const NetworkShape& shape) {
    std::map<std::string, std::vector<int64_t>> t;
    const int64_t w = shape.width;
    const int64_t d = shape.transformer_dim;
    AddConvBn(t, "stem", kInputChannels, w, 3, false);
    auto inverted = [&](const std::string& p, int64_t in, int64_t out) {
        AddConvBn(t, p + ".expand", in, 2 * in, 1, false);
        AddConvBn(t, p + ".depthwise", 2 * in, 2 * in, 3, true);
        AddConvBn(t, p + ".project", 2 * in, out, 1, false);
    };
    auto block = [&](const std::string& p, int64_t c) {
        AddConvBn(t, p + ".local_depthwise", c, c, 3, true);
        t[p + ".local_pointwise.weight"] = {d, c, 1};
        for (int l = 0; l < shape.layers; ++l) {
            const std::string q = p + ".transformer." + std::to_string(l);
            for (const char* n : {".norm1", ".norm2"}) t[q + n + ".weight"] = t[q + n + ".bias"] = {d};
            t[q + ".qkv.weight"] = {3 * d, d};
            t[q + ".qkv.bias"] = {3 * d};
            t[q + ".out.weight"] = {d, d};
            t[q + ".out.bias"] = {d};
            t[q + ".ff1.weight"] = {d * shape.mlp_ratio, d};
            t[q + ".ff1.bias"] = {d * shape.mlp_ratio};
            t[q + ".ff2.weight"] = {d, d * shape.mlp_ratio};
            t[q + ".ff2.bias"] = {d};
        }
        t[p + ".norm.weight"] = t[p + ".norm.bias"] = {d};
        AddConvBn(t, p + ".project", d, c, 1, false);
        AddConvBn(t, p + ".fusion", d + c, c, 1, false);
    };
    inverted("mv2_1", w, w);
    inverted("mv2_2", w, 2 * w);
    block("mvit_1", 2 * w);
    inverted("mv2_3", 2 * w, 3 * w);
    block("mvit_2", 3 * w);
    AddConvBn(t, "head", 3 * w, 4 * w, 1, false);
    t["classifier.weight"] = {static_cast<int64_t>(kNumModelClasses), 4 * w};
    t["classifier.bias"] = {static_cast<int64_t>(kNumModelClasses)};
    return t;
}

Result<std::unique_ptr<PostureClassifier>> MakeNativeClassifier(const NetworkShape& shape, const TensorFile& weights,
                                                                ClassifierInfo info) {
    const TensorSource source(weights, ExpectedTensors(shape));
    VG_RETURN_IF_ERROR(source.Check());
    const int w = shape.width;
    Network n;
    n.stem = ConvOf(source, "stem", kInputChannels, w, 3, 2, false, true);
    n.mv2_1 = InvertedResidualOf(source, "mv2_1", w, w, 1);
    n.mv2_2 = InvertedResidualOf(source, "mv2_2", w, 2 * w, 2);
    n.mvit_1 = BlockOf(source, "mvit_1", 2 * w, shape);
    n.mv2_3 = InvertedResidualOf(source, "mv2_3", 2 * w, 3 * w, 2);
    n.mvit_2 = BlockOf(source, "mvit_2", 3 * w, shape);
    n.head = ConvOf(source, "head", 3 * w, 4 * w, 1, 1, false, true);
    n.classifier = LinearOf(source, "classifier");
    return std::unique_ptr<PostureClassifier>(std::make_unique<NativeClassifier>(std::move(n), std::move(info)));
}

Result<std::unique_ptr<PostureClassifier>> LoadNativeClassifier(const fs::path& models_dir) {
    const fs::path manifest_path = models_dir / kManifestFile;
    std::ifstream in(manifest_path);
    if (!in) return Status::Error(ErrorCode::kNotFound, manifest_path.string() + " does not exist");
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    const json::value manifest = json::parse(text.str(), ec);
    if (ec || !manifest.is_object()) {
        return Status::Error(ErrorCode::kValidationFailed, manifest_path.string() + ": not a JSON object");
    }
    const json::object& m = manifest.as_object();
    ClassifierInfo info;
    const json::value* version = m.if_contains("version");
    if (version == nullptr || !version->is_string() || version->as_string().empty()) {
        return ManifestError(manifest_path, "version", "is required");
    }
    info.version = std::string(version->as_string());
    const json::value* threshold = m.if_contains("fall_threshold");
    if (threshold == nullptr || !threshold->is_number() || !(threshold->to_number<double>() > 0) ||
        !(threshold->to_number<double>() < 1)) {
        return ManifestError(manifest_path, "fall_threshold", "must be a number between 0 and 1");
    }
    info.fall_threshold = static_cast<float>(threshold->to_number<double>());
    const json::value* network = m.if_contains("network");
    if (network == nullptr || !network->is_object()) return ManifestError(manifest_path, "network", "is required");
    NetworkShape shape;
    auto read_int = [&](const char* key, int& target, int lo, int hi) -> Status {
        const json::value* v = network->as_object().if_contains(key);
        if (v == nullptr || !v->is_int64() || v->as_int64() < lo || v->as_int64() > hi) {
            return ManifestError(manifest_path, std::string("network.") + key,
                                 "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
        }
        target = static_cast<int>(v->as_int64());
        return Status::Ok();
    };
    VG_RETURN_IF_ERROR(read_int("width", shape.width, 4, 256));
    VG_RETURN_IF_ERROR(read_int("transformer_dim", shape.transformer_dim, 8, 512));
    VG_RETURN_IF_ERROR(read_int("heads", shape.heads, 1, 16));
    VG_RETURN_IF_ERROR(read_int("layers", shape.layers, 1, 8));
    VG_RETURN_IF_ERROR(read_int("mlp_ratio", shape.mlp_ratio, 1, 8));
    if (shape.transformer_dim % shape.heads != 0) {
        return ManifestError(manifest_path, "network.heads", "must divide network.transformer_dim");
    }
    std::string weights_name = kServingWeightsFile;
    if (const json::value* v = m.if_contains("serving_weights"); v != nullptr) {
        if (!v->is_string() || v->as_string().empty() || v->as_string().find('/') != json::string::npos) {
            return ManifestError(manifest_path, "serving_weights", "must be a file name in the model folder");
        }
        weights_name = std::string(v->as_string());
    }
    const fs::path weights_path = models_dir / weights_name;
    auto weights = ReadSafetensors(weights_path);
    if (!weights.ok()) {
        if (weights.status().code() == ErrorCode::kNotFound) {
            return Status::Error(
                ErrorCode::kNotFound,
                weights_path.string() +
                    " does not exist; make it from posture.pt with `vitalguard convert posture --model " +
                    models_dir.string() + "`");
        }
        return weights.status();
    }
    auto classifier = MakeNativeClassifier(shape, *weights, std::move(info));
    if (!classifier.ok()) {
        return Status::Error(ErrorCode::kValidationFailed, weights_path.string() + ": " + classifier.status().message(),
                             classifier.status().fields());
    }
    return classifier;
}

}  // namespace vg::posture::native
