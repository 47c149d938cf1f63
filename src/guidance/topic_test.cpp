#include "vg/guidance/topic.hpp"

#include <gtest/gtest.h>

#include <string>

namespace vg::guidance {
namespace {

using domain::Detection;
using domain::FiredRule;
using domain::Level;
using domain::Metric;

FiredRule Rule(std::string id, std::string kind, Metric metric, Level level) {
    FiredRule r;
    r.rule = std::move(id);
    r.kind = std::move(kind);
    r.metric = metric;
    r.level = level;
    return r;
}

Detection With(std::vector<FiredRule> fired, Level level, bool advice_only = false) {
    Detection d;
    d.level = level;
    d.fired = std::move(fired);
    d.advice_only = advice_only;
    return d;
}

TEST(TopicNames, RoundTrip) {
    for (Topic t : kAllTopics) {
        ASSERT_EQ(TopicFromName(TopicName(t)), t) << TopicName(t);
    }
    EXPECT_FALSE(TopicFromName("tachy").has_value());
    EXPECT_EQ(LanguageFromName("ko"), Language::kKo);
    EXPECT_EQ(LanguageFromName("en"), Language::kEn);
    EXPECT_FALSE(LanguageFromName("fr").has_value());
}

struct MappingCase {
    const char* rule;
    const char* kind;
    Metric metric;
    Topic expected;
};

TEST(TopicsFor, MapsEveryMetricAndDirection) {
    const MappingCase cases[] = {
        {"heart_rate.high.danger", "threshold", Metric::kHeartRate, Topic::kTachycardia},
        {"heart_rate.high.mild", "sustained", Metric::kHeartRate, Topic::kTachycardia},
        {"heart_rate.trend.rise", "trend", Metric::kHeartRate, Topic::kTachycardia},
        {"heart_rate.low.danger", "threshold", Metric::kHeartRate, Topic::kBradycardia},
        {"respiration_rate.high.moderate", "threshold", Metric::kRespirationRate, Topic::kAbnormalRespiration},
        {"respiration_rate.low.danger", "threshold", Metric::kRespirationRate, Topic::kAbnormalRespiration},
        {"spo2.low.danger", "threshold", Metric::kSpo2, Topic::kLowSpo2},
        {"spo2.trend.fall", "trend", Metric::kSpo2, Topic::kLowSpo2},
        {"skin_temp.baseline.high", "baseline", Metric::kSkinTemp, Topic::kFever},
        {"skin_temp.baseline.low", "baseline", Metric::kSkinTemp, Topic::kHypothermia},
        {"glucose.low.danger", "threshold", Metric::kGlucose, Topic::kHypoglycaemia},
        {"glucose.trend.fall", "trend", Metric::kGlucose, Topic::kHypoglycaemia},
        {"glucose.sustained.high", "sustained", Metric::kGlucose, Topic::kHyperglycaemia},
        {"glucose.high.caution", "hysteresis", Metric::kGlucose, Topic::kHyperglycaemia},
        {"heart_rate.exercise", "exercise", Metric::kHeartRate, Topic::kOverExertion},
    };
    for (const MappingCase& c : cases) {
        const Detection d = With({Rule(c.rule, c.kind, c.metric, Level::kCaution)}, Level::kCaution);
        EXPECT_EQ(TopicsFor(d), std::vector<Topic>{c.expected}) << c.rule;
    }
}

TEST(TopicsFor, NoTopicForSignalLossNormalRulesOrUndirectedRules) {
    EXPECT_TRUE(
        TopicsFor(With({Rule("signal_loss", "signal_loss", Metric::kHeartRate, Level::kCaution)}, Level::kCaution))
            .empty());
    EXPECT_TRUE(TopicsFor(With({Rule("heart_rate.high.mild", "hysteresis", Metric::kHeartRate, Level::kNormal)},
                               Level::kNormal))
                    .empty());
    EXPECT_TRUE(
        TopicsFor(With({Rule("spo2.high.odd", "threshold", Metric::kSpo2, Level::kCaution)}, Level::kCaution)).empty());
    EXPECT_TRUE(
        TopicsFor(With({Rule("steps.high", "threshold", Metric::kSteps, Level::kCaution)}, Level::kCaution)).empty());
    // "highland" is not the segment "high".
    EXPECT_TRUE(TopicsFor(With({Rule("heart_rate.highland", "threshold", Metric::kHeartRate, Level::kCaution)},
                               Level::kCaution))
                    .empty());
}

TEST(TopicsFor, AdviceOnlyTurnsHighHeartRateAndBreathingIntoOverExertion) {
    const Detection d =
        With({Rule("heart_rate.high.moderate", "threshold", Metric::kHeartRate, Level::kCaution),
              Rule("respiration_rate.high.moderate", "threshold", Metric::kRespirationRate, Level::kCaution),
              Rule("heart_rate.exercise", "exercise", Metric::kHeartRate, Level::kCaution)},
             Level::kCaution, /*advice_only=*/true);
    EXPECT_EQ(TopicsFor(d), std::vector<Topic>{Topic::kOverExertion});
    // A slow heart during exercise is still bradycardia.
    const Detection slow = With({Rule("heart_rate.low.danger", "threshold", Metric::kHeartRate, Level::kDanger)},
                                Level::kDanger, /*advice_only=*/true);
    EXPECT_EQ(TopicsFor(slow), std::vector<Topic>{Topic::kBradycardia});
}

TEST(TopicsFor, DangerFirstThenTopicOrderWithoutDuplicates) {
    const Detection d = With({Rule("glucose.high.caution", "threshold", Metric::kGlucose, Level::kCaution),
                              Rule("heart_rate.high.mild", "sustained", Metric::kHeartRate, Level::kCaution),
                              Rule("heart_rate.high.danger", "threshold", Metric::kHeartRate, Level::kDanger),
                              Rule("spo2.low.moderate", "threshold", Metric::kSpo2, Level::kCaution)},
                             Level::kDanger);
    EXPECT_EQ(TopicsFor(d), (std::vector<Topic>{Topic::kTachycardia, Topic::kLowSpo2, Topic::kHyperglycaemia}));
}

TEST(TopicsFor, FallGoesFirst) {
    const Detection d = With({Rule("spo2.low.danger", "threshold", Metric::kSpo2, Level::kDanger)}, Level::kDanger);
    EXPECT_EQ(TopicsFor(d, /*fall_detected=*/true), (std::vector<Topic>{Topic::kFall, Topic::kLowSpo2}));
    EXPECT_EQ(TopicsFor(Detection{}, /*fall_detected=*/true), std::vector<Topic>{Topic::kFall});
    EXPECT_TRUE(TopicsFor(Detection{}).empty());
}

}  // namespace
}  // namespace vg::guidance
