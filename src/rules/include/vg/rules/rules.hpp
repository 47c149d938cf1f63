#pragma once
// Rules: the rule-based half of detection (docs/rules.md).
//
// A RuleProfile is data: thresholds, trends, sustained-duration rules, personal
// baselines, confirmation counts, exercise context, signal loss and hysteresis,
// loaded from a JSON file (profiles/*.json) and immutable afterwards. A
// WearerState is the small per-wearer memory those rules need (≤ 1 KB). Evaluate
// feeds one reading through a profile and a state and returns the explained
// verdict; CheckSilence turns the absence of readings into a verdict.
//
// Evaluation is pure CPU: no I/O, no clock reads, no locks. Time comes only from
// the reading's `measured_at` and the explicit `now` of CheckSilence, so every
// rule runs on simulated time in tests.
//
// Thread-safety: a RuleProfile (and a ProfileRegistry once loaded) is immutable
// and may be read from any number of threads. A WearerState is owned by one
// thread at a time (the detector's shard thread); Evaluate and CheckSilence on
// distinct states may run concurrently.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"

namespace vg::rules {

// The per-wearer budget: sizeof(WearerState) plus the heap block it owns. Profiles whose state
// would not fit are refused by ParseProfile.
inline constexpr size_t kMaxWearerStateBytes = 1024;
// At most this many rules (of all kinds, signal loss and exercise included) in one profile.
inline constexpr size_t kMaxRulesPerProfile = 64;

namespace internal {
struct ProfileData;  // the parsed rules; private to the module (profile_data.hpp)
struct StateAccess;  // the engine's access to WearerState's private members
}  // namespace internal

// A parsed rule profile. Immutable; share it (shared_ptr<const RuleProfile>) among every wearer
// that uses it. Made only by ParseProfile.
class RuleProfile {
  public:
    explicit RuleProfile(std::unique_ptr<const internal::ProfileData> data);
    ~RuleProfile();
    RuleProfile(const RuleProfile&) = delete;
    RuleProfile& operator=(const RuleProfile&) = delete;

    const std::string& name() const;         // e.g. "adult-default"
    const std::string& description() const;  // one paragraph for people choosing a profile
    const std::string& source() const;       // where it was loaded from (file name), for messages
    // How long without readings before CheckSilence reports signal loss; nullopt when the profile
    // has no signal-loss rule.
    std::optional<Milliseconds> silence_after() const;
    // Every rule id of the profile, in profile order (stable strings that appear in FiredRule::rule).
    std::vector<std::string> RuleIds() const;
    // Bytes of one WearerState made for this profile (what WearerStateBytes reports).
    size_t wearer_state_bytes() const;

    const internal::ProfileData& data() const { return *data_; }

  private:
    std::unique_ptr<const internal::ProfileData> data_;
};

// Where one of a metric's rules calls a value caution or danger by itself: a threshold (for_s 0) or a
// sustained rule (for_s > 0: only when every reading for that long is in the band). For drawing the
// profile's bands on a chart. Trend and baseline rules judge against the wearer's own history and have no
// fixed band.
struct ValueBand {
    std::string rule;  // the rule id, e.g. "heart_rate.high.danger"
    domain::Level level = domain::Level::kCaution;
    std::string_view compare;  // "above", "at_least", "below" or "at_most" (the profile's keys)
    double value = 0;
    int32_t for_s = 0;
};
// The bands of `metric` in `profile`, thresholds first, each kind in profile order.
std::vector<ValueBand> ValueBands(const RuleProfile& profile, domain::Metric metric);

// Parses and validates a profile. On failure: kInvalidJson when the text is not JSON (one
// FieldError, field "", with line and column), otherwise kValidationFailed with one FieldError per
// problem, each naming its JSON path (e.g. "metrics.heart_rate.thresholds[2].level",
// "exercise.cadence" for an unknown key). `source_name` (e.g. "adult-default.json") is used in
// messages only.
[[nodiscard]] Result<std::shared_ptr<const RuleProfile>> ParseProfile(std::string_view json_text,
                                                                      std::string_view source_name);

// Profiles by name. Loaded once at start-up, then read-only (and so safe to share between threads).
class ProfileRegistry {
  public:
    // Loads every *.json file of `dir` (not recursive). All or nothing: on any problem nothing of
    // this call is added and the Status lists every problem, each field prefixed by its file name
    // ("glucose.json: metrics.glucose.trends[0].window_s"). A profile's "name" must equal its file
    // name without ".json", and must not be loaded already. kNotFound when `dir` does not exist or
    // holds no *.json file.
    [[nodiscard]] Status LoadDirectory(const std::string& dir);
    // Adds one parsed profile; kConflict when its name is taken.
    [[nodiscard]] Status Add(std::shared_ptr<const RuleProfile> profile);

    std::shared_ptr<const RuleProfile> Find(std::string_view name) const;  // nullptr when unknown
    std::vector<std::string> Names() const;                                // sorted

  private:
    std::map<std::string, std::shared_ptr<const RuleProfile>, std::less<>> profiles_;
};

// What the rules remember about one wearer: confirmation counters, sustained-run starts, per-metric
// trend rings (minute buckets, int16), personal baselines, hysteresis holds, exercise and silence
// state. A value type (movable, not copyable) of sizeof(WearerState) plus one heap block sized by
// the profile; NewWearerState is the same thing behind a unique_ptr.
// A state belongs to the profile it was made for; handed another profile, Evaluate and CheckSilence
// first reset it for that profile (its history is lost, nothing is misread).
class WearerState {
  public:
    explicit WearerState(const RuleProfile& profile);
    ~WearerState();
    WearerState(WearerState&&) noexcept;
    WearerState& operator=(WearerState&&) noexcept;
    WearerState(const WearerState&) = delete;
    WearerState& operator=(const WearerState&) = delete;

  private:
    friend struct internal::StateAccess;

    uint64_t profile_id_ = 0;         // RuleProfile identity (unique per parse, never reused)
    int64_t epoch_ms_ = 0;            // measured_at of the first reading; per-metric times are seconds after it
    int64_t last_reading_ms_ = 0;     // measured_at of the latest reading fed
    uint32_t exercise_active_s_ = 0;  // last reading with high cadence (seconds after epoch, +1; 0 = never)
    uint32_t walking_active_s_ = 0;   // last reading with walking cadence (same encoding)
    uint32_t data_bytes_ = 0;
    uint8_t exercise_count_ = 0;  // consecutive readings meeting the exercise advice condition
    bool has_reading_ = false;
    bool silence_reported_ = false;      // signal loss already reported for the current silence
    std::unique_ptr<std::byte[]> data_;  // layout computed by the profile (profile_data.hpp)
};

[[nodiscard]] std::unique_ptr<WearerState> NewWearerState(const RuleProfile& profile);

// Feeds one reading and returns the verdict: the level after confirmation and hysteresis, every
// rule that fired (kinds "threshold", "trend", "sustained", "baseline", "exercise", and
// "hysteresis" for a level still held although its rule no longer fires), the causes (metrics at
// the final level) and a plain-English explanation.
// REQUIRES: reading.measured_at >= that of the last reading fed to `state` (the detector drops late
// readings). A reading that breaks this is not evaluated: the current verdict is returned unchanged.
// Values that are not finite, or outside a metric's "valid" range in the profile, are ignored.
[[nodiscard]] domain::Detection Evaluate(const RuleProfile& profile, WearerState& state,
                                         const domain::VitalsReading& reading);

// Signal loss: a Detection (kind "signal_loss") when the profile has a signal-loss rule, the state
// has had at least one reading, and none arrived during the profile's silence time before `now`.
// Reported once per silence: the next reading starts a new episode. The level is the rule's level,
// or the level still held by the wearer's last readings when that is higher.
[[nodiscard]] std::optional<domain::Detection> CheckSilence(const RuleProfile& profile, WearerState& state,
                                                            TimePoint now);

// Bytes held by `state`: sizeof(WearerState) plus its heap block (malloc's own bookkeeping, about
// 16 bytes per allocation on glibc, is not counted).
[[nodiscard]] size_t WearerStateBytes(const WearerState& state);

}  // namespace vg::rules
