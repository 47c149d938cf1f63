#pragma once
// Impact candidates: the moments of a wearer's 50 Hz IMU stream where a fall's impact may lie, the only
// moments the fall decision looks at (docs/posture-model.md, "Fall decision on the event").
//
// A candidate is a local maximum of |a| (the acceleration magnitude, g) at or above a low threshold, the
// largest |a| within ±1 s. With gravity present |a| of a wearer at rest is 1 g; where the device removed
// gravity (HIFD) it is ≈ 0 g, so each case has its own threshold. The thresholds are set low enough that
// every labelled fall impact of the training subjects is a candidate (the recall is in the model's
// manifest); everyday activity (walking ≈ 1.2–1.5 g, jogging 2–3 g every step) still makes candidates, and
// the event model (event_features.hpp, fall_event_model.hpp) decides which are falls.
//
// Thread-safety: pure functions over values.

#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include "vg/posture/classifier.hpp"

namespace vg::fall {

// Every stream is at the posture network's rate: 50 Hz, sample k at k / 50 s.
inline constexpr double kRateHz = posture::kModelRateHz;

// One sample: ax, ay, az (g), gx, gy, gz (°/s) — the layout of imu::Series and of posture::ModelWindow.
using ImuSample = std::array<float, posture::kChannels>;

// Consecutive samples of one wearer at kRateHz without gaps, oldest first. A non-owning view: the caller
// keeps the samples alive while the view is used (a per-wearer ring buffer linearised, or a whole trial).
struct SampleStream {
    std::span<const ImuSample> samples;
    posture::Placement placement = posture::Placement::kWrist;
    bool gravity_removed = false;  // the device removed gravity from the acceleration (HIFD does)
};

struct CandidateParams {
    // The least |a| of a candidate when gravity is present (at rest |a| = 1 g). The training subjects' fall
    // impacts peak at ≥ 1.63 g (SisFall waist; UMAFall waist ≥ 1.66 g; the wrist sets ≥ 2.09 g).
    double min_peak_with_gravity_g = 1.5;
    // The same where the device removed gravity (at rest |a| ≈ 0 g; HIFD's impacts peak at ≥ 2.2 g).
    double min_peak_gravity_removed_g = 1.0;
    // A candidate is the largest |a| within ± this many samples (1 s), so candidates are more than this
    // far apart and the largest of a burst of peaks (hands, then hip) stands for the burst.
    size_t suppression_radius = 50;
};

// |a| of one sample, in g.
float AccelerationMagnitude(const ImuSample& sample);

// The indices i of the candidates in `stream.samples`, ascending: |a_i| ≥ the threshold for the stream's
// gravity flag, |a_i| > |a_k| for i − r ≤ k < i and |a_i| ≥ |a_k| for i < k ≤ i + r (r the suppression
// radius; the earlier of equal peaks wins). Only i with r samples on both sides inside the stream are
// returned, so the answer for i never changes as samples are appended: a streaming caller learns of the
// candidate at i when sample i + r arrives.
std::vector<size_t> FindImpactCandidates(const SampleStream& stream, const CandidateParams& params = {});

}  // namespace vg::fall
