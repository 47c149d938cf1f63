#pragma once
// The features of one impact candidate (impact_candidates.hpp): what the fall event model decides on.
// Training (fall/training) and serving call this one function, so the server sees what training saw.
//
// An event at sample i reads the samples [i − kSamplesBefore, i + kSamplesAfter] (1.5 s before, 3.5 s
// after) and nothing else: no feature knows where i lies in a recording or how long it is. The span is short
// because the data sets are: UMAFall's falls lie as little as 1.7 s into their files, and 5 % of WEDA-FALL's recordings
// end 2.4–4 s after the impact. Events without the whole span are not scored (no padding: replicated edge samples are
// perfectly still, and would tell the model where a file starts or ends). A server must therefore keep kSamplesBefore +
// kSamplesAfter + 1 samples per wearer and decide kSamplesAfter samples (3.5 s) after an impact.
//
// Features (EventFeatureNames(), in this order; NaN = missing, which the trees handle):
//   context  placement_waist, gravity_removed                                         (0 or 1)
//   impact   peak_acc_g                 |a| at the impact
//            freefall_min_acc_g         least |a| in the 1 s before            (NaN when gravity is removed)
//            freefall_s                 longest run of |a| < 0.6 g in that 1 s (NaN when gravity is removed)
//            vertical_velocity_m_s      the lowest velocity along gravity (the mean acceleration 1.5–0.5 s
//                                       before) reached in that 1 s, m/s, negative = down (NaN without gravity)
//            impact_jerk_g_per_s        largest |Δa|·rate within ±0.5 s of the impact
//            impact_acc_std_g           std of |a| within ±0.5 s
//            impact_gyro_max_dps        largest |ω| within ±0.5 s
//            peaks_before, peaks_after  local maxima of |a| rising at least half as far above rest (1 g, or 0 g
//                                       without gravity; at least 0.2 g) as the impact, in the span before and
//                                       after it outside its ±0.25 s: repeated blows (clapping) against one
//            pre_acc_std_g              std of |a| from 1.5 s to 0.5 s before
//            pre_gyro_rms_dps           RMS of |ω| over the same second
//            orientation_change_deg     angle between the mean acceleration 1.5–0.5 s before and 1.5–3.5 s
//                                       after: the device's turn against gravity (NaN without gravity)
//            post_acc_std_g             std of |a| from 1 s to 3.5 s after (stillness)
//            post_acc_std_late_g        std of |a| from 2 s to 3.5 s after (stillness once settled)
//            post_gyro_rms_dps          RMS of |ω| from 1 s to 3.5 s after
//            post_acc_max_g             largest |a| from 1 s to 3.5 s after (steps or hops go on)
//            post_periodicity           posture::MeasureMotion periodicity of the 2.56 s ending 3.5 s after
//   network  (the posture network through posture::PostureClassifier, on the windows of kEventWindowOffsets)
//            net_fall_max, net_fall_mean            Fall over the three windows holding the impact
//            net_locomotion_impact, net_other_impact Walking+Running+stairs, Other: mean over those windows
//            net_fall_after, net_lying_after, net_upright_after (Standing+Sitting), net_locomotion_after,
//            net_other_after                        the window from 0.96 s to 3.5 s after the impact
// No lying angle against a device axis: the upright axis differs between devices (SisFall y, UMAFall x, a
// wrist has none), so such a feature would learn the data set; the network's Lying stands for it.
//
// Thread-safety: pure functions; ComputeEventFeatures calls classifier.Classify, which implementations allow
// concurrently.

#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/fall/impact_candidates.hpp"
#include "vg/posture/classifier.hpp"

namespace vg::fall {

inline constexpr size_t kSamplesBefore = 75;  // 1.5 s at 50 Hz
inline constexpr size_t kSamplesAfter = 175;  // 3.5 s: the serving side decides this long after an impact
inline constexpr size_t kNumEventFeatures = 28;
using EventFeatures = std::array<float, kNumEventFeatures>;

// What a feature is made of, for the ablation of docs/posture-model.md.
enum class FeatureGroup { kContext, kImpact, kNetwork };

// The names, in feature order (the manifest's "features" must equal them).
std::span<const std::string_view, kNumEventFeatures> EventFeatureNames();
FeatureGroup FeatureGroupOf(size_t feature);

// True when an event at `impact` has its whole span inside a stream of `samples` samples.
bool HasEventContext(size_t samples, size_t impact);

// The network's windows of an event, as offsets of their first sample from the impact: three windows that
// hold the impact 1.28, 0.96 and 0.64 s from their start, then one ending at the span's end.
inline constexpr std::array<int, 4> kEventWindowOffsets = {
    -64, -48, -32, static_cast<int>(kSamplesAfter) + 1 - static_cast<int>(posture::kWindowSamples)};

// The features of the events at `impacts` (indices into stream.samples), one per impact, in order. The
// network's windows of all events go to `classifier` in one Classify call. kValidationFailed when an impact
// lacks its span (HasEventContext); the classifier's Status when it fails.
Result<std::vector<EventFeatures>> ComputeEventFeatures(const SampleStream& stream, std::span<const size_t> impacts,
                                                        const posture::PostureClassifier& classifier);

}  // namespace vg::fall
