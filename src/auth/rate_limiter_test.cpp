#include "vg/auth/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace vg::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(SlidingWindowLimiterTest, AllowsUpToTheLimitThenRefusesUntilTheWindowSlides) {
    ManualClock clock;
    InProcessSlidingWindowLimiter limiter(clock, {3, minutes(15), 100});
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(limiter.RetryAfterSeconds("kim"), 0);
        EXPECT_EQ(limiter.TryAcquire("kim"), 0);
        clock.Advance(minutes(1));
    }
    // Three events at t=0,1,2 min; now t=3 min. The first leaves the window at t=15 min.
    EXPECT_EQ(limiter.RetryAfterSeconds("kim"), 12 * 60);
    clock.Advance(minutes(12) - seconds(1));
    EXPECT_EQ(limiter.RetryAfterSeconds("kim"), 1);
    clock.Advance(seconds(1));
    EXPECT_EQ(limiter.RetryAfterSeconds("kim"), 0);
}

TEST(SlidingWindowLimiterTest, KeysAreIndependentAndResetForgets) {
    ManualClock clock;
    InProcessSlidingWindowLimiter limiter(clock, {1, minutes(1), 100});
    EXPECT_EQ(limiter.TryAcquire("a"), 0);
    EXPECT_GT(limiter.RetryAfterSeconds("a"), 0);
    EXPECT_GT(limiter.TryAcquire("a"), 0);
    EXPECT_EQ(limiter.RetryAfterSeconds("b"), 0);
    limiter.Reset("a");
    EXPECT_EQ(limiter.RetryAfterSeconds("a"), 0);
}

// Issue 15 item 9: when full, the old limiter forgot the quietest live key to make room, so a flood
// of distinct keys wiped the count of the key being limited. Now the new key is refused instead.
TEST(SlidingWindowLimiterTest, AFullTableRefusesNewKeysAndKeepsTheLiveOnes) {
    ManualClock clock;
    InProcessSlidingWindowLimiter limiter(clock, {1, minutes(10), 10});
    EXPECT_EQ(limiter.TryAcquire("attacker"), 0);
    ASSERT_GT(limiter.RetryAfterSeconds("attacker"), 0);
    for (int i = 0; i < 100; ++i) {
        const int wait = limiter.TryAcquire("flood" + std::to_string(i));
        if (i < 9) {
            EXPECT_EQ(wait, 0) << i;
        } else {
            EXPECT_GT(wait, 0) << i;
            EXPECT_LE(wait, 10 * 60) << "until the first live key may expire";
        }
        clock.Advance(seconds(1));
    }
    EXPECT_LE(limiter.tracked_keys(), 10u);
    EXPECT_GT(limiter.RetryAfterSeconds("attacker"), 0) << "the limited key was not forgotten";
    // Once the window has passed, the expired keys make room again.
    clock.Advance(minutes(10));
    EXPECT_EQ(limiter.TryAcquire("newcomer"), 0);
}

TEST(SlidingWindowLimiterTest, ExpiredKeysAreEvictedAFewPerCallWithoutAFullScan) {
    ManualClock clock;
    InProcessSlidingWindowLimiter limiter(clock, {1, minutes(1), 100'000});
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.TryAcquire("k" + std::to_string(i)), 0);
    clock.Advance(minutes(2));
    // One call reclaims a handful, not all 1000 (that would be the scan under the mutex).
    EXPECT_EQ(limiter.RetryAfterSeconds("other"), 0);
    EXPECT_GT(limiter.tracked_keys(), 900u);
    EXPECT_LT(limiter.tracked_keys(), 1000u);
    // Calls keep reclaiming: memory goes back down as the limiter is used.
    for (int i = 0; i < 400; ++i) (void)limiter.RetryAfterSeconds("other");
    EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(SlidingWindowLimiterTest, TryAcquireIsOneStepUnderParallelCallers) {
    ManualClock clock;
    InProcessSlidingWindowLimiter limiter(clock, {3, minutes(1), 100});
    std::atomic<int> acquired{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&] {
            if (limiter.TryAcquire("kim") == 0) acquired.fetch_add(1);
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(acquired.load(), 3);
}

TEST(SlidingWindowLimiterTest, ReleaseGivesTheNewestEventBack) {
    ManualClock clock;
    InProcessSlidingWindowLimiter limiter(clock, {2, minutes(1), 100});
    EXPECT_EQ(limiter.TryAcquire("a"), 0);
    EXPECT_EQ(limiter.TryAcquire("a"), 0);
    EXPECT_GT(limiter.TryAcquire("a"), 0);
    limiter.Release("a");
    EXPECT_EQ(limiter.TryAcquire("a"), 0);
    limiter.Release("a");
    limiter.Release("a");
    limiter.Release("a");  // more than acquired: no harm
    EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(SlidingWindowLimiterTest, ExpiredKeysAreDroppedOnLookup) {
    ManualClock clock;
    InProcessSlidingWindowLimiter limiter(clock, {2, minutes(1), 10});
    EXPECT_EQ(limiter.TryAcquire("a"), 0);
    clock.Advance(minutes(2));
    EXPECT_EQ(limiter.RetryAfterSeconds("a"), 0);
    EXPECT_EQ(limiter.tracked_keys(), 0u);
}

}  // namespace
}  // namespace vg::auth
