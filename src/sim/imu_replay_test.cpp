#include "vg/sim/imu_replay.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

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

// On the real data (read in place; skipped where it is not installed): the shipped falls scenario picks
// test-split trials of every data set, deterministically, and its events fit the run without overlapping.
TEST(ImuReplayTest, TheFallsScenarioPlansTestSubjectsTrialsDeterministically) {
    auto scenario = LoadScenarioFile(std::string(VG_SOURCE_DIR) + "/sim/scenarios/falls.json");
    ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
    if (!std::filesystem::exists(scenario->imu->data_dir + "/sisfall")) {
        GTEST_SKIP() << "the IMU data sets are not under " << scenario->imu->data_dir;
    }
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
