// The fall monitor's paths on synthetic window sequences and simulated time: confirmed by stillness,
// dismissed by walking (model or gait), confirmed at the deadline (struggling) and on silence; and a
// monitor restored from a snapshot taken at any point deciding each path exactly as the original.
#include "vg/posture/fall_monitor.hpp"

#include <gtest/gtest.h>

#include <variant>
#include <vector>

namespace vg::posture {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = FromUnixMillis(1'800'000'000'000);
constexpr Milliseconds kWindow{2560};

MonitorWindow Window(int index, float fall, Posture posture, float p, double std_g, double periodicity = 0.1) {
    MonitorWindow w;
    w.end = kT0 + kWindow * index;
    w.received = w.end + milliseconds(300);
    w.fall_probability = fall;
    w.posture = posture;
    w.posture_probability = p;
    w.motion.accel_std_g = std_g;
    w.motion.periodicity = periodicity;
    return w;
}
MonitorWindow Impact(int i) { return Window(i, 0.95F, Posture::kFall, 0.95F, 0.9, 0.1); }
MonitorWindow Walking(int i) { return Window(i, 0.01F, Posture::kWalking, 0.9F, 0.17, 0.8); }
MonitorWindow LyingStill(int i) { return Window(i, 0.05F, Posture::kLying, 0.8F, 0.006, 0.2); }
MonitorWindow Struggling(int i) { return Window(i, 0.2F, Posture::kLying, 0.5F, 0.25, 0.3); }

class FallMonitorTest : public ::testing::Test {
  protected:
    FallMonitorOptions options_;
    FallMonitor monitor_{options_};
};

TEST_F(FallMonitorTest, NothingHappensWithoutAFallWindow) {
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(monitor_.Observe(i % 2 ? Walking(i) : LyingStill(i)));
    EXPECT_FALSE(monitor_.suspected());
    EXPECT_FALSE(monitor_.Tick(kT0 + std::chrono::hours(1)));
}

TEST_F(FallMonitorTest, TheThresholdIsInclusive) {
    EXPECT_FALSE(monitor_.Observe(Window(0, 0.49F, Posture::kStanding, 0.5F, 0.3)));
    auto e = monitor_.Observe(Window(1, 0.5F, Posture::kStanding, 0.5F, 0.3));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->state, FallState::kSuspected);
    EXPECT_EQ(e->reason, FallReason::kImpact);
    EXPECT_EQ(e->impact_at, kT0 + kWindow);
}

TEST_F(FallMonitorTest, TwoStillWindowsAfterTheImpactConfirm) {
    EXPECT_FALSE(monitor_.Observe(Walking(0)));
    auto s = monitor_.Observe(Impact(1));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->state, FallState::kSuspected);
    EXPECT_TRUE(monitor_.suspected());
    EXPECT_FALSE(monitor_.Observe(LyingStill(2)));
    auto c = monitor_.Observe(LyingStill(3));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, FallState::kConfirmed);
    EXPECT_EQ(c->reason, FallReason::kStill);
    EXPECT_EQ(c->impact_at, kT0 + kWindow);
    EXPECT_EQ(c->at, kT0 + kWindow * 3);
    EXPECT_FALSE(monitor_.suspected());
}

TEST_F(FallMonitorTest, MovementBetweenStillWindowsStartsTheCountOver) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    EXPECT_FALSE(monitor_.Observe(LyingStill(1)));
    EXPECT_FALSE(monitor_.Observe(Struggling(2)));
    EXPECT_FALSE(monitor_.Observe(LyingStill(3)));
    auto c = monitor_.Observe(LyingStill(4));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->reason, FallReason::kStill);
}

TEST_F(FallMonitorTest, GettingUpAndWalkingDismisses) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    EXPECT_FALSE(monitor_.Observe(Struggling(1)));
    auto d = monitor_.Observe(Walking(2));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->state, FallState::kDismissed);
    EXPECT_EQ(d->reason, FallReason::kLocomotion);
    EXPECT_FALSE(monitor_.suspected());
    // A dismissal leaves no quiet period: the next fall is suspected at once.
    auto again = monitor_.Observe(Impact(3));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->state, FallState::kSuspected);
}

TEST_F(FallMonitorTest, TheWindowRightAfterTheImpactCannotDismiss) {
    // Rolling and bouncing after an impact can look like gait for one window (seen on SisFall).
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    EXPECT_FALSE(monitor_.Observe(Walking(1)));  // ends 2.56 s after the impact window: not settled
    auto d = monitor_.Observe(Walking(2));       // 5.12 s
    ASSERT_TRUE(d);
    EXPECT_EQ(d->state, FallState::kDismissed);
}

TEST_F(FallMonitorTest, AClearGaitSignalDismissesWhateverTheModelSays) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    EXPECT_FALSE(monitor_.Observe(Struggling(1)));
    auto d = monitor_.Observe(Window(2, 0.02F, Posture::kStanding, 0.4F, 0.15, 0.85));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->state, FallState::kDismissed);
    EXPECT_EQ(d->reason, FallReason::kGait);
}

TEST_F(FallMonitorTest, WithoutGravityOnlyTheModelCanDismiss) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    MonitorWindow gait = Window(2, 0.02F, Posture::kStanding, 0.4F, 0.15, 0.95);
    gait.gravity_removed = true;
    EXPECT_FALSE(monitor_.Observe(gait));
    MonitorWindow walking = Walking(3);
    walking.gravity_removed = true;
    auto d = monitor_.Observe(walking);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->reason, FallReason::kLocomotion);
}

TEST_F(FallMonitorTest, ALowProbabilityLocomotionOrIrregularMovementDoesNotDismiss) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    EXPECT_FALSE(monitor_.Observe(Struggling(1)));
    EXPECT_FALSE(monitor_.Observe(Window(2, 0.02F, Posture::kWalking, 0.6F, 0.15, 0.3)));   // below 0.7
    EXPECT_FALSE(monitor_.Observe(Window(3, 0.02F, Posture::kStanding, 0.6F, 0.3, 0.75)));  // not periodic enough
    EXPECT_FALSE(monitor_.Observe(Window(4, 0.02F, Posture::kStanding, 0.6F, 0.09, 0.9)));  // too little movement
    EXPECT_TRUE(monitor_.suspected());
}

TEST_F(FallMonitorTest, AModelSayingWalkingWhileTheWearerIsStillNeitherDismissesNorConfirms) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    for (int i = 1; i <= 4; ++i) {
        EXPECT_FALSE(monitor_.Observe(Window(i, 0.02F, Posture::kWalking, 0.95F, 0.004, 0.1))) << i;
    }
    // … so the deadline decides, on the safe side.
    auto c = monitor_.Observe(Window(6, 0.02F, Posture::kWalking, 0.95F, 0.004, 0.1));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, FallState::kConfirmed);
    EXPECT_EQ(c->reason, FallReason::kDeadline);
}

TEST_F(FallMonitorTest, StrugglingUntilTheDeadlineConfirms) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    // 15 s after the impact window's end: windows 1..5 end at 2.56 … 12.8 s; window 6 at 15.36 s.
    for (int i = 1; i <= 5; ++i) EXPECT_FALSE(monitor_.Observe(Struggling(i))) << i;
    auto c = monitor_.Observe(Struggling(6));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, FallState::kConfirmed);
    EXPECT_EQ(c->reason, FallReason::kDeadline);
    EXPECT_EQ(c->at, kT0 + kWindow * 6);
}

TEST_F(FallMonitorTest, FurtherFallWindowsKeepTheFirstImpactsDeadline) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    for (int i = 1; i <= 5; ++i) EXPECT_FALSE(monitor_.Observe(Impact(i))) << i;
    auto c = monitor_.Observe(Impact(6));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->reason, FallReason::kDeadline);
    EXPECT_EQ(c->impact_at, kT0);
}

TEST_F(FallMonitorTest, SilenceAfterASuspicionConfirmsOnTick) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    const TimePoint received = Impact(0).received;
    EXPECT_FALSE(monitor_.Tick(received + seconds(29)));
    auto c = monitor_.Tick(received + seconds(30));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, FallState::kConfirmed);
    EXPECT_EQ(c->reason, FallReason::kSilence);
    EXPECT_EQ(c->at, received + seconds(30));
    EXPECT_FALSE(monitor_.Tick(received + seconds(31)));  // reported once
}

TEST_F(FallMonitorTest, SilenceCountsFromTheLastWindowReceived) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    EXPECT_FALSE(monitor_.Observe(Struggling(1)));
    EXPECT_FALSE(monitor_.Tick(Struggling(1).received + seconds(29)));
    EXPECT_TRUE(monitor_.Tick(Struggling(1).received + seconds(30)));
}

TEST_F(FallMonitorTest, BoundaryWindowsAreFallEvidenceOnly) {
    MonitorWindow boundary = Impact(0);
    boundary.boundary = true;
    ASSERT_TRUE(monitor_.Observe(boundary));  // a boundary impact raises the suspicion
    for (int i = 1; i <= 3; ++i) {
        MonitorWindow still = LyingStill(i);
        still.boundary = true;  // overlapping stillness is not counted twice
        EXPECT_FALSE(monitor_.Observe(still));
        MonitorWindow walking = Walking(i);
        walking.boundary = true;
        walking.end += milliseconds(1);
        EXPECT_FALSE(monitor_.Observe(walking));
    }
    EXPECT_TRUE(monitor_.suspected());
}

TEST_F(FallMonitorTest, NoNewSuspicionRightAfterAConfirmationUnlessTheWearerWalked) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    EXPECT_FALSE(monitor_.Observe(LyingStill(1)));
    ASSERT_TRUE(monitor_.Observe(LyingStill(2)));  // confirmed at 5.12 s
    // Thrashing on the floor during the countdown: the open incident covers it.
    EXPECT_FALSE(monitor_.Observe(Impact(3)));
    EXPECT_FALSE(monitor_.Observe(Impact(4)));
    // Up and walking, then a new fall: a new suspicion.
    EXPECT_FALSE(monitor_.Observe(Walking(5)));
    auto s = monitor_.Observe(Impact(6));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->state, FallState::kSuspected);
}

TEST_F(FallMonitorTest, TheQuietPeriodEnds) {
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    EXPECT_FALSE(monitor_.Observe(LyingStill(1)));
    ASSERT_TRUE(monitor_.Observe(LyingStill(2)));  // confirmed at 5.12 s; quiet until 35.12 s
    EXPECT_FALSE(monitor_.Observe(Impact(13)));    // 33.28 s
    EXPECT_TRUE(monitor_.Observe(Impact(14)));     // 35.84 s
}

TEST_F(FallMonitorTest, AfterASilenceTheQuietPeriodIsOnTheWindowsClock) {
    // Regression: the quiet period after a silence confirmation once counted from the server's time,
    // so a watch whose clock ran behind (or that uploads old windows) was kept quiet far too long.
    ASSERT_TRUE(monitor_.Observe(Impact(0)));
    ASSERT_TRUE(monitor_.Tick(kT0 + std::chrono::hours(2)));  // server time far ahead of the watch's
    EXPECT_FALSE(monitor_.Observe(Impact(5)));                // 12.8 s: within 30 s of the last window
    EXPECT_TRUE(monitor_.Observe(Impact(12)));                // 30.72 s: a new fall is a new suspicion
}

// ---- snapshot and restore ----

// One step of a monitor's life: a window, or a tick of the server's clock.
using Step = std::variant<MonitorWindow, TimePoint>;

std::optional<FallEvent> Apply(FallMonitor& monitor, const Step& step) {
    if (const auto* w = std::get_if<MonitorWindow>(&step)) return monitor.Observe(*w);
    return monitor.Tick(std::get<TimePoint>(step));
}

bool SameEvent(const std::optional<FallEvent>& a, const std::optional<FallEvent>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || (a->state == b->state && a->reason == b->reason && a->impact_at == b->impact_at && a->at == b->at);
}

// Runs `steps` on one monitor, and for every split point k on a monitor that is snapshotted after step k
// and restored into a new one (as across a restart) which takes the rest: every event after the split
// must be the uninterrupted monitor's. Returns the uninterrupted monitor's events.
std::vector<std::optional<FallEvent>> ExpectRestoredDecidesTheSame(const FallMonitorOptions& options,
                                                                   const std::vector<Step>& steps) {
    FallMonitor whole(options);
    std::vector<std::optional<FallEvent>> expected;
    for (const Step& s : steps) expected.push_back(Apply(whole, s));
    for (size_t k = 0; k <= steps.size(); ++k) {
        FallMonitor before(options);
        for (size_t i = 0; i < k; ++i) (void)Apply(before, steps[i]);
        const FallMonitorSnapshot snapshot = before.Snapshot();
        FallMonitor after(options);
        after.Restore(snapshot);
        EXPECT_EQ(after.Snapshot(), snapshot) << "split " << k;
        EXPECT_EQ(after.suspected(), before.suspected()) << "split " << k;
        for (size_t i = k; i < steps.size(); ++i) {
            const std::optional<FallEvent> e = Apply(after, steps[i]);
            EXPECT_TRUE(SameEvent(e, expected[i])) << "split after step " << k << ", step " << i;
        }
        EXPECT_EQ(after.Snapshot(), whole.Snapshot()) << "split " << k;
    }
    return expected;
}

// The state of the last event in `events`, or none.
FallState LastState(const std::vector<std::optional<FallEvent>>& events) {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
        if (*it) return (*it)->state;
    }
    return FallState::kNone;
}

TEST(FallMonitorSnapshot, AFreshMonitorHasAnEmptySnapshot) {
    FallMonitor monitor{FallMonitorOptions{}};
    EXPECT_EQ(monitor.Snapshot(), FallMonitorSnapshot{});
}

TEST(FallMonitorSnapshot, ARestoredMonitorConfirmsByStillnessAsTheOriginal) {
    // A still window before the split counts: the restored monitor confirms on the next still one.
    const auto events = ExpectRestoredDecidesTheSame(
        {}, {Walking(0), Impact(1), LyingStill(2), Struggling(3), LyingStill(4), LyingStill(5)});
    ASSERT_TRUE(events[5]);
    EXPECT_EQ(events[5]->reason, FallReason::kStill);
}

TEST(FallMonitorSnapshot, ARestoredMonitorConfirmsAtTheDeadlineAsTheOriginal) {
    std::vector<Step> steps{Impact(0)};
    for (int i = 1; i <= 6; ++i) steps.emplace_back(Struggling(i));
    const auto events = ExpectRestoredDecidesTheSame({}, steps);
    ASSERT_TRUE(events[6]);
    EXPECT_EQ(events[6]->reason, FallReason::kDeadline);
}

TEST(FallMonitorSnapshot, ARestoredMonitorDismissesOnLocomotionAndGaitAsTheOriginal) {
    const auto walked = ExpectRestoredDecidesTheSame({}, {Impact(0), Walking(1), Walking(2), Impact(3)});
    ASSERT_TRUE(walked[2]);
    EXPECT_EQ(walked[2]->reason, FallReason::kLocomotion);
    EXPECT_EQ(LastState(walked), FallState::kSuspected);  // no quiet period after a dismissal
    const auto gait = ExpectRestoredDecidesTheSame(
        {}, {Impact(0), Struggling(1), Window(2, 0.02F, Posture::kStanding, 0.4F, 0.15, 0.85)});
    ASSERT_TRUE(gait[2]);
    EXPECT_EQ(gait[2]->reason, FallReason::kGait);
}

TEST(FallMonitorSnapshot, ARestoredMonitorConfirmsOnSilenceAsTheOriginal) {
    const TimePoint received = Struggling(1).received;
    const auto events =
        ExpectRestoredDecidesTheSame({}, {Impact(0), Struggling(1), received + seconds(29), received + seconds(30)});
    EXPECT_FALSE(events[2]);
    ASSERT_TRUE(events[3]);
    EXPECT_EQ(events[3]->reason, FallReason::kSilence);
}

TEST(FallMonitorSnapshot, ARestoredMonitorKeepsTheQuietPeriodAfterAConfirmation) {
    // Confirmed at 5.12 s, quiet until 35.12 s: the impact at 33.28 s raises nothing, at 35.84 s it does.
    const auto events = ExpectRestoredDecidesTheSame(
        {}, {Impact(0), LyingStill(1), LyingStill(2), Impact(3), Impact(13), Impact(14), LyingStill(15)});
    EXPECT_FALSE(events[3]);
    EXPECT_FALSE(events[4]);
    ASSERT_TRUE(events[5]);
    EXPECT_EQ(events[5]->state, FallState::kSuspected);
}

TEST(FallMonitorNames, StatesAndReasons) {
    EXPECT_EQ(FallStateName(FallState::kNone), "none");
    EXPECT_EQ(FallStateName(FallState::kSuspected), "suspected");
    EXPECT_EQ(FallStateName(FallState::kConfirmed), "confirmed");
    EXPECT_EQ(FallStateName(FallState::kDismissed), "dismissed");
    EXPECT_EQ(FallReasonName(FallReason::kDeadline), "deadline");
    EXPECT_EQ(FallReasonName(FallReason::kGait), "gait");
    EXPECT_TRUE(IsLocomotion(Posture::kDownstairs));
    EXPECT_TRUE(IsLocomotion(Posture::kRunning));
    EXPECT_FALSE(IsLocomotion(Posture::kStanding));
    EXPECT_FALSE(IsLocomotion(Posture::kFall));
}

}  // namespace
}  // namespace vg::posture
