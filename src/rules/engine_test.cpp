#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "vg/rules/rules.hpp"

namespace vg::rules {
namespace {

using domain::Detection;
using domain::Level;
using domain::Metric;
using domain::VitalsReading;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

VitalsReading At(int64_t seconds, std::initializer_list<std::pair<Metric, double>> values) {
    VitalsReading r;
    r.measured_at = FromUnixMillis(kT0 + seconds * 1000);
    for (const auto& [m, v] : values) r.set(m, v);
    return r;
}

bool Fired(const Detection& d, std::string_view rule, std::string_view kind = "") {
    return std::any_of(d.fired.begin(), d.fired.end(),
                       [&](const domain::FiredRule& f) { return f.rule == rule && (kind.empty() || f.kind == kind); });
}

const domain::FiredRule* Find(const Detection& d, std::string_view rule) {
    for (const auto& f : d.fired) {
        if (f.rule == rule) return &f;
    }
    return nullptr;
}

std::string Describe(const Detection& d) {
    std::string out = std::string(domain::LevelName(d.level)) + (d.advice_only ? " (advice)" : "") + ":";
    for (const auto& f : d.fired) out += " [" + f.rule + " " + f.kind + " " + f.detail + "]";
    return out + " — " + d.explanation;
}

std::shared_ptr<const RuleProfile> Parse(std::string_view json) {
    auto r = ParseProfile(json, "test.json");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : nullptr;
}

std::shared_ptr<const RuleProfile> Shipped(std::string_view name) {
    static ProfileRegistry* registry = [] {
        auto* r = new ProfileRegistry();
        EXPECT_TRUE(r->LoadDirectory(VG_PROFILES_DIR).ok());
        return r;
    }();
    return registry->Find(name);
}

// Every rule type on every metric, with windows as long as the byte budget allows.
constexpr std::string_view kEverythingProfile = R"({
  "name": "everything", "description": "every rule type on every metric",
  "exercise": {"id": "ex", "cadence_at_least": 100, "heart_rate_above": 120},
  "metrics": {
    "heart_rate": {"thresholds": [{"id": "hr.t1", "level": "caution", "above": 100}, {"id": "hr.t2", "level": "danger", "above": 130}],
      "trends": [{"id": "hr.up", "level": "caution", "window_s": 1800, "rise_pct": 30}, {"id": "hr.down", "level": "caution", "window_s": 1800, "fall_pct": 30}],
      "trend_bucket_s": 120,
      "sustained": [{"id": "hr.s", "level": "caution", "above": 100, "for_s": 600}],
      "baseline": {"min_scale": 5, "rules": [{"id": "hr.b", "level": "caution", "z_at_least": 3}]}},
    "respiration_rate": {"thresholds": [{"id": "rr.t", "level": "danger", "above": 25}],
      "trends": [{"id": "rr.up", "level": "caution", "window_s": 1800, "rise_pct": 30}], "trend_bucket_s": 120,
      "sustained": [{"id": "rr.s", "level": "caution", "above": 21, "for_s": 600}],
      "baseline": {"min_scale": 2, "rules": [{"id": "rr.b", "level": "caution", "z_at_least": 3}]}},
    "spo2": {"thresholds": [{"id": "sp.t", "level": "danger", "below": 90}],
      "trends": [{"id": "sp.down", "level": "caution", "window_s": 1800, "fall_pct": 5}], "trend_bucket_s": 120,
      "sustained": [{"id": "sp.s", "level": "caution", "below": 94, "for_s": 600}],
      "baseline": {"min_scale": 1, "rules": [{"id": "sp.b", "level": "caution", "z_at_most": -3}]}},
    "skin_temp": {"valid": {"min": 25, "max": 40}, "thresholds": [{"id": "st.t", "level": "caution", "above": 38}],
      "trends": [{"id": "st.up", "level": "caution", "window_s": 1800, "rise_pct": 5}], "trend_bucket_s": 120,
      "sustained": [{"id": "st.s", "level": "caution", "above": 37, "for_s": 600}],
      "baseline": {"min_scale": 0.3, "rules": [{"id": "st.b", "level": "caution", "z_at_least": 3}]}},
    "glucose": {"thresholds": [{"id": "gl.t", "level": "danger", "at_most": 50}],
      "trends": [{"id": "gl.up", "level": "caution", "window_s": 1800, "rise_pct": 30}, {"id": "gl.down", "level": "caution", "window_s": 1800, "fall_pct": 30}],
      "trend_bucket_s": 120,
      "sustained": [{"id": "gl.s", "level": "caution", "at_least": 180, "for_s": 7200}],
      "baseline": {"min_scale": 10, "rules": [{"id": "gl.b", "level": "caution", "z_at_least": 3}]}},
    "steps": {"thresholds": [{"id": "steps.t", "level": "caution", "above": 250}],
      "trends": [{"id": "steps.up", "level": "caution", "window_s": 1800, "rise_pct": 300}], "trend_bucket_s": 120,
      "sustained": [{"id": "steps.s", "level": "caution", "above": 200, "for_s": 3600}],
      "baseline": {"min_scale": 10, "rules": [{"id": "steps.b", "level": "caution", "z_at_least": 5}]}},
    "calories": {"thresholds": [{"id": "cal.t", "level": "caution", "above": 30}],
      "trends": [{"id": "cal.up", "level": "caution", "window_s": 1800, "rise_pct": 300}], "trend_bucket_s": 120,
      "sustained": [{"id": "cal.s", "level": "caution", "above": 20, "for_s": 3600}],
      "baseline": {"min_scale": 1, "rules": [{"id": "cal.b", "level": "caution", "z_at_least": 5}]}}
  }
})";

// A day of plausible readings with every metric, once a minute.
VitalsReading DayReading(int minute) {
    const double phase = std::sin(minute / 1440.0 * 2 * M_PI);
    const double wiggle = std::sin(minute * 0.7);
    const bool walking = minute % 180 < 20 && minute > 400;
    return At(minute * 60, {{Metric::kHeartRate, 68 + 6 * phase + 3 * wiggle + (walking ? 25 : 0)},
                            {Metric::kRespirationRate, 14 + wiggle},
                            {Metric::kSpo2, 97 + 0.8 * wiggle},
                            {Metric::kSkinTemp, 33 + 0.5 * phase + 0.1 * wiggle},
                            {Metric::kGlucose, 105 + 15 * phase + 5 * wiggle},
                            {Metric::kSteps, walking ? 105 : 2},
                            {Metric::kCalories, walking ? 5 : 1.2}});
}

TEST(WearerStateTest, StaysWithinOneKilobyteWithEveryMetricActive) {
    for (const auto& profile : {Shipped("adult-default"), Shipped("glucose"), Parse(kEverythingProfile)}) {
        ASSERT_NE(profile, nullptr);
        auto state = NewWearerState(*profile);
        const size_t before = WearerStateBytes(*state);
        for (int minute = 0; minute < 3 * 1440; ++minute) (void)Evaluate(*profile, *state, DayReading(minute));
        EXPECT_EQ(WearerStateBytes(*state), before) << "state must not grow with use";
        EXPECT_EQ(WearerStateBytes(*state), profile->wearer_state_bytes());
        EXPECT_LE(WearerStateBytes(*state), kMaxWearerStateBytes) << profile->name();
        RecordProperty(profile->name() + "_bytes", static_cast<int>(WearerStateBytes(*state)));
        std::printf("%s: %zu bytes per wearer\n", profile->name().c_str(), WearerStateBytes(*state));
    }
}

TEST(EvaluateTest, NormalReadingIsNormalWithoutRules) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    Detection d = Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 72}, {Metric::kSpo2, 97}}));
    EXPECT_EQ(d.level, Level::kNormal);
    EXPECT_TRUE(d.fired.empty());
    EXPECT_TRUE(d.causes.empty());
    EXPECT_FALSE(d.advice_only);
    EXPECT_EQ(d.explanation, "All vitals are normal.");
}

TEST(EvaluateTest, ConfirmationNeedsConsecutiveReadings) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    EXPECT_EQ(Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 140}})).level, Level::kNormal);  // one spike
    EXPECT_EQ(Evaluate(*p, *s, At(60, {{Metric::kHeartRate, 72}})).level, Level::kNormal);
    EXPECT_EQ(Evaluate(*p, *s, At(120, {{Metric::kHeartRate, 142}})).level, Level::kNormal);
    Detection d = Evaluate(*p, *s, At(180, {{Metric::kHeartRate, 142}}));
    EXPECT_EQ(d.level, Level::kDanger) << Describe(d);
    EXPECT_EQ(d.causes, std::vector<Metric>{Metric::kHeartRate});
    // Nested bands: only the most severe threshold of a direction is listed.
    EXPECT_TRUE(Fired(d, "heart_rate.high.danger", "threshold")) << Describe(d);
    EXPECT_FALSE(Fired(d, "heart_rate.high.moderate")) << Describe(d);
    EXPECT_EQ(d.explanation, "Heart rate 142 bpm has been at or above 131 bpm for 2 readings.");
    const auto* f = Find(d, "heart_rate.high.danger");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->value, 142);
    EXPECT_EQ(f->level, Level::kDanger);
    EXPECT_EQ(f->metric, Metric::kHeartRate);
    EXPECT_NE(f->detail.find("142 bpm >= 131 bpm for 2 consecutive readings"), std::string::npos) << f->detail;
}

TEST(EvaluateTest, ReadingsWithoutTheMetricDoNotBreakConfirmationButLongGapsDo) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    (void)Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 140}}));
    (void)Evaluate(*p, *s, At(30, {{Metric::kSpo2, 97}}));  // no heart rate: neither confirms nor resets
    EXPECT_EQ(Evaluate(*p, *s, At(60, {{Metric::kHeartRate, 140}})).level, Level::kDanger);

    auto s2 = NewWearerState(*p);
    (void)Evaluate(*p, *s2, At(0, {{Metric::kHeartRate, 140}}));
    // 10 minutes later is not "consecutive" (max_gap_s 300).
    EXPECT_EQ(Evaluate(*p, *s2, At(600, {{Metric::kHeartRate, 140}})).level, Level::kNormal);
    EXPECT_EQ(Evaluate(*p, *s2, At(660, {{Metric::kHeartRate, 140}})).level, Level::kDanger);
}

TEST(EvaluateTest, SeveralMetricsAtTheFinalLevelAreAllCausesAndTheExplanationStaysShort) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    Detection d;
    for (int t = 0; t <= 60; t += 60) {
        d = Evaluate(*p, *s,
                     At(t, {{Metric::kHeartRate, 150},
                            {Metric::kRespirationRate, 30},
                            {Metric::kSpo2, 88},
                            {Metric::kGlucose, 45}}));
    }
    EXPECT_EQ(d.level, Level::kDanger) << Describe(d);
    EXPECT_EQ(d.causes,
              (std::vector<Metric>{Metric::kHeartRate, Metric::kRespirationRate, Metric::kSpo2, Metric::kGlucose}));
    EXPECT_EQ(d.fired.size(), 4u) << Describe(d);
    EXPECT_EQ(std::count(d.explanation.begin(), d.explanation.end(), '.'), 3) << d.explanation;  // 3 sentences
}

TEST(EvaluateTest, CatastrophicValueFiresOnOneReadingWhenTheProfileSaysSo) {
    auto p = Parse(
        R"({"format_version": 1, "name": "t", "description": "one-reading rule", "metrics": {"spo2": {"thresholds": [
        {"id": "spo2.low.critical", "level": "danger", "below": 85, "confirm_readings": 1},
        {"id": "spo2.low.danger", "level": "danger", "at_most": 91}]}}})");
    auto s = NewWearerState(*p);
    Detection d = Evaluate(*p, *s, At(0, {{Metric::kSpo2, 82}}));
    EXPECT_EQ(d.level, Level::kDanger) << Describe(d);
    EXPECT_TRUE(Fired(d, "spo2.low.critical"));
    EXPECT_EQ(d.explanation, "SpO2 82% is below 85%.");
}

TEST(EvaluateTest, HysteresisHoldsTheLevelThenStepsDown) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    (void)Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 140}}));
    ASSERT_EQ(Evaluate(*p, *s, At(60, {{Metric::kHeartRate, 140}})).level, Level::kDanger);
    // A dip to normal does not clear danger; the verdict says why it is still danger.
    Detection dip = Evaluate(*p, *s, At(120, {{Metric::kHeartRate, 80}}));
    EXPECT_EQ(dip.level, Level::kDanger) << Describe(dip);
    EXPECT_TRUE(Fired(dip, "heart_rate.high.danger", "hysteresis")) << Describe(dip);
    EXPECT_EQ(dip.causes, std::vector<Metric>{Metric::kHeartRate});
    EXPECT_NE(dip.explanation.find("stays until it has been out of the danger range for 5 min"), std::string::npos)
        << dip.explanation;
    // Back in the danger band: not confirmed again (one reading), but not calm either.
    EXPECT_EQ(Evaluate(*p, *s, At(180, {{Metric::kHeartRate, 140}})).level, Level::kDanger);
    // Normal from t=240: held for 300 s and ≥ 3 readings, then straight to normal (below both levels).
    for (int t = 240; t < 540; t += 60) {
        EXPECT_EQ(Evaluate(*p, *s, At(t, {{Metric::kHeartRate, 75}})).level, Level::kDanger) << t;
    }
    Detection released = Evaluate(*p, *s, At(540, {{Metric::kHeartRate, 75}}));
    EXPECT_EQ(released.level, Level::kNormal) << Describe(released);
    EXPECT_TRUE(released.fired.empty());
}

TEST(EvaluateTest, HysteresisStepsDownThroughCaution) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    (void)Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 140}}));
    ASSERT_EQ(Evaluate(*p, *s, At(60, {{Metric::kHeartRate, 140}})).level, Level::kDanger);
    // 115 bpm keeps the moderate (caution) band firing: danger is released after the hold, to caution.
    Level last = Level::kDanger;
    int released_at = -1;
    for (int t = 120; t <= 900; t += 60) {
        last = Evaluate(*p, *s, At(t, {{Metric::kHeartRate, 115}})).level;
        if (last == Level::kCaution && released_at < 0) released_at = t;
    }
    EXPECT_EQ(released_at, 420);  // first reading below danger at 120, + 300 s
    EXPECT_EQ(last, Level::kCaution);
}

TEST(EvaluateTest, MetricsNotInTheReadingKeepTheirHeldLevelWhileFresh) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    (void)Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 140}}));
    (void)Evaluate(*p, *s, At(60, {{Metric::kHeartRate, 140}}));
    Detection other = Evaluate(*p, *s, At(90, {{Metric::kSpo2, 97}}));
    EXPECT_EQ(other.level, Level::kDanger) << Describe(other);
    EXPECT_TRUE(Fired(other, "heart_rate.high.danger", "hysteresis"));
    // Once heart rate is stale (no reading for longer than max_gap_s) it no longer decides the level.
    EXPECT_EQ(Evaluate(*p, *s, At(60 + 301, {{Metric::kSpo2, 97}})).level, Level::kNormal);
}

TEST(EvaluateTest, TrendComparesWithTheReadingAboutAWindowAgo) {
    auto p = Shipped("glucose");
    auto s = NewWearerState(*p);
    // Flat 150 for 30 min, then a fall: 100 at 35 min is -33 % against 150 at 5 min.
    for (int t = 0; t <= 1800; t += 300) (void)Evaluate(*p, *s, At(t, {{Metric::kGlucose, 150}}));
    Detection first = Evaluate(*p, *s, At(2100, {{Metric::kGlucose, 100}}));
    EXPECT_EQ(first.level, Level::kNormal) << Describe(first);  // one reading: not confirmed
    Detection second = Evaluate(*p, *s, At(2400, {{Metric::kGlucose, 98}}));
    EXPECT_EQ(second.level, Level::kCaution) << Describe(second);
    const auto* f = Find(second, "glucose.trend.fall");
    ASSERT_NE(f, nullptr) << Describe(second);
    EXPECT_NEAR(f->value, (98.0 - 150.0) / 150.0 * 100.0, 0.01);  // trends report the % change
    EXPECT_EQ(second.explanation, "Glucose fell 35% in 30 min (from 150 to 98 mg/dL).");
}

TEST(EvaluateTest, TrendWithoutAReferenceIsSilent) {
    auto p = Shipped("glucose");
    auto s = NewWearerState(*p);
    // Readings only 10 minutes apart in total: nothing to compare with 30 minutes ago.
    (void)Evaluate(*p, *s, At(0, {{Metric::kGlucose, 150}}));
    (void)Evaluate(*p, *s, At(300, {{Metric::kGlucose, 90}}));
    EXPECT_FALSE(Fired(Evaluate(*p, *s, At(600, {{Metric::kGlucose, 90}})), "glucose.trend.fall"));
}

TEST(EvaluateTest, SustainedFiresExactlyAfterItsDurationAndGapsBreakTheRun) {
    auto p = Shipped("glucose");
    auto s = NewWearerState(*p);
    for (int t = 0; t < 7200; t += 300) {
        Detection d = Evaluate(*p, *s, At(t, {{Metric::kGlucose, 185}}));
        ASSERT_FALSE(Fired(d, "glucose.sustained.high")) << t;
    }
    Detection d = Evaluate(*p, *s, At(7200, {{Metric::kGlucose, 185}}));
    EXPECT_TRUE(Fired(d, "glucose.sustained.high", "sustained")) << Describe(d);
    EXPECT_EQ(d.level, Level::kCaution);

    auto s2 = NewWearerState(*p);
    for (int t = 0; t <= 3600; t += 300) (void)Evaluate(*p, *s2, At(t, {{Metric::kGlucose, 185}}));
    // A 20-minute gap (max_gap_s 900) breaks the run: 2 h are counted again from 4800.
    for (int t = 4800; t < 4800 + 7200; t += 300) {
        ASSERT_FALSE(Fired(Evaluate(*p, *s2, At(t, {{Metric::kGlucose, 185}})), "glucose.sustained.high")) << t;
    }
    EXPECT_TRUE(Fired(Evaluate(*p, *s2, At(4800 + 7200, {{Metric::kGlucose, 185}})), "glucose.sustained.high"));
}

TEST(EvaluateTest, BaselineWaitsForWarmUpThenFlagsDeviationAndDoesNotLearnDuringTheAlert) {
    auto p = Parse(R"({"name": "b", "description": "d", "metrics": {"skin_temp": {"baseline": {
        "warmup_readings": 20, "half_life_readings": 20, "min_scale": 0.2,
        "rules": [{"id": "st.high", "level": "caution", "z_at_least": 3, "confirm_readings": 2}]}}}})");
    ASSERT_NE(p, nullptr);
    auto s = NewWearerState(*p);
    // During warm-up nothing fires, however odd the values.
    for (int i = 0; i < 20; ++i) {
        const double v = i == 5 ? 36.5 : 33.0 + 0.1 * ((i % 3) - 1);
        ASSERT_EQ(Evaluate(*p, *s, At(i * 60, {{Metric::kSkinTemp, v}})).level, Level::kNormal) << i;
    }
    // 34.5 °C is > 3 robust SD above ~33 °C: fires after 2 readings.
    (void)Evaluate(*p, *s, At(20 * 60, {{Metric::kSkinTemp, 34.5}}));
    Detection d = Evaluate(*p, *s, At(21 * 60, {{Metric::kSkinTemp, 34.5}}));
    ASSERT_EQ(d.level, Level::kCaution) << Describe(d);
    EXPECT_NE(d.explanation.find("well above your usual 33"), std::string::npos) << d.explanation;
    // With a half-life of 20 readings the baseline would adopt 34.5 within an hour, if it learned.
    // It must not: the alert stays for as long as the value does.
    for (int i = 22; i < 200; ++i) {
        ASSERT_EQ(Evaluate(*p, *s, At(i * 60, {{Metric::kSkinTemp, 34.5}})).level, Level::kCaution) << i;
    }
}

TEST(EvaluateTest, BaselineIsRobustToASpikeDuringWarmUp) {
    auto p = Parse(R"({"name": "b", "description": "d", "metrics": {"heart_rate": {"baseline": {
        "warmup_readings": 30, "min_scale": 3,
        "rules": [{"id": "hr.low", "level": "caution", "z_at_most": -3}]}}}})");
    ASSERT_NE(p, nullptr);
    auto s = NewWearerState(*p);
    for (int i = 0; i < 40; ++i) {
        const double v = i == 1 ? 200 : 60 + (i % 5) - 2;  // a 200 bpm artefact early in warm-up
        (void)Evaluate(*p, *s, At(i * 60, {{Metric::kHeartRate, v}}));
    }
    // A normal 58 bpm must not look low against a baseline dragged up by the artefact.
    (void)Evaluate(*p, *s, At(40 * 60, {{Metric::kHeartRate, 58}}));
    EXPECT_EQ(Evaluate(*p, *s, At(41 * 60, {{Metric::kHeartRate, 58}})).level, Level::kNormal);
}

TEST(EvaluateTest, ExerciseIsAdviceAndEscalatesOnlyIfHeartRateStaysHighAfterRecovery) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    Detection d;
    for (int t = 0; t <= 300; t += 60) {
        d = Evaluate(*p, *s, At(t, {{Metric::kHeartRate, 145}, {Metric::kSteps, 150}, {Metric::kRespirationRate, 28}}));
        ASSERT_NE(d.level, Level::kDanger) << t << " " << Describe(d);
    }
    EXPECT_EQ(d.level, Level::kCaution);
    EXPECT_TRUE(d.advice_only) << Describe(d);
    EXPECT_TRUE(Fired(d, "heart_rate.exercise", "exercise"));
    EXPECT_FALSE(Fired(d, "heart_rate.high.danger"));
    EXPECT_FALSE(Fired(d, "respiration_rate.high.danger"));
    EXPECT_EQ(d.causes, std::vector<Metric>{Metric::kHeartRate});
    EXPECT_NE(d.explanation.find("slow down"), std::string::npos) << d.explanation;
    EXPECT_NE(Find(d, "heart_rate.exercise")->detail.find("instead of heart_rate.high.danger"), std::string::npos);

    // Stopped (cadence 0) but heart rate stays at 140: advice for the 600 s recovery, then danger.
    int escalated_at = -1;
    for (int t = 360; t <= 1200; t += 60) {
        d = Evaluate(*p, *s, At(t, {{Metric::kHeartRate, 140}, {Metric::kSteps, 0}}));
        if (d.level == Level::kDanger && escalated_at < 0) escalated_at = t;
        if (escalated_at < 0) {
            ASSERT_TRUE(d.advice_only) << t << " " << Describe(d);
        }
    }
    EXPECT_EQ(escalated_at, 960);  // last high cadence at 300, + 600 s recovery, + 60 s
    EXPECT_TRUE(Fired(d, "heart_rate.high.danger", "threshold")) << Describe(d);
    EXPECT_FALSE(d.advice_only);
}

TEST(EvaluateTest, ExerciseDoesNotExcuseLowSpo2) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    (void)Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 140}, {Metric::kSteps, 150}, {Metric::kSpo2, 89}}));
    Detection d = Evaluate(*p, *s, At(60, {{Metric::kHeartRate, 140}, {Metric::kSteps, 150}, {Metric::kSpo2, 89}}));
    EXPECT_EQ(d.level, Level::kDanger) << Describe(d);
    EXPECT_FALSE(d.advice_only);
    EXPECT_TRUE(Fired(d, "spo2.low.danger"));
    EXPECT_TRUE(Fired(d, "heart_rate.exercise"));  // the advice is still listed, at its own level
    EXPECT_EQ(d.causes, std::vector<Metric>{Metric::kSpo2});
}

TEST(CheckSilenceTest, FiresOncePerSilenceAfterTheProfilesTime) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    const TimePoint t0 = FromUnixMillis(kT0);
    EXPECT_FALSE(CheckSilence(*p, *s, t0 + std::chrono::hours(5)).has_value()) << "no reading yet: nothing to miss";
    (void)Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 72}}));
    EXPECT_FALSE(CheckSilence(*p, *s, t0 + std::chrono::seconds(899)).has_value());
    auto d = CheckSilence(*p, *s, t0 + std::chrono::seconds(900));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->level, Level::kCaution);
    ASSERT_EQ(d->fired.size(), 1u);
    EXPECT_EQ(d->fired[0].rule, "signal_loss");
    EXPECT_EQ(d->fired[0].kind, "signal_loss");
    EXPECT_EQ(d->fired[0].value, 900);
    EXPECT_TRUE(d->causes.empty());
    EXPECT_EQ(d->explanation, "No readings for 15 min: check that the watch is worn, charged and connected.");
    EXPECT_FALSE(CheckSilence(*p, *s, t0 + std::chrono::hours(3)).has_value()) << "once per silence";
    (void)Evaluate(*p, *s, At(4 * 3600, {{Metric::kHeartRate, 72}}));
    EXPECT_TRUE(CheckSilence(*p, *s, t0 + std::chrono::hours(5)).has_value()) << "a new silence";
}

TEST(CheckSilenceTest, KeepsAHigherLevelStillHeld) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    (void)Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 140}}));
    (void)Evaluate(*p, *s, At(60, {{Metric::kHeartRate, 140}}));
    auto d = CheckSilence(*p, *s, FromUnixMillis(kT0 + 3600'000));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->level, Level::kDanger);
    EXPECT_TRUE(Fired(*d, "signal_loss"));
    EXPECT_TRUE(Fired(*d, "heart_rate.high.danger", "hysteresis"));
    EXPECT_EQ(d->causes, std::vector<Metric>{Metric::kHeartRate});
}

TEST(EvaluateTest, OutOfOrderReadingIsNotEvaluated) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    (void)Evaluate(*p, *s, At(600, {{Metric::kHeartRate, 140}}));
    // Late readings would otherwise confirm the spike.
    Detection late = Evaluate(*p, *s, At(540, {{Metric::kHeartRate, 140}}));
    EXPECT_EQ(late.level, Level::kNormal);
    EXPECT_EQ(Evaluate(*p, *s, At(660, {{Metric::kHeartRate, 72}})).level, Level::kNormal);
}

TEST(EvaluateTest, EqualTimestampsAreAccepted) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    (void)Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 140}}));
    EXPECT_EQ(Evaluate(*p, *s, At(0, {{Metric::kHeartRate, 140}})).level, Level::kDanger);
}

TEST(EvaluateTest, UnusableValuesAreIgnored) {
    auto p = Shipped("adult-default");
    auto s = NewWearerState(*p);
    // Skin temperature outside the profile's valid range (watch off the wrist) and NaN heart rates.
    for (int i = 0; i < 5; ++i) {
        Detection d = Evaluate(*p, *s, At(i * 60, {{Metric::kSkinTemp, 22}, {Metric::kHeartRate, std::nan("")}}));
        EXPECT_EQ(d.level, Level::kNormal) << Describe(d);
    }
}

TEST(EvaluateTest, AStateIsResetWhenHandedAnotherProfile) {
    auto adult = Shipped("adult-default");
    auto glucose = Shipped("glucose");
    auto s = NewWearerState(*adult);
    (void)Evaluate(*adult, *s, At(0, {{Metric::kHeartRate, 140}}));
    EXPECT_EQ(Evaluate(*glucose, *s, At(60, {{Metric::kGlucose, 45}})).level, Level::kNormal);
    EXPECT_EQ(Evaluate(*glucose, *s, At(120, {{Metric::kGlucose, 45}})).level, Level::kDanger);
    EXPECT_EQ(WearerStateBytes(*s), glucose->wearer_state_bytes());
    // And back: the heart-rate spike before the switch is forgotten.
    EXPECT_EQ(Evaluate(*adult, *s, At(180, {{Metric::kHeartRate, 140}})).level, Level::kNormal);
}

TEST(WearerStateTest, IsMovableAndAMovedFromStateStartsAfresh) {
    auto p = Shipped("adult-default");
    WearerState a(*p);
    (void)Evaluate(*p, a, At(0, {{Metric::kHeartRate, 140}}));
    WearerState b(std::move(a));
    EXPECT_EQ(Evaluate(*p, b, At(60, {{Metric::kHeartRate, 140}})).level, Level::kDanger);
    EXPECT_EQ(Evaluate(*p, a, At(60, {{Metric::kHeartRate, 140}})).level,
              Level::kNormal);  // NOLINT(bugprone-use-after-move)
    WearerState c(*Shipped("glucose"));
    c = std::move(b);
    EXPECT_EQ(Evaluate(*p, c, At(120, {{Metric::kHeartRate, 140}})).level, Level::kDanger);
}

}  // namespace
}  // namespace vg::rules
