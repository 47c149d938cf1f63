#include "vg/auth/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace vg::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(SlidingWindowLimiterTest, AllowsUpToTheLimitThenRefusesUntilTheWindowSlides) {
    ManualClock clock;
    SlidingWindowLimiter limiter(clock, {3, minutes(15), 100});
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(limiter.RetryAfterSeconds("kim"), 0);
        limiter.Record("kim");
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
    SlidingWindowLimiter limiter(clock, {1, minutes(1), 100});
    limiter.Record("a");
    EXPECT_GT(limiter.RetryAfterSeconds("a"), 0);
    EXPECT_EQ(limiter.RetryAfterSeconds("b"), 0);
    limiter.Reset("a");
    EXPECT_EQ(limiter.RetryAfterSeconds("a"), 0);
}

TEST(SlidingWindowLimiterTest, MemoryIsBoundedByMaxKeys) {
    ManualClock clock;
    SlidingWindowLimiter limiter(clock, {1, minutes(10), 10});
    for (int i = 0; i < 100; ++i) {
        limiter.Record("key" + std::to_string(i));
        clock.Advance(seconds(1));
    }
    EXPECT_LE(limiter.tracked_keys(), 10u);
    EXPECT_GT(limiter.RetryAfterSeconds("key99"), 0);  // the most recent keys are kept
}

TEST(SlidingWindowLimiterTest, ExpiredKeysAreDroppedOnLookup) {
    ManualClock clock;
    SlidingWindowLimiter limiter(clock, {2, minutes(1), 10});
    limiter.Record("a");
    clock.Advance(minutes(2));
    EXPECT_EQ(limiter.RetryAfterSeconds("a"), 0);
    EXPECT_EQ(limiter.tracked_keys(), 0u);
}

}  // namespace
}  // namespace vg::auth
