#include "network.hpp"

#include <cmath>
#include <stdexcept>

namespace vg::posture::net {

namespace F = torch::nn::functional;

std::string NetworkConfig::Describe() const {
    return "w" + std::to_string(width) + "-d" + std::to_string(transformer_dim) + "-h" + std::to_string(heads) + "-l" +
           std::to_string(layers);
}

ConvBnActImpl::ConvBnActImpl(int in, int out, int kernel, int stride_, int groups_, bool act)
    : activation(act), stride(stride_), padding(kernel / 2), groups(groups_) {
    conv = register_module(
        "conv",
        torch::nn::Conv1d(
            torch::nn::Conv1dOptions(in, out, kernel).stride(stride).padding(padding).groups(groups).bias(false)));
    bn = register_module("bn", torch::nn::BatchNorm1d(out));
}

void ConvBnActImpl::Fuse() {
    torch::NoGradGuard no_grad;
    const auto& o = bn->options;
    auto scale = bn->weight / torch::sqrt(bn->running_var + o.eps());
    fused_weight = (conv->weight * scale.view({-1, 1, 1})).contiguous();
    fused_bias = (bn->bias - bn->running_mean * scale).contiguous();
    fused = true;
}

torch::Tensor ConvBnActImpl::forward(const torch::Tensor& x) {
    if (fused) {
        auto y = torch::conv1d(x, fused_weight, fused_bias, {stride}, {padding}, {1}, groups);
        return activation ? F::silu(y) : y;
    }
    auto y = bn(conv(x));
    return activation ? F::silu(y) : y;
}

InvertedResidualImpl::InvertedResidualImpl(int in, int out, int stride, int expand_ratio)
    : residual(stride == 1 && in == out) {
    const int hidden = in * expand_ratio;
    expand = register_module("expand", ConvBnAct(in, hidden, 1, 1, 1, true));
    depthwise = register_module("depthwise", ConvBnAct(hidden, hidden, 3, stride, hidden, true));
    project = register_module("project", ConvBnAct(hidden, out, 1, 1, 1, false));
}

torch::Tensor InvertedResidualImpl::forward(const torch::Tensor& x) {
    auto y = project(depthwise(expand(x)));
    return residual ? x + y : y;
}

TransformerLayerImpl::TransformerLayerImpl(int dim, int heads_, int mlp_ratio, double dropout)
    : heads(heads_), scale(1.0 / std::sqrt(static_cast<double>(dim / heads_))) {
    if (dim % heads_ != 0) throw std::invalid_argument("transformer_dim must be divisible by heads");
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    qkv = register_module("qkv", torch::nn::Linear(dim, 3 * dim));
    out = register_module("out", torch::nn::Linear(dim, dim));
    ff1 = register_module("ff1", torch::nn::Linear(dim, dim * mlp_ratio));
    ff2 = register_module("ff2", torch::nn::Linear(dim * mlp_ratio, dim));
    drop = register_module("drop", torch::nn::Dropout(dropout));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& x) {
    const auto batch = x.size(0);
    const auto tokens = x.size(1);
    const auto dim = x.size(2);
    // (B, T, 3, H, dh) → (3, B, H, T, dh)
    auto q_k_v = qkv(norm1(x)).view({batch, tokens, 3, heads, dim / heads}).permute({2, 0, 3, 1, 4});
    auto q = q_k_v[0];
    auto k = q_k_v[1];
    auto v = q_k_v[2];
    auto attention = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * scale, -1);
    auto mixed = torch::matmul(drop(attention), v).transpose(1, 2).reshape({batch, tokens, dim});
    auto y = x + drop(out(mixed));
    return y + drop(ff2(drop(F::silu(ff1(norm2(y))))));
}

MobileViTv3BlockImpl::MobileViTv3BlockImpl(int channels, const NetworkConfig& config) {
    const int d = config.transformer_dim;
    local_depthwise = register_module("local_depthwise", ConvBnAct(channels, channels, 3, 1, channels, true));
    local_pointwise =
        register_module("local_pointwise", torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, d, 1).bias(false)));
    transformer = register_module("transformer", torch::nn::Sequential());
    for (int i = 0; i < config.layers; ++i) {
        transformer->push_back(TransformerLayer(d, config.heads, config.mlp_ratio, config.dropout));
    }
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    project = register_module("project", ConvBnAct(d, channels, 1, 1, 1, true));
    fusion = register_module("fusion", ConvBnAct(d + channels, channels, 1, 1, 1, true));
}

torch::Tensor MobileViTv3BlockImpl::forward(const torch::Tensor& x) {
    auto local = local_pointwise(local_depthwise(x));                 // (B, d, T)
    auto global = norm(transformer->forward(local.transpose(1, 2)));  // tokens = time steps, no unfold
    auto projected = project(global.transpose(1, 2).contiguous());    // (B, C, T)
    return x + fusion(torch::cat({local, projected}, 1));             // v3 fusion + residual
}

PostureNetImpl::PostureNetImpl(const NetworkConfig& c) : config(c) {
    const int w = c.width;
    stem = register_module("stem", ConvBnAct(kInputChannels, w, 3, 2, 1, true));
    mv2_1 = register_module("mv2_1", InvertedResidual(w, w, 1, 2));
    mv2_2 = register_module("mv2_2", InvertedResidual(w, 2 * w, 2, 2));
    mvit_1 = register_module("mvit_1", MobileViTv3Block(2 * w, c));
    mv2_3 = register_module("mv2_3", InvertedResidual(2 * w, 3 * w, 2, 2));
    mvit_2 = register_module("mvit_2", MobileViTv3Block(3 * w, c));
    head = register_module("head", ConvBnAct(3 * w, 4 * w, 1, 1, 1, true));
    drop = register_module("drop", torch::nn::Dropout(c.dropout));
    classifier = register_module("classifier", torch::nn::Linear(4 * w, static_cast<int64_t>(kNumModelClasses)));
}

torch::Tensor PostureNetImpl::forward(const torch::Tensor& x) {
    auto y = mv2_1(stem(x));
    y = mvit_1(mv2_2(y));
    y = mvit_2(mv2_3(y));
    y = head(y).mean(-1);
    return classifier(drop(y));
}

torch::Tensor InputTensor(std::span<const ModelWindow> windows) {
    const auto batch = static_cast<int64_t>(windows.size());
    auto input = torch::empty({batch, kInputChannels, static_cast<int64_t>(kWindowSamples)}, torch::kFloat32);
    auto a = input.accessor<float, 3>();
    for (int64_t b = 0; b < batch; ++b) {
        const ModelWindow& w = windows[static_cast<size_t>(b)];
        const float waist = w.placement == Placement::kWaist ? 1.0F : 0.0F;
        const float no_gravity = w.gravity_removed ? 1.0F : 0.0F;
        for (size_t t = 0; t < kWindowSamples; ++t) {
            const float* v = &w.values[t * kChannels];
            const auto ti = static_cast<int64_t>(t);
            a[b][0][ti] = v[0];
            a[b][1][ti] = v[1];
            a[b][2][ti] = v[2];
            a[b][3][ti] = v[3] / kGyroScaleDps;
            a[b][4][ti] = v[4] / kGyroScaleDps;
            a[b][5][ti] = v[5] / kGyroScaleDps;
            a[b][6][ti] = waist;
            a[b][7][ti] = no_gravity;
        }
    }
    return input;
}

void FuseForInference(PostureNet& net) {
    net->eval();
    for (auto& m : net->modules(/*include_self=*/false)) {
        if (auto* c = dynamic_cast<ConvBnActImpl*>(m.get())) c->Fuse();
    }
    for (auto& p : net->parameters()) p.set_requires_grad(false);
}

int64_t ParameterCount(torch::nn::Module& module) {
    int64_t n = 0;
    for (const auto& p : module.parameters()) n += p.numel();
    return n;
}

}  // namespace vg::posture::net
