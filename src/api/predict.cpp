#include "predict.hpp"

#include <algorithm>
#include <chrono>

namespace vg::api {

namespace {
// adult-default's and glucose's `defaults.confirm_readings` (docs/rules.md): the rules' confirmation a
// one-off reading is given.
constexpr int kRulesConfirm = 2;
}  // namespace

int FeedCount(const models::FusionOptions& options) { return std::max(kRulesConfirm, options.confirm); }

domain::Detection AssessAlone(const rules::RuleProfile& profile, const domain::VitalsReading& reading,
                              const std::optional<models::FusionModels>& models, const models::FusionOptions& options) {
    auto state = rules::NewWearerState(profile);
    models::FeatureTracker tracker;
    models::ModelStreak streak;
    domain::Detection d;
    for (int back = FeedCount(options) - 1; back >= 0; --back) {
        domain::VitalsReading r = reading;
        r.measured_at = reading.measured_at - std::chrono::minutes(back);
        d = rules::Evaluate(profile, *state, r);
        if (models) d = models::Fuse(std::move(d), *models, tracker.Extract(r, models->status->pca()), options, streak);
    }
    return d;
}

}  // namespace vg::api
