#include "vg/posture/window.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vg::posture {
namespace {

std::string Number(double v, int decimals = 2) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string Index(std::string_view prefix, size_t i) {
    return std::string(prefix) + "samples[" + std::to_string(i) + "]";
}

// Collects problems up to the limit, then only counts them.
class Problems {
  public:
    Problems(std::string_view prefix, size_t limit) : prefix_(prefix), limit_(limit) {}
    void Add(std::string field, std::string problem) {
        if (list_.size() < limit_) {
            list_.push_back({std::move(field), std::move(problem)});
        } else {
            ++dropped_;
        }
    }
    bool empty() const { return list_.empty(); }
    std::vector<FieldError> Take() {
        if (dropped_ > 0) {
            list_.push_back({std::string(prefix_) + "samples",
                             "has " + std::to_string(dropped_) + " more wrong values not listed here"});
        }
        return std::move(list_);
    }

  private:
    std::string_view prefix_;
    size_t limit_;
    size_t dropped_ = 0;
    std::vector<FieldError> list_;
};

}  // namespace

size_t ExpectedSamples(double rate_hz, const WindowLimits& limits) {
    return static_cast<size_t>(std::lround(limits.duration_s * rate_hz));
}

Result<ModelWindow> ToModelWindow(const ImuWindow& in, std::string_view field_prefix, const WindowLimits& limits) {
    Problems problems(field_prefix, limits.max_errors);
    const std::string prefix(field_prefix);
    const double rate = in.sample_rate_hz;
    const bool rate_ok = std::isfinite(rate) && rate >= limits.min_rate_hz && rate <= limits.max_rate_hz;
    if (!rate_ok) {
        problems.Add(prefix + "sample_rate_hz", "must be between " + Number(limits.min_rate_hz, 0) + " and " +
                                                    Number(limits.max_rate_hz, 0) + " (samples per second)");
    }
    const size_t n = in.samples.size();
    if (n > limits.max_samples) {
        problems.Add(prefix + "samples", "must hold at most " + std::to_string(limits.max_samples) + " samples");
        return Status::Error(ErrorCode::kValidationFailed, "The IMU window is not valid.", problems.Take());
    }
    bool count_ok = n >= 2;
    if (rate_ok) {
        const size_t expected = ExpectedSamples(rate, limits);
        const size_t low = expected > limits.count_tolerance ? expected - limits.count_tolerance : 0;
        const size_t high = expected + limits.count_tolerance;
        if (n < low || n > high) {
            count_ok = false;
            problems.Add(prefix + "samples", "must hold " + std::to_string(low) + " to " + std::to_string(high) +
                                                 " samples (" + Number(limits.duration_s) + " s at " +
                                                 Number(rate, rate == std::floor(rate) ? 0 : 2) + " Hz); got " +
                                                 std::to_string(n));
        }
    } else if (n < 2) {
        problems.Add(prefix + "samples", "must hold the samples of " + Number(limits.duration_s) + " s");
    }

    // Every value, and the mean |a| over the samples that are six finite numbers.
    double magnitude_sum = 0;
    size_t well_formed = 0;
    for (size_t i = 0; i < n; ++i) {
        const std::vector<double>& s = in.samples[i];
        if (s.size() != kChannels) {
            problems.Add(Index(prefix, i),
                         "must be 6 numbers [ax, ay, az, gx, gy, gz] (g and °/s); got " + std::to_string(s.size()));
            continue;
        }
        bool finite = true;
        for (size_t c = 0; c < kChannels; ++c) {
            const std::string field = Index(prefix, i) + "[" + std::to_string(c) + "]";
            const double v = s[c];
            if (!std::isfinite(v)) {
                finite = false;
                problems.Add(field, "must be a finite number");
            } else if (c < 3 && std::fabs(v) > limits.max_abs_acc_g) {
                problems.Add(field, "must be between -" + Number(limits.max_abs_acc_g, 0) + " and " +
                                        Number(limits.max_abs_acc_g, 0) + " g (acceleration); got " + Number(v));
            } else if (c >= 3 && std::fabs(v) > limits.max_abs_gyro_dps) {
                problems.Add(field, "must be between -" + Number(limits.max_abs_gyro_dps, 0) + " and " +
                                        Number(limits.max_abs_gyro_dps, 0) + " °/s (angular velocity); got " +
                                        Number(v, 1));
            }
        }
        if (finite) {
            magnitude_sum += std::sqrt(s[0] * s[0] + s[1] * s[1] + s[2] * s[2]);
            ++well_formed;
        }
    }
    if (well_formed > 0) {
        const double mean = magnitude_sum / static_cast<double>(well_formed);
        const bool looks_like_ms2 = mean >= 6.0 && mean <= 14.0;
        const std::string field = prefix + "samples";
        const std::string shown = "mean |a| over the window is " + Number(mean) + " g";
        if (looks_like_ms2) {
            problems.Add(field, shown + ": looks like m/s²; send g (divide by 9.81)");
        } else if (!in.gravity_removed && mean < limits.min_mean_acc_g) {
            problems.Add(field, shown + "; with gravity it must be " + Number(limits.min_mean_acc_g, 1) + "–" +
                                    Number(limits.max_mean_acc_g, 0) +
                                    " g (if the watch removes gravity, send \"gravity_removed\": true)");
        } else if (mean > limits.max_mean_acc_g) {
            problems.Add(field, shown + "; it must be at most " + Number(limits.max_mean_acc_g, 0) +
                                    " g (acceleration must be in g)");
        }
    }
    if (!problems.empty() || !rate_ok || !count_ok) {
        return Status::Error(ErrorCode::kValidationFailed, "The IMU window is not valid.", problems.Take());
    }

    // Linear resampling onto 128 samples at 50 Hz ending at the last input sample. Positions in input
    // sample units: x_k = (n − 1) − (127 − k) · rate / 50. The first model samples of a window slightly
    // shorter than 2.54 s hold the first input sample.
    ModelWindow out;
    out.placement = in.placement;
    out.gravity_removed = in.gravity_removed;
    const double step = rate / kModelRateHz;
    for (size_t k = 0; k < kWindowSamples; ++k) {
        double x = static_cast<double>(n - 1) - static_cast<double>(kWindowSamples - 1 - k) * step;
        x = std::clamp(x, 0.0, static_cast<double>(n - 1));
        const size_t i0 = static_cast<size_t>(std::floor(x));
        const size_t i1 = std::min(i0 + 1, n - 1);
        const double f = x - static_cast<double>(i0);
        for (size_t c = 0; c < kChannels; ++c) {
            const double v = in.samples[i0][c] * (1.0 - f) + in.samples[i1][c] * f;
            out.values[k * kChannels + c] = static_cast<float>(v);
        }
    }
    return out;
}

WindowTiming TimingOf(TimePoint end, size_t samples, double rate_hz) {
    WindowTiming t;
    t.end = end;
    const double span_ms = samples > 0 ? static_cast<double>(samples - 1) * 1000.0 / rate_hz : 0.0;
    t.first = end - Milliseconds(std::llround(span_ms));
    t.period = Milliseconds(std::max<int64_t>(1, std::llround(1000.0 / rate_hz)));
    return t;
}

ModelWindow StitchHalves(const ModelWindow& before, const ModelWindow& after) {
    ModelWindow out;
    out.placement = after.placement;
    out.gravity_removed = after.gravity_removed;
    constexpr size_t kHalf = kWindowSamples / 2 * kChannels;
    std::copy(before.values.begin() + kHalf, before.values.end(), out.values.begin());
    std::copy(after.values.begin(), after.values.begin() + kHalf, out.values.begin() + kHalf);
    return out;
}

WindowMotion MeasureMotion(const ModelWindow& window) {
    std::array<double, kWindowSamples> mag{};
    double sum = 0;
    for (size_t t = 0; t < kWindowSamples; ++t) {
        const float* v = &window.values[t * kChannels];
        mag[t] = std::sqrt(static_cast<double>(v[0]) * v[0] + static_cast<double>(v[1]) * v[1] +
                           static_cast<double>(v[2]) * v[2]);
        sum += mag[t];
    }
    const double mean = sum / static_cast<double>(kWindowSamples);
    double var = 0;
    for (double m : mag) var += (m - mean) * (m - mean);
    var /= static_cast<double>(kWindowSamples);
    WindowMotion motion;
    motion.accel_std_g = std::sqrt(var);
    if (motion.accel_std_g < 1e-6) return motion;

    // Pearson correlation of |a| with itself shifted by each lag of 0.3–1.3 s (a step or a stride).
    const size_t min_lag = static_cast<size_t>(0.3 * kModelRateHz);
    const size_t max_lag = static_cast<size_t>(1.3 * kModelRateHz);
    double best = 0;
    for (size_t lag = min_lag; lag <= max_lag; ++lag) {
        const size_t len = kWindowSamples - lag;
        double ma = 0, mb = 0;
        for (size_t t = 0; t < len; ++t) {
            ma += mag[t];
            mb += mag[t + lag];
        }
        ma /= static_cast<double>(len);
        mb /= static_cast<double>(len);
        double cov = 0, va = 0, vb = 0;
        for (size_t t = 0; t < len; ++t) {
            const double a = mag[t] - ma;
            const double b = mag[t + lag] - mb;
            cov += a * b;
            va += a * a;
            vb += b * b;
        }
        if (va > 0 && vb > 0) best = std::max(best, cov / std::sqrt(va * vb));
    }
    motion.periodicity = best;
    return motion;
}

}  // namespace vg::posture
