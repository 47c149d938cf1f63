#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "vg/rules/rules.hpp"

namespace vg::rules {
namespace {

// The problems of a profile that must not parse, as "path: problem" lines.
std::vector<FieldError> Problems(std::string_view json) {
    auto r = ParseProfile(json, "test.json");
    EXPECT_FALSE(r.ok()) << "parsed, but should not have: " << json;
    if (r.ok()) return {};
    return r.status().fields();
}

bool HasProblem(const std::vector<FieldError>& errors, std::string_view field, std::string_view fragment = "") {
    return std::any_of(errors.begin(), errors.end(), [&](const FieldError& e) {
        return e.field == field && e.problem.find(fragment) != std::string::npos;
    });
}

std::string Dump(const std::vector<FieldError>& errors) {
    std::string out;
    for (const auto& e : errors) out += "  " + e.field + ": " + e.problem + "\n";
    return out;
}

// A minimal valid profile with `metric_body` as the heart_rate object.
std::string WithHeartRate(std::string_view metric_body, std::string_view extra_top = "") {
    return std::string(R"({"name": "t", "description": "d", )") + std::string(extra_top) +
           R"("metrics": {"heart_rate": )" + std::string(metric_body) + "}}";
}

constexpr std::string_view kOneThreshold = R"({"thresholds": [{"id": "hr.high", "level": "danger", "at_least": 131}]})";

TEST(ProfileTest, ShippedProfilesLoadWithTheirRules) {
    ProfileRegistry registry;
    ASSERT_TRUE(registry.LoadDirectory(VG_PROFILES_DIR).ok());
    EXPECT_EQ(registry.Names(), (std::vector<std::string>{"adult-default", "glucose"}));
    auto glucose = registry.Find("glucose");
    ASSERT_NE(glucose, nullptr);
    // Seed 2's rule set, one rule each, plus the personal baseline and signal loss.
    EXPECT_EQ(glucose->RuleIds(),
              (std::vector<std::string>{"glucose.low.danger", "glucose.high.caution", "glucose.trend.rise",
                                        "glucose.trend.fall", "glucose.sustained.high", "glucose.sustained.low",
                                        "glucose.baseline.high", "glucose.baseline.low", "glucose.signal_loss"}));
    EXPECT_EQ(glucose->silence_after(), std::chrono::minutes(20));
    auto adult = registry.Find("adult-default");
    ASSERT_NE(adult, nullptr);
    const auto ids = adult->RuleIds();
    for (const char* id : {"heart_rate.high.danger", "spo2.low.danger", "spo2.low.mild", "respiration_rate.high.danger",
                           "skin_temp.baseline.high", "heart_rate.exercise", "signal_loss"}) {
        EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
    }
    EXPECT_LE(adult->wearer_state_bytes(), kMaxWearerStateBytes);
    EXPECT_LE(glucose->wearer_state_bytes(), kMaxWearerStateBytes);
    EXPECT_EQ(registry.Find("no-such-profile"), nullptr);
}

// The bands a trend chart draws are the profile's own numbers: NEWS2's pulse bands for adult-default.
TEST(ProfileTest, ValueBandsAreTheThresholdsThenTheSustainedRules) {
    ProfileRegistry registry;
    ASSERT_TRUE(registry.LoadDirectory(VG_PROFILES_DIR).ok());
    auto adult = registry.Find("adult-default");
    ASSERT_NE(adult, nullptr);
    std::vector<std::string> described;
    for (const ValueBand& b : ValueBands(*adult, domain::Metric::kHeartRate)) {
        std::ostringstream line;
        line << b.rule << " " << domain::LevelName(b.level) << " " << b.compare << " " << b.value << " " << b.for_s;
        described.push_back(line.str());
    }
    EXPECT_EQ(described,
              (std::vector<std::string>{
                  "heart_rate.low.danger danger at_most 40 0", "heart_rate.high.moderate caution at_least 111 0",
                  "heart_rate.high.danger danger at_least 131 0", "heart_rate.low.mild caution at_most 50 1800",
                  "heart_rate.high.mild caution at_least 91 1800"}));
    // Wrist temperature is judged only against the wearer's own baseline: no fixed band to draw.
    EXPECT_TRUE(ValueBands(*adult, domain::Metric::kSkinTemp).empty());
}

TEST(ProfileTest, MalformedJsonIsInvalidJsonWithLineAndColumn) {
    auto r = ParseProfile("{\n  \"name\": \"t\",,\n}", "broken.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidJson);
    ASSERT_EQ(r.status().fields().size(), 1u);
    EXPECT_NE(r.status().fields()[0].problem.find("line 2, column 15"), std::string::npos)
        << r.status().fields()[0].problem;
    EXPECT_NE(r.status().message().find("broken.json"), std::string::npos);

    EXPECT_EQ(ParseProfile("", "empty.json").status().code(), ErrorCode::kInvalidJson);
    EXPECT_EQ(ParseProfile("[1, 2]", "array.json").status().code(), ErrorCode::kInvalidJson);
    EXPECT_EQ(ParseProfile("{} trailing", "x.json").status().code(), ErrorCode::kInvalidJson);
}

TEST(ProfileTest, UnknownKeysAreErrorsNamingTheirPath) {
    const auto errors = Problems(R"({
      "name": "t", "description": "d", "colour": "red",
      "defaults": {"confirm": 2},
      "exercise": {"id": "ex", "cadence_at_least": 100, "heart_rate_above": 120, "cadence": 3},
      "metrics": {
        "heartrate": {},
        "heart_rate": {
          "treshold": [],
          "thresholds": [{"id": "hr.high", "level": "danger", "at_least": 131, "confirm": 2}],
          "baseline": {"min_scale": 5, "rules": [{"id": "b", "level": "caution", "z_at_least": 3, "zz": 1}]}
        }
      }
    })");
    EXPECT_EQ(errors.size(), 7u) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "colour", "not a known key")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "defaults.confirm", "known here: confirm_readings")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "exercise.cadence", "not a known key")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.heartrate", "not a known metric")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.heart_rate.treshold", "not a known key")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.heart_rate.thresholds[0].confirm", "not a known key")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.heart_rate.baseline.rules[0].zz", "not a known key")) << Dump(errors);
}

TEST(ProfileTest, WrongTypesAndMissingFieldsNameTheirPath) {
    const auto errors = Problems(R"({
      "name": 7,
      "defaults": {"confirm_readings": "2", "hold_s": 1.5},
      "signal_loss": {"after_s": "15m", "enabled": 1},
      "metrics": {
        "heart_rate": {
          "thresholds": [{"level": 2, "at_least": "131"}, "not an object"],
          "trends": {"id": "x"}
        },
        "spo2": {"thresholds": [{"id": "s", "level": "danger"}]}
      }
    })");
    EXPECT_TRUE(HasProblem(errors, "name", "must be a string")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "description", "is required")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "defaults.confirm_readings", "whole number")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "defaults.hold_s", "whole number")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "signal_loss.after_s", "whole number")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "signal_loss.enabled", "true or false")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.heart_rate.thresholds[0].id", "is required")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.heart_rate.thresholds[0].level", "must be a string")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.heart_rate.thresholds[0].at_least", "must be a number")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.heart_rate.thresholds[1]", "must be an object")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.heart_rate.trends", "must be an array")) << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "metrics.spo2.thresholds[0]", "needs one of above")) << Dump(errors);
}

TEST(ProfileTest, ValuesAreChecked) {
    EXPECT_TRUE(HasProblem(Problems(WithHeartRate(R"({"thresholds": [{"id": "a", "level": "normal", "above": 100}]})")),
                           "metrics.heart_rate.thresholds[0].level", "\"caution\" or \"danger\""));
    EXPECT_TRUE(HasProblem(
        Problems(WithHeartRate(R"({"thresholds": [{"id": "a", "level": "danger", "above": 100, "below": 40}]})")),
        "metrics.heart_rate.thresholds[0]", "only one of above, below"));
    EXPECT_TRUE(HasProblem(Problems(WithHeartRate(R"({"thresholds": [{"id": "a", "level": "danger", "above": 100,
                                                     "confirm_readings": 0}]})")),
                           "metrics.heart_rate.thresholds[0].confirm_readings", "between 1 and 50"));
    EXPECT_TRUE(
        HasProblem(Problems(WithHeartRate(R"({"thresholds": [{"id": "a", "level": "danger", "above": 1000}]})")),
                   "metrics.heart_rate.thresholds[0].above", "between 20 and 300"));
    EXPECT_TRUE(HasProblem(Problems(WithHeartRate(R"({"trends": [{"id": "t", "level": "caution", "window_s": 600}]})")),
                           "metrics.heart_rate.trends[0]", "exactly one of rise_pct, fall_pct"));
    EXPECT_TRUE(HasProblem(Problems(WithHeartRate(R"({"trend_bucket_s": 600, "trends": [{"id": "t", "level": "caution",
                                   "window_s": 900, "rise_pct": 30}]})")),
                           "metrics.heart_rate.trends[0].window_s", "twice the metric's trend_bucket_s"));
    EXPECT_TRUE(HasProblem(
        Problems(WithHeartRate(R"({"trends": [{"id": "t", "level": "caution", "window_s": 600, "rise_pct": 30,
                                   "tolerance_s": 400}]})")),
        "metrics.heart_rate.trends[0].tolerance_s", "half of window_s"));
    EXPECT_TRUE(
        HasProblem(Problems(WithHeartRate(R"({"thresholds": [{"id": "has space", "level": "danger", "above": 100}]})")),
                   "metrics.heart_rate.thresholds[0].id", "letters, digits"));
    EXPECT_TRUE(HasProblem(Problems(WithHeartRate("{}")), "metrics.heart_rate", "at least one of"));
    EXPECT_TRUE(HasProblem(Problems(R"({"name": "Bad Name", "description": "d", "metrics": {"heart_rate": )" +
                                    std::string(kOneThreshold) + "}}"),
                           "name", "a-z"));
    EXPECT_TRUE(HasProblem(Problems(WithHeartRate(kOneThreshold, R"("exercise": {"id": "ex", "cadence_at_least": 100,
                 "heart_rate_above": 120, "applies_to": ["steps", "pulse"]}, )")),
                           "exercise.applies_to[0]", "other than steps"));
    EXPECT_TRUE(HasProblem(Problems(WithHeartRate(kOneThreshold, R"("exercise": {"id": "ex", "cadence_at_least": 100,
                 "walking_cadence_at_least": 100, "heart_rate_above": 120}, )")),
                           "exercise.walking_cadence_at_least", "below cadence_at_least"));
    EXPECT_TRUE(HasProblem(
        Problems(WithHeartRate(R"({"valid": {"min": 40, "max": 30}, "thresholds": [{"id": "a", "level": "danger",
                                   "above": 100}]})")),
        "metrics.heart_rate.valid.max", "greater than min"));
}

TEST(ProfileTest, DuplicateRuleIdsAreErrorsNamingBothPlaces) {
    const auto errors = Problems(WithHeartRate(
        R"({"thresholds": [{"id": "hr.high", "level": "danger", "above": 130},
                           {"id": "hr.high", "level": "caution", "above": 110}]})",
        R"("signal_loss": {"id": "hr.high"}, )"));
    EXPECT_TRUE(HasProblem(errors, "metrics.heart_rate.thresholds[1].id", "of metrics.heart_rate.thresholds[0].id"))
        << Dump(errors);
    EXPECT_TRUE(HasProblem(errors, "signal_loss.id", "duplicates")) << Dump(errors);
}

TEST(ProfileTest, ProfilesWhoseStateWouldExceedTheBudgetAreRefused) {
    // A 24 h trend on minute buckets needs 1442 int16 slots: far above 1 KB per wearer.
    const auto errors =
        Problems(WithHeartRate(R"({"trends": [{"id": "t", "level": "caution", "window_s": 86400, "rise_pct": 30}]})"));
    EXPECT_TRUE(HasProblem(errors, "metrics", "bytes of state per wearer")) << Dump(errors);
    // The same window on 30-minute buckets fits.
    EXPECT_TRUE(ParseProfile(WithHeartRate(R"({"trend_bucket_s": 1800, "trends": [{"id": "t", "level": "caution",
                                              "window_s": 86400, "rise_pct": 30}]})"),
                             "t.json")
                    .ok());
}

TEST(ProfileTest, DefaultsApplyAndSignalLossCanBeDisabled) {
    auto r = ParseProfile(WithHeartRate(kOneThreshold), "t.json");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)->silence_after(), std::chrono::minutes(15));
    EXPECT_EQ((*r)->RuleIds(), (std::vector<std::string>{"hr.high", "signal_loss"}));
    auto off = ParseProfile(WithHeartRate(kOneThreshold, R"("signal_loss": {"enabled": false}, )"), "t.json");
    ASSERT_TRUE(off.ok()) << off.status().ToString();
    EXPECT_FALSE((*off)->silence_after().has_value());
}

TEST(ProfileTest, EveryProblemIsReportedAtOnce) {
    const auto errors = Problems(R"({"name": "t", "description": "d", "metrics": {"heart_rate": {"thresholds": [
        {"id": "a", "level": "bad", "above": 100},
        {"id": "b", "level": "danger"},
        {"id": "c", "level": "danger", "above": "x"}]}}})");
    EXPECT_EQ(errors.size(), 3u) << Dump(errors);
}

// Garbage in never crashes the parser and never passes silently as a profile.
TEST(ProfileTest, RandomMutationsOfAShippedProfileNeverCrash) {
    std::ifstream in(std::string(VG_PROFILES_DIR) + "/adult-default.json");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(text.empty());
    std::mt19937 rng(42);
    int parsed = 0;
    for (int i = 0; i < 2000; ++i) {
        std::string mutated = text;
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            const size_t at = rng() % mutated.size();
            switch (rng() % 3) {
                case 0:
                    mutated.erase(at, 1 + rng() % 8);
                    break;
                case 1:
                    mutated[at] = "{}[]\",:0123456789-.aezx "[rng() % 25];
                    break;
                default:
                    mutated.insert(at, 1, "{}[]\",:019-. "[rng() % 13]);
                    break;
            }
        }
        auto r = ParseProfile(mutated, "fuzz.json");
        if (r.ok()) {
            ++parsed;
            EXPECT_LE((*r)->wearer_state_bytes(), kMaxWearerStateBytes);
        } else {
            EXPECT_FALSE(r.status().fields().empty());
        }
    }
    EXPECT_LT(parsed, 2000);
}

class RegistryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("vg_rules_registry_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    void Write(const std::string& file, const std::string& text) { std::ofstream(dir_ / file) << text; }

    std::filesystem::path dir_;
};

TEST_F(RegistryTest, LoadsEveryJsonFileAndIgnoresOthers) {
    Write("a.json",
          R"({"name": "a", "description": "d", "metrics": {"heart_rate": )" + std::string(kOneThreshold) + "}}");
    Write("b.json",
          R"({"name": "b", "description": "d", "metrics": {"heart_rate": )" + std::string(kOneThreshold) + "}}");
    Write("notes.txt", "not a profile");
    ProfileRegistry registry;
    ASSERT_TRUE(registry.LoadDirectory(dir_.string()).ok());
    EXPECT_EQ(registry.Names(), (std::vector<std::string>{"a", "b"}));
    EXPECT_NE(registry.Find("a"), nullptr);
    // Loading the same names again conflicts, and adds nothing.
    Status again = registry.LoadDirectory(dir_.string());
    EXPECT_EQ(again.code(), ErrorCode::kValidationFailed);
    EXPECT_EQ(registry.Names().size(), 2u);
}

TEST_F(RegistryTest, ProblemsArePrefixedWithTheFileAndNothingIsLoaded) {
    Write("good.json",
          R"({"name": "good", "description": "d", "metrics": {"heart_rate": )" + std::string(kOneThreshold) + "}}");
    Write("misnamed.json",
          R"({"name": "other", "description": "d", "metrics": {"heart_rate": )" + std::string(kOneThreshold) + "}}");
    Write("typo.json", R"({"name": "typo", "description": "d", "metrcs": {}})");
    ProfileRegistry registry;
    Status s = registry.LoadDirectory(dir_.string());
    ASSERT_EQ(s.code(), ErrorCode::kValidationFailed);
    EXPECT_TRUE(HasProblem(s.fields(), "misnamed.json: name", "\"misnamed\"")) << Dump(s.fields());
    EXPECT_TRUE(HasProblem(s.fields(), "typo.json: metrcs", "not a known key")) << Dump(s.fields());
    EXPECT_TRUE(HasProblem(s.fields(), "typo.json: metrics", "is required")) << Dump(s.fields());
    EXPECT_TRUE(registry.Names().empty());
}

TEST_F(RegistryTest, MissingOrEmptyDirectoryIsNotFound) {
    ProfileRegistry registry;
    EXPECT_EQ(registry.LoadDirectory((dir_ / "nope").string()).code(), ErrorCode::kNotFound);
    EXPECT_EQ(registry.LoadDirectory(dir_.string()).code(), ErrorCode::kNotFound);
}

TEST(RegistryAddTest, AddRefusesATakenName) {
    ProfileRegistry registry;
    auto p = ParseProfile(WithHeartRate(kOneThreshold), "t.json");
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(registry.Add(*p).ok());
    EXPECT_EQ(registry.Add(*p).code(), ErrorCode::kConflict);
}

}  // namespace
}  // namespace vg::rules
