#pragma once
// The API's IMU window → a validated, resampled ModelWindow (docs/api.md, "Posture and falls").
//
// A watch sends 2.56 s of 6-axis samples at its own rate (20–200 Hz), acceleration in g and angular
// velocity in °/s, with or without gravity. ToModelWindow checks every value (naming the exact field,
// e.g. "samples[12][3]", or "windows[3].samples[12][0]" with a prefix), checks the units on the whole
// window (mean |a| ≈ 1 g with gravity; ≈ 9.8 means m/s² were sent), then resamples linearly to the
// model's 128 samples at 50 Hz, aligned on the window's last sample.
//
// MeasureMotion gives the movement statistics the fall monitor needs: the std of |a| (works with or
// without gravity: a constant gravity offset changes |a|'s mean, hardly its spread) and how periodic
// |a| is (gait is periodic, a struggle on the floor is not).
//
// Thread-safety: pure functions over values.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/posture/classifier.hpp"

namespace vg::posture {

// One window as the API receives it, before any check. Each sample should be
// [ax, ay, az, gx, gy, gz]; ToModelWindow says which are not.
struct ImuWindow {
    double sample_rate_hz = 0;
    Placement placement = Placement::kWrist;
    bool gravity_removed = false;
    std::vector<std::vector<double>> samples;
};

// The documented limits; tests and the API use the defaults.
struct WindowLimits {
    double min_rate_hz = 20;
    double max_rate_hz = 200;
    double duration_s = 2.56;    // a window covers this long: round(duration_s · rate) samples …
    size_t count_tolerance = 2;  // … give or take this many
    size_t max_samples = 1024;   // checked first, so a huge list costs nothing more
    double max_abs_acc_g = 16;   // per axis: the full scale of common watch accelerometers
    double max_abs_gyro_dps = 2000;
    double min_mean_acc_g = 0.3;  // with gravity: a device at rest reads 1 g; free fall for 2.56 s does not happen
    double max_mean_acc_g = 3;    // with or without gravity
    size_t max_errors = 20;       // per window; the rest are summarised in one entry
};

// The number of samples a window at `rate_hz` should hold: round(duration_s · rate_hz).
size_t ExpectedSamples(double rate_hz, const WindowLimits& limits = {});

// Validates `in` and resamples it. kValidationFailed listing every problem (at most max_errors + 1
// entries), each field prefixed by `field_prefix` (e.g. "windows[3]."): "sample_rate_hz",
// "samples" (count, units), "samples[i]" (not 6 numbers), "samples[i][c]" (not finite, out of range).
Result<ModelWindow> ToModelWindow(const ImuWindow& in, std::string_view field_prefix = "",
                                  const WindowLimits& limits = {});

// The time span of a window that ends (its last sample) at `end`.
struct WindowTiming {
    TimePoint end;          // time of the last sample
    TimePoint first;        // time of the first sample: end − (n − 1) / rate
    Milliseconds period{};  // one sample period, rounded to ms (at least 1 ms)
};
WindowTiming TimingOf(TimePoint end, size_t samples, double rate_hz);

// The model window made of the last half of `before` and the first half of `after` (64 + 64 samples),
// for an impact on the boundary of two contiguous windows. REQUIRES: same placement and gravity.
ModelWindow StitchHalves(const ModelWindow& before, const ModelWindow& after);

struct WindowMotion {
    double accel_std_g = 0;  // standard deviation of |a| over the 128 samples
    // Largest normalised autocorrelation of |a| (mean removed) at lags 0.3–1.3 s: near 1 for a steady
    // gait, near 0 for stillness or irregular movement. 0 when |a| is constant.
    double periodicity = 0;
};
WindowMotion MeasureMotion(const ModelWindow& window);

}  // namespace vg::posture
