// Fusion of the rules' verdict with the status and cause models (fusion.hpp): raise after `confirm`
// consecutive readings, never lower, never during exercise advice, the cause model asked only for
// caution/danger, the probabilities recorded; and the same decision from the models themselves.
#include "vg/models/fusion.hpp"

#include <gtest/gtest.h>

#include <random>

#include "vg/models/dataset.hpp"

namespace vg::models {
namespace {

using domain::Level;
using domain::Metric;

constexpr std::array<float, 3> kNormalP{0.9f, 0.07f, 0.03f};
constexpr std::array<float, 3> kCautionP{0.1f, 0.75f, 0.15f};  // P(caution) + P(danger) = 0.9
constexpr std::array<float, 3> kDangerP{0.05f, 0.1f, 0.85f};

domain::Detection Rules(Level level, bool advice_only = false) {
    domain::Detection d;
    d.level = level;
    d.advice_only = advice_only;
    if (level != Level::kNormal) {
        domain::FiredRule r;
        r.rule = level == Level::kDanger ? "spo2.low.severe" : "spo2.low.moderate";
        r.kind = "threshold";
        r.metric = Metric::kSpo2;
        r.level = level;
        r.value = 90;
        r.detail = "SpO2 90 %";
        d.fired.push_back(r);
        d.causes = {Metric::kSpo2};
        d.explanation = "Your blood oxygen is low.";
    }
    return d;
}

// A cause model's outputs that counts how often it is asked.
struct CauseStub {
    std::vector<float> p;
    int calls = 0;
    std::function<std::vector<float>()> fn() {
        return [this] {
            ++calls;
            return p;
        };
    }
};

TEST(FusionTest, RatedLevelUsesDangerThenCautionPlusDanger) {
    EXPECT_EQ(RatedLevel({0.2f, 0.0f, 0.8f}, 0.8), Level::kDanger) << "at raise_at counts";
    EXPECT_EQ(RatedLevel({0.2f, 0.4f, 0.4f}, 0.8), Level::kCaution) << "caution + danger";
    EXPECT_EQ(RatedLevel({0.3f, 0.4f, 0.3f}, 0.8), Level::kNormal);
    EXPECT_EQ(RatedLevel({0.3f, 0.4f, 0.3f}, 0.6), Level::kCaution) << "raise_at is the option";
}

TEST(FusionTest, RaisesOnlyAfterConfirmConsecutiveReadingsAndSaysSo) {
    FusionOptions options;
    options.confirm = 3;
    ModelStreak streak;
    CauseStub cause{{0.2f, 0.9f, 0.1f, 0.6f}};
    for (int i = 1; i <= 2; ++i) {
        const domain::Detection d = Fuse(Rules(Level::kNormal), kDangerP, cause.fn(), options, streak);
        EXPECT_EQ(d.level, Level::kNormal) << "reading " << i << " of 3";
        EXPECT_TRUE(d.fired.empty());
        EXPECT_TRUE(d.model_causes.empty());
        EXPECT_EQ(streak, (ModelStreak{static_cast<uint8_t>(i), Level::kDanger}));
    }
    EXPECT_EQ(cause.calls, 0) << "not asked while the raise waits for confirmation";
    const domain::Detection d = Fuse(Rules(Level::kNormal), kDangerP, cause.fn(), options, streak);
    EXPECT_EQ(d.level, Level::kDanger);
    ASSERT_EQ(d.fired.size(), 1u);
    EXPECT_EQ(d.fired[0].rule, "model.status.danger");
    EXPECT_EQ(d.fired[0].kind, "model");
    EXPECT_EQ(d.fired[0].level, Level::kDanger);
    EXPECT_EQ(d.fired[0].metric, Metric::kRespirationRate) << "the first metric the cause model blames";
    EXPECT_FLOAT_EQ(static_cast<float>(d.fired[0].value), 0.85f);
    EXPECT_EQ(d.fired[0].detail, "status model: danger with probability 85% on 3 readings");
    EXPECT_EQ(d.causes, (std::vector<Metric>{Metric::kRespirationRate, Metric::kSpo2}));
    EXPECT_EQ(d.model_causes, d.causes);
    EXPECT_EQ(d.explanation, "The status model rates this as danger (85%; respiration_rate, spo2).");
    EXPECT_EQ(cause.calls, 1);

    // A reading the model does not rate above the rules ends the streak; so does a change of level.
    ModelStreak s;
    (void)Fuse(Rules(Level::kNormal), kDangerP, {}, {}, s);
    (void)Fuse(Rules(Level::kNormal), kNormalP, {}, {}, s);
    EXPECT_EQ(s.count, 0);
    EXPECT_EQ(Fuse(Rules(Level::kNormal), kDangerP, {}, {}, s).level, Level::kNormal) << "counted afresh";
    EXPECT_EQ(Fuse(Rules(Level::kNormal), kCautionP, {}, {}, s).level, Level::kNormal) << "another level: 1";
    const domain::Detection caution = Fuse(Rules(Level::kNormal), kCautionP, {}, {}, s);
    EXPECT_EQ(caution.level, Level::kCaution);
    EXPECT_EQ(caution.fired.at(0).rule, "model.status.caution");
    EXPECT_FLOAT_EQ(static_cast<float>(caution.fired.at(0).value), 0.9f) << "P(caution) + P(danger)";
    EXPECT_EQ(caution.causes, std::vector<Metric>{Metric::kHeartRate}) << "nothing blamed: heart rate stands in";
    EXPECT_TRUE(caution.model_causes.empty()) << "no cause model";
}

TEST(FusionTest, NeverLowersWhatTheRulesDecided) {
    ModelStreak streak{1, Level::kCaution};
    CauseStub cause{{0.1f, 0.1f, 0.1f, 0.95f}};
    for (int i = 0; i < 4; ++i) {
        const domain::Detection rules = Rules(Level::kDanger);
        const domain::Detection d = Fuse(rules, kNormalP, cause.fn(), {}, streak);
        EXPECT_EQ(d.level, Level::kDanger);
        EXPECT_EQ(d.fired, rules.fired);
        EXPECT_EQ(d.causes, rules.causes);
        EXPECT_EQ(d.explanation, rules.explanation);
        EXPECT_EQ(streak.count, 0);
    }
    // Rated at the rules' own level: nothing to raise, whatever the streak.
    for (int i = 0; i < 4; ++i) {
        const domain::Detection d = Fuse(Rules(Level::kCaution), kCautionP, cause.fn(), {}, streak);
        EXPECT_EQ(d.level, Level::kCaution);
        EXPECT_EQ(d.fired.size(), 1u);
    }
    // A caution from the rules is raised to danger once the model is confirmed on it.
    (void)Fuse(Rules(Level::kCaution), kDangerP, cause.fn(), {}, streak);
    EXPECT_EQ(Fuse(Rules(Level::kCaution), kDangerP, cause.fn(), {}, streak).level, Level::kDanger);
}

TEST(FusionTest, NeverDuringExerciseAdvice) {
    ModelStreak streak;
    CauseStub cause{{0.9f, 0.1f, 0.1f, 0.1f}};
    for (int i = 0; i < 5; ++i) {
        const domain::Detection d = Fuse(Rules(Level::kCaution, true), kDangerP, cause.fn(), {}, streak);
        EXPECT_EQ(d.level, Level::kCaution);
        EXPECT_TRUE(d.advice_only);
        EXPECT_EQ(d.fired.size(), 1u);
        EXPECT_TRUE(d.model_causes.empty());
        ASSERT_TRUE(d.model_probabilities.has_value()) << "rated all the same";
        EXPECT_EQ(streak.count, 0);
    }
    EXPECT_EQ(cause.calls, 0) << "exercise advice is not an emergency to find a cause for";
}

TEST(FusionTest, CauseModelBlamedOnlyForCautionOrDanger) {
    ModelStreak streak;
    CauseStub cause{{0.9f, 0.2f, 0.5f, 0.49f}};
    const domain::Detection normal = Fuse(Rules(Level::kNormal), kNormalP, cause.fn(), {}, streak);
    EXPECT_TRUE(normal.model_causes.empty());
    EXPECT_EQ(cause.calls, 0);
    const domain::Detection caution = Fuse(Rules(Level::kCaution), kNormalP, cause.fn(), {}, streak);
    EXPECT_EQ(cause.calls, 1);
    EXPECT_EQ(caution.level, Level::kCaution);
    EXPECT_EQ(caution.model_causes, (std::vector<Metric>{Metric::kHeartRate, Metric::kSkinTemp})) << "p >= 0.5";
    EXPECT_EQ(caution.causes, std::vector<Metric>{Metric::kSpo2}) << "the rules' causes stay the rules'";
    const domain::Detection danger = Fuse(Rules(Level::kDanger), kDangerP, cause.fn(), {}, streak);
    EXPECT_EQ(cause.calls, 2);
    EXPECT_EQ(danger.model_causes.size(), 2u);
    // A cause model that failed (no probabilities) blames nothing.
    CauseStub failed{{}};
    EXPECT_TRUE(Fuse(Rules(Level::kDanger), kDangerP, failed.fn(), {}, streak).model_causes.empty());
    EXPECT_EQ(failed.calls, 1);
}

TEST(FusionTest, ProbabilitiesRecordedAndAFailedModelLeavesTheRulesAlone) {
    ModelStreak streak;
    EXPECT_EQ(Fuse(Rules(Level::kNormal), kNormalP, {}, {}, streak).model_probabilities, kNormalP);
    EXPECT_EQ(Fuse(Rules(Level::kDanger), kCautionP, {}, {}, streak).model_probabilities, kCautionP);
    EXPECT_EQ(Fuse(Rules(Level::kNormal), kDangerP, {}, {}, streak).model_probabilities, kDangerP);
    ASSERT_EQ(streak, (ModelStreak{1, Level::kDanger}));
    const domain::Detection rules = Rules(Level::kCaution);
    const domain::Detection d = Fuse(rules, std::nullopt, {}, {}, streak);
    EXPECT_FALSE(d.model_probabilities.has_value());
    EXPECT_EQ(d.level, Level::kCaution);
    EXPECT_EQ(d.fired, rules.fired);
    EXPECT_EQ(d.explanation, rules.explanation);
    EXPECT_EQ(streak, (ModelStreak{1, Level::kDanger})) << "a failed prediction neither counts nor breaks";
}

// The models themselves: a pulse of 150 at rest is danger (heart rate at fault), 68 is normal.
Dataset PulseFleet() {
    Dataset d;
    d.has_causes = true;
    std::mt19937 rng(3);
    std::normal_distribution<double> noise(0, 2);
    for (int w = 0; w < 30; ++w) {
        for (int m = 0; m < 30; ++m) {
            LabelledReading r;
            r.wearer = "w" + std::to_string(w);
            const bool sick = w % 2 == 1 && m >= 15;
            r.reading.measured_at = FromUnixMillis(1'800'000'000'000 + m * 60'000);
            r.reading.set(Metric::kHeartRate, (sick ? 150 : 68) + noise(rng));
            r.reading.set(Metric::kRespirationRate, 15);
            r.reading.set(Metric::kSpo2, 97);
            r.reading.set(Metric::kSkinTemp, 33.5);
            r.reading.set(Metric::kSteps, m % 3);
            r.reading.set(Metric::kCalories, 1.1);
            r.status = sick ? 2 : 0;
            if (sick) r.causes = {1, 0, 0, 0};
            d.rows.push_back(r);
        }
    }
    return d;
}

TEST(FusionTest, RunsTheStatusAndCauseModelsOnTheFeatures) {
    const Dataset data = PulseFleet();
    TrainSettings settings;
    settings.booster.max_rounds = 30;
    auto status = StatusModel::Train(ModelKind::kStatus, data, settings);
    auto cause = StatusModel::Train(ModelKind::kCause, data, settings);
    ASSERT_TRUE(status.ok()) << status.status().ToString();
    ASSERT_TRUE(cause.ok()) << cause.status().ToString();
    const FusionModels models{&*status, &*cause};

    domain::VitalsReading r = data.rows[0].reading;
    r.set(Metric::kHeartRate, 150);
    FeatureTracker tracker;
    ModelStreak streak;
    domain::Detection d;
    for (int i = 0; i < 2; ++i) {
        r.measured_at += std::chrono::minutes(1);
        const FeatureVector f = tracker.Extract(r, status->pca());
        d = Fuse(Rules(Level::kNormal), models, f, {}, streak);
        auto p = status->Predict(f);
        ASSERT_TRUE(p.ok());
        ASSERT_TRUE(d.model_probabilities.has_value());
        EXPECT_EQ(*d.model_probabilities, (std::array<float, 3>{(*p)[0], (*p)[1], (*p)[2]}));
    }
    EXPECT_EQ(d.level, Level::kDanger) << "raised on the second confident reading";
    EXPECT_EQ(d.model_causes, std::vector<Metric>{Metric::kHeartRate});
    EXPECT_EQ(d.fired.at(0).metric, Metric::kHeartRate);

    // Without a cause model: the same level, nothing blamed.
    ModelStreak s2;
    FeatureTracker t2;
    const FusionModels status_only{&*status, nullptr};
    domain::Detection d2;
    for (int i = 0; i < 2; ++i) d2 = Fuse(Rules(Level::kNormal), status_only, t2.Extract(r, status->pca()), {}, s2);
    EXPECT_EQ(d2.level, Level::kDanger);
    EXPECT_TRUE(d2.model_causes.empty());
}

}  // namespace
}  // namespace vg::models
