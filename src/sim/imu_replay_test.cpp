#include "vg/sim/imu_replay.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "vg/imu/labels.hpp"
#include "vg/testing/shared_data.hpp"

namespace vg::sim {
namespace {

// A synthetic 50 Hz trial: standing (1 g on y, a little sway) for `before_s`, an impact of `peak_g`,
// then lying still (1 g on x) for `after_s`.
imu::Series FallSeries(double before_s, double after_s, float peak_g = 4.0F, bool gravity_removed = false) {
    imu::Series s;
    s.gravity_removed = gravity_removed;
    const float g = gravity_removed ? 0.0F : 1.0F;
    const auto before = static_cast<size_t>(before_s * 50), after = static_cast<size_t>(after_s * 50);
    for (size_t i = 0; i < before; ++i) {
        s.samples.push_back({0.05F * std::sin(static_cast<float>(i) * 0.7F), g, 0.0F, 5.0F, 0.0F, 0.0F});
    }
    s.samples.push_back({peak_g, 0.5F, 0.2F, 300.0F, 100.0F, 0.0F});
    for (size_t i = 0; i < after; ++i) {
        s.samples.push_back({g, 0.0F, 0.001F * static_cast<float>(i % 3), 0.0F, 0.0F, 0.0F});
    }
    return s;
}

TEST(ImuReplayTest, AFallTrialBecomesConsecutiveWindowsAndALyingStillTail) {
    // 6 s + 1 sample + 9 s = 751 samples: 5 whole windows (640 samples), the impact at sample 300.
    const imu::Series series = FallSeries(6.0, 9.0);
    auto track = BuildReplayTrack(series, /*fall=*/true, Milliseconds(10'000));
    ASSERT_TRUE(track.ok()) << track.status().ToString();
    EXPECT_EQ(track->trial_windows, 5);
    ASSERT_EQ(track->windows.size(), 5u + 4u);  // 10 s of tail = 4 windows (rounded up)
    EXPECT_EQ(track->impact, Milliseconds(300 * 20));
    for (const ImuSamples& w : track->windows) EXPECT_EQ(w.size(), kReplayWindowSamples);
    // The trial windows are the series as recorded, back to back.
    EXPECT_EQ(track->windows[1][0], series.samples[128]);
    EXPECT_EQ(track->windows[4][127], series.samples[639]);
    // The tail repeats the last still 128 samples: first backwards (joining the trial's end), then forwards.
    const size_t last = series.samples.size() - 128;
    EXPECT_EQ(track->windows[5][0], series.samples.back());
    EXPECT_EQ(track->windows[5][127], series.samples[last]);
    EXPECT_EQ(track->windows[6][0], series.samples[last]);
    EXPECT_EQ(track->windows[6][127], series.samples.back());
    EXPECT_EQ(track->length(), Milliseconds(9 * 2'560));

    // Without lying_still (or for an ADL) there is no tail and no impact.
    auto plain = BuildReplayTrack(series, /*fall=*/false, Milliseconds(10'000));
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->windows.size(), 5u);
    EXPECT_FALSE(plain->impact.has_value());
    EXPECT_EQ(BuildReplayTrack(series, true, Milliseconds(0))->windows.size(), 5u);
}

TEST(ImuReplayTest, UnusableTrialsAreRefusedWithTheReason) {
    // Shorter than a window.
    EXPECT_FALSE(BuildReplayTrack(FallSeries(1.0, 1.0), false, Milliseconds(0)).ok());
    // The impact in the last second of the replayed windows (or beyond them).
    auto late = BuildReplayTrack(FallSeries(10.0, 0.3), true, Milliseconds(10'000));
    ASSERT_FALSE(late.ok());
    EXPECT_NE(late.status().message().find("impact"), std::string::npos) << late.status().ToString();
    // A value the API refuses (beyond ±16 g).
    auto huge = BuildReplayTrack(FallSeries(6.0, 9.0, 20.0F), true, Milliseconds(10'000));
    ASSERT_FALSE(huge.ok());
    EXPECT_NE(huge.status().message().find("16 g"), std::string::npos) << huge.status().ToString();
    // A series with no still stretch after the impact gets no tail.
    imu::Series restless = FallSeries(6.0, 9.0);
    for (size_t i = 301; i < restless.samples.size(); ++i) restless.samples[i][0] += (i % 2 ? 0.3F : -0.3F);
    auto no_tail = BuildReplayTrack(restless, true, Milliseconds(10'000));
    ASSERT_TRUE(no_tail.ok()) << no_tail.status().ToString();
    EXPECT_EQ(no_tail->windows.size(), 5u);
}

TEST(ImuReplayTest, ATrialThatEndsSoonAfterTheFallLiesStillOnItsLastStillSecond) {
    // Restless after the impact except for the last 1.2 s: the tail plays that second back and forth.
    imu::Series series = FallSeries(6.0, 9.0);
    const size_t n = series.samples.size();
    for (size_t i = 301; i + 60 < n; ++i) series.samples[i][0] += (i % 2 ? 0.3F : -0.3F);
    auto track = BuildReplayTrack(series, /*fall=*/true, Milliseconds(10'000));
    ASSERT_TRUE(track.ok()) << track.status().ToString();
    ASSERT_EQ(track->windows.size(), 5u + 4u);
    EXPECT_EQ(track->windows[5][0], series.samples.back());
    for (size_t k = 5; k < 9; ++k) {
        for (const auto& sample : track->windows[k]) EXPECT_NEAR(sample[0], 1.0F, 0.01F);  // lying, not restless
    }
}

TEST(ImuReplayTest, WindowProblemsFollowTheApiRules) {
    const ImuSamples standing(kReplayWindowSamples, {0.0F, 1.0F, 0.0F, 0.0F, 0.0F, 0.0F});
    EXPECT_FALSE(ReplayWindowProblem(standing, false).has_value());
    EXPECT_TRUE(ReplayWindowProblem(standing, true).has_value() == false);  // 1 g without gravity is ≤ 3 g
    const ImuSamples ms2(kReplayWindowSamples, {0.0F, 9.81F, 0.0F, 0.0F, 0.0F, 0.0F});
    EXPECT_NE(ReplayWindowProblem(ms2, false)->find("m/s"), std::string::npos);
    const ImuSamples no_gravity(kReplayWindowSamples, {0.0F, 0.01F, 0.0F, 0.0F, 0.0F, 0.0F});
    EXPECT_TRUE(ReplayWindowProblem(no_gravity, false).has_value());
    EXPECT_FALSE(ReplayWindowProblem(no_gravity, true).has_value());
    const ImuSamples spinning(kReplayWindowSamples, {0.0F, 1.0F, 0.0F, 2500.0F, 0.0F, 0.0F});
    EXPECT_NE(ReplayWindowProblem(spinning, false)->find("2000"), std::string::npos);
    EXPECT_TRUE(ReplayWindowProblem(ImuSamples(127, standing[0]), false).has_value());
}

TEST(ImuReplayTest, TheImpactIsLookedForNearTheAnnotatedFallAndNoTailFollowsARecovery) {
    // A knock of 6 g at 2 s (sample 100) is the trial's largest |a|; the fall (4 g) is at 6 s (sample 300).
    imu::Series series = FallSeries(6.0, 9.0);
    series.samples[100] = {6.0F, 1.0F, 0.0F, 50.0F, 0.0F, 0.0F};
    auto whole = BuildReplayTrack(series, /*fall=*/true, Milliseconds(10'000));
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    EXPECT_EQ(whole->impact, Milliseconds(100 * 20));
    FallReplayFacts facts;
    facts.impact_search = imu::TimeInterval{5.0, 7.0};
    auto annotated = BuildReplayTrack(series, true, Milliseconds(10'000), facts);
    ASSERT_TRUE(annotated.ok()) << annotated.status().ToString();
    EXPECT_EQ(annotated->impact, Milliseconds(300 * 20));
    EXPECT_EQ(annotated->windows.size(), 5u + 4u);
    // The person gets up again: the same trial without a lying-still tail.
    facts.stays_down = false;
    auto recovered = BuildReplayTrack(series, true, Milliseconds(10'000), facts);
    ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
    EXPECT_EQ(recovered->impact, Milliseconds(300 * 20));
    EXPECT_EQ(recovered->windows.size(), 5u);
    EXPECT_EQ(recovered->trial_windows, 5);
    // An annotation whose impact lies in the last second of the windows is refused like any other.
    facts.impact_search = imu::TimeInterval{12.5, 14.0};
    series.samples[660] = {5.0F, 0.0F, 0.0F, 0.0F, 0.0F, 0.0F};  // 13.2 s: beyond the 5 windows (12.8 s)
    EXPECT_FALSE(BuildReplayTrack(series, true, Milliseconds(10'000), facts).ok());
}

TEST(ImuReplayTest, FallFactsComeFromTheActivityTableAndTheAnnotation) {
    imu::TrialInfo info;
    info.dataset = imu::DatasetId::kFallAllD;
    info.is_fall_trial = true;
    info.activity_code = "A101";  // forward fall while walking (trip)
    EXPECT_TRUE(FallReplayFactsOf(info).stays_down);
    EXPECT_FALSE(FallReplayFactsOf(info).impact_search.has_value());
    for (const char* recovery :
         {"A102", "A104", "A106", "A108", "A110", "A116", "A118", "A120", "A122", "A124", "A126", "A128"}) {
        info.activity_code = recovery;
        EXPECT_FALSE(FallReplayFactsOf(info).stays_down) << recovery << " (with recovery)";
    }
    info.activity_code = "A135";  // sliding down a wall: ends sitting, not lying
    EXPECT_FALSE(FallReplayFactsOf(info).stays_down);
    info.activity_code = "A127";  // from bed: lies on the floor
    EXPECT_TRUE(FallReplayFactsOf(info).stays_down);

    info.dataset = imu::DatasetId::kWedaFall;
    info.activity_code = "F01";
    info.annotated_fall = imu::TimeInterval{3.2, 6.1};
    const FallReplayFacts weda = FallReplayFactsOf(info);
    EXPECT_TRUE(weda.stays_down);  // onto a mattress
    ASSERT_TRUE(weda.impact_search.has_value());
    EXPECT_DOUBLE_EQ(weda.impact_search->begin_s, 3.2 - imu::LabelParams{}.impact_search_margin_s);
    EXPECT_DOUBLE_EQ(weda.impact_search->end_s, 6.1 + imu::LabelParams{}.impact_search_margin_s);
}

// The test split's trials of one data set under the shared data folder (tests/shared_data), or nullopt
// when it cannot be read. REQUIRES: the data set's folder is there (VG_REQUIRE_DATA_SET).
std::optional<ImuCatalog> TestSplitOf(ImuDataset dataset) {
    ImuSpec spec;
    spec.data_dir = ::vg::testing::SharedDataRoot().string();
    spec.datasets = {dataset};
    auto catalog = LoadImuCatalog(spec);
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    if (!catalog.ok()) return std::nullopt;
    return *catalog;
}

TEST(ImuReplayTest, WedaFallTrialsReplayFromTheWristWithTheImpactAtTheirAnnotatedFall) {
    VG_REQUIRE_DATA_SET("wedafall");
    const auto catalog = TestSplitOf(ImuDataset::kWedaFall);
    ASSERT_TRUE(catalog.has_value());
    ASSERT_GE(catalog->falls.size(), 20u);
    int with_tail = 0;
    for (const ImuTrialRef& t : catalog->falls) {
        SCOPED_TRACE(t.info.path.filename().string());
        EXPECT_EQ(t.placement, ImuPlacement::kWrist);
        EXPECT_FALSE(t.info.gravity_removed);
        ASSERT_TRUE(t.info.annotated_fall.has_value());
        auto track = LoadReplayTrack(t.info, Milliseconds(10'000));
        ASSERT_TRUE(track.ok()) << track.status().ToString();
        ASSERT_TRUE(track->impact.has_value());
        // At least a second inside the trial's own windows, and within the annotation (± the search margin).
        EXPECT_GE(*track->impact, Milliseconds(1'000));
        EXPECT_LE(*track->impact + Milliseconds(1'000), kReplayWindowLength * track->trial_windows);
        const double impact_s = static_cast<double>(track->impact->count()) / 1000.0;
        EXPECT_GE(impact_s, t.info.annotated_fall->begin_s - 0.52);
        EXPECT_LE(impact_s, t.info.annotated_fall->end_s + 0.52);
        if (track->windows.size() > static_cast<size_t>(track->trial_windows)) {
            ++with_tail;
            EXPECT_EQ(track->windows.size(), static_cast<size_t>(track->trial_windows) + 4u);
        }
    }
    EXPECT_GE(with_tail, static_cast<int>(catalog->falls.size()) * 3 / 4);  // they end lying on the mattress
}

TEST(ImuReplayTest, FallAllDFallTrialsReplayWithTheirImpactAndNoTailAfterARecovery) {
    VG_REQUIRE_DATA_SET("fallalld");
    const auto catalog = TestSplitOf(ImuDataset::kFallAllD);
    ASSERT_TRUE(catalog.has_value());
    ASSERT_GE(catalog->falls.size(), 20u);
    int recoveries = 0, stays_down_with_tail = 0;
    for (const ImuTrialRef& t : catalog->falls) {
        SCOPED_TRACE(t.info.path.filename().string());
        EXPECT_EQ(t.placement, ImuPlacement::kWrist);
        EXPECT_FALSE(t.info.gravity_removed);
        auto track = LoadReplayTrack(t.info, Milliseconds(10'000));
        ASSERT_TRUE(track.ok()) << track.status().ToString();
        ASSERT_TRUE(track->impact.has_value());
        // 20 s trials with the event near 10 s: 7 whole windows, the impact well inside them.
        EXPECT_EQ(track->trial_windows, 7);
        EXPECT_GE(*track->impact, Milliseconds(5'000));
        EXPECT_LE(*track->impact, Milliseconds(15'000));
        const bool tail = track->windows.size() > static_cast<size_t>(track->trial_windows);
        if (t.info.activity_name.find("with recovery") != std::string::npos) {
            ++recoveries;
            EXPECT_FALSE(tail) << "the subject got up again: no lying still";
        } else if (tail) {
            ++stays_down_with_tail;
        }
    }
    EXPECT_GE(recoveries, 5);
    EXPECT_GE(stays_down_with_tail, 10);
}

TEST(ImuReplayTest, TheFallsAllScenarioPlansEveryDataSetAndTheElderlyWedaFallActivities) {
    auto scenario = LoadScenarioFile(std::string(VG_SOURCE_DIR) + "/sim/scenarios/falls-all.json");
    ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
    // The scenario names ../shared/data beside the repository; the tests read wherever VG_SHARED_DATA says.
    scenario->imu->data_dir = ::vg::testing::SharedDataRoot().string();
    for (ImuDataset d : scenario->imu->datasets) VG_REQUIRE_DATA_SET(ImuDatasetName(d));
    auto catalog = LoadImuCatalog(*scenario->imu);
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    auto plan = PlanImu(*scenario, *catalog);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    std::map<std::pair<ImuDataset, ImuPlacement>, int> falls, adl;
    int elderly_adl = 0, recovery_falls = 0;
    std::set<std::string> elderly_subjects;
    for (const ImuEventPlan& e : plan->events) {
        (e.kind == ImuKind::kFall ? falls : adl)[{e.dataset, e.placement}]++;
        if (e.dataset == ImuDataset::kWedaFall && e.subject >= "U21") {
            EXPECT_EQ(e.kind, ImuKind::kAdl) << e.file << ": no elderly person fell";
            ++elderly_adl;
            elderly_subjects.insert(e.subject);
        }
        EXPECT_EQ(e.gravity_removed, e.dataset == ImuDataset::kHifd);
        if (e.kind == ImuKind::kFall && e.activity_name.find("with recovery") != std::string::npos) {
            ++recovery_falls;
            EXPECT_EQ(e.windows.size(), static_cast<size_t>(e.trial_windows)) << e.file;
        }
        EXPECT_LE(e.end(), scenario->duration);
    }
    int fall_count = 0, adl_count = 0;
    for (const auto& [key, n] : falls) fall_count += n;
    for (const auto& [key, n] : adl) adl_count += n;
    EXPECT_GE(fall_count, 200);
    EXPECT_GE(adl_count, 400);
    // Six (data set, placement) pairs, each drawn alike: SisFall waist, UMAFall both, the three wrist sets.
    EXPECT_EQ(falls.size(), 6u);
    EXPECT_EQ(adl.size(), 6u);
    for (const auto& [key, n] : falls) EXPECT_GE(n, fall_count / 12) << ImuDatasetName(key.first);
    EXPECT_GE(elderly_adl, 10);
    EXPECT_GE(elderly_subjects.size(), 1u);
    EXPECT_GE(recovery_falls, 3);
    std::cout << "falls-all plan: " << fall_count << " falls, " << adl_count << " ADL events (" << elderly_adl
              << " by elderly WEDA-FALL subjects), " << recovery_falls << " falls with recovery, "
              << plan->warnings.size() << " warnings\n";
}

// On the real data (read in place; skipped where it is not installed): the shipped falls scenario picks
// test-split trials of every data set, deterministically, and its events fit the run without overlapping.
TEST(ImuReplayTest, TheFallsScenarioPlansTestSubjectsTrialsDeterministically) {
    auto scenario = LoadScenarioFile(std::string(VG_SOURCE_DIR) + "/sim/scenarios/falls.json");
    ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
    scenario->imu->data_dir = ::vg::testing::SharedDataRoot().string();
    for (ImuDataset d : scenario->imu->datasets) VG_REQUIRE_DATA_SET(ImuDatasetName(d));
    auto catalog = LoadImuCatalog(*scenario->imu);
    ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
    EXPECT_GT(catalog->falls.size(), 100u);
    EXPECT_GT(catalog->adl.size(), 100u);
    auto plan = PlanImu(*scenario, *catalog);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    auto again = PlanImu(*scenario, *catalog);
    ASSERT_TRUE(again.ok());
    ASSERT_EQ(plan->events.size(), again->events.size());
    std::set<std::string> datasets, placements;
    int falls = 0, stumbles = 0;
    for (size_t i = 0; i < plan->events.size(); ++i) {
        const ImuEventPlan& e = plan->events[i];
        EXPECT_EQ(e.file, again->events[i].file);
        EXPECT_EQ(e.onset, again->events[i].onset);
        EXPECT_GE(e.onset, Milliseconds(0));
        EXPECT_LE(e.end(), scenario->duration);
        EXPECT_GT(e.trial_windows, 0);
        if (i > 0 && plan->events[i - 1].wearer == e.wearer) {
            EXPECT_GE(e.onset, plan->events[i - 1].end() + kImuEventSpacing);
        }
        datasets.insert(std::string(ImuDatasetName(e.dataset)));
        placements.insert(std::string(ImuPlacementName(e.placement)));
        if (e.kind == ImuKind::kFall) {
            ++falls;
            ASSERT_TRUE(e.impact.has_value());
            EXPECT_LT(e.onset + *e.impact, e.onset + kReplayWindowLength * e.trial_windows);
        } else {
            EXPECT_FALSE(e.impact.has_value());
        }
        if (e.activity == "D18") ++stumbles;
        EXPECT_EQ(e.gravity_removed, e.dataset == ImuDataset::kHifd);
    }
    EXPECT_EQ(datasets.size(), 3u);
    EXPECT_EQ(placements.size(), 2u);
    EXPECT_GE(falls, 30);
    EXPECT_GE(stumbles, 4);
    // Every subject replayed is a test subject.
    for (const ImuTrialRef& t : catalog->falls) EXPECT_TRUE(t.info.is_fall_trial);
}

}  // namespace
}  // namespace vg::sim
