#include "vg/notify/retry_policy.hpp"

#include <gtest/gtest.h>

#include <set>

namespace vg::notify {
namespace {

using namespace std::chrono_literals;

TEST(RetryPolicyTest, CeilingGrowsExponentiallyUpToTheCap) {
    RetryPolicy policy({.base = 1000ms, .factor = 2.0, .cap = 10'000ms, .max_attempts = 7}, 1);
    EXPECT_EQ(policy.Ceiling(1), 1000ms);
    EXPECT_EQ(policy.Ceiling(2), 2000ms);
    EXPECT_EQ(policy.Ceiling(3), 4000ms);
    EXPECT_EQ(policy.Ceiling(4), 8000ms);
    EXPECT_EQ(policy.Ceiling(5), 10'000ms);
    EXPECT_EQ(policy.Ceiling(6), 10'000ms);
    EXPECT_EQ(policy.Ceiling(7), std::nullopt);  // the 7th attempt was the last
    EXPECT_EQ(policy.Ceiling(0), std::nullopt);
}

TEST(RetryPolicyTest, FullJitterStaysWithinTheCeilingAndSpreads) {
    RetryPolicy policy({.base = 1000ms, .factor = 2.0, .cap = 60'000ms, .max_attempts = 100}, 42);
    std::set<int64_t> distinct;
    for (int i = 0; i < 1000; ++i) {
        const int attempt = 1 + i % 5;
        auto delay = policy.NextDelay(attempt);
        ASSERT_TRUE(delay.has_value());
        EXPECT_GE(delay->count(), 0);
        EXPECT_LE(*delay, *policy.Ceiling(attempt));
        distinct.insert(delay->count());
    }
    EXPECT_GT(distinct.size(), 500u);  // not a constant: retries of many messages spread out
}

TEST(RetryPolicyTest, SameSeedSameDelays) {
    const RetryPolicyOptions options{.base = 500ms, .factor = 3.0, .cap = 30'000ms, .max_attempts = 6};
    RetryPolicy a(options, 7);
    RetryPolicy b(options, 7);
    RetryPolicy c(options, 8);
    bool differs = false;
    for (int attempt = 1; attempt < 6; ++attempt) {
        const auto da = a.NextDelay(attempt);
        EXPECT_EQ(da, b.NextDelay(attempt));
        differs = differs || da != c.NextDelay(attempt);
    }
    EXPECT_TRUE(differs);
    EXPECT_EQ(a.NextDelay(6), std::nullopt);
}

TEST(RetryPolicyTest, HugeAttemptNumbersDoNotOverflow) {
    RetryPolicy policy({.base = 2000ms, .factor = 2.0, .cap = 600'000ms, .max_attempts = 1'000'000}, 3);
    EXPECT_EQ(policy.Ceiling(5000), 600'000ms);
    EXPECT_LE(*policy.NextDelay(5000), 600'000ms);
}

}  // namespace
}  // namespace vg::notify
