#include "vg/guidance/topic.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace vg::guidance {

namespace {

constexpr std::array<std::string_view, kTopicCount> kTopicNames = {
    "fall",        "low_spo2", "abnormal_respiration", "bradycardia",   "tachycardia", "hypoglycaemia",
    "hypothermia", "fever",    "hyperglycaemia",       "over_exertion",
};

enum class Direction { kNone, kHigh, kLow };

// The direction named by a rule id's segments: "heart_rate.high.danger", "spo2.trend.fall",
// "skin_temp.baseline.high".
Direction DirectionOf(std::string_view rule_id) {
    size_t start = 0;
    while (start <= rule_id.size()) {
        size_t dot = rule_id.find('.', start);
        if (dot == std::string_view::npos) dot = rule_id.size();
        const std::string_view segment = rule_id.substr(start, dot - start);
        if (segment == "high" || segment == "rise") return Direction::kHigh;
        if (segment == "low" || segment == "fall") return Direction::kLow;
        start = dot + 1;
    }
    return Direction::kNone;
}

std::optional<Topic> TopicOf(const domain::FiredRule& rule, bool advice_only) {
    using domain::Metric;
    if (rule.kind == "signal_loss") return std::nullopt;
    if (rule.kind == "exercise") return Topic::kOverExertion;
    const Direction dir = DirectionOf(rule.rule);
    switch (rule.metric) {
        case Metric::kHeartRate:
            if (dir == Direction::kHigh) return advice_only ? Topic::kOverExertion : Topic::kTachycardia;
            if (dir == Direction::kLow) return Topic::kBradycardia;
            return std::nullopt;
        case Metric::kRespirationRate:
            if (dir == Direction::kHigh && advice_only) return Topic::kOverExertion;
            if (dir != Direction::kNone) return Topic::kAbnormalRespiration;
            return std::nullopt;
        case Metric::kSpo2:
            if (dir == Direction::kLow) return Topic::kLowSpo2;
            return std::nullopt;
        case Metric::kSkinTemp:
            if (dir == Direction::kHigh) return Topic::kFever;
            if (dir == Direction::kLow) return Topic::kHypothermia;
            return std::nullopt;
        case Metric::kGlucose:
            if (dir == Direction::kHigh) return Topic::kHyperglycaemia;
            if (dir == Direction::kLow) return Topic::kHypoglycaemia;
            return std::nullopt;
        case Metric::kSteps:
        case Metric::kCalories:
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace

std::string_view TopicName(Topic t) { return kTopicNames[static_cast<size_t>(t)]; }

std::optional<Topic> TopicFromName(std::string_view name) {
    for (size_t i = 0; i < kTopicNames.size(); ++i) {
        if (kTopicNames[i] == name) return static_cast<Topic>(i);
    }
    return std::nullopt;
}

std::string_view LanguageName(Language l) { return l == Language::kEn ? "en" : "ko"; }

std::optional<Language> LanguageFromName(std::string_view name) {
    if (name == "ko") return Language::kKo;
    if (name == "en") return Language::kEn;
    return std::nullopt;
}

std::vector<Topic> TopicsFor(const domain::Detection& detection, bool fall_detected) {
    // Highest level seen per topic; kNormal means "not needed".
    std::array<domain::Level, kTopicCount> level{};
    level.fill(domain::Level::kNormal);
    for (const domain::FiredRule& rule : detection.fired) {
        if (rule.level == domain::Level::kNormal) continue;
        const std::optional<Topic> topic = TopicOf(rule, detection.advice_only);
        if (!topic) continue;
        domain::Level& l = level[static_cast<size_t>(*topic)];
        l = std::max(l, rule.level);
    }
    std::vector<Topic> topics;
    for (Topic t : kAllTopics) {
        if (t != Topic::kFall && level[static_cast<size_t>(t)] != domain::Level::kNormal) topics.push_back(t);
    }
    std::stable_sort(topics.begin(), topics.end(),
                     [&](Topic a, Topic b) { return level[static_cast<size_t>(a)] > level[static_cast<size_t>(b)]; });
    if (fall_detected) topics.insert(topics.begin(), Topic::kFall);
    return topics;
}

}  // namespace vg::guidance
