// The fall monitor on real trials (SisFall, read in place): the movement after real falls confirms
// them; real walking after a (hypothetical) false suspicion dismisses it. The classifier's part is
// played by hand-built predictions — the impact window is called a fall, the others get a neutral or a
// plausible posture — so these tests pin down the monitor's signal rules, not a model.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "real_data_test_support.hpp"
#include "vg/posture/fall_monitor.hpp"
#include "vg/posture/window.hpp"

namespace vg::posture {
namespace {

using imu::DatasetId;

const TimePoint kT0 = FromUnixMillis(1'800'000'000'000);

// What a watch would send: consecutive, non-overlapping 2.56 s windows from the start of the trial.
struct Replayed {
    std::vector<ModelWindow> windows;
    std::vector<TimePoint> ends;
    std::optional<size_t> impact_window;  // the window holding the |a| peak (fall trials)
};

Replayed Replay(const testdata::LoadedTrial& t) {
    Replayed r;
    for (size_t start = 0; start + kWindowSamples <= t.series.samples.size(); start += kWindowSamples) {
        r.windows.push_back(testdata::WindowAt(t.series, t.info, start));
        r.ends.push_back(kT0 + Milliseconds(static_cast<int64_t>((start + kWindowSamples - 1) * 20)));
        if (t.labels.impact && *t.labels.impact >= start && *t.labels.impact < start + kWindowSamples) {
            r.impact_window = r.windows.size() - 1;
        }
    }
    return r;
}

MonitorWindow Observed(const Replayed& r, size_t i, float fall, Posture posture, float p) {
    MonitorWindow m;
    m.end = r.ends[i];
    m.received = r.ends[i] + Milliseconds(200);
    m.fall_probability = fall;
    m.posture = posture;
    m.posture_probability = p;
    m.motion = MeasureMotion(r.windows[i]);
    m.gravity_removed = r.windows[i].gravity_removed;
    return m;
}

// Feeds windows from `first` on, the window `suspect` as a fall, the later ones as `after`; returns the
// decision (nullopt when the trial ended undecided).
std::optional<FallEvent> Monitor(const Replayed& r, size_t suspect, Posture after, float after_p) {
    FallMonitor monitor{FallMonitorOptions{}};
    for (size_t i = 0; i < r.windows.size(); ++i) {
        const bool is_fall = i == suspect;
        auto e = monitor.Observe(
            Observed(r, i, is_fall ? 0.95F : 0.02F, is_fall ? Posture::kFall : after, is_fall ? 0.95F : after_p));
        if (i < suspect) {
            EXPECT_FALSE(e);
            continue;
        }
        if (i == suspect) {
            EXPECT_TRUE(e && e->state == FallState::kSuspected);
            continue;
        }
        if (e) return e;
    }
    return std::nullopt;
}

testdata::LoadedTrial LoadOne(std::string_view subject, std::string_view code) {
    const imu::TrialInfo info = testdata::Find(DatasetId::kSisFall, subject, code);
    EXPECT_FALSE(info.path.empty()) << subject << " " << code << " is not in " << testdata::kData;
    testdata::LoadedTrial t = testdata::Load(info);
    EXPECT_TRUE(t.ok) << info.path;
    return t;
}

TEST(FallMonitorRealData, SisFallSlipWhileWalkingConfirmsOnTheStillnessAfterIt) {
    VG_REQUIRE_DATA_SET("sisfall");
    // SA01 F01 (train split): a slip while walking, impact at 7.3 s (9.1 g), then lying still.
    const testdata::LoadedTrial t = LoadOne("SA01", "F01");
    ASSERT_TRUE(t.ok);
    EXPECT_TRUE(testdata::InSplit(t.info, imu::Split::kTrain));
    const Replayed r = Replay(t);
    ASSERT_TRUE(r.impact_window.has_value());
    EXPECT_EQ(*r.impact_window, 2u);  // 5.12–7.66 s
    // The two windows after the impact are still (std |a| well under 0.03 g) …
    EXPECT_LT(MeasureMotion(r.windows[3]).accel_std_g, 0.03);
    EXPECT_LT(MeasureMotion(r.windows[4]).accel_std_g, 0.03);
    // … so, even with a model that only says "Lying" weakly, the fall is confirmed 5.12 s after the impact window.
    auto e = Monitor(r, *r.impact_window, Posture::kLying, 0.5F);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->state, FallState::kConfirmed);
    EXPECT_EQ(e->reason, FallReason::kStill);
    EXPECT_EQ(e->at - e->impact_at, Milliseconds(2 * 2560));
}

TEST(FallMonitorRealData, EverySisFallFallOfTheTrainSplitIsConfirmedOrOnItsWayNeverDismissed) {
    VG_REQUIRE_DATA_SET("sisfall");
    // SisFall trials are 15 s and end lying. With two windows after the impact's, a fall is confirmed when
    // both are still; when the first still moves (the fall's aftermath) the trial ends one window too
    // early, and a last window that is still says the next one would confirm it.
    int trials = 0, confirmed = 0, on_its_way = 0, moving = 0;
    for (const imu::TrialInfo& info : testdata::Listed(DatasetId::kSisFall)) {
        if (!info.is_fall_trial || !testdata::InSplit(info, imu::Split::kTrain)) continue;
        const testdata::LoadedTrial t = testdata::Load(info);
        ASSERT_TRUE(t.ok) << info.path;
        const Replayed r = Replay(t);
        if (!r.impact_window || *r.impact_window + 2 >= r.windows.size()) continue;
        ++trials;
        // The post-fall windows get a neutral prediction: only the signal decides.
        auto e = Monitor(r, *r.impact_window, Posture::kStanding, 0.4F);
        if (e) {
            EXPECT_EQ(e->state, FallState::kConfirmed) << info.path << " " << FallReasonName(e->reason);
            EXPECT_EQ(e->reason, FallReason::kStill) << info.path;
            confirmed += e->state == FallState::kConfirmed;
        } else if (MeasureMotion(r.windows.back()).accel_std_g <= FallMonitorOptions{}.still_std_g) {
            ++on_its_way;
        } else {
            ++moving;
        }
    }
    ASSERT_GT(trials, 500);
    EXPECT_GE(confirmed + on_its_way, trials * 97 / 100) << "of " << trials;
    std::printf(
        "SisFall train falls with two windows after the impact: %d trials, %d confirmed (still), %d still at "
        "the end, %d moving at the end, 0 dismissed\n",
        trials, confirmed, on_its_way, moving);
}

TEST(FallMonitorRealData, SisFallStumbleThenWalkingOnIsDismissed) {
    VG_REQUIRE_DATA_SET("sisfall");
    // SA01 D18: a stumble while walking, then walking on. Suppose the model took the stumble for a fall:
    // the walking that follows (called Walking with 0.85 by a model that recognises it) dismisses it.
    const testdata::LoadedTrial t = LoadOne("SA01", "D18");
    ASSERT_TRUE(t.ok);
    const Replayed r = Replay(t);
    ASSERT_GE(r.windows.size(), 4u);
    size_t stumble = 0;  // the window with the largest |a|
    double peak = 0;
    for (size_t i = 0; i < r.windows.size(); ++i) {
        for (size_t k = 0; k < kWindowSamples; ++k) {
            const float* v = &r.windows[i].values[k * kChannels];
            const double m = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
            if (m > peak) {
                peak = m;
                stumble = i;
            }
        }
    }
    ASSERT_LT(stumble + 1, r.windows.size());
    auto e = Monitor(r, stumble, Posture::kWalking, 0.85F);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->state, FallState::kDismissed);
}

TEST(FallMonitorRealData, SisFallWalkingDismissesAFalseSuspicionOnTheGaitSignalAlone) {
    VG_REQUIRE_DATA_SET("sisfall");
    // Walking trials of the train split, a false suspicion at the second window, and a model that says
    // nothing useful afterwards (Standing, 0.4): the periodic gait of |a| dismisses it.
    int trials = 0, dismissed = 0, confirmed = 0;
    for (const imu::TrialInfo& info : testdata::Listed(DatasetId::kSisFall)) {
        if ((info.activity_code != "D01" && info.activity_code != "D02") ||
            !testdata::InSplit(info, imu::Split::kTrain)) {
            continue;
        }
        const testdata::LoadedTrial t = testdata::Load(info);
        ASSERT_TRUE(t.ok) << info.path;
        const Replayed r = Replay(t);
        if (r.windows.size() < 5) continue;
        ++trials;
        auto e = Monitor(r, 1, Posture::kStanding, 0.4F);
        ASSERT_TRUE(e) << info.path;
        (e->state == FallState::kDismissed ? dismissed : confirmed)++;
        EXPECT_NE(e->reason, FallReason::kStill) << info.path;
        if (e->state == FallState::kDismissed) {
            EXPECT_EQ(e->reason, FallReason::kGait);
            EXPECT_LE(e->at - e->impact_at, Milliseconds(15'000));
        }
    }
    ASSERT_GT(trials, 40);
    // Measured (README): nearly all dismissed within the deadline; none confirmed by stillness.
    EXPECT_GE(dismissed, trials * 90 / 100) << dismissed << " of " << trials << " (confirmed " << confirmed << ")";
    std::printf("SisFall train walking with a false suspicion: %d trials, %d dismissed, %d confirmed at the deadline\n",
                trials, dismissed, confirmed);
}

}  // namespace
}  // namespace vg::posture
