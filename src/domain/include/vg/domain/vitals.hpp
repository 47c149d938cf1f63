#pragma once
// Vitals: one reading from a watch, and what detection concluded about it.
//
// Units are fixed (no unit fields on the wire): heart rate in beats/min,
// respiration in breaths/min, SpO2 in %, wrist skin temperature in °C,
// steps and calories as counts over the minute before `measured_at`
// (cadence in steps/min, kcal/min), glucose in mg/dL.
// Pure values and pure functions. Thread-safety: distinct objects from any thread.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg::domain {

enum class Metric : uint8_t {
    kHeartRate = 0,
    kRespirationRate,
    kSpo2,
    kSkinTemp,
    kGlucose,
    kSteps,
    kCalories,
};
inline constexpr int kMetricCount = 7;
// Wire names: "heart_rate", "respiration_rate", "spo2", "skin_temp", "glucose", "steps", "calories".
std::string_view MetricName(Metric m);
std::optional<Metric> MetricFromName(std::string_view name);

// 0 normal, 1 caution, 2 danger: the seed's UserStatus values.
enum class Level : uint8_t { kNormal = 0, kCaution = 1, kDanger = 2 };
std::string_view LevelName(Level l);  // "normal", "caution", "danger"

struct VitalsReading {
    TimePoint measured_at;
    std::array<std::optional<double>, kMetricCount> values;  // indexed by Metric

    std::optional<double> get(Metric m) const { return values[static_cast<size_t>(m)]; }
    void set(Metric m, double v) { values[static_cast<size_t>(m)] = v; }
};

// Physiological plausibility: a value outside [min, max] cannot come from a living wearer (or is in
// the wrong unit, e.g. skin_temp 98.6 in °F) and is rejected; inside, it is data, however extreme.
struct PlausibleRange {
    double min;
    double max;
    std::string_view unit;
};
PlausibleRange PlausibleRangeOf(Metric m);

// The problems of one reading, one FieldError per field (field names are the wire names, prefixed
// by `prefix`, e.g. "readings[3].spo2"). A reading needs at least one of heart_rate,
// respiration_rate, spo2, skin_temp, glucose.
std::vector<FieldError> ValidateReading(const VitalsReading& reading, std::string_view prefix = "");

// One rule that fired, with the evidence a person (or a guardian) can check.
struct FiredRule {
    std::string rule;  // rule id from the profile, e.g. "heart_rate.high.danger"
    std::string kind;  // "threshold", "trend", "sustained", "baseline", "exercise", "signal_loss"
    Metric metric = Metric::kHeartRate;
    Level level = Level::kNormal;
    double value = 0;    // the value that fired it (for trends: the % change)
    std::string detail;  // e.g. "heart rate 142 bpm ≥ 131 bpm for 2 readings"

    friend bool operator==(const FiredRule&, const FiredRule&) = default;
};

// The verdict on one reading (or on a silence, for signal loss).
struct Detection {
    Level level = Level::kNormal;
    std::vector<Metric> causes;    // metrics whose rules fired at the final level, without duplicates
    std::vector<FiredRule> fired;  // every rule that fired, whatever its level
    bool advice_only = false;      // exercise context: slow down, not an emergency
    std::string explanation;       // one or two plain sentences for the wearer
    // The status model's probabilities of normal, caution and danger for this reading, when the
    // server runs one (docs/models.md); the rules' level stands unless the model raised it.
    std::optional<std::array<float, 3>> model_probabilities;
    // The cause model's metrics at fault (probability >= 0.5), run when the level is caution or danger.
    std::vector<Metric> model_causes;
};

}  // namespace vg::domain
