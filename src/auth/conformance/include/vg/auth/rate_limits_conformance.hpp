#pragma once
// The rate-limit conformance suite: the contracts of SlidingWindowLimiter, TokenBucketLimiter and
// LoginThrottle (rate_limiter.hpp, token_bucket.hpp, login_throttle.hpp) as GoogleTest tests on simulated
// time (ManualClock) that every RateLimits implementation runs: the in-process one in
// src/auth/rate_limits_test.cpp, the Redis adapter in src/auth/redis/redis_rate_limits_redistest.cpp.
// Besides the contracts, every test of the suite compares against the in-process limiters where it can
// (a random sequence of operations must get the same answers from both).
//
// An implementation plugs in with a harness that gives each test a fresh RateLimits (no counts yet) and one
// instantiation in its own test:
//
//   INSTANTIATE_TEST_SUITE_P(InProcess, RateLimitsConformance,
//                            ::testing::Values(conformance::RateLimitsImplementation{"inprocess", &Open}),
//                            conformance::ImplementationName);
//
// What the suite cannot reach through the interfaces (a full in-process table, several servers sharing
// counts, a server that does not answer) stays in the implementation's tests.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "vg/auth/rate_limits.hpp"

namespace vg::auth::conformance {

// Owns one RateLimits under test and whatever it needs (keys on a server), and cleans up when destroyed.
class RateLimitsHarness {
  public:
    virtual ~RateLimitsHarness() = default;
    // Valid until the harness is destroyed; the limiters it makes must not outlive the harness.
    virtual RateLimits& limits() = 0;
};

struct RateLimitsImplementation {
    std::string name;  // the instantiation's test name suffix: letters, digits and '_'
    // A new harness for one test; nullptr (after reporting why with ADD_FAILURE) when it cannot be made, or
    // after GTEST_SKIP (in a void helper it calls) when its live server is not there: the test is skipped.
    std::function<std::unique_ptr<RateLimitsHarness>()> open;
};

// For INSTANTIATE_TEST_SUITE_P's name generator.
std::string ImplementationName(const ::testing::TestParamInfo<RateLimitsImplementation>& info);
void PrintTo(const RateLimitsImplementation& implementation, std::ostream* os);

class RateLimitsConformance : public ::testing::TestWithParam<RateLimitsImplementation> {
  protected:
    void SetUp() override;
    void TearDown() override;
    // The implementation under test; only when the test was neither skipped nor failed in SetUp.
    RateLimits& limits() { return harness_->limits(); }

    ManualClock clock_;
    std::unique_ptr<RateLimitsHarness> harness_;
};

}  // namespace vg::auth::conformance
