#pragma once
// Topics of the first-aid knowledge base, the languages it is written in, and the pure mapping from
// a detection to the topics its guidance needs (docs/guidance.md).
//
// Pure values and pure functions. Thread-safety: any thread.

#include <optional>
#include <string_view>
#include <vector>

#include "vg/domain/vitals.hpp"

namespace vg::guidance {

// One first-aid topic; each has a page per language in knowledge/<language>/<name>.md.
// The declaration order is the order of urgency used when two topics are at the same level:
// a fall first (do not get up fast), then oxygen and breathing, then the heart, then the rest.
enum class Topic : uint8_t {
    kFall = 0,
    kLowSpo2,
    kAbnormalRespiration,
    kBradycardia,
    kTachycardia,
    kHypoglycaemia,
    kHypothermia,
    kFever,
    kHyperglycaemia,
    kOverExertion,
};
inline constexpr int kTopicCount = 10;
inline constexpr Topic kAllTopics[kTopicCount] = {
    Topic::kFall,           Topic::kLowSpo2,       Topic::kAbnormalRespiration, Topic::kBradycardia,
    Topic::kTachycardia,    Topic::kHypoglycaemia, Topic::kHypothermia,         Topic::kFever,
    Topic::kHyperglycaemia, Topic::kOverExertion,
};

// Stable names used in page front matter and file names: "fall", "low_spo2", "abnormal_respiration",
// "bradycardia", "tachycardia", "hypoglycaemia", "hypothermia", "fever", "hyperglycaemia",
// "over_exertion".
std::string_view TopicName(Topic t);
std::optional<Topic> TopicFromName(std::string_view name);

enum class Language : uint8_t { kKo = 0, kEn = 1 };
inline constexpr int kLanguageCount = 2;
std::string_view LanguageName(Language l);  // "ko", "en"
std::optional<Language> LanguageFromName(std::string_view name);

// The topics whose guidance a detection needs, most urgent first, without duplicates.
//
// Each fired rule (at caution or danger; normal-level and signal-loss rules give no topic) maps by its
// metric and the direction in its rule id: a ".high"/".rise" segment is high, ".low"/".fall" is low.
//   heart_rate high -> tachycardia, low -> bradycardia; respiration_rate high or low -> abnormal
//   respiration; spo2 low -> low SpO2; skin_temp high -> fever, low -> hypothermia; glucose low ->
//   hypoglycaemia, high -> hyperglycaemia.
// Exercise context gives over-exertion instead of an emergency topic: a rule of kind "exercise", and,
// when the detection is advice_only, the high-side heart-rate and respiration rules it stands in for.
// `fall_detected` (from the posture model, or a fall the wearer reported) adds kFall, which goes first.
// Order: fall, then by the highest level at which a topic fired (danger first), then by Topic order.
std::vector<Topic> TopicsFor(const domain::Detection& detection, bool fall_detected = false);

}  // namespace vg::guidance
