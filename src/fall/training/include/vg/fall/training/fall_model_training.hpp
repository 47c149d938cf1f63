#pragma once
// Training and trial-level evaluation of the fall event model (docs/posture-model.md, "Fall decision on
// the event").
//
// Training: models::Booster (binary:logistic) on the training subjects' labelled events (label 0 or 1), early
// stopping on the validation subjects' events. Thresholds: per placement, on the validation subjects only
// (ThresholdRule). Evaluation is per trial, the unit a wearer lives through: a fall trial is detected when a
// scored candidate within kDetectionWindowS of its labelled impact reaches the threshold; an activity trial
// has a false fall when any of its candidates does. Counts come with Wilson 95 % intervals.
//
// The ablation trains the same way on subsets of the features (the others set missing in every row, so no
// tree can split on them), with the same split and threshold rule, and evaluates each on the test subjects.
//
// Thread-safety: pure functions over values (XGBoost uses TrainOptions::threads threads inside Train).

#include <array>
#include <boost/json/object.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/fall/event_features.hpp"
#include "vg/fall/training/event_data.hpp"
#include "vg/models/booster.hpp"

namespace vg::fall::training {

// A fall trial counts as detected when a candidate this close to its labelled impact reaches the threshold.
inline constexpr double kDetectionWindowS = 2.0;

// A proportion k/n with its Wilson score 95 % interval.
struct Proportion {
    size_t k = 0;
    size_t n = 0;
    double rate() const { return n ? static_cast<double>(k) / static_cast<double>(n) : 0; }
    double low() const;
    double high() const;
};

// Thresholds by placement: index 0 wrist, 1 waist (posture::Placement's order).
using PlacementThresholds = std::array<float, 2>;
float ThresholdFor(const PlacementThresholds& thresholds, imu::Placement placement);

// The threshold rule: per placement, the highest threshold at which at least `min_fall_recall` of the
// validation subjects' fall trials of that placement are detected (counting only fall trials that have a
// scored candidate at their impact: the others cannot be detected at any threshold). Stated in the manifest.
struct ThresholdRule {
    double min_fall_recall = 0.98;
    std::string Describe() const;
};

struct GroupOutcome {
    std::string name;                  // "sisfall/waist", "wrist", "all"
    Proportion falls;                  // detected / fall trials
    size_t falls_not_scored = 0;       // fall trials whose impact has no scored candidate (counted as missed)
    size_t falls_found_elsewhere = 0;  // missed at the impact, but a candidate elsewhere in the trial fired
    Proportion adl_false;              // activity trials with a false fall / activity trials
    double adl_hours = 0;              // recorded time of the activity trials
    size_t adl_false_decisions = 0;    // candidates of activity trials at or above the threshold
    size_t events = 0;                 // scored candidates
    double false_per_hour() const { return adl_hours > 0 ? static_cast<double>(adl_false_decisions) / adl_hours : 0; }
};

struct TrialEvaluation {
    std::string split;  // "test", "validation", "all"
    PlacementThresholds thresholds{};
    std::vector<GroupOutcome> groups;                       // every data set/placement, then "wrist", "waist", "all"
    std::map<std::string, std::set<std::string>> subjects;  // per data set, the subjects evaluated
    std::vector<std::string> unreadable;

    const GroupOutcome* Find(std::string_view name) const;
    std::string ToText() const;
    boost::json::object ToJson() const;
    // A self-contained page: the table and, per group, detection and false falls as bars with their intervals.
    std::string ToHtml(const std::string& title) const;
};

// Evaluates `probabilities` (one per data.events row) on the trials of `split`.
TrialEvaluation EvaluateTrials(const EventData& data, const std::vector<float>& probabilities,
                               const PlacementThresholds& thresholds, imu::Split split);

// The rule applied to the validation trials' probabilities. A placement without validation falls keeps 0.5.
PlacementThresholds ChooseThresholds(const EventData& data, const std::vector<float>& probabilities,
                                     const ThresholdRule& rule);

// A named subset of the features for the ablation.
struct FeatureSet {
    std::string name;
    std::vector<size_t> features;  // indices into EventFeatureNames()
};
// The shipped set (all features) first, then the ablation's subsets.
std::vector<FeatureSet> AblationFeatureSets();

struct FallTrainSettings {
    models::TrainOptions booster;  // objective is set to binary:logistic
    ThresholdRule threshold_rule;
    bool ablation = true;
    // Every boosting round of every model: (feature set, round, train loss, validation loss).
    std::function<void(const std::string&, int, double, double)> on_round;
};

struct AblationRow {
    std::string feature_set;
    int rounds = 0;
    PlacementThresholds thresholds{};
    TrialEvaluation validation;
    TrialEvaluation test;
};

struct FallTrainingResult {
    models::Booster booster;  // the shipped model: all features
    PlacementThresholds thresholds{};
    TrialEvaluation validation;
    TrialEvaluation test;
    std::vector<AblationRow> ablation;  // the shipped set first
    std::vector<float> probabilities;   // the shipped model's (its served trees), per event of every split
};

// REQUIRES: data holds training and validation events of both labels (kValidationFailed otherwise).
Result<FallTrainingResult> TrainFallModel(const EventData& data, const FallTrainSettings& settings);

// The rows of `data` as a Matrix with the features outside `keep` set missing (all kept when empty).
models::Matrix FeatureMatrix(const EventData& data, const std::vector<size_t>& rows, const std::vector<size_t>& keep);

// Per data set and placement, the training subjects' fall trials whose impact is a candidate / scored.
struct CandidateRecall {
    std::string group;
    size_t fall_trials = 0;
    size_t impact_is_candidate = 0;
    size_t impact_is_scored = 0;
    float least_impact_peak_g = 0;
    size_t adl_trials = 0;
    double adl_hours = 0;
    size_t adl_candidates = 0;
};
std::vector<CandidateRecall> MeasureCandidateRecall(const EventData& data, imu::Split split);
std::string CandidateRecallText(const std::vector<CandidateRecall>& recall);

// What the manifest records beyond the model itself.
struct ManifestInfo {
    std::string version;    // e.g. "fall-event-20261206"
    std::string command;    // the exact command that trained it
    std::string data_root;  // as given
    uint64_t split_seed = imu::kDefaultSplitSeed;
    double training_seconds = 0;
    CandidateParams candidates;
    FallTrainSettings settings;
};

// Writes <dir>/fall_event.json and <dir>/fall_event.manifest.json (FallEventModel::Load reads them).
Status SaveFallModel(const std::filesystem::path& dir, const FallTrainingResult& result, const EventData& data,
                     const ManifestInfo& info);

// The subjects that trained or tuned the model in <models_dir> (the manifest's subjects.train and
// subjects.validation), per data set: `eval fall --split all` leaves them out. kNotFound / kInvalidJson /
// kValidationFailed (field "subjects") when the manifest is missing or does not list them.
Result<std::map<std::string, std::set<std::string>>> TrainingSubjects(const std::filesystem::path& models_dir);

// The ablation as a table a person can read (test subjects).
std::string AblationText(const std::vector<AblationRow>& ablation);

}  // namespace vg::fall::training
