#include "vg/sim/scenario.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iterator>

namespace vg::sim {
namespace {

using ::testing::Test;

std::vector<std::string> Fields(const Status& s) {
    std::vector<std::string> out;
    for (const FieldError& f : s.fields()) out.push_back(f.field);
    return out;
}

bool HasField(const Status& s, const std::string& field) {
    auto f = Fields(s);
    return std::find(f.begin(), f.end(), field) != f.end();
}

std::string ProblemOf(const Status& s, const std::string& field) {
    for (const FieldError& f : s.fields()) {
        if (f.field == field) return f.problem;
    }
    return "";
}

constexpr const char* kMinimal = R"({
  "name": "mini",
  "duration": "2h",
  "groups": [{"name": "clean", "watches": 3}]
})";

TEST(ScenarioTest, MinimalScenarioGetsDefaults) {
    auto s = ParseScenario(kMinimal, "mini.json");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->name, "mini");
    EXPECT_EQ(s->source, "mini.json");
    EXPECT_EQ(s->duration, Milliseconds(2 * 3'600'000));
    EXPECT_EQ(s->interval, Milliseconds(60'000));
    EXPECT_EQ(s->seed, 1u);
    EXPECT_EQ(s->utc_offset_minutes, 540);
    EXPECT_EQ(s->watches(), 3);
    ASSERT_EQ(s->groups.size(), 1u);
    EXPECT_EQ(s->groups[0].profile, "adult-default");
    EXPECT_FALSE(s->groups[0].glucose);
}

TEST(ScenarioTest, EventsTakeTypeDefaultsAndOverrides) {
    auto s = ParseScenario(R"({
      "name": "ev", "duration": "24h", "interval": "30s", "seed": 7, "utc_offset": "-05:30", "grace": "5m",
      "start_time": "21:30",
      "dropouts": {"reading": 0.02, "metric": 0},
      "groups": [
        {"name": "cardiac", "watches": 4, "age": [70, 80], "events": [
          {"type": "tachycardia", "at": "25%", "jitter": "2h", "target": 160, "spread": 10, "wearers": 2},
          {"type": "bradycardia", "at": "12h", "knowable": [{"below": 45, "for": "2m"}, {"below": 38}]},
          {"type": "sensor_spike", "at": "1h", "metric": "spo2"},
          {"type": "exercise", "at": "6h", "cadence": 140, "duration": "20m", "ramp": "2m", "recovery": "4m"}
        ]},
        {"name": "diabetic", "watches": 2, "profile": "glucose", "glucose": true, "events": [
          {"type": "glucose_fast_drop", "at": "3h", "knowable": {"drop_pct": 25, "within": "20m"}}
        ]}
      ]})",
                           "ev.json");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->seed, 7u);
    EXPECT_EQ(s->interval, Milliseconds(30'000));
    EXPECT_EQ(s->utc_offset_minutes, -330);
    EXPECT_EQ(s->grace, Milliseconds(300'000));
    EXPECT_EQ(s->start_time_of_day, Milliseconds((21 * 60 + 30) * 60'000));
    EXPECT_DOUBLE_EQ(s->dropouts.reading, 0.02);
    EXPECT_DOUBLE_EQ(s->dropouts.metric, 0);
    const GroupSpec& g = s->groups[0];
    EXPECT_EQ(g.age_min, 70);
    ASSERT_EQ(g.events.size(), 4u);

    const EventSpec& tachy = g.events[0];
    EXPECT_EQ(tachy.type, EventType::kTachycardia);
    ASSERT_TRUE(tachy.at.fraction.has_value());
    EXPECT_DOUBLE_EQ(*tachy.at.fraction, 0.25);
    EXPECT_EQ(tachy.at.Resolve(Milliseconds(24 * 3'600'000)), Milliseconds(6 * 3'600'000));
    EXPECT_EQ(tachy.jitter.absolute, Milliseconds(2 * 3'600'000));
    EXPECT_EQ(tachy.target, 160);
    EXPECT_EQ(tachy.spread, 10);
    EXPECT_EQ(tachy.wearers, 2);
    EXPECT_EQ(tachy.metric, domain::Metric::kHeartRate);
    EXPECT_EQ(tachy.knowable, DefaultEventSpec(EventType::kTachycardia).knowable);

    const EventSpec& brady = g.events[1];
    ASSERT_EQ(brady.knowable.size(), 2u);
    EXPECT_EQ(brady.knowable[0].kind, KnowableCriterion::Kind::kBelow);
    EXPECT_EQ(brady.knowable[0].value, 45);
    EXPECT_EQ(brady.knowable[0].hold, Milliseconds(120'000));
    EXPECT_EQ(brady.wearers, -1);

    const EventSpec& spike = g.events[2];
    EXPECT_EQ(spike.metric, domain::Metric::kSpo2);
    EXPECT_LT(spike.target, 90);  // the spo2 default spike value, not the heart-rate one

    const EventSpec& exercise = g.events[3];
    EXPECT_EQ(exercise.cadence, 140);
    EXPECT_EQ(exercise.duration, Milliseconds(20 * 60'000));
    EXPECT_TRUE(exercise.knowable.empty());

    const EventSpec& drop = s->groups[1].events[0];
    ASSERT_EQ(drop.knowable.size(), 1u);
    EXPECT_EQ(drop.knowable[0].kind, KnowableCriterion::Kind::kDropPct);
    EXPECT_EQ(drop.knowable[0].within, Milliseconds(20 * 60'000));
}

TEST(ScenarioTest, NotJsonNamesLineAndColumn) {
    auto s = ParseScenario("{\n  \"name\": \"x\",\n  \"duration\": 2h\n}", "broken.json");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), ErrorCode::kInvalidJson);
    ASSERT_EQ(s.status().fields().size(), 1u);
    EXPECT_NE(s.status().fields()[0].problem.find("line 3"), std::string::npos) << s.status().ToString();
    EXPECT_NE(s.status().message().find("broken.json"), std::string::npos);
}

TEST(ScenarioTest, EveryProblemIsReportedWithItsPath) {
    auto s = ParseScenario(R"({
      "name": "bad", "duration": "2 hours", "interval": "0s", "colour": "blue", "start_time": "25:00",
      "groups": [
        {"name": "ok", "watches": 2, "events": [
          {"type": "heart_attack", "at": "1h"},
          {"type": "tachycardia", "at": "150%"},
          {"type": "tachycardia", "at": "1h", "target": 60},
          {"type": "hypoxaemia", "at": "1h", "spread": 20},
          {"type": "sensor_spike", "at": "1h", "duration": "5m"},
          {"type": "exercise", "at": "1h", "knowable": {"above": 120}},
          {"type": "bradycardia", "at": "1h", "knowable": [{"above": 1, "below": 2}]},
          {"type": "tachypnoea", "at": "1h", "wearers": 5},
          {"type": "glucose_low", "at": "1h"}
        ]},
        {"name": "ok", "watches": -1}
      ]})",
                           "bad.json");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), ErrorCode::kValidationFailed);
    const Status& st = s.status();
    EXPECT_TRUE(HasField(st, "duration")) << st.ToString();
    EXPECT_TRUE(HasField(st, "interval")) << st.ToString();
    EXPECT_TRUE(HasField(st, "colour")) << st.ToString();
    EXPECT_EQ(ProblemOf(st, "colour"), "is not a known field");
    EXPECT_TRUE(HasField(st, "start_time")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].events[0].type")) << st.ToString();
    EXPECT_NE(ProblemOf(st, "groups[0].events[0].type").find("tachycardia"), std::string::npos);
    EXPECT_TRUE(HasField(st, "groups[0].events[1].at")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].events[2].target")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].events[3].spread")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].events[4].duration")) << st.ToString();
    EXPECT_NE(ProblemOf(st, "groups[0].events[4].duration").find("one reading"), std::string::npos);
    EXPECT_TRUE(HasField(st, "groups[0].events[5].knowable")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].events[6].knowable[0]")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].events[7].wearers")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].glucose")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[1].watches")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[1].name")) << st.ToString();  // used twice
}

TEST(ScenarioTest, MissingRequiredFieldsAreNamed) {
    auto s = ParseScenario(R"({"groups": [{"events": [{}]}]})", "empty.json");
    ASSERT_FALSE(s.ok());
    const Status& st = s.status();
    EXPECT_TRUE(HasField(st, "name")) << st.ToString();
    EXPECT_TRUE(HasField(st, "duration")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].name")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].watches")) << st.ToString();
    EXPECT_TRUE(HasField(st, "groups[0].events[0].type")) << st.ToString();
    EXPECT_EQ(ProblemOf(st, "name"), "is required");
}

TEST(ScenarioTest, EventsMustFitTheRun) {
    auto s = ParseScenario(R"({"name": "fit", "duration": "2h",
      "groups": [{"name": "g", "watches": 1, "events": [
        {"type": "tachycardia", "at": "90m", "duration": "40m"}]}]})",
                           "fit.json");
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(HasField(s.status(), "groups[0].events[0].at")) << s.status().ToString();
    EXPECT_NE(ProblemOf(s.status(), "groups[0].events[0].at").find("after the run"), std::string::npos);
}

TEST(ScenarioTest, RampAndRecoveryMustFitTheEvent) {
    auto s = ParseScenario(R"({"name": "r", "duration": "6h",
      "groups": [{"name": "g", "watches": 1, "events": [
        {"type": "tachycardia", "at": "1h", "duration": "10m", "ramp": "8m", "recovery": "5m"}]}]})",
                           "r.json");
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(HasField(s.status(), "groups[0].events[0].duration")) << s.status().ToString();
}

TEST(ScenarioTest, ImuSectionAndFallAndAdlEventsParse) {
    auto s = ParseScenario(R"({"name": "imu", "duration": "3h",
      "imu": {"data_dir": "/data", "falls_per_wearer_day": 24, "adl_per_wearer_day": 40.5},
      "groups": [
        {"name": "home", "watches": 4, "events": [
          {"type": "fall", "at": "30m", "jitter": "1h", "wearers": 2, "dataset": "umafall", "placement": "wrist"},
          {"type": "adl", "at": "10%", "activity": "D18"},
          {"type": "tachycardia", "at": "1h"}
        ]},
        {"name": "vitals-only", "watches": 2, "imu": false}
      ]})",
                           "imu.json");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE(s->imu.has_value());
    const ImuSpec& imu = *s->imu;
    EXPECT_EQ(imu.data_dir, "/data");
    EXPECT_EQ(imu.split, ImuSplit::kTest);  // the shipped model never saw these subjects
    EXPECT_EQ(imu.datasets.size(), 3u);
    EXPECT_EQ(imu.placements.size(), 2u);
    EXPECT_DOUBLE_EQ(imu.falls_per_wearer_day, 24);
    EXPECT_DOUBLE_EQ(imu.adl_per_wearer_day, 40.5);
    EXPECT_EQ(imu.lying_still, Milliseconds(10'000));
    EXPECT_EQ(imu.detect_within, Milliseconds(30'000));
    EXPECT_EQ(imu.batch, 8);
    const GroupSpec& g = s->groups[0];
    ASSERT_EQ(g.events.size(), 1u);  // the tachycardia
    ASSERT_EQ(g.imu_events.size(), 2u);
    EXPECT_EQ(g.imu_events[0].kind, ImuKind::kFall);
    EXPECT_EQ(g.imu_events[0].at.absolute, Milliseconds(1'800'000));
    EXPECT_EQ(g.imu_events[0].jitter.absolute, Milliseconds(3'600'000));
    EXPECT_EQ(g.imu_events[0].wearers, 2);
    EXPECT_EQ(g.imu_events[0].dataset, ImuDataset::kUmaFall);
    EXPECT_EQ(g.imu_events[0].placement, ImuPlacement::kWrist);
    EXPECT_EQ(g.imu_events[1].kind, ImuKind::kAdl);
    EXPECT_EQ(g.imu_events[1].activity, "D18");
    EXPECT_EQ(g.imu_events[1].wearers, -1);
    EXPECT_TRUE(g.imu);
    EXPECT_FALSE(s->groups[1].imu);

    // Without an imu section a scenario is vitals only.
    EXPECT_FALSE(ParseScenario(kMinimal, "mini.json")->imu.has_value());
}

TEST(ScenarioTest, ImuProblemsAreNamed) {
    auto s = ParseScenario(R"({"name": "bad", "duration": "2h",
      "imu": {"data_dir": "", "split": "holdout", "datasets": ["sisfall", "mobiact", "sisfall"],
              "placements": ["ankle"], "falls_per_wearer_day": -1, "lying_still": "2m", "detect_within": "1s",
              "batch": 33, "speed": 2},
      "groups": [{"name": "g", "watches": 2, "events": [
        {"type": "fall", "at": "10m", "target": 3, "wearers": 3},
        {"type": "adl", "at": "10m", "activity": "F01"},
        {"type": "fall", "at": "10m", "activity": "walk-on-the-moon"},
        {"type": "fall", "at": "10m", "dataset": "unknown", "placement": "head"},
        {"type": "adl", "at": "118m"}
      ]}]})",
                           "bad.json");
    ASSERT_FALSE(s.ok());
    const Status& st = s.status();
    for (const char* field :
         {"imu.data_dir", "imu.split", "imu.datasets[1]", "imu.datasets[2]", "imu.placements[0]",
          "imu.falls_per_wearer_day", "imu.lying_still", "imu.detect_within", "imu.batch", "imu.speed",
          "groups[0].events[0].target", "groups[0].events[0].wearers", "groups[0].events[1].activity",
          "groups[0].events[2].activity", "groups[0].events[3].dataset", "groups[0].events[3].placement"}) {
        EXPECT_TRUE(HasField(st, field)) << field << "\n" << st.ToString();
    }
    EXPECT_EQ(ProblemOf(st, "imu.datasets[2]"), "is listed twice");
    EXPECT_EQ(ProblemOf(st, "groups[0].events[1].activity"), "must not be a fall activity for an adl event");
    EXPECT_NE(ProblemOf(st, "groups[0].events[0].target").find("is not used by fall"), std::string::npos);

    // An event must leave room for a trial before the end; fall/adl events need the imu section.
    auto late = ParseScenario(R"({"name": "late", "duration": "2h", "imu": {"data_dir": "/d"},
      "groups": [{"name": "g", "watches": 1, "events": [{"type": "adl", "at": "118m"}]}]})",
                              "late.json");
    ASSERT_FALSE(late.ok());
    EXPECT_NE(ProblemOf(late.status(), "groups[0].events[0].at").find("before the end of the run"), std::string::npos)
        << late.status().ToString();
    auto orphan = ParseScenario(R"({"name": "o", "duration": "2h",
      "groups": [{"name": "g", "watches": 1, "events": [{"type": "fall", "at": "1h"}]}]})",
                                "o.json");
    ASSERT_FALSE(orphan.ok());
    EXPECT_NE(ProblemOf(orphan.status(), "groups[0].events").find("imu section"), std::string::npos)
        << orphan.status().ToString();
    // A combination without trials: HIFD is worn on the wrist only.
    auto none = ParseScenario(R"({"name": "n", "duration": "2h",
      "imu": {"data_dir": "/d", "datasets": ["hifd"], "placements": ["waist"]},
      "groups": [{"name": "g", "watches": 1}]})",
                              "n.json");
    ASSERT_FALSE(none.ok());
    EXPECT_TRUE(HasField(none.status(), "imu.placements")) << none.status().ToString();
}

TEST(ScenarioTest, TheWristDataSetsWedaFallAndFallAllDParse) {
    // Every data set by its folder name, and the reader's id behind it.
    for (ImuDataset d : kAllImuDatasets) {
        EXPECT_EQ(ImuDatasetFromName(ImuDatasetName(d)), d);
        EXPECT_EQ(imu::DatasetName(ToImuDatasetId(d)), ImuDatasetName(d));
    }
    EXPECT_EQ(ImuDatasetFromName("wedafall"), ImuDataset::kWedaFall);
    EXPECT_EQ(ImuDatasetFromName("fallalld"), ImuDataset::kFallAllD);
    EXPECT_FALSE(ImuDatasetFromName("weda-fall").has_value());

    auto s = ParseScenario(R"({"name": "wrist", "duration": "3h",
      "imu": {"data_dir": "/data", "datasets": ["wedafall", "fallalld"], "placements": ["wrist"]},
      "groups": [{"name": "home", "watches": 4, "events": [
        {"type": "fall", "at": "30m", "dataset": "fallalld", "activity": "A102"},
        {"type": "adl", "at": "1h", "dataset": "wedafall", "activity": "D09"},
        {"type": "fall", "at": "1h", "dataset": "wedafall", "activity": "F08"},
        {"type": "adl", "at": "2h", "activity": "A023"}
      ]}]})",
                           "wrist.json");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->imu->datasets, (std::vector<ImuDataset>{ImuDataset::kWedaFall, ImuDataset::kFallAllD}));
    const auto& events = s->groups[0].imu_events;
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].dataset, ImuDataset::kFallAllD);
    EXPECT_EQ(events[0].activity, "A102");  // a fall "with recovery" is a fall
    EXPECT_EQ(events[1].dataset, ImuDataset::kWedaFall);
    EXPECT_EQ(events[2].activity, "F08");
    EXPECT_EQ(events[3].activity, "A023");  // FallAllD's stumble, found among the section's data sets

    // The default stays the three original data sets (as documented).
    auto defaults = ParseScenario(R"({"name": "d", "duration": "3h", "imu": {"data_dir": "/data"},
      "groups": [{"name": "g", "watches": 1}]})",
                                  "d.json");
    ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
    EXPECT_EQ(defaults->imu->datasets,
              (std::vector<ImuDataset>{ImuDataset::kSisFall, ImuDataset::kUmaFall, ImuDataset::kHifd}));

    // Problems name all five; the wrist sets have no waist trials; codes must be the data set's and of the
    // event's kind; an event's data set must be one of the section's.
    auto bad = ParseScenario(R"({"name": "bad", "duration": "3h",
      "imu": {"data_dir": "/data", "datasets": ["wedafall", "mobiact"]},
      "groups": [{"name": "g", "watches": 1, "events": [
        {"type": "fall", "at": "10m", "dataset": "weda"}
      ]}]})",
                             "bad.json");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(ProblemOf(bad.status(), "imu.datasets[1]"), "must be one of sisfall, umafall, hifd, wedafall, fallalld");
    EXPECT_EQ(ProblemOf(bad.status(), "groups[0].events[0].dataset"),
              "must be one of sisfall, umafall, hifd, wedafall, fallalld")
        << bad.status().ToString();
    auto kinds = ParseScenario(R"({"name": "kinds", "duration": "3h",
      "imu": {"data_dir": "/data", "datasets": ["wedafall", "fallalld", "sisfall"]},
      "groups": [{"name": "g", "watches": 1, "events": [
        {"type": "adl", "at": "10m", "dataset": "fallalld", "activity": "A101"},
        {"type": "fall", "at": "10m", "dataset": "fallalld", "activity": "F01"},
        {"type": "adl", "at": "10m", "dataset": "hifd"}
      ]}]})",
                               "kinds.json");
    ASSERT_FALSE(kinds.ok());
    EXPECT_EQ(ProblemOf(kinds.status(), "groups[0].events[0].activity"),
              "must not be a fall activity for an adl event");
    EXPECT_NE(ProblemOf(kinds.status(), "groups[0].events[1].activity").find("activity code"), std::string::npos)
        << kinds.status().ToString();
    EXPECT_EQ(ProblemOf(kinds.status(), "groups[0].events[2].dataset"), "must be one of the imu section's datasets");
    auto waist = ParseScenario(R"({"name": "w", "duration": "2h",
      "imu": {"data_dir": "/d", "datasets": ["wedafall", "fallalld", "hifd"], "placements": ["waist"]},
      "groups": [{"name": "g", "watches": 1}]})",
                               "w.json");
    ASSERT_FALSE(waist.ok());
    EXPECT_NE(ProblemOf(waist.status(), "imu.placements").find("WEDA-FALL and FallAllD on the wrist"),
              std::string::npos)
        << waist.status().ToString();
}

TEST(ScenarioTest, ShippedFallsAllScenarioReplaysTheTestSubjectsOfAllFiveDataSets) {
    auto s = LoadScenarioFile(std::string(VG_SOURCE_DIR) + "/sim/scenarios/falls-all.json");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE(s->imu.has_value());
    EXPECT_EQ(s->imu->split, ImuSplit::kTest);
    EXPECT_EQ(s->imu->datasets, std::vector<ImuDataset>(std::begin(kAllImuDatasets), std::end(kAllImuDatasets)));
    EXPECT_EQ(s->imu->placements.size(), 2u);
    EXPECT_EQ(std::filesystem::path(s->imu->data_dir),
              (std::filesystem::path(VG_SOURCE_DIR) / ".." / "shared" / "data").lexically_normal());
    // Sized for >= 200 falls and >= 400 ADL events in expectation.
    const double wearer_days = s->watches() * static_cast<double>(s->duration.count()) / 86'400'000.0;
    EXPECT_GE(wearer_days * s->imu->falls_per_wearer_day, 200.0);
    EXPECT_GE(wearer_days * s->imu->adl_per_wearer_day, 400.0);
}

TEST(ScenarioTest, ShippedFallsScenarioReadsTheSharedDataInPlace) {
    auto s = LoadScenarioFile(std::string(VG_SOURCE_DIR) + "/sim/scenarios/falls.json");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE(s->imu.has_value());
    // Relative to the scenario file: sim/scenarios/../../../shared/data.
    EXPECT_EQ(std::filesystem::path(s->imu->data_dir),
              (std::filesystem::path(VG_SOURCE_DIR) / ".." / "shared" / "data").lexically_normal());
    EXPECT_EQ(s->imu->split, ImuSplit::kTest);
    // --watches scales the explicit IMU events too.
    ScenarioOverrides o;
    o.watches = 5;
    auto scaled = ApplyOverrides(*s, o);
    ASSERT_TRUE(scaled.ok());
    EXPECT_EQ(scaled->groups[0].imu_events[0].wearers, 2);
}

TEST(ScenarioTest, DurationsFormatForReports) {
    EXPECT_EQ(FormatSimDuration(Milliseconds(90'000)), "1m30s");
    EXPECT_EQ(FormatSimDuration(Milliseconds(7'200'000)), "2h");
}

TEST(ScenarioTest, WatchesOverrideScalesGroupsAndEventCounts) {
    auto s = ParseScenario(R"({"name": "scale", "duration": "24h", "groups": [
        {"name": "a", "watches": 10, "events": [{"type": "tachycardia", "at": "2h", "wearers": 4}]},
        {"name": "b", "watches": 20},
        {"name": "c", "watches": 10}]})",
                           "scale.json");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ScenarioOverrides o;
    o.watches = 8;
    o.duration = Milliseconds(2 * 3'600'000 + 3'600'000);
    o.seed = 99;
    auto scaled = ApplyOverrides(*s, o);
    ASSERT_TRUE(scaled.ok()) << scaled.status().ToString();
    EXPECT_EQ(scaled->watches(), 8);
    EXPECT_EQ(scaled->groups[0].watches, 2);
    EXPECT_EQ(scaled->groups[1].watches, 4);
    EXPECT_EQ(scaled->groups[2].watches, 2);
    EXPECT_EQ(scaled->groups[0].events[0].wearers, 1);  // 4 of 10 → 0.8 of 2 → 1
    EXPECT_EQ(scaled->seed, 99u);
    EXPECT_EQ(scaled->duration, Milliseconds(3 * 3'600'000));

    o = {};
    o.watches = 0;
    auto bad = ApplyOverrides(*s, o);
    ASSERT_FALSE(bad.ok());
    EXPECT_TRUE(HasField(bad.status(), "watches"));
    o = {};
    o.duration = Milliseconds(31LL * 86'400'000);
    EXPECT_TRUE(HasField(ApplyOverrides(*s, o).status(), "duration"));
}

TEST(ScenarioTest, ShippedScenariosParse) {
    const std::filesystem::path dir = std::filesystem::path(VG_SOURCE_DIR) / "sim" / "scenarios";
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".json") continue;
        ++files;
        auto s = LoadScenarioFile(entry.path().string());
        EXPECT_TRUE(s.ok()) << entry.path() << ": " << s.status().ToString();
    }
    EXPECT_GE(files, 1);
}

TEST(ScenarioTest, StandardScenarioCoversEveryEventType) {
    auto s = LoadScenarioFile(std::string(VG_SOURCE_DIR) + "/sim/scenarios/standard.json");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    std::array<int, kEventTypeCount> placements{};
    int clean = 0;
    for (const GroupSpec& g : s->groups) {
        if (g.events.empty()) clean += g.watches;
        for (const EventSpec& e : g.events) {
            placements[static_cast<size_t>(e.type)] += e.wearers < 0 ? g.watches : e.wearers;
        }
    }
    for (int t = 0; t < kEventTypeCount; ++t) {
        EXPECT_GE(placements[static_cast<size_t>(t)], 3) << EventTypeName(static_cast<EventType>(t));
    }
    EXPECT_GE(clean, 8);
    EXPECT_GE(s->watches(), 20);
    EXPECT_LE(s->watches(), 50);
}

TEST(ScenarioTest, EventTypeNamesRoundTrip) {
    for (int t = 0; t < kEventTypeCount; ++t) {
        const auto type = static_cast<EventType>(t);
        EXPECT_EQ(EventTypeFromName(EventTypeName(type)), type);
        EXPECT_EQ(IsEmergency(type), !DefaultEventSpec(type).knowable.empty()) << EventTypeName(type);
    }
    EXPECT_FALSE(EventTypeFromName("Tachycardia").has_value());
}

}  // namespace
}  // namespace vg::sim
