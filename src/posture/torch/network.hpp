#pragma once
// The MobileViTv3-1D posture network (docs/posture-model.md), private to posture/torch.
//
// Follows the seed's changes to MobileViT for time series: every layer is 1-D; there is no
// unfolding/folding around the transformer (the time steps are the tokens); each MobileViT block
// takes its input through a depthwise-separable convolution (depthwise k=3, then pointwise); the local
// and the global representation are fused by a 1×1 convolution (MobileViTv3's fusion); and the
// block's input is added back (residual connection).
//
//   input (B, 8, 128): ax ay az (g), gx gy gz (°/s ÷ 250), waist flag, gravity-removed flag
//   stem      conv k3 s2            → (B, w, 64)
//   mv2       inverted residual     → (B, w, 64)
//   mv2 s2                          → (B, 2w, 32)
//   mvit3     d, L layers           → (B, 2w, 32)
//   mv2 s2                          → (B, 3w, 16)
//   mvit3     d, L layers           → (B, 3w, 16)
//   conv 1×1  → (B, 4w, 16) → mean over time → dropout → linear → 9 logits
//
// Thread-safety: a module in eval mode under torch::InferenceMode may run forward() from several
// threads at once (parameters are only read); training is single-threaded per module.

#include <torch/torch.h>

#include <span>
#include <string>

#include "vg/posture/classifier.hpp"

namespace vg::posture::net {

struct NetworkConfig {
    int width = 16;            // w: channels of the first stage
    int transformer_dim = 64;  // d: token width inside the MobileViT blocks
    int heads = 4;             // attention heads (d must be divisible by heads)
    int layers = 2;            // transformer layers per MobileViT block
    int mlp_ratio = 2;         // feed-forward width = d × mlp_ratio
    double dropout = 0.1;
    std::string Describe() const;  // "w16-d64-h4-l2"
};

inline constexpr int kInputChannels = 8;
inline constexpr float kGyroScaleDps = 250.0F;

struct ConvBnActImpl : torch::nn::Module {
    ConvBnActImpl(int in, int out, int kernel, int stride, int groups, bool activation);
    torch::Tensor forward(const torch::Tensor& x);
    // Folds the batch norm into the convolution (inference only: the module is then frozen).
    void Fuse();
    torch::nn::Conv1d conv{nullptr};
    torch::nn::BatchNorm1d bn{nullptr};
    bool activation;
    int stride, padding, groups;
    bool fused = false;
    torch::Tensor fused_weight, fused_bias;
};
TORCH_MODULE(ConvBnAct);

// MobileNetV2 inverted residual: 1×1 expand, depthwise k3 (stride), 1×1 project; residual when shapes match.
struct InvertedResidualImpl : torch::nn::Module {
    InvertedResidualImpl(int in, int out, int stride, int expand);
    torch::Tensor forward(const torch::Tensor& x);
    ConvBnAct expand{nullptr}, depthwise{nullptr}, project{nullptr};
    bool residual;
};
TORCH_MODULE(InvertedResidual);

// Pre-norm transformer layer over (B, T, d) tokens.
struct TransformerLayerImpl : torch::nn::Module {
    TransformerLayerImpl(int dim, int heads, int mlp_ratio, double dropout);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    torch::nn::Linear qkv{nullptr}, out{nullptr}, ff1{nullptr}, ff2{nullptr};
    torch::nn::Dropout drop{nullptr};
    int heads;
    double scale;
};
TORCH_MODULE(TransformerLayer);

struct MobileViTv3BlockImpl : torch::nn::Module {
    MobileViTv3BlockImpl(int channels, const NetworkConfig& config);
    torch::Tensor forward(const torch::Tensor& x);
    ConvBnAct local_depthwise{nullptr};  // depthwise k3: the block's depthwise-separable input
    torch::nn::Conv1d local_pointwise{nullptr};
    torch::nn::Sequential transformer{nullptr};
    torch::nn::LayerNorm norm{nullptr};
    ConvBnAct project{nullptr};  // d → channels
    ConvBnAct fusion{nullptr};   // [local (d), global (channels)] → channels, 1×1
};
TORCH_MODULE(MobileViTv3Block);

struct PostureNetImpl : torch::nn::Module {
    explicit PostureNetImpl(const NetworkConfig& config);
    torch::Tensor forward(const torch::Tensor& x);  // (B, 8, 128) → (B, 9) logits
    NetworkConfig config;
    ConvBnAct stem{nullptr};
    InvertedResidual mv2_1{nullptr}, mv2_2{nullptr}, mv2_3{nullptr};
    MobileViTv3Block mvit_1{nullptr}, mvit_2{nullptr};
    ConvBnAct head{nullptr};
    torch::nn::Dropout drop{nullptr};
    torch::nn::Linear classifier{nullptr};
};
TORCH_MODULE(PostureNet);

// Prepares a trained network for serving: eval mode, batch norms folded into their convolutions
// (fewer operations per window), gradients off. Outputs are unchanged up to float rounding.
void FuseForInference(PostureNet& net);

// The network's input for `windows`: (B, 8, 128) float. The one code path of training and serving.
torch::Tensor InputTensor(std::span<const ModelWindow> windows);

int64_t ParameterCount(torch::nn::Module& module);

}  // namespace vg::posture::net
