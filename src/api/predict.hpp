#pragma once
// Private to the api module: predict_model2's assessment of one reading on its own (docs/api.md,
// docs/models.md "Fusion with the rules").
//
// A single reading has no history, so the question "what do these values mean?" is answered as the
// detector would answer it for a new wearer whose watch sent these values `FeedCount(options)` times, a
// minute apart, ending at the reading's time: the rules run on a fresh state (their default confirmation
// of 2 readings is met), the features come from a fresh FeatureTracker (no personal baseline, which needs
// 30 readings; no slope, which needs 3 readings over 2 minutes, as long as confirm <= 2), and the rules'
// verdict of each of those readings goes through models::Fuse with a fresh ModelStreak. So the status
// model's `confirm` is met exactly when it rates the values above the rules on every one of them, and the
// answer is the detector's verdict on the last of them, by construction (predict_test.cpp checks it).
//
// Thread-safety: pure; the profile and the models are immutable and shared.

#include <optional>

#include "vg/domain/vitals.hpp"
#include "vg/models/fusion.hpp"
#include "vg/rules/rules.hpp"

namespace vg::api {

// How many times the reading is fed: the rules' default confirmation (2) or the model's, the larger.
int FeedCount(const models::FusionOptions& options);

// The verdict on `reading` on its own; without `models`, the rules alone.
domain::Detection AssessAlone(const rules::RuleProfile& profile, const domain::VitalsReading& reading,
                              const std::optional<models::FusionModels>& models, const models::FusionOptions& options);

}  // namespace vg::api
