#pragma once
// IMU replay: real trials of the public data sets (SisFall, UMAFall, HIFD, WEDA-FALL, FallAllD) as a watch would
// post them to the server's posture API (docs/simulator.md, "IMU: falls and activities").
//
// 1. LoadImuCatalog lists the trials of the scenario's imu section (data sets, placements, the split's
//    subjects: imu::AssignSplits, test by default) without reading samples.
// 2. PlanImu places the IMU events on the fleet (explicit "fall"/"adl" events of the groups, and the
//    section's per-wearer-day rates) and picks a trial for each, seeded: first a (data set, placement)
//    uniformly among those that have a fitting trial, then a trial uniformly, so that the small data
//    sets are not drowned by SisFall. The trial is loaded and resampled to 50 Hz (imu::Resample) and cut
//    into consecutive, non-overlapping 2.56 s windows of 128 samples from its first sample (at most
//    kMaxImuTrial of it). The impact of a fall trial is its |a| peak, looked for only near the authors'
//    annotation where the data set has one (WEDA-FALL), as the window labels do. After a fall trial the
//    wearer "lies still" for imu.lying_still more: the data sets stop recording a few seconds after the
//    impact, a real fall stays on the floor. The tail repeats the trial's own last still stretch after the
//    impact (std |a| ≤ 0.02 g over 128 samples where it has them, else over at least one second), played
//    backwards from the trial's end, then forwards, and so on, so that nothing jumps; when the trial has no
//    such stretch, or the activity table says the person does not stay down (FallAllD's falls "with
//    recovery", imu::ActivitySpec::after_still other than Lying), there is no tail (the server's silence
//    rule then decides). A trial whose windows the API would refuse (values beyond ±16 g / ±2000 °/s, mean
//    |a| outside the API's bounds), or whose impact does not lie in its windows, is skipped and another drawn.
// 3. The driver posts each event's windows (measured_at = window end, strictly increasing) with the
//    wearer's device token; the scorer matches the server's fall decisions to the events.
//
// Everything is a pure function of the scenario (and the data files): the same seed picks the same
// trials and times. Thread-safety: pure functions over values; the plan is read-only once made.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/imu/series.hpp"
#include "vg/imu/trial.hpp"
#include "vg/sim/scenario.hpp"

namespace vg::sim {

inline constexpr size_t kReplayWindowSamples = 128;  // 2.56 s at 50 Hz
inline constexpr Milliseconds kReplayWindowLength{2'560};
inline constexpr Milliseconds kReplaySamplePeriod{20};
// IMU events of one wearer start at least this long after the previous one ended.
inline constexpr Milliseconds kImuEventSpacing{60'000};

using ImuSamples = std::vector<std::array<float, imu::kChannels>>;  // ax ay az (g), gx gy gz (°/s)

// A trial's windows before they are placed in time.
struct ReplayTrack {
    std::vector<ImuSamples> windows;     // consecutive, 128 samples each, the first starting at sample 0
    int trial_windows = 0;               // from the trial itself; the rest is the lying-still tail
    std::optional<Milliseconds> impact;  // fall trials: the |a| peak (near its annotation, if any), from sample 0
    Milliseconds length() const { return kReplayWindowLength * static_cast<int64_t>(windows.size()); }
};

// What BuildReplayTrack needs to know of a fall trial beyond its samples (FallReplayFactsOf gives a listed
// trial's).
struct FallReplayFacts {
    // Where the impact is looked for, in seconds from the series' first sample: WEDA-FALL's annotated fall
    // (imu::TrialInfo::annotated_fall, whose clock starts at the first sample) widened on both sides by
    // imu::LabelParams::impact_search_margin_s, as the window labels do (a knock before the fall can be the
    // trial's largest |a|); clamped to the series. nullopt: the whole series.
    std::optional<imu::TimeInterval> impact_search;
    // Whether the person stays down after the fall: the activity's after-fall class (imu::ActivitySpec::
    // after_still) is Lying. False for FallAllD's falls "with recovery" (the subject gets up again) and its
    // slide down a wall (ends sitting against it): no lying-still tail follows them.
    bool stays_down = true;
};
FallReplayFacts FallReplayFactsOf(const imu::TrialInfo& info);

// Cuts a resampled (50 Hz) series into windows as described above; `fall` finds the impact (within
// facts.impact_search) and adds the lying-still tail (`lying_still` long, whole windows, rounded up) unless
// !facts.stays_down. kValidationFailed (with why) when the series holds no whole window, its impact lies
// outside the replayed windows or in their first or last second, or a window breaks the posture API's value
// rules. REQUIRES: series.rate_hz == 50.
[[nodiscard]] Result<ReplayTrack> BuildReplayTrack(const imu::Series& series, bool fall, Milliseconds lying_still,
                                                   const FallReplayFacts& facts = {});

// Loads a listed trial, resamples it to 50 Hz and builds its track with its own facts (a fall trial by
// info.is_fall_trial): what PlanImu replays. The readers' errors, or BuildReplayTrack's.
[[nodiscard]] Result<ReplayTrack> LoadReplayTrack(const imu::TrialInfo& info, Milliseconds lying_still);

// Why the posture API would refuse this window (docs/api.md "A window"), or nullopt when it takes it.
std::optional<std::string> ReplayWindowProblem(const ImuSamples& window, bool gravity_removed);

// One trial that may be replayed.
struct ImuTrialRef {
    imu::TrialInfo info;
    ImuDataset dataset = ImuDataset::kSisFall;
    ImuPlacement placement = ImuPlacement::kWaist;
};

struct ImuCatalog {
    std::vector<ImuTrialRef> falls;
    std::vector<ImuTrialRef> adl;  // every non-fall trial
};

// kNotFound naming imu.data_dir when a data set's folder is missing; the readers' errors otherwise.
[[nodiscard]] Result<ImuCatalog> LoadImuCatalog(const ImuSpec& spec);

// One IMU event on one wearer, with its trial and windows. Times are offsets from the run's start.
struct ImuEventPlan {
    int wearer = 0;
    std::string group;
    ImuKind kind = ImuKind::kFall;
    ImuDataset dataset = ImuDataset::kSisFall;
    ImuPlacement placement = ImuPlacement::kWaist;
    bool gravity_removed = false;
    std::string subject;
    std::string activity;                // the data set's code, e.g. "F01", "D18", "clap"
    std::string activity_name;           // e.g. "stumble while walking"
    std::string file;                    // the trial's file name (in the data set's folder)
    Milliseconds onset{0};               // the first window's first sample
    std::optional<Milliseconds> impact;  // falls
    int trial_windows = 0;
    std::vector<ImuSamples> windows;  // window k ends at onset + (k + 1) · 2.56 s − 20 ms

    Milliseconds end() const { return onset + kReplayWindowLength * static_cast<int64_t>(windows.size()); }
    // measured_at of window k: its last sample.
    Milliseconds WindowEnd(size_t k) const {
        return onset + kReplayWindowLength * static_cast<int64_t>(k + 1) - kReplaySamplePeriod;
    }
};

struct ImuPlan {
    std::vector<ImuEventPlan> events;   // by wearer, then onset
    std::vector<std::string> warnings;  // events dropped (no room in the run, no fitting trial), trials skipped
};

// Places and fills the IMU events of `scenario` (which must have an imu section) on its groups' wearers,
// numbered as PlanFleet numbers them. Rate events: per wearer floor(rate × days) plus one with the
// fractional rest as probability, uniform over [2 min, duration − kMaxImuEvent]; explicit events at
// at + uniform[0, jitter). A wearer's events are then moved later where needed to keep
// kImuEventSpacing between them; those that no longer fit the run are dropped with a warning.
// kValidationFailed when no trial fits an event (e.g. an activity filter with no trial in the split).
[[nodiscard]] Result<ImuPlan> PlanImu(const Scenario& scenario, const ImuCatalog& catalog);

}  // namespace vg::sim
