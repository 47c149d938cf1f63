#pragma once
// The fall event model as the server loads it: gradient-boosted trees (XGBoost JSON, evaluated natively by
// models::TreeEnsemble) over an impact candidate's EventFeatures → P(fall), and the decision threshold of
// each placement chosen on validation subjects (docs/posture-model.md, "Fall decision on the event").
//
// Files in the models folder (written by `vitalguard train fall`, fall/training):
//   fall_event.json           the XGBoost model (binary:logistic)
//   fall_event.manifest.json  version, feature names in order, candidate and event parameters, the posture
//                             network the features were computed with, per-placement thresholds and their
//                             rule, data sets, subjects per split, metrics, ablation, the command
// The loader refuses a manifest whose features or event span differ from this build's (the features would
// mean something else) and names the field.
//
// Thread-safety: immutable after loading; Probability/IsFall from any thread.
// Ownership: the model owns its trees.

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "vg/common/status.hpp"
#include "vg/fall/event_features.hpp"
#include "vg/fall/impact_candidates.hpp"
#include "vg/models/tree_ensemble.hpp"
#include "vg/posture/classifier.hpp"

namespace vg::fall {

inline constexpr const char* kModelFile = "fall_event.json";
inline constexpr const char* kManifestFile = "fall_event.manifest.json";

class FallEventModel {
  public:
    // Loads <models_dir>/fall_event.manifest.json and the model it names ("model", default fall_event.json).
    // kNotFound when a file is missing; kInvalidJson when the manifest is not JSON; kValidationFailed naming
    // the file and field ("features", "event.samples_after", "thresholds.wrist", "model", …) otherwise.
    static Result<FallEventModel> Load(const std::filesystem::path& models_dir);
    // The same from the two files' contents (`source` names them in messages).
    static Result<FallEventModel> FromJson(std::string_view manifest_json, std::string_view model_json,
                                           std::string_view source = kManifestFile);

    // P(fall) of one event.
    float Probability(const EventFeatures& features) const;
    // The decision threshold for events of `placement`.
    float Threshold(posture::Placement placement) const;
    // Probability(features) ≥ Threshold(placement): this event is a fall.
    bool IsFall(const EventFeatures& features, posture::Placement placement) const {
        return Probability(features) >= Threshold(placement);
    }

    const std::string& version() const { return version_; }
    // The candidate rule the model was trained with; a server finds candidates with these.
    const CandidateParams& candidates() const { return candidates_; }
    // The version of the posture network whose probabilities the features hold ("posture_model").
    const std::string& posture_model_version() const { return posture_model_; }
    // kValidationFailed when `classifier` is not the network the model was trained with: its features would
    // be another network's probabilities.
    Status CheckPostureModel(const posture::ClassifierInfo& classifier) const;

  private:
    explicit FallEventModel(models::TreeEnsemble trees) : trees_(std::move(trees)) {}
    models::TreeEnsemble trees_;
    std::string version_;
    std::string posture_model_;
    CandidateParams candidates_;
    float wrist_threshold_ = 0.5F;
    float waist_threshold_ = 0.5F;
};

}  // namespace vg::fall
