// One GoogleTest per tests/scenarios/**/*.scenario file, found when the test binary runs (so a new
// file needs no CMake change), plus self-tests of the scenario format.

#include "scenario.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace vg::scenarios {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> FindScenarioFiles() {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(VG_SCENARIO_DIR, ec)) {
        if (e.is_regular_file() && e.path().extension() == ".scenario") {
            files.push_back(fs::relative(e.path(), VG_SCENARIO_DIR).string());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

const rules::ProfileRegistry& Profiles() {
    static const rules::ProfileRegistry* registry = [] {
        auto* r = new rules::ProfileRegistry();
        const Status s = r->LoadDirectory(VG_PROFILE_DIR);
        if (!s.ok()) ADD_FAILURE() << s.ToString();
        return r;
    }();
    return *registry;
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
    std::string name = info.param.substr(0, info.param.size() - std::string(".scenario").size());
    for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    return name;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, Holds) {
    const fs::path path = fs::path(VG_SCENARIO_DIR) / GetParam();
    std::ifstream in(path);
    ASSERT_TRUE(in) << "cannot read " << path;
    std::stringstream text;
    text << in.rdbuf();
    Result<Scenario> sc = ParseScenario(text.str(), GetParam());
    ASSERT_TRUE(sc.ok()) << sc.status().ToString();
    RecordProperty("scenario", sc->name);
    for (const std::string& failure : RunScenario(*sc, Profiles())) {
        ADD_FAILURE() << sc->name << "\n  " << failure;
    }
}

INSTANTIATE_TEST_SUITE_P(Files, ScenarioTest, ::testing::ValuesIn(FindScenarioFiles()), TestName);

TEST(ScenarioFilesTest, EveryRuleTypeAndBothProfilesAreCovered) {
    std::set<std::string> profiles, kinds;
    for (const std::string& file : FindScenarioFiles()) {
        std::ifstream in(fs::path(VG_SCENARIO_DIR) / file);
        std::stringstream text;
        text << in.rdbuf();
        auto sc = ParseScenario(text.str(), file);
        if (!sc.ok()) continue;
        profiles.insert(sc->profile);
        for (const Step& s : sc->steps) {
            if (s.kind == Step::Kind::kExpect && s.expect.kind) kinds.insert(*s.expect.kind);
        }
    }
    EXPECT_TRUE(profiles.count("adult-default"));
    EXPECT_TRUE(profiles.count("glucose"));
    for (const char* kind : {"threshold", "trend", "sustained", "baseline", "exercise", "signal_loss", "hysteresis"}) {
        EXPECT_TRUE(kinds.count(kind)) << "no scenario expects a rule of kind " << kind;
    }
}

TEST(ScenarioFormatTest, ParsesEveryStep) {
    auto sc = ParseScenario(R"(# a comment
name: all steps
description: one of each
  step kind.
profile: adult-default
seed: 7
reading t=+0s hr=72 spo2=97   # trailing comment
readings t=+1m..+10m every=1m heart_rate=72..80~2 skin_temp=33
expect level=normal rule!=signal_loss max_level=caution
check t=+20m
silence until t=+40m every=30s
expect count=1 kind=signal_loss between t=+0s and t=+40m
expect level!=danger advice=no says="no readings" cause=heart_rate
)",
                            "all.scenario");
    ASSERT_TRUE(sc.ok()) << sc.status().ToString();
    EXPECT_EQ(sc->name, "all steps");
    EXPECT_EQ(sc->description, "one of each step kind.");
    EXPECT_EQ(sc->seed, 7u);
    ASSERT_EQ(sc->steps.size(), 7u);
    EXPECT_EQ(sc->steps[1].kind, Step::Kind::kReadings);
    EXPECT_EQ(sc->steps[1].t_ms, 60'000);
    EXPECT_EQ(sc->steps[1].end_ms, 600'000);
    EXPECT_EQ(sc->steps[1].values[0]->from, 72);
    EXPECT_EQ(sc->steps[1].values[0]->to, 80);
    EXPECT_EQ(sc->steps[1].values[0]->jitter, 2);
    EXPECT_EQ(sc->steps[4].every_ms, 30'000);
    EXPECT_EQ(sc->steps[5].expect.between, (std::pair<int64_t, int64_t>(0, 2'400'000)));
    EXPECT_EQ(sc->steps[6].expect.says, std::vector<std::string>{"no readings"});
}

TEST(ScenarioFormatTest, ProblemsNameTheLine) {
    auto sc = ParseScenario(R"(name: broken
profile: adult-default
reading t=+5m hr=72
reading t=+1m hr=72
reading t=5m hr=72
reading t=+6m pulse=72
readings t=+7m hr=72
expect level=severe
expect
frobnicate
)",
                            "broken.scenario");
    ASSERT_FALSE(sc.ok());
    std::string all;
    for (const auto& f : sc.status().fields()) all += f.field + " " + f.problem + "\n";
    for (const char* line :
         {"broken.scenario:4 time goes backwards", "broken.scenario:5 bad time", "broken.scenario:6 unknown metric",
          "broken.scenario:7 a series needs a range", "broken.scenario:8 level must be",
          "broken.scenario:9 an expect line needs", "broken.scenario:10 unknown step"}) {
        EXPECT_NE(all.find(line), std::string::npos) << line << "\n" << all;
    }
}

TEST(ScenarioFormatTest, FailedExpectationsAreReportedWithTheLineAndTheVerdict) {
    auto sc = ParseScenario(R"(name: fails
profile: adult-default
reading t=+0s hr=140
reading t=+1m hr=140
expect level=normal
expect no alert between t=+0s and t=+1m
)",
                            "fails.scenario");
    ASSERT_TRUE(sc.ok()) << sc.status().ToString();
    const auto failures = RunScenario(*sc, Profiles());
    ASSERT_EQ(failures.size(), 2u);
    EXPECT_NE(failures[0].find("fails.scenario:5"), std::string::npos) << failures[0];
    EXPECT_NE(failures[0].find("danger [heart_rate.high.danger:threshold]"), std::string::npos) << failures[0];
    EXPECT_NE(failures[1].find("failed at t=+1m"), std::string::npos) << failures[1];
}

}  // namespace
}  // namespace vg::scenarios
