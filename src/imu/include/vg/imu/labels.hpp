#pragma once
// Window labels for the posture/fall model, from the trial type plus the signal (docs/posture-data.md
// states every rule and the mapping of every activity code).
//
// Classes 0–7 are VitalGuard's postures; kOther marks activities that are none of them (clapping,
// bending, jumping, tying shoes…): negatives that must never be called a fall. kIgnore marks windows
// the rules cannot name honestly (a transition, stairs whose direction the data set does not give, the
// edge of a fall); they are left out of training and evaluation.
//
// Thread-safety: pure functions over values; the activity table is immutable.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/imu/series.hpp"
#include "vg/imu/trial.hpp"

namespace vg::imu {

enum class Label : uint8_t {
    kDownstairs = 0,
    kUpstairs = 1,
    kRunning = 2,
    kSitting = 3,
    kStanding = 4,
    kWalking = 5,
    kLying = 6,
    kFall = 7,
    kOther = 8,
    kIgnore = 255,
};
inline constexpr size_t kNumClasses = 9;  // 0..8; kIgnore is not a class
std::string_view LabelName(Label label);  // "Downstairs", …, "Other", "Ignore"

// How a trial's samples are labelled (docs/posture-data.md, "Rules").
enum class Scenario : uint8_t {
    kLocomotion,     // moving → `moving`; still → Standing
    kStairsMixed,    // up and down in one recording: moving → Ignore; still → Standing
    kChair,          // stand → sit → stand: leading/trailing still → Standing, longest inner still → Sitting
    kSeated,         // starts and stays seated: still → Sitting
    kLieDown,        // gets into and out of lying: lying by gravity (waist) or longest inner still (else)
    kLying,          // lying throughout (turning over included)
    kOtherActivity,  // none of the eight: every sample Other
    kFall,           // pre-fall `before` phase, the impact, post-fall lying
    kTransition,     // one change of posture (sit down, stand up, lie down…), see ActivitySpec
};

// Who the subject was before a fall (Scenario::kFall), or what moving means (kLocomotion), or the postures
// around a change (kTransition). Fields a scenario does not name are unused.
struct ActivitySpec {
    DatasetId dataset = DatasetId::kSisFall;
    std::string_view code;  // as in TrialInfo::activity_code
    std::string_view name;  // the data set's description
    Scenario scenario = Scenario::kOtherActivity;
    // kLocomotion and kTransition: the class of moving samples; kFall: of moving pre-fall samples.
    Label moving = Label::kIgnore;
    // kFall: the class of still pre-fall samples (Standing or Sitting); kTransition: of the still run before
    // the first moving run.
    Label still = Label::kIgnore;
    // kTransition (one change of posture): moving samples → `moving`, the still run before the first moving run
    // → `still`, the longest still run between the first and the last moving run → `inner_still`, the still run
    // after the last moving run → `after_still`, everything else Ignore; nothing is named without a moving run.
    Label inner_still = Label::kIgnore;
    // kFall: the class of still post-fall samples — Lying, or Ignore where the subject gets up again ("with
    // recovery") or ends sitting (sliding down a wall); kTransition: of the still run after the last moving run.
    Label after_still = Label::kLying;
};

// Every activity code of the five data sets.
std::span<const ActivitySpec> Activities();
const ActivitySpec* FindActivity(DatasetId dataset, std::string_view code);

// Tunables of the rules; the defaults are the documented ones.
struct LabelParams {
    double still_std_g = 0.02;      // std of |a| over 1 s below this = still
    double min_still_s = 1.0;       // shorter still runs count as moving
    double fall_before_s = 1.0;     // the descent before the impact
    double fall_after_s = 0.5;      // the impact's aftermath
    double impact_margin_s = 0.25;  // a Fall window holds the impact at least this far from its edges
    double lying_tilt_deg = 50.0;   // waist with gravity: tilt of the vertical axis above this = lying
    double min_majority = 0.8;      // a non-fall window takes the label of ≥ 80 % of its samples
    // With TrialInfo::annotated_fall, the impact is the |a| peak within the annotation widened by this on
    // both sides (WEDA-FALL: a knock before the fall can be the trial's largest |a|).
    double impact_search_margin_s = 0.5;
};

struct SampleLabels {
    std::vector<Label> labels;     // one per series sample
    std::optional<size_t> impact;  // fall trials: index of the |a| peak (within the annotation where there is one)
};

// Labels every sample of a trial's resampled series. kValidationFailed when the activity code is
// unknown or the series is shorter than one second.
Result<SampleLabels> LabelSamples(const TrialInfo& info, const Series& series, const LabelParams& params = {});

struct LabelledWindow {
    size_t start = 0;  // first sample in the series
    Label label = Label::kIgnore;
};

// Labels the windows of WindowStarts(series): Fall when the impact lies inside the window at least
// impact_margin_s from both edges; Ignore when the window otherwise touches the fall phase; else the
// label of ≥ min_majority of its samples, Ignore when there is none.
std::vector<LabelledWindow> LabelWindows(const SampleLabels& samples, const WindowSpec& spec,
                                         const LabelParams& params = {}, double rate_hz = kRateHz);

}  // namespace vg::imu
