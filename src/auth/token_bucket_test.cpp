#include "vg/auth/token_bucket.hpp"

#include <gtest/gtest.h>

namespace vg::auth {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucketLimiterTest, ABurstUpToTheCapacityThenWaitsForTheRefill) {
    ManualClock clock;
    InProcessTokenBucketLimiter quota(clock, {.capacity = 86'400, .refill_per_second = 1});  // a day, one a second
    EXPECT_EQ(quota.RetryAfterSeconds("w1"), 0);
    EXPECT_TRUE(quota.Charge("w1", 80'000));
    EXPECT_EQ(quota.RetryAfterSeconds("w1"), 0);
    EXPECT_TRUE(quota.Charge("w1", 6'400));
    EXPECT_NEAR(quota.Available("w1"), 0, 1e-6);
    EXPECT_EQ(quota.RetryAfterSeconds("w1"), 1);
    clock.Advance(10s);
    EXPECT_NEAR(quota.Available("w1"), 10, 1e-6);
    EXPECT_EQ(quota.RetryAfterSeconds("w1"), 0);
    // Another key has its own bucket.
    EXPECT_EQ(quota.RetryAfterSeconds("w2"), 0);
    EXPECT_NEAR(quota.Available("w2"), 86'400, 1e-6);
}

TEST(TokenBucketLimiterTest, AChargeAfterTheWorkMayLeaveADebtThatTheRefillPaysBack) {
    ManualClock clock;
    InProcessTokenBucketLimiter quota(clock, {.capacity = 100, .refill_per_second = 2});
    EXPECT_TRUE(quota.Charge("w", 95));
    EXPECT_EQ(quota.RetryAfterSeconds("w"), 0);  // 5 left: the next request is admitted...
    EXPECT_TRUE(quota.Charge("w", 45));          // ...and used 45: 40 in debt
    EXPECT_NEAR(quota.Available("w"), -40, 1e-6);
    EXPECT_EQ(quota.RetryAfterSeconds("w"), 21);  // (40 + 1) / 2 a second
    clock.Advance(20s);
    EXPECT_GT(quota.RetryAfterSeconds("w"), 0);
    clock.Advance(1s);
    EXPECT_EQ(quota.RetryAfterSeconds("w"), 0);
    // The debt never goes below a whole bucket.
    EXPECT_TRUE(quota.Charge("w", 1'000'000));
    EXPECT_NEAR(quota.Available("w"), -100, 1e-6);
    EXPECT_TRUE(quota.Charge("w", 0));  // nothing used costs nothing
}

TEST(TokenBucketLimiterTest, AKeyIsForgottenOnceItWouldBeFullAgain) {
    ManualClock clock;
    InProcessTokenBucketLimiter quota(clock, {.capacity = 10, .refill_per_second = 1, .max_keys = 2});
    EXPECT_TRUE(quota.Charge("a", 10));
    EXPECT_TRUE(quota.Charge("b", 10));
    EXPECT_EQ(quota.tracked_keys(), 2u);
    // The table is full of live keys: a third key is refused, neither let through nor evicting "a".
    EXPECT_GT(quota.RetryAfterSeconds("c"), 0);
    EXPECT_FALSE(quota.Charge("c", 1));
    EXPECT_GT(quota.RetryAfterSeconds("a"), 0);
    clock.Advance(12s);  // both would be full again: their entries expire
    EXPECT_EQ(quota.RetryAfterSeconds("c"), 0);
    EXPECT_TRUE(quota.Charge("c", 1));
    EXPECT_EQ(quota.RetryAfterSeconds("a"), 0);
    EXPECT_NEAR(quota.Available("a"), 10, 1e-6);
}

TEST(TokenBucketLimiterTest, TimeGoingBackwardsDoesNotRefill) {
    ManualClock clock;
    InProcessTokenBucketLimiter quota(clock, {.capacity = 10, .refill_per_second = 1});
    EXPECT_TRUE(quota.Charge("w", 10));
    clock.Advance(-60s);
    EXPECT_GT(quota.RetryAfterSeconds("w"), 0);
    EXPECT_NEAR(quota.Available("w"), 0, 1e-6);
}

}  // namespace
}  // namespace vg::auth
