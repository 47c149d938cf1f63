#pragma once
// Features of the status and cause models (docs/models.md): one code path for training and serving,
// so the two can never drift. A FeatureTracker is the small per-wearer memory the features need
// (personal baselines and a short history for slopes); Extract turns one reading into the feature
// vector, reading time only from the reading.
//
// Features, in this order (FeatureNames()):
//   the six vitals as measured (heart_rate, respiration_rate, spo2, skin_temp, steps, calories);
//   deltas from the wearer's own baseline of the four vitals (d_*; missing until warmed up);
//   slopes of the four vitals per minute over about the last 5 minutes (slope_*);
//   the seed's exercise_pca (first principal component of steps and calories, fitted on the
//   training data and stored with the model) and its "high energy outside exercise" flag.
// A missing value is NaN, which XGBoost treats as missing.
//
// Thread-safety: ExercisePca and the functions are pure; a FeatureTracker belongs to one thread at
// a time (the wearer's detector shard).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"

namespace vg::models {

inline constexpr size_t kFeatureCount = 16;
using FeatureVector = std::array<float, kFeatureCount>;
const std::array<std::string_view, kFeatureCount>& FeatureNames();

// The seed's exercise_pca: standardise steps and calories with the training data's means and
// standard deviations, project on the first principal component (sign chosen so that more movement
// is positive). Fitted once on training rows and stored in the model's manifest.
struct ExercisePca {
    double steps_mean = 0, steps_sd = 1;
    double calories_mean = 0, calories_sd = 1;
    double w_steps = 0.7071067811865476, w_calories = 0.7071067811865476;
    // The component's value above which a row counts as exercise (the training rows' 90th percentile
    // of rows with steps), for the "high energy outside exercise" flag.
    double exercise_threshold = 1.0;

    // NaN when either input is missing.
    double Project(double steps, double calories) const;
    // kValidationFailed when fewer than 10 rows have both values.
    static Result<ExercisePca> Fit(const std::vector<std::pair<double, double>>& steps_calories);
};

// Per-wearer memory: robust running baselines (warm after kBaselineWarmup readings) and the last few
// readings for slopes. About 100 bytes.
class FeatureTracker {
  public:
    static constexpr int kBaselineWarmup = 30;
    static constexpr int kHistory = 6;  // readings kept for slopes

    // Features of `reading`, then remembers it. Readings must come in time order (older ones are
    // given features from the current memory but not remembered).
    FeatureVector Extract(const domain::VitalsReading& reading, const ExercisePca& pca);

  private:
    struct Point {
        int64_t t_ms = 0;
        std::array<float, 4> v{};  // heart_rate, respiration_rate, spo2, skin_temp (NaN missing)
    };
    std::array<double, 4> base_{};
    std::array<double, 4> scale_{};
    std::array<int32_t, 4> n_{};
    std::array<Point, kHistory> history_{};
    int32_t history_size_ = 0;
    int32_t history_next_ = 0;
    int64_t last_ms_ = INT64_MIN;
};

}  // namespace vg::models
