#pragma once
// The libtorch implementation of posture::PostureClassifier: the MobileViTv3-1D network of
// models/posture.pt with its manifest models/posture.manifest.json (docs/posture-model.md).
//
// Thread-safety: Classify() may be called concurrently; the weights are read-only after loading.
// Ownership: the returned classifier owns its weights.

#include <filesystem>
#include <memory>

#include "vg/common/status.hpp"
#include "vg/posture/classifier.hpp"

namespace vg::posture {

struct TorchClassifierOptions {
    // libtorch's intra-op thread count. It is process-wide in libtorch, so it is set once at load:
    // with a pool of N callers, 1 keeps N × threads ≈ cores instead of oversubscribing them.
    int intra_op_threads = 1;
};

// Loads `<models_dir>/posture.manifest.json` and the weights it names. kNotFound when the files are
// missing; kValidationFailed naming the file when they cannot be understood.
Result<std::unique_ptr<PostureClassifier>> LoadTorchClassifier(const std::filesystem::path& models_dir,
                                                               const TorchClassifierOptions& options = {});

// Writes the serving engine's weights (posture.safetensors, vg/posture/native) from the weights of
// `<models_dir>/posture.manifest.json` and records them in the manifest ("serving_weights"). For models
// trained before training wrote both. Returns the file written; errors as LoadTorchClassifier.
Result<std::filesystem::path> ConvertToServingWeights(const std::filesystem::path& models_dir);

}  // namespace vg::posture
