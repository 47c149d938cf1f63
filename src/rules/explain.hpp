#pragma once
// Hits (what fired during one evaluation, as numbers) and their text: the `detail` of a FiredRule
// for people who check the evidence, and one plain sentence per hit for the explanation.
// Private to the rules module. Pure functions.

#include <cstdint>
#include <string>
#include <string_view>

#include "profile_data.hpp"

namespace vg::rules::internal {

enum class HitKind : uint8_t { kThreshold, kTrend, kSustained, kBaseline, kExercise, kSignalLoss, kHysteresis };

// FiredRule::kind: "threshold", "trend", "sustained", "baseline", "exercise", "signal_loss", "hysteresis".
std::string_view HitKindName(HitKind k);

// One rule that fired. `def` points at the rule's definition in the profile (ThresholdRule,
// TrendRule, SustainedRule, BaselineRule, ExerciseConfig, SilenceConfig; MetricRules for
// hysteresis). The numbers a..d mean, by kind:
//   threshold: a = consecutive readings meeting the bound
//   trend:     a = reference value ~window ago, b = % change (signed), c = consecutive readings
//   sustained: a = seconds the run has lasted
//   baseline:  a = baseline centre, b = robust standard deviation, c = z, d = consecutive readings
//   exercise:  a = cadence (steps/min; NaN while recovering), b = seconds since activity stopped
//   signal_loss: a = seconds without readings
//   hysteresis: a = seconds below the held level, b = readings below it, c = 1 when the metric was
//               not in this reading (its last value is reported), d = 1 when the value is back in
//               the held level's range but not confirmed again
struct Hit {
    const void* def = nullptr;
    uint16_t rule = kNoRule;
    uint16_t stands_in_for = kNoRule;  // exercise: the most severe high rule it replaced
    HitKind kind = HitKind::kThreshold;
    Level level = Level::kCaution;
    Metric metric = Metric::kHeartRate;
    double value = 0;  // the reading's value (signal loss: seconds silent)
    double a = 0, b = 0, c = 0, d = 0;
};

// The FiredRule::value of a hit: the % change for trends, the value otherwise.
double FiredValue(const Hit& h);
std::string Detail(const ProfileData& p, const Hit& h);
std::string Sentence(const ProfileData& p, const Hit& h);

// "72", "37.3", "0.5"
std::string FormatNumber(double v);
// "45 s", "5 min", "2 h", "2 h 5 min"
std::string FormatDuration(int64_t seconds);

}  // namespace vg::rules::internal
