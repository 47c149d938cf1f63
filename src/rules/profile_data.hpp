#pragma once
// The parsed form of a rule profile and the layout of the per-wearer state it implies.
// Private to the rules module. Everything here is immutable once ParseProfile returns.
//
// Per-wearer state layout (one heap block owned by WearerState, offsets in bytes, 4-aligned):
//   [MetricState × active metrics][uint32 sustained-run starts][trend rings][uint8 counters]
// A trend ring is a RingHeader followed by `ring_len` int16 slots: the mean of each time bucket's
// readings, quantised by kQuantScale of the metric.

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vg/domain/vitals.hpp"

namespace vg::rules::internal {

using domain::Level;
using domain::Metric;

inline constexpr uint16_t kNoRule = 0xFFFF;

enum class Compare : uint8_t { kAbove, kAtLeast, kBelow, kAtMost };

// A one-sided bound, e.g. "at_least 131".
struct Bound {
    Compare cmp = Compare::kAbove;
    double value = 0;

    bool Holds(double v) const {
        switch (cmp) {
            case Compare::kAbove:
                return v > value;
            case Compare::kAtLeast:
                return v >= value;
            case Compare::kBelow:
                return v < value;
            case Compare::kAtMost:
                return v <= value;
        }
        return false;
    }
    // True for bounds that flag values higher than normal.
    bool high() const { return cmp == Compare::kAbove || cmp == Compare::kAtLeast; }
};

enum class RuleKind : uint8_t { kThreshold, kTrend, kSustained, kBaseline, kExercise, kSignalLoss };

// What every rule has, indexed by the rule's position in ProfileData::rules.
struct RuleInfo {
    std::string id;
    RuleKind kind = RuleKind::kThreshold;
    Metric metric = Metric::kHeartRate;
    Level level = Level::kCaution;
    bool high = true;  // direction: flags values above normal (for exercise suppression)
};

struct ThresholdRule {
    uint16_t rule = kNoRule;
    Bound bound;
    uint8_t confirm = 2;
    uint16_t counter = 0;  // index into the state's counters
};

struct TrendRule {
    uint16_t rule = kNoRule;
    bool rise = true;  // rise_pct (true) or fall_pct (false)
    double pct = 30;
    int32_t window_s = 1800;
    int32_t tolerance_s = 300;
    uint8_t confirm = 2;
    uint16_t counter = 0;
};

struct SustainedRule {
    uint16_t rule = kNoRule;
    Bound bound;
    int32_t for_s = 0;
    uint16_t run = 0;  // index into the state's run starts
};

struct BaselineRule {
    uint16_t rule = kNoRule;
    Bound bound;  // in robust z units
    uint8_t confirm = 2;
    uint16_t counter = 0;
};

struct BaselineConfig {
    int32_t warmup_readings = 30;
    double half_life_readings = 1440;
    double alpha = 0;  // per-reading EWMA weight after warm-up: 1 - 2^(-1/half_life)
    double min_scale = 0;
    double clip_z = 3;
    std::vector<BaselineRule> rules;
};

struct MetricRules {
    bool active = false;  // has any rule, so has a MetricState
    Metric metric = Metric::kHeartRate;
    std::optional<std::array<double, 2>> valid;  // [min, max]; values outside are ignored
    int32_t max_gap_s = 300;
    int32_t hold_s = 300;
    int32_t hold_readings = 3;
    std::vector<ThresholdRule> thresholds;
    std::vector<TrendRule> trends;
    int32_t bucket_s = 60;
    std::vector<SustainedRule> sustained;
    std::optional<BaselineConfig> baseline;
    // Layout.
    uint32_t state_offset = 0;  // MetricState
    uint32_t ring_offset = 0;   // RingHeader + slots; only when ring_len > 0
    uint16_t ring_len = 0;
    uint16_t first_counter = 0;  // counters of this metric's rules are [first_counter, end_counter)
    uint16_t end_counter = 0;
    uint16_t first_run = 0;
    uint16_t end_run = 0;
};

struct ExerciseConfig {
    uint16_t rule = kNoRule;
    double cadence_at_least = 100;        // steps/min
    double walking_cadence_at_least = 0;  // steps/min; 0: no walking context
    double heart_rate_above = 120;        // bpm
    int32_t recovery_s = 600;
    uint8_t confirm = 2;
    std::array<bool, domain::kMetricCount> applies_to{};
};

struct SilenceConfig {
    uint16_t rule = kNoRule;
    int64_t after_ms = 900'000;
};

struct ProfileData {
    uint64_t id = 0;  // unique per parsed profile, never reused in a process
    std::string name;
    std::string description;
    std::string source;
    std::vector<RuleInfo> rules;
    std::array<MetricRules, domain::kMetricCount> metrics;
    std::optional<ExerciseConfig> exercise;
    std::optional<SilenceConfig> silence;
    // Layout of the per-wearer heap block.
    uint32_t runs_offset = 0;
    uint32_t counters_offset = 0;
    uint32_t data_bytes = 0;
};

// Per-metric state, in the heap block.
struct MetricState {
    uint32_t last_seen_s;  // seconds after the state's epoch, +1; 0 = never seen
    float last_value;
    float base_center;          // baseline: robust location
    float base_scale;           // baseline: EW mean absolute deviation (clipped)
    uint32_t below_since_s[2];  // start of the run of readings below caution [0] / below danger [1]; 0 = none
    uint16_t base_n;            // readings learned (saturates)
    uint16_t held_rule[2];      // rule that last raised the metric to ≥ caution [0] / danger [1]
    uint8_t below_count[2];     // readings in those runs (saturates)
    uint8_t held_level;         // the level reported for the metric (hysteresis)
    uint8_t raw_level;          // the level its rules gave on its latest reading
};
static_assert(sizeof(MetricState) == 36);

struct RingHeader {
    uint32_t newest_plus1;  // newest bucket number + 1; 0 = empty ring
    float newest_sum;       // sum and count of the newest bucket's readings (its slot holds their mean)
    uint16_t newest_count;
    uint16_t reserved;
};
static_assert(sizeof(RingHeader) == 12);

inline constexpr int16_t kEmptySlot = INT16_MIN;

// Fixed-point scale of each metric in the trend rings (value * scale fits in int16 for every
// plausible value: SpO2 100 % -> 10000, glucose 1000 mg/dL -> 10000).
inline constexpr std::array<double, domain::kMetricCount> kQuantScale = {10, 10, 100, 100, 10, 10, 100};

inline int16_t Quantise(Metric m, double v) {
    const double q = std::round(v * kQuantScale[static_cast<size_t>(m)]);
    if (q > 32767) return 32767;
    if (q < -32767) return -32767;
    return static_cast<int16_t>(q);
}
inline double Dequantise(Metric m, int16_t q) { return q / kQuantScale[static_cast<size_t>(m)]; }

}  // namespace vg::rules::internal
