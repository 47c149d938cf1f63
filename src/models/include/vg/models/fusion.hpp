#pragma once
// Fusion of the rules' verdict with the status and cause models (docs/models.md, "Fusion with the
// rules"): the one decision the detector makes for every reading and predict_model2 makes for one.
//
// Contract:
//   - The status model may RAISE the rules' level, never lower it: to danger when P(danger) >= raise_at,
//     else to caution when P(caution) + P(danger) >= raise_at, once it has rated the wearer at that same
//     level, above the rules' level, on `confirm` consecutive readings (the ModelStreak). Never while the
//     rules give exercise advice (advice_only); such a reading, or one the model does not rate above the
//     rules, ends the streak.
//   - A raise adds a fired rule "model.status.caution|danger" (kind "model", value: the probability, metric:
//     the first metric the cause model blames, else heart rate), sets `causes` to the blamed metrics (or
//     that one metric) and appends a sentence to the explanation.
//   - The cause model is asked only when the fused verdict is caution or danger and not exercise advice,
//     and not on a reading whose raise still waits for confirmation (the streak is short of `confirm`);
//     its metrics with probability >= 0.5 go to `model_causes`.
//   - Every reading the status model rated carries its probabilities (`model_probabilities`). When the
//     status model fails (or gives other than 3 probabilities) the rules' verdict is returned unchanged
//     and the streak is left as it was.
//
// Thread-safety: pure. The functions touch nothing but their arguments; the models are immutable and may
// be shared by any number of threads; a ModelStreak belongs to one wearer, owned by one thread at a time.
// Preconditions: readings of one wearer are fused in time order with that wearer's streak;
// options.raise_at in (0, 1], options.confirm >= 1.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "vg/domain/vitals.hpp"
#include "vg/models/features.hpp"
#include "vg/models/status_model.hpp"

namespace vg::models {

struct FusionOptions {
    double raise_at = 0.8;  // the probability at which the status model rates a level
    int confirm = 2;        // consecutive readings rated above the rules before the model raises
};

// What fusion remembers about one wearer: how many consecutive readings the model rated above the
// rules' level, and at which level. Two bytes; a fresh wearer starts from the default.
struct ModelStreak {
    uint8_t count = 0;
    domain::Level level = domain::Level::kNormal;

    friend bool operator==(const ModelStreak&, const ModelStreak&) = default;
};

// The models fusion runs. `status` is required; without `cause` no metric is blamed.
struct FusionModels {
    const StatusModel* status = nullptr;
    const StatusModel* cause = nullptr;
};

// The level the status model rates from its probabilities (normal, caution, danger).
domain::Level RatedLevel(const std::array<float, 3>& probabilities, double raise_at);

// The fused verdict from the models' outputs: `status` the status model's probabilities (nullopt: it
// failed); `cause` is called at most once, only when the cause model is asked (see above), and returns its
// probabilities in kCauseMetrics order (empty when there is no cause model or it failed).
domain::Detection Fuse(domain::Detection rules, const std::optional<std::array<float, 3>>& status,
                       const std::function<std::vector<float>()>& cause, const FusionOptions& options,
                       ModelStreak& streak);

// The same, running the models on `features` (FeatureTracker::Extract with models.status->pca()).
// REQUIRES: models.status != nullptr.
domain::Detection Fuse(domain::Detection rules, const FusionModels& models, const FeatureVector& features,
                       const FusionOptions& options, ModelStreak& streak);

}  // namespace vg::models
