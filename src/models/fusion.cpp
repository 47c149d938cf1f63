#include "vg/models/fusion.hpp"

#include <algorithm>
#include <string>

#include "vg/models/dataset.hpp"

namespace vg::models {

domain::Level RatedLevel(const std::array<float, 3>& p, double raise_at) {
    if (p[2] >= raise_at) return domain::Level::kDanger;
    if (p[1] + p[2] >= raise_at) return domain::Level::kCaution;
    return domain::Level::kNormal;
}

domain::Detection Fuse(domain::Detection d, const std::optional<std::array<float, 3>>& status,
                       const std::function<std::vector<float>()>& cause, const FusionOptions& options,
                       ModelStreak& streak) {
    if (!status) return d;
    const std::array<float, 3>& p = *status;
    d.model_probabilities = p;
    const domain::Level rated = RatedLevel(p, options.raise_at);
    auto blame = [&] {
        std::vector<domain::Metric> blamed;
        if (!cause) return blamed;
        const std::vector<float> c = cause();
        for (size_t k = 0; k < kCauseMetrics.size() && k < c.size(); ++k) {
            if (c[k] >= 0.5) blamed.push_back(kCauseMetrics[k]);
        }
        return blamed;
    };
    if (rated <= d.level || d.advice_only) {
        streak.count = 0;
        if (d.level != domain::Level::kNormal && !d.advice_only) d.model_causes = blame();
        return d;
    }
    streak.count = rated == streak.level ? static_cast<uint8_t>(std::min(255, streak.count + 1)) : 1;
    streak.level = rated;
    if (streak.count < options.confirm) return d;
    // Raised by the model: say so, with the metrics it blames.
    const std::vector<domain::Metric> blamed = blame();
    d.model_causes = blamed;
    const float prob = rated == domain::Level::kDanger ? p[2] : p[1] + p[2];
    domain::FiredRule fired;
    fired.rule = rated == domain::Level::kDanger ? "model.status.danger" : "model.status.caution";
    fired.kind = "model";
    fired.metric = blamed.empty() ? domain::Metric::kHeartRate : blamed.front();
    fired.level = rated;
    fired.value = prob;
    const int percent = static_cast<int>(prob * 100 + 0.5);
    fired.detail = "status model: " + std::string(domain::LevelName(rated)) + " with probability " +
                   std::to_string(percent) + "% on " + std::to_string(streak.count) + " readings";
    d.fired.push_back(fired);
    d.level = rated;
    d.causes = blamed.empty() ? std::vector<domain::Metric>{fired.metric} : blamed;
    std::string names;
    for (domain::Metric x : d.causes) names += (names.empty() ? "" : ", ") + std::string(domain::MetricName(x));
    d.explanation += (d.explanation.empty() ? "" : " ") + std::string("The status model rates this as ") +
                     std::string(domain::LevelName(rated)) + " (" + std::to_string(percent) + "%; " + names + ").";
    return d;
}

domain::Detection Fuse(domain::Detection rules, const FusionModels& models, const FeatureVector& features,
                       const FusionOptions& options, ModelStreak& streak) {
    std::optional<std::array<float, 3>> status;
    if (auto p = models.status->Predict(features); p.ok() && p->size() == 3)
        status = std::array<float, 3>{(*p)[0], (*p)[1], (*p)[2]};
    std::function<std::vector<float>()> cause;
    if (models.cause != nullptr) {
        cause = [&]() -> std::vector<float> {
            auto c = models.cause->Predict(features);
            return c.ok() ? std::move(c).value() : std::vector<float>{};
        };
    }
    return Fuse(std::move(rules), status, cause, options, streak);
}

}  // namespace vg::models
