#pragma once
// The model files of posture/torch (private): `posture.pt` (the network's parameters and buffers,
// libtorch's archive format) and `posture.manifest.json` (version, network shape, input spec, fall
// threshold, data, split, metrics, command), and the in-memory classifier over a network.

#include <boost/json/object.hpp>
#include <filesystem>

#include "network.hpp"
#include "vg/common/status.hpp"
#include "vg/posture/classifier.hpp"

namespace vg::posture {

inline constexpr const char* kWeightsFile = "posture.pt";
inline constexpr const char* kManifestFile = "posture.manifest.json";

// Serves a trained network. The constructor prepares it for inference (eval mode, batch norms folded);
// the network must not be trained afterwards. Classify() is thread-safe.
class TorchClassifier final : public PostureClassifier {
  public:
    TorchClassifier(net::PostureNet net, ClassifierInfo info);
    Result<std::vector<PosturePrediction>> Classify(std::span<const ModelWindow> windows) const override;
    const ClassifierInfo& info() const override { return info_; }

  private:
    mutable net::PostureNet net_;  // forward() is non-const in libtorch, but reads only in eval mode
    ClassifierInfo info_;
};

Status SaveWeights(net::PostureNet& net, const std::filesystem::path& file);
// Writes the network's parameters and batch-norm statistics (float tensors, libtorch's names) as the
// serving engine's safetensors file (vg/posture/native); `version` goes into its metadata.
Status ExportServingWeights(net::PostureNet& net, const std::filesystem::path& file, const std::string& version);
Result<net::PostureNet> LoadWeights(const net::NetworkConfig& config, const std::filesystem::path& file);

boost::json::object ConfigToJson(const net::NetworkConfig& config);
// kValidationFailed naming the field when the manifest's "network" object is missing or wrong.
Result<net::NetworkConfig> ConfigFromJson(const boost::json::object& network);

}  // namespace vg::posture
