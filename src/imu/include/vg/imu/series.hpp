#pragma once
// One rate and one unit system for every data set, and fixed-length windows over it.
//
// Resample puts a trial on a uniform grid (50 Hz by default) by linear interpolation on the trial's
// own timestamps: SisFall (already 50 Hz) is unchanged, HIFD (~50 Hz, jittery device clock) is
// regularised, UMAFall (~20 Hz per sensor) is UPSAMPLED — interpolation adds no information above
// its ~10 Hz Nyquist limit, which the model must be evaluated with in mind.
//
// Thread-safety: pure functions over values.

#include <cstddef>
#include <vector>

#include "vg/common/status.hpp"
#include "vg/imu/trial.hpp"

namespace vg::imu {

inline constexpr double kRateHz = 50.0;

// A trial on a uniform grid: samples[i] is at time i / rate_hz.
struct Series {
    double rate_hz = kRateHz;
    bool gravity_removed = false;
    std::vector<std::array<float, kChannels>> samples;
};

// REQUIRES: rate_hz > 0. kValidationFailed when the trial has fewer than 2 samples or its time goes
// backwards. Repeated timestamps keep the last sample; gaps are bridged linearly.
Result<Series> Resample(const Trial& trial, double rate_hz = kRateHz);

// 128 samples = 2.56 s at 50 Hz with 50 % overlap (docs/posture-data.md explains the choice).
struct WindowSpec {
    size_t length = 128;
    size_t stride = 64;
};

// Start indices of the complete windows over `n` samples: 0, stride, 2·stride, … while start+length ≤ n.
// REQUIRES: spec.length > 0 and spec.stride > 0.
std::vector<size_t> WindowStarts(size_t n, const WindowSpec& spec);

// The window's values, time-major: out[t * kChannels + c]. REQUIRES: start + spec.length ≤ samples.
std::vector<float> WindowValues(const Series& series, size_t start, const WindowSpec& spec);

}  // namespace vg::imu
