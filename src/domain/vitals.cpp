#include "vg/domain/vitals.hpp"

#include <cmath>

namespace vg::domain {
namespace {

constexpr std::array<std::string_view, kMetricCount> kNames = {
    "heart_rate", "respiration_rate", "spo2", "skin_temp", "glucose", "steps", "calories"};

}  // namespace

std::string_view MetricName(Metric m) { return kNames[static_cast<size_t>(m)]; }

std::optional<Metric> MetricFromName(std::string_view name) {
    for (size_t i = 0; i < kNames.size(); ++i) {
        if (kNames[i] == name) return static_cast<Metric>(i);
    }
    return std::nullopt;
}

std::string_view LevelName(Level l) {
    switch (l) {
        case Level::kNormal:
            return "normal";
        case Level::kCaution:
            return "caution";
        case Level::kDanger:
            return "danger";
    }
    return "normal";
}

PlausibleRange PlausibleRangeOf(Metric m) {
    switch (m) {
        case Metric::kHeartRate:
            return {20, 300, "beats/min"};
        case Metric::kRespirationRate:
            return {2, 80, "breaths/min"};
        case Metric::kSpo2:
            return {50, 100, "%"};
        case Metric::kSkinTemp:
            return {20, 45, "°C"};
        case Metric::kGlucose:
            return {10, 1000, "mg/dL"};
        case Metric::kSteps:
            return {0, 400, "steps/min"};
        case Metric::kCalories:
            return {0, 60, "kcal/min"};
    }
    return {0, 0, ""};
}

std::vector<FieldError> ValidateReading(const VitalsReading& reading, std::string_view prefix) {
    std::vector<FieldError> errors;
    bool has_vital = false;
    for (int i = 0; i < kMetricCount; ++i) {
        const Metric m = static_cast<Metric>(i);
        const auto v = reading.get(m);
        if (!v) continue;
        if (m != Metric::kSteps && m != Metric::kCalories) has_vital = true;
        const PlausibleRange r = PlausibleRangeOf(m);
        if (!std::isfinite(*v) || *v < r.min || *v > r.max) {
            char buf[160];
            std::snprintf(buf, sizeof(buf), "must be between %g and %g %.*s", r.min, r.max,
                          static_cast<int>(r.unit.size()), r.unit.data());
            std::string problem = buf;
            if (m == Metric::kSkinTemp && std::isfinite(*v) && *v >= 68 && *v <= 113) {
                problem += " (this looks like °F; send °C)";
            }
            if (m == Metric::kSpo2 && std::isfinite(*v) && *v > 0 && *v <= 1) {
                problem += " (this looks like a fraction; send percent)";
            }
            if (m == Metric::kGlucose && std::isfinite(*v) && *v > 1 && *v < 10) {
                problem += " (this looks like mmol/L; send mg/dL)";
            }
            errors.push_back({std::string(prefix) + std::string(MetricName(m)), std::move(problem)});
        }
    }
    if (!has_vital && errors.empty()) {
        errors.push_back({std::string(prefix) + "heart_rate",
                          "at least one of heart_rate, respiration_rate, spo2, skin_temp, glucose is required"});
    }
    return errors;
}

}  // namespace vg::domain
