#pragma once
// The serving engine of the posture network: the MobileViTv3-1D network of docs/posture-model.md
// (posture/torch/network.hpp is the training definition) evaluated in plain C++ over Eigen, from the
// weights that training exports beside posture.pt (posture.safetensors, the manifest's
// "serving_weights"). The server links this, never libtorch: libtorch alone cost ~150 MB of resident
// memory and start-up time in every server process.
//
// Batch norms are folded into their convolutions at load; a batch of windows is evaluated as one
// (channels × windows·time) matrix so that every 1×1 convolution and linear layer is one matrix product.
// Outputs equal libtorch's within 1e-4 (posture_torch_test checks it on real windows).
//
// Thread-safety: Classify() may be called concurrently; the weights are immutable after loading and each
// call uses its own scratch memory. Single-threaded per call (the server runs one call per bus shard).
// Ownership: the classifier owns its weights.

#include <filesystem>
#include <memory>

#include "vg/common/status.hpp"
#include "vg/posture/classifier.hpp"
#include "vg/posture/native/safetensors.hpp"

namespace vg::posture::native {

inline constexpr const char* kManifestFile = "posture.manifest.json";
inline constexpr const char* kServingWeightsFile = "posture.safetensors";

// The network's shape (the manifest's "network" object).
struct NetworkShape {
    int width = 16;            // channels of the first stage
    int transformer_dim = 64;  // token width inside the MobileViT blocks
    int heads = 4;
    int layers = 2;     // transformer layers per MobileViT block
    int mlp_ratio = 2;  // feed-forward width = transformer_dim × mlp_ratio
};

// The tensors a network of `shape` has, by libtorch's names, with their shapes (the contract between the
// exporter and the engine).
std::map<std::string, std::vector<int64_t>> ExpectedTensors(const NetworkShape& shape);

// Builds the engine from a network's tensors (libtorch's state dict: parameters and batch-norm buffers).
// kValidationFailed naming the tensor when one is missing, extra, or of the wrong shape.
Result<std::unique_ptr<PostureClassifier>> MakeNativeClassifier(const NetworkShape& shape, const TensorFile& weights,
                                                                ClassifierInfo info);

// Loads `<models_dir>/posture.manifest.json` and the serving weights it names ("serving_weights", default
// posture.safetensors). kNotFound when a file is missing (the message says how to make the weights from
// posture.pt); kValidationFailed naming the file and field when they cannot be understood.
Result<std::unique_ptr<PostureClassifier>> LoadNativeClassifier(const std::filesystem::path& models_dir);

}  // namespace vg::posture::native
