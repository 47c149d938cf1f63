#include "vg/fall/event_features.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <string>

#include "vg/posture/window.hpp"

namespace vg::fall {
namespace {

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();
constexpr double kFreeFallBelowG = 0.6;

constexpr std::array<std::string_view, kNumEventFeatures> kNames = {
    // context
    "placement_waist", "gravity_removed",
    // impact
    "peak_acc_g", "freefall_min_acc_g", "freefall_s", "vertical_velocity_m_s", "impact_jerk_g_per_s",
    "impact_acc_std_g", "impact_gyro_max_dps", "peaks_before", "peaks_after", "pre_acc_std_g", "pre_gyro_rms_dps",
    "orientation_change_deg", "post_acc_std_g", "post_acc_std_late_g", "post_gyro_rms_dps", "post_acc_max_g",
    "post_periodicity",
    // network
    "net_fall_max", "net_fall_mean", "net_locomotion_impact", "net_other_impact", "net_fall_after", "net_lying_after",
    "net_upright_after", "net_locomotion_after", "net_other_after"};
constexpr size_t kFirstImpactFeature = 2;
constexpr size_t kFirstNetworkFeature = 19;

constexpr size_t kImpactWindows = 3;  // the first three of kEventWindowOffsets hold the impact

// Sample offsets from the impact, [begin, end).
struct Span {
    int begin;
    int end;
};
constexpr Span kFreeFall{-50, 0};             // the 1 s before the impact
constexpr Span kImpact{-25, 26};              // ±0.5 s
constexpr Span kPre{-75, -25};                // 1.5 s to 0.5 s before
constexpr Span kPost{50, kSamplesAfter + 1};  // 1 s to 3.5 s after
constexpr Span kPostLate{100, kSamplesAfter + 1};
constexpr Span kOrientationAfter{75, kSamplesAfter + 1};                  // 1.5 s to 3.5 s after
constexpr Span kPeaksBefore{-static_cast<int>(kSamplesBefore) + 1, -12};  // the span before, but the impact's ±0.25 s
constexpr Span kPeaksAfter{13, kSamplesAfter};
constexpr double kStandardGravity = 9.80665;  // m/s² per g

static_assert(kSamplesBefore >= 75 && kEventWindowOffsets[0] >= -static_cast<int>(kSamplesBefore));
static_assert(kEventWindowOffsets[3] + static_cast<int>(posture::kWindowSamples) - 1 ==
              static_cast<int>(kSamplesAfter));

// Reads the samples of one event by offset from its impact.
class EventView {
  public:
    EventView(std::span<const ImuSample> samples, size_t impact) : samples_(samples), impact_(impact) {}

    const ImuSample& At(int offset) const {
        return samples_[static_cast<size_t>(static_cast<std::ptrdiff_t>(impact_) + offset)];
    }
    double Magnitude(int offset) const { return AccelerationMagnitude(At(offset)); }
    double GyroMagnitude(int offset) const {
        const ImuSample& s = At(offset);
        return std::sqrt(static_cast<double>(s[3]) * s[3] + static_cast<double>(s[4]) * s[4] +
                         static_cast<double>(s[5]) * s[5]);
    }

    double MagnitudeStd(Span span) const {
        double sum = 0, sum_sq = 0;
        for (int k = span.begin; k < span.end; ++k) {
            const double m = Magnitude(k);
            sum += m;
            sum_sq += m * m;
        }
        const double n = span.end - span.begin;
        return std::sqrt(std::max(0.0, sum_sq / n - (sum / n) * (sum / n)));
    }
    double MagnitudeMax(Span span) const {
        double best = 0;
        for (int k = span.begin; k < span.end; ++k) best = std::max(best, Magnitude(k));
        return best;
    }
    double GyroMax(Span span) const {
        double best = 0;
        for (int k = span.begin; k < span.end; ++k) best = std::max(best, GyroMagnitude(k));
        return best;
    }
    // Local maxima of |a| (above both neighbours) in `span` that rise above `baseline` by at least `rise`.
    int Peaks(Span span, double baseline, double rise) const {
        int peaks = 0;
        for (int k = span.begin; k < span.end; ++k) {
            const double m = Magnitude(k);
            if (m - baseline >= rise && m > Magnitude(k - 1) && m >= Magnitude(k + 1)) ++peaks;
        }
        return peaks;
    }
    double GyroRms(Span span) const {
        double sum_sq = 0;
        for (int k = span.begin; k < span.end; ++k) sum_sq += GyroMagnitude(k) * GyroMagnitude(k);
        return std::sqrt(sum_sq / (span.end - span.begin));
    }
    std::array<double, 3> MeanAcceleration(Span span) const {
        std::array<double, 3> mean{};
        for (int k = span.begin; k < span.end; ++k) {
            for (size_t c = 0; c < 3; ++c) mean[c] += At(k)[c];
        }
        for (double& v : mean) v /= span.end - span.begin;
        return mean;
    }
    posture::ModelWindow Window(int first_offset, const SampleStream& stream) const {
        posture::ModelWindow w;
        w.placement = stream.placement;
        w.gravity_removed = stream.gravity_removed;
        for (size_t t = 0; t < posture::kWindowSamples; ++t) {
            const ImuSample& s = At(first_offset + static_cast<int>(t));
            std::copy(s.begin(), s.end(), w.values.begin() + static_cast<std::ptrdiff_t>(t * posture::kChannels));
        }
        return w;
    }

  private:
    std::span<const ImuSample> samples_;
    size_t impact_;
};

double AngleDeg(const std::array<double, 3>& a, const std::array<double, 3>& b) {
    const double na = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    const double nb = std::sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
    if (na < 1e-6 || nb < 1e-6) return std::numeric_limits<double>::quiet_NaN();
    const double cosine = std::clamp((a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (na * nb), -1.0, 1.0);
    return std::acos(cosine) * 180.0 / M_PI;
}

float Sum(const posture::PosturePrediction& p, std::initializer_list<posture::Posture> classes) {
    float s = 0;
    for (posture::Posture c : classes) s += p.probabilities[static_cast<size_t>(c)];
    return s;
}
float Locomotion(const posture::PosturePrediction& p) {
    using posture::Posture;
    return Sum(p, {Posture::kWalking, Posture::kRunning, Posture::kUpstairs, Posture::kDownstairs});
}
float Upright(const posture::PosturePrediction& p) {
    return Sum(p, {posture::Posture::kStanding, posture::Posture::kSitting});
}
float Other(const posture::PosturePrediction& p) { return p.probabilities[posture::kOtherClass]; }

// Everything but the network's features.
void SignalFeatures(const SampleStream& stream, const EventView& e, EventFeatures& f) {
    const bool gravity = !stream.gravity_removed;
    size_t i = 0;
    f[i++] = stream.placement == posture::Placement::kWaist ? 1.0F : 0.0F;
    f[i++] = stream.gravity_removed ? 1.0F : 0.0F;
    f[i++] = static_cast<float>(e.Magnitude(0));
    if (gravity) {
        double least = std::numeric_limits<double>::infinity();
        int run = 0, longest = 0;
        for (int k = kFreeFall.begin; k < kFreeFall.end; ++k) {
            const double m = e.Magnitude(k);
            least = std::min(least, m);
            run = m < kFreeFallBelowG ? run + 1 : 0;
            longest = std::max(longest, run);
        }
        f[i++] = static_cast<float>(least);
        f[i++] = static_cast<float>(longest / kRateHz);
        // Velocity along gravity (taken as the mean acceleration of the pre-impact second), integrated over the
        // second before the impact: a fall gathers ≈ 1–3 m/s downwards, a clap or a wave almost none.
        const std::array<double, 3> up = e.MeanAcceleration(kPre);
        const double norm = std::sqrt(up[0] * up[0] + up[1] * up[1] + up[2] * up[2]);
        double velocity = 0, lowest = 0;
        if (norm > 1e-6) {
            for (int k = kFreeFall.begin; k < kFreeFall.end; ++k) {
                const ImuSample& s = e.At(k);
                const double along = (s[0] * up[0] + s[1] * up[1] + s[2] * up[2]) / norm;
                velocity += (along - norm) * kStandardGravity / kRateHz;
                lowest = std::min(lowest, velocity);
            }
            f[i++] = static_cast<float>(lowest);
        } else {
            f[i++] = kMissing;
        }
    } else {
        f[i++] = kMissing;
        f[i++] = kMissing;
        f[i++] = kMissing;
    }
    double jerk = 0;
    for (int k = kImpact.begin; k + 1 < kImpact.end; ++k) {
        double d2 = 0;
        for (size_t c = 0; c < 3; ++c) {
            const double d = static_cast<double>(e.At(k + 1)[c]) - e.At(k)[c];
            d2 += d * d;
        }
        jerk = std::max(jerk, std::sqrt(d2) * kRateHz);
    }
    f[i++] = static_cast<float>(jerk);
    f[i++] = static_cast<float>(e.MagnitudeStd(kImpact));
    f[i++] = static_cast<float>(e.GyroMax(kImpact));
    // Repeated blows (clapping, beating a table) against one: peaks that rise at least half as high as this one.
    const double baseline = gravity ? 1.0 : 0.0;
    const double rise = std::max(0.2, 0.5 * (e.Magnitude(0) - baseline));
    f[i++] = static_cast<float>(e.Peaks(kPeaksBefore, baseline, rise));
    f[i++] = static_cast<float>(e.Peaks(kPeaksAfter, baseline, rise));
    f[i++] = static_cast<float>(e.MagnitudeStd(kPre));
    f[i++] = static_cast<float>(e.GyroRms(kPre));
    f[i++] = gravity ? static_cast<float>(AngleDeg(e.MeanAcceleration(kPre), e.MeanAcceleration(kOrientationAfter)))
                     : kMissing;
    f[i++] = static_cast<float>(e.MagnitudeStd(kPost));
    f[i++] = static_cast<float>(e.MagnitudeStd(kPostLate));
    f[i++] = static_cast<float>(e.GyroRms(kPost));
    f[i++] = static_cast<float>(e.MagnitudeMax(kPost));
    f[i++] = static_cast<float>(posture::MeasureMotion(e.Window(kEventWindowOffsets[3], stream)).periodicity);
    assert(i == kFirstNetworkFeature);
}

// The network's features from the predictions of the event's kEventWindowOffsets windows, in that order.
void NetworkFeatures(std::span<const posture::PosturePrediction> p, EventFeatures& f) {
    size_t i = kFirstNetworkFeature;
    float fall_max = 0, fall_sum = 0, locomotion_sum = 0, other_sum = 0;
    for (size_t w = 0; w < kImpactWindows; ++w) {
        fall_max = std::max(fall_max, p[w].fall_probability());
        fall_sum += p[w].fall_probability();
        locomotion_sum += Locomotion(p[w]);
        other_sum += Other(p[w]);
    }
    const float n = static_cast<float>(kImpactWindows);
    f[i++] = fall_max;
    f[i++] = fall_sum / n;
    f[i++] = locomotion_sum / n;
    f[i++] = other_sum / n;
    const posture::PosturePrediction& after = p[kImpactWindows];
    f[i++] = after.fall_probability();
    f[i++] = after.probabilities[static_cast<size_t>(posture::Posture::kLying)];
    f[i++] = Upright(after);
    f[i++] = Locomotion(after);
    f[i++] = Other(after);
}

}  // namespace

std::span<const std::string_view, kNumEventFeatures> EventFeatureNames() { return kNames; }

FeatureGroup FeatureGroupOf(size_t feature) {
    if (feature < kFirstImpactFeature) return FeatureGroup::kContext;
    return feature < kFirstNetworkFeature ? FeatureGroup::kImpact : FeatureGroup::kNetwork;
}

bool HasEventContext(size_t samples, size_t impact) {
    return impact >= kSamplesBefore && impact + kSamplesAfter < samples;
}

Result<std::vector<EventFeatures>> ComputeEventFeatures(const SampleStream& stream, std::span<const size_t> impacts,
                                                        const posture::PostureClassifier& classifier) {
    std::vector<posture::ModelWindow> windows;
    windows.reserve(impacts.size() * kEventWindowOffsets.size());
    std::vector<EventFeatures> out(impacts.size());
    for (size_t e = 0; e < impacts.size(); ++e) {
        if (!HasEventContext(stream.samples.size(), impacts[e])) {
            return Status::Error(
                ErrorCode::kValidationFailed,
                "an event needs " + std::to_string(kSamplesBefore) + " samples before its impact and " +
                    std::to_string(kSamplesAfter) + " after",
                {{"impacts[" + std::to_string(e) + "]", std::to_string(impacts[e]) + " in a stream of " +
                                                            std::to_string(stream.samples.size()) + " samples"}});
        }
        const EventView view(stream.samples, impacts[e]);
        SignalFeatures(stream, view, out[e]);
        for (int offset : kEventWindowOffsets) windows.push_back(view.Window(offset, stream));
    }
    if (impacts.empty()) return out;
    auto predictions = classifier.Classify(windows);
    if (!predictions.ok()) return predictions.status();
    if (predictions->size() != windows.size()) {
        return Status::Error(ErrorCode::kInternal, "the posture classifier returned " +
                                                       std::to_string(predictions->size()) + " predictions for " +
                                                       std::to_string(windows.size()) + " windows");
    }
    for (size_t e = 0; e < impacts.size(); ++e) {
        NetworkFeatures(std::span(*predictions).subspan(e * kEventWindowOffsets.size(), kEventWindowOffsets.size()),
                        out[e]);
    }
    return out;
}

}  // namespace vg::fall
