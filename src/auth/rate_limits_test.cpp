// The rate-limit conformance suite on the in-process limiters (InProcessRateLimits); the Redis adapter runs
// the same suite in src/auth/redis/redis_rate_limits_redistest.cpp.
#include "vg/auth/rate_limits.hpp"

#include <gtest/gtest.h>

#include "vg/auth/rate_limits_conformance.hpp"

namespace vg::auth {
namespace {

using conformance::RateLimitsConformance;
using conformance::RateLimitsHarness;
using conformance::RateLimitsImplementation;

class InProcessHarness final : public RateLimitsHarness {
  public:
    RateLimits& limits() override { return *limits_; }

  private:
    std::shared_ptr<RateLimits> limits_ = InProcessRateLimits();
};

std::unique_ptr<RateLimitsHarness> OpenInProcess() { return std::make_unique<InProcessHarness>(); }

INSTANTIATE_TEST_SUITE_P(InProcess, RateLimitsConformance,
                         ::testing::Values(RateLimitsImplementation{"inprocess", &OpenInProcess}),
                         conformance::ImplementationName);

TEST(RateLimitsTest, NamesAreShortLowerCaseWordsWithUnderscores) {
    EXPECT_TRUE(IsRateLimitName("login"));
    EXPECT_TRUE(IsRateLimitName("signup_address"));
    EXPECT_TRUE(IsRateLimitName(std::string(64, 'a')));
    EXPECT_FALSE(IsRateLimitName(""));
    EXPECT_FALSE(IsRateLimitName(std::string(65, 'a')));
    EXPECT_FALSE(IsRateLimitName("Login"));
    EXPECT_FALSE(IsRateLimitName("check-id"));
    EXPECT_FALSE(IsRateLimitName("a:b"));
    EXPECT_FALSE(IsRateLimitName("quota2"));
}

TEST(RateLimitsTest, TheInProcessLimitersAreTheInProcessClasses) {
    ManualClock clock;
    auto limits = InProcessRateLimits();
    EXPECT_NE(dynamic_cast<InProcessSlidingWindowLimiter*>(limits->SlidingWindow("a", clock, {}).get()), nullptr);
    EXPECT_NE(dynamic_cast<InProcessTokenBucketLimiter*>(limits->TokenBucket("b", clock, {}).get()), nullptr);
    EXPECT_NE(dynamic_cast<InProcessLoginThrottle*>(limits->LoginThrottle("c", clock, {}).get()), nullptr);
}

}  // namespace
}  // namespace vg::auth
