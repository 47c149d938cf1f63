#include "vg/models/features.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vg::models {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr std::array<domain::Metric, 4> kTracked = {domain::Metric::kHeartRate, domain::Metric::kRespirationRate,
                                                    domain::Metric::kSpo2, domain::Metric::kSkinTemp};
// The "high energy outside exercise" flag: a heart rate at or above this without exercise-level
// movement (the seed's counselling records marked exercise; here the exercise component does).
constexpr double kHighEnergyHeartRate = 100;

float F(const std::optional<double>& v) { return v && std::isfinite(*v) ? static_cast<float>(*v) : kNaN; }

}  // namespace

const std::array<std::string_view, kFeatureCount>& FeatureNames() {
    static constexpr std::array<std::string_view, kFeatureCount> kNames = {"heart_rate",
                                                                           "respiration_rate",
                                                                           "spo2",
                                                                           "skin_temp",
                                                                           "steps",
                                                                           "calories",
                                                                           "d_heart_rate",
                                                                           "d_respiration_rate",
                                                                           "d_spo2",
                                                                           "d_skin_temp",
                                                                           "slope_heart_rate",
                                                                           "slope_respiration_rate",
                                                                           "slope_spo2",
                                                                           "slope_skin_temp",
                                                                           "exercise_pca",
                                                                           "high_energy_no_exercise"};
    return kNames;
}

double ExercisePca::Project(double steps, double calories) const {
    if (!std::isfinite(steps) || !std::isfinite(calories)) return std::nan("");
    return w_steps * (steps - steps_mean) / steps_sd + w_calories * (calories - calories_mean) / calories_sd;
}

Result<ExercisePca> ExercisePca::Fit(const std::vector<std::pair<double, double>>& rows) {
    std::vector<std::pair<double, double>> xs;
    for (const auto& [s, c] : rows) {
        if (std::isfinite(s) && std::isfinite(c)) xs.emplace_back(s, c);
    }
    if (xs.size() < 10) {
        return Status::Error(ErrorCode::kValidationFailed, "Too few rows with steps and calories to fit exercise_pca.",
                             {{"steps", "needs at least 10 rows with both steps and calories"}});
    }
    ExercisePca p;
    const double n = static_cast<double>(xs.size());
    double ms = 0, mc = 0;
    for (const auto& [s, c] : xs) {
        ms += s;
        mc += c;
    }
    ms /= n;
    mc /= n;
    double vs = 0, vc = 0;
    for (const auto& [s, c] : xs) {
        vs += (s - ms) * (s - ms);
        vc += (c - mc) * (c - mc);
    }
    p.steps_mean = ms;
    p.calories_mean = mc;
    p.steps_sd = std::max(1e-6, std::sqrt(vs / n));
    p.calories_sd = std::max(1e-6, std::sqrt(vc / n));
    // First principal component of the 2x2 correlation matrix [[1, r], [r, 1]]: (1, 1)/sqrt(2) for
    // r >= 0 (movement burns energy), (1, -1)/sqrt(2) otherwise; signed so that more steps is positive.
    double r = 0;
    for (const auto& [s, c] : xs) r += (s - ms) / p.steps_sd * (c - mc) / p.calories_sd;
    r /= n;
    p.w_steps = 1 / std::sqrt(2.0);
    p.w_calories = (r >= 0 ? 1 : -1) / std::sqrt(2.0);
    std::vector<double> moving;
    for (const auto& [s, c] : xs) {
        if (s > 0) moving.push_back(p.Project(s, c));
    }
    if (!moving.empty()) {
        std::sort(moving.begin(), moving.end());
        p.exercise_threshold = moving[static_cast<size_t>(0.9 * static_cast<double>(moving.size() - 1))];
    }
    return p;
}

FeatureVector FeatureTracker::Extract(const domain::VitalsReading& reading, const ExercisePca& pca) {
    FeatureVector f;
    f.fill(kNaN);
    f[0] = F(reading.get(domain::Metric::kHeartRate));
    f[1] = F(reading.get(domain::Metric::kRespirationRate));
    f[2] = F(reading.get(domain::Metric::kSpo2));
    f[3] = F(reading.get(domain::Metric::kSkinTemp));
    f[4] = F(reading.get(domain::Metric::kSteps));
    f[5] = F(reading.get(domain::Metric::kCalories));
    const int64_t t = ToUnixMillis(reading.measured_at);

    for (size_t k = 0; k < kTracked.size(); ++k) {
        const float v = f[k];
        if (!std::isnan(v) && n_[k] >= kBaselineWarmup) f[6 + k] = static_cast<float>(v - base_[k]);
        // Slope: least squares over the remembered readings plus this one, per minute, when they span
        // at least 2 minutes.
        double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0, t_min = 1e300, t_max = -1e300;
        auto add = [&](int64_t when, float value) {
            if (std::isnan(value)) return;
            const double x = static_cast<double>(when - t) / 60000.0;
            sx += x;
            sy += value;
            sxx += x * x;
            sxy += x * value;
            n += 1;
            t_min = std::min(t_min, x);
            t_max = std::max(t_max, x);
        };
        for (int i = 0; i < history_size_; ++i)
            add(history_[static_cast<size_t>(i)].t_ms, history_[static_cast<size_t>(i)].v[k]);
        add(t, v);
        const double denom = n * sxx - sx * sx;
        if (n >= 3 && t_max - t_min >= 2 && std::abs(denom) > 1e-12) {
            f[10 + k] = static_cast<float>((n * sxy - sx * sy) / denom);
        }
    }
    const double component = pca.Project(f[4], f[5]);
    f[14] = static_cast<float>(component);
    const bool exercising = std::isfinite(component) && component >= pca.exercise_threshold;
    if (!std::isnan(f[0])) f[15] = (!exercising && f[0] >= kHighEnergyHeartRate) ? 1.0f : 0.0f;

    if (t < last_ms_) return f;  // late reading: features, but memory moves forward only
    last_ms_ = t;
    Point p;
    p.t_ms = t;
    for (size_t k = 0; k < kTracked.size(); ++k) {
        p.v[k] = f[k];
        const float v = f[k];
        if (std::isnan(v)) continue;
        // Running mean during warm-up, then a slow EWMA that ignores values far outside the usual
        // range (an episode should not become the new normal).
        ++n_[k];
        if (n_[k] <= kBaselineWarmup) {
            base_[k] += (v - base_[k]) / n_[k];
            scale_[k] += (std::abs(v - base_[k]) - scale_[k]) / n_[k];
        } else {
            const double dev = v - base_[k];
            const double limit = 3 * std::max(scale_[k], 0.5);
            const double clipped = std::clamp(dev, -limit, limit);
            base_[k] += clipped / 720.0;
            scale_[k] += (std::abs(clipped) - scale_[k]) / 720.0;
        }
    }
    history_[static_cast<size_t>(history_next_)] = p;
    history_next_ = (history_next_ + 1) % kHistory;
    history_size_ = std::min(history_size_ + 1, kHistory);
    // History older than 10 minutes says nothing about the current slope.
    for (int i = 0; i < history_size_; ++i) {
        if (t - history_[static_cast<size_t>(i)].t_ms > 10 * 60000) history_[static_cast<size_t>(i)].v.fill(kNaN);
    }
    return f;
}

}  // namespace vg::models
