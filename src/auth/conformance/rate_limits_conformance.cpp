#include "vg/auth/rate_limits_conformance.hpp"

#include <atomic>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace vg::auth::conformance {

std::string ImplementationName(const ::testing::TestParamInfo<RateLimitsImplementation>& info) {
    return info.param.name;
}

void PrintTo(const RateLimitsImplementation& implementation, std::ostream* os) { *os << implementation.name; }

void RateLimitsConformance::SetUp() {
    harness_ = GetParam().open();
    if (harness_ == nullptr && !IsSkipped()) GTEST_FAIL() << "the harness could not be made";
}

void RateLimitsConformance::TearDown() { harness_.reset(); }

// The adapter's hermetic test links the suite without instantiating it (its live test does).
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RateLimitsConformance);

namespace {

using Refusal = LoginThrottle::Refusal;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// ---- SlidingWindowLimiter ----

TEST_P(RateLimitsConformance, SlidingWindowAllowsUpToTheLimitThenRefusesUntilTheWindowSlides) {
    auto limiter = limits().SlidingWindow("conformance", clock_, {3, minutes(15), 100});
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(limiter->RetryAfterSeconds("kim"), 0);
        EXPECT_EQ(limiter->TryAcquire("kim"), 0);
        clock_.Advance(minutes(1));
    }
    // Three events at t=0,1,2 min; now t=3 min. The first leaves the window at t=15 min.
    EXPECT_EQ(limiter->RetryAfterSeconds("kim"), 12 * 60);
    EXPECT_EQ(limiter->TryAcquire("kim"), 12 * 60);
    clock_.Advance(minutes(12) - seconds(1));
    EXPECT_EQ(limiter->RetryAfterSeconds("kim"), 1);
    clock_.Advance(milliseconds(999));
    EXPECT_EQ(limiter->RetryAfterSeconds("kim"), 1) << "a part of a second counts as a whole one";
    clock_.Advance(milliseconds(1));
    EXPECT_EQ(limiter->RetryAfterSeconds("kim"), 0);
    EXPECT_EQ(limiter->TryAcquire("kim"), 0);
    EXPECT_EQ(limiter->RetryAfterSeconds("kim"), 60) << "now the event of t=1 min keeps it at the limit";
}

TEST_P(RateLimitsConformance, SlidingWindowKeysAndNamesAreIndependentAndResetForgets) {
    auto limiter = limits().SlidingWindow("conformance", clock_, {1, minutes(1), 100});
    auto other = limits().SlidingWindow("conformance_other", clock_, {1, minutes(1), 100});
    EXPECT_EQ(limiter->TryAcquire("a"), 0);
    EXPECT_EQ(limiter->RetryAfterSeconds("a"), 60);
    EXPECT_EQ(limiter->TryAcquire("a"), 60);
    EXPECT_EQ(limiter->RetryAfterSeconds("b"), 0);
    EXPECT_EQ(other->RetryAfterSeconds("a"), 0) << "another name is another limit";
    EXPECT_EQ(other->TryAcquire("a"), 0);
    limiter->Reset("a");
    EXPECT_EQ(limiter->RetryAfterSeconds("a"), 0);
    EXPECT_EQ(other->RetryAfterSeconds("a"), 60);
    EXPECT_EQ(limiter->TryAcquire("a"), 0);
}

TEST_P(RateLimitsConformance, SlidingWindowReleaseGivesTheNewestEventBack) {
    auto limiter = limits().SlidingWindow("conformance", clock_, {2, minutes(1), 100});
    EXPECT_EQ(limiter->TryAcquire("a"), 0);
    clock_.Advance(seconds(10));
    EXPECT_EQ(limiter->TryAcquire("a"), 0);
    EXPECT_EQ(limiter->TryAcquire("a"), 50);
    limiter->Release("a");  // the event of t=10 s
    EXPECT_EQ(limiter->RetryAfterSeconds("a"), 0);
    clock_.Advance(seconds(10));
    EXPECT_EQ(limiter->TryAcquire("a"), 0);
    EXPECT_EQ(limiter->RetryAfterSeconds("a"), 40) << "the event of t=0 stayed";
    limiter->Release("a");
    limiter->Release("a");
    limiter->Release("a");  // more than acquired: no harm
    EXPECT_EQ(limiter->TryAcquire("a"), 0);
    EXPECT_EQ(limiter->TryAcquire("a"), 0);
    EXPECT_EQ(limiter->TryAcquire("a"), 60);
    // An event that has left the window is not given back.
    clock_.Advance(minutes(2));
    limiter->Release("a");
    limiter->Release("never-seen");
    EXPECT_EQ(limiter->TryAcquire("a"), 0);
    EXPECT_EQ(limiter->TryAcquire("a"), 0);
}

TEST_P(RateLimitsConformance, SlidingWindowRecordCountsPastTheLimitKeepingTheNewest) {
    auto limiter = limits().SlidingWindow("conformance", clock_, {2, minutes(1), 100});
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(limiter->Record("id"));
        clock_.Advance(seconds(1));
    }
    // t=5 s: the newest two (t=3 s, 4 s) are kept; the limit frees when the one of t=3 s leaves.
    EXPECT_EQ(limiter->RetryAfterSeconds("id"), 58);
    EXPECT_EQ(limiter->TryAcquire("id"), 58);
    clock_.Advance(seconds(58));
    EXPECT_EQ(limiter->RetryAfterSeconds("id"), 0);
}

TEST_P(RateLimitsConformance, SlidingWindowWithNoEventsAllowedRefusesEveryAcquire) {
    auto limiter = limits().SlidingWindow("conformance", clock_, {0, minutes(1), 100});
    EXPECT_EQ(limiter->RetryAfterSeconds("a"), 0);
    EXPECT_EQ(limiter->TryAcquire("a"), 60);
    EXPECT_EQ(limiter->TryAcquire("a"), 60);
    EXPECT_TRUE(limiter->Record("a"));  // one is kept: it holds the key until it leaves the window
    clock_.Advance(seconds(20));
    EXPECT_EQ(limiter->RetryAfterSeconds("a"), 40);
    clock_.Advance(seconds(40));
    EXPECT_EQ(limiter->RetryAfterSeconds("a"), 0);
}

TEST_P(RateLimitsConformance, SlidingWindowTryAcquireIsOneStepUnderParallelCallers) {
    auto limiter = limits().SlidingWindow("conformance", clock_, {3, minutes(1), 100});
    std::atomic<int> acquired{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&] {
            if (limiter->TryAcquire("kim") == 0) acquired.fetch_add(1);
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(acquired.load(), 3);
}

TEST_P(RateLimitsConformance, SlidingWindowKeysMayHoldAnyBytesAndBeLong) {
    auto limiter = limits().SlidingWindow("conformance", clock_, {1, minutes(1), 100});
    const std::string long_a = std::string(250, 'k') + "a";
    const std::string long_b = std::string(250, 'k') + "b";  // the same first 250 bytes
    const std::vector<std::string> keys = {"a:b",  "a\nb", std::string("x\0y", 3),  std::string("x\0z", 3), "*", "",
                                           long_a, long_b, std::string(10'000, 'z')};
    for (const std::string& key : keys) EXPECT_EQ(limiter->TryAcquire(key), 0) << key.size();
    for (const std::string& key : keys) EXPECT_EQ(limiter->TryAcquire(key), 60) << key.size();
    limiter->Reset(long_a);
    EXPECT_EQ(limiter->TryAcquire(long_a), 0);
    EXPECT_EQ(limiter->RetryAfterSeconds(long_b), 60);
}

TEST_P(RateLimitsConformance, ANameThatCannotNameALimitIsRefusedWhenTheLimiterIsMade) {
    EXPECT_THROW((void)limits().SlidingWindow("Check-Id", clock_, {}), std::invalid_argument);
    EXPECT_THROW((void)limits().TokenBucket("", clock_, {}), std::invalid_argument);
    EXPECT_THROW((void)limits().LoginThrottle("login:x", clock_, {}), std::invalid_argument);
    EXPECT_TRUE(limits().SlidingWindow("check_id", clock_, {}) != nullptr);
}

// ---- TokenBucketLimiter ----

TEST_P(RateLimitsConformance, TokenBucketABurstUpToTheCapacityThenWaitsForTheRefill) {
    auto quota = limits().TokenBucket("conformance", clock_, {.capacity = 86'400, .refill_per_second = 1});
    EXPECT_EQ(quota->capacity(), 86'400);
    EXPECT_EQ(quota->RetryAfterSeconds("w1"), 0);
    EXPECT_TRUE(quota->Charge("w1", 80'000));
    EXPECT_EQ(quota->RetryAfterSeconds("w1"), 0);
    EXPECT_TRUE(quota->Charge("w1", 6'400));
    EXPECT_NEAR(quota->Available("w1"), 0, 1e-6);
    EXPECT_EQ(quota->RetryAfterSeconds("w1"), 1);
    clock_.Advance(seconds(10));
    EXPECT_NEAR(quota->Available("w1"), 10, 1e-6);
    EXPECT_EQ(quota->RetryAfterSeconds("w1"), 0);
    clock_.Advance(milliseconds(500));
    EXPECT_NEAR(quota->Available("w1"), 10.5, 1e-6);
    // Another key has its own bucket.
    EXPECT_EQ(quota->RetryAfterSeconds("w2"), 0);
    EXPECT_NEAR(quota->Available("w2"), 86'400, 1e-6);
}

TEST_P(RateLimitsConformance, TokenBucketAChargeMayLeaveADebtThatTheRefillPaysBack) {
    auto quota = limits().TokenBucket("conformance", clock_, {.capacity = 100, .refill_per_second = 2});
    EXPECT_TRUE(quota->Charge("w", 95));
    EXPECT_EQ(quota->RetryAfterSeconds("w"), 0);  // 5 left: the next request is admitted...
    EXPECT_TRUE(quota->Charge("w", 45));          // ...and used 45: 40 in debt
    EXPECT_NEAR(quota->Available("w"), -40, 1e-6);
    EXPECT_EQ(quota->RetryAfterSeconds("w"), 21);  // (40 + 1) / 2 a second
    clock_.Advance(seconds(20));
    EXPECT_GT(quota->RetryAfterSeconds("w"), 0);
    clock_.Advance(seconds(1));
    EXPECT_EQ(quota->RetryAfterSeconds("w"), 0);
    // The debt never goes below a whole bucket.
    EXPECT_TRUE(quota->Charge("w", 1'000'000));
    EXPECT_NEAR(quota->Available("w"), -100, 1e-6);
    EXPECT_TRUE(quota->Charge("w", 0));  // nothing used costs nothing
    EXPECT_TRUE(quota->Charge("w", -5));
    EXPECT_NEAR(quota->Available("w"), -100, 1e-6);
    // Once it would be full again it is full (and forgotten).
    clock_.Advance(seconds(101));
    EXPECT_NEAR(quota->Available("w"), 100, 1e-6);
    EXPECT_TRUE(quota->Charge("w", 1));
    EXPECT_NEAR(quota->Available("w"), 99, 1e-6);
}

TEST_P(RateLimitsConformance, TokenBucketTimeGoingBackwardsDoesNotRefill) {
    auto quota = limits().TokenBucket("conformance", clock_, {.capacity = 10, .refill_per_second = 1});
    EXPECT_TRUE(quota->Charge("w", 10));
    clock_.Advance(seconds(-60));
    EXPECT_GT(quota->RetryAfterSeconds("w"), 0);
    EXPECT_NEAR(quota->Available("w"), 0, 1e-6);
}

TEST_P(RateLimitsConformance, TokenBucketOptionsAreMadeSane) {
    auto quota = limits().TokenBucket("conformance", clock_, {.capacity = 0, .refill_per_second = -3});
    EXPECT_EQ(quota->capacity(), 1);
    EXPECT_TRUE(quota->Charge("w", 1));
    EXPECT_NEAR(quota->Available("w"), 0, 1e-6);
    EXPECT_EQ(quota->RetryAfterSeconds("w"), 1);
}

TEST_P(RateLimitsConformance, TokenBucketChargesFromParallelCallersAllCount) {
    auto quota = limits().TokenBucket("conformance", clock_, {.capacity = 1000, .refill_per_second = 1});
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10; ++i) EXPECT_TRUE(quota->Charge("w", 1));
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_NEAR(quota->Available("w"), 920, 1e-6);
}

// ---- LoginThrottle ----

LoginThrottleOptions SmallThrottle() {
    LoginThrottleOptions o;
    o.max_delay = seconds(3);
    o.free_failures_per_pair = 0;
    return o;
}

TEST_P(RateLimitsConformance, LoginThrottleThePairSlowsDownAfterItsFreeFailures) {
    auto throttle = limits().LoginThrottle("conformance", clock_, {});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle->Begin("kim", "10.0.0.1").admitted()) << i;
    auto refused = throttle->Begin("kim", "10.0.0.1");
    EXPECT_EQ(refused.why, Refusal::kPair);
    EXPECT_EQ(refused.retry_after_seconds, 1);
    clock_.Advance(seconds(1));
    EXPECT_TRUE(throttle->Begin("kim", "10.0.0.1").admitted());
    refused = throttle->Begin("kim", "10.0.0.1");
    EXPECT_EQ(refused.why, Refusal::kPair);
    EXPECT_EQ(refused.retry_after_seconds, 2);
    clock_.Advance(seconds(2));
    EXPECT_TRUE(throttle->Begin("kim", "10.0.0.1").admitted());
    refused = throttle->Begin("kim", "10.0.0.1");
    EXPECT_EQ(refused.why, Refusal::kPair);
    EXPECT_EQ(refused.retry_after_seconds, 4);
    // Another address of the same id, and another id from the same address, are not slowed down.
    EXPECT_TRUE(throttle->Begin("kim", "10.0.0.2").admitted());
    EXPECT_TRUE(throttle->Begin("lee", "10.0.0.1").admitted());
    // The pair is forgotten a window after its latest failure.
    clock_.Advance(minutes(15));
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle->Begin("kim", "10.0.0.1").admitted()) << i;

    // The growing delay stops at its cap.
    auto capped = limits().LoginThrottle("conformance_capped", clock_, SmallThrottle());
    EXPECT_TRUE(capped->Begin("kim", "a").admitted());
    EXPECT_EQ(capped->Begin("kim", "a").retry_after_seconds, 2);
    clock_.Advance(seconds(2));
    EXPECT_TRUE(capped->Begin("kim", "a").admitted());
    EXPECT_EQ(capped->Begin("kim", "a").retry_after_seconds, 3);
    clock_.Advance(seconds(3));
    EXPECT_TRUE(capped->Begin("kim", "a").admitted());
    EXPECT_EQ(capped->Begin("kim", "a").retry_after_seconds, 3);
}

TEST_P(RateLimitsConformance, LoginThrottleLimitsAnAddressAcrossIds) {
    auto throttle = limits().LoginThrottle("conformance", clock_, {});
    for (int i = 0; i < 20; ++i) {
        EXPECT_TRUE(throttle->Begin("user" + std::to_string(i), "10.0.0.9").admitted()) << i;
        clock_.Advance(seconds(1));
    }
    auto refused = throttle->Begin("someone", "10.0.0.9");
    EXPECT_EQ(refused.why, Refusal::kAddress);
    EXPECT_EQ(refused.retry_after_seconds, 15 * 60 - 20);  // until the first failure (t=0) leaves
    EXPECT_TRUE(throttle->Begin("someone", "10.0.0.10").admitted());
    // A success gives its count back.
    throttle->Succeeded("user19", "10.0.0.9");
    EXPECT_TRUE(throttle->Begin("someone", "10.0.0.9").admitted());
    EXPECT_EQ(throttle->Begin("another", "10.0.0.9").why, Refusal::kAddress);
}

TEST_P(RateLimitsConformance, LoginThrottleTheIdCeilingGivesFreshAddressesATurnAndKnownAddressesSkipIt) {
    auto throttle = limits().LoginThrottle("conformance", clock_, {});
    ASSERT_TRUE(throttle->Begin("kim", "home").admitted());
    throttle->Succeeded("kim", "home");
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(throttle->Begin("kim", "bot" + std::to_string(i)).admitted()) << i;
    // An address that failed on the id waits until the id's count drops below the ceiling.
    auto refused = throttle->Begin("kim", "bot0");
    EXPECT_EQ(refused.why, Refusal::kId);
    EXPECT_EQ(refused.retry_after_seconds, 15 * 60);
    // Fresh addresses share one attempt per 5 s.
    EXPECT_TRUE(throttle->Begin("kim", "fresh1").admitted());
    refused = throttle->Begin("kim", "fresh2");
    EXPECT_EQ(refused.why, Refusal::kId);
    EXPECT_EQ(refused.retry_after_seconds, 5);
    // The owner at home skips the ceiling, and takes no fresh address's turn.
    EXPECT_TRUE(throttle->Begin("kim", "home").admitted());
    clock_.Advance(seconds(2));
    EXPECT_EQ(throttle->Begin("kim", "fresh2").retry_after_seconds, 3);
    clock_.Advance(seconds(3));
    EXPECT_TRUE(throttle->Begin("kim", "fresh2").admitted());
    EXPECT_EQ(throttle->Begin("kim", "fresh3").why, Refusal::kId);
    // Other ids are not affected.
    EXPECT_TRUE(throttle->Begin("lee", "fresh3").admitted());
}

TEST_P(RateLimitsConformance, LoginThrottleSuccessTakesTheCountBackAndForgetsThePair) {
    auto throttle = limits().LoginThrottle("conformance", clock_, {});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle->Begin("kim", "10.0.0.1").admitted());
    EXPECT_EQ(throttle->Begin("kim", "10.0.0.1").why, Refusal::kPair);
    clock_.Advance(seconds(1));
    ASSERT_TRUE(throttle->Begin("kim", "10.0.0.1").admitted());
    throttle->Succeeded("kim", "10.0.0.1");
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle->Begin("kim", "10.0.0.1").admitted()) << i;
}

TEST_P(RateLimitsConformance, LoginThrottleParallelAttemptsAreAdmittedAtMostTheAllowedNumberOfTimes) {
    auto throttle = limits().LoginThrottle("conformance", clock_, {});
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&] {
            if (throttle->Begin("kim", "10.0.0.1").admitted()) admitted.fetch_add(1);
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(admitted.load(), 3);
}

TEST_P(RateLimitsConformance, LoginThrottleWithNoFailuresAllowedPerAddressRefusesEveryAttempt) {
    LoginThrottleOptions options;
    options.max_failures_per_address = 0;
    auto throttle = limits().LoginThrottle("conformance", clock_, options);
    auto refused = throttle->Begin("kim", "10.0.0.1");
    EXPECT_EQ(refused.why, Refusal::kFull);
    EXPECT_EQ(refused.retry_after_seconds, 15 * 60);
}

// ---- the same answers as the in-process limiters, on random sequences ----

TEST_P(RateLimitsConformance, SlidingWindowAnswersAsTheInProcessOneOnARandomSequence) {
    const SlidingWindowLimiter::Options options{3, seconds(60), 100'000};
    auto limiter = limits().SlidingWindow("conformance", clock_, options);
    InProcessSlidingWindowLimiter reference(clock_, options);
    std::mt19937 random(17);
    const std::vector<std::string> keys = {"a", "b", "c"};
    for (int step = 0; step < 400; ++step) {
        const std::string& key = keys[random() % keys.size()];
        switch (random() % 6) {
            case 0:
                ASSERT_EQ(limiter->RetryAfterSeconds(key), reference.RetryAfterSeconds(key)) << step;
                break;
            case 1:
            case 2:
                ASSERT_EQ(limiter->TryAcquire(key), reference.TryAcquire(key)) << step;
                break;
            case 3:
                ASSERT_EQ(limiter->Record(key), reference.Record(key)) << step;
                break;
            case 4:
                limiter->Release(key);
                reference.Release(key);
                break;
            default:
                if (random() % 8 == 0) {
                    limiter->Reset(key);
                    reference.Reset(key);
                }
                break;
        }
        clock_.Advance(milliseconds(random() % 12'000));
    }
    for (const std::string& key : keys) EXPECT_EQ(limiter->RetryAfterSeconds(key), reference.RetryAfterSeconds(key));
}

TEST_P(RateLimitsConformance, TokenBucketAnswersAsTheInProcessOneOnARandomSequence) {
    const TokenBucketLimiter::Options options{.capacity = 100, .refill_per_second = 0.7, .max_keys = 100'000};
    auto quota = limits().TokenBucket("conformance", clock_, options);
    InProcessTokenBucketLimiter reference(clock_, options);
    std::mt19937 random(23);
    const std::vector<std::string> keys = {"1", "2"};
    for (int step = 0; step < 400; ++step) {
        const std::string& key = keys[random() % keys.size()];
        switch (random() % 3) {
            case 0:
                ASSERT_EQ(quota->RetryAfterSeconds(key), reference.RetryAfterSeconds(key)) << step;
                break;
            case 1: {
                const double amount = static_cast<double>(random() % 60) / 3.0;
                ASSERT_EQ(quota->Charge(key, amount), reference.Charge(key, amount)) << step;
                break;
            }
            default:
                ASSERT_NEAR(quota->Available(key), reference.Available(key), 1e-9) << step;
                break;
        }
        clock_.Advance(milliseconds(random() % 30'000));
    }
}

TEST_P(RateLimitsConformance, LoginThrottleAnswersAsTheInProcessOneOnARandomSequence) {
    LoginThrottleOptions options;
    options.free_failures_per_pair = 2;
    options.first_delay = seconds(1);
    options.max_delay = seconds(8);
    options.max_failures_per_address = 6;
    options.max_failures_per_id = 4;
    options.ceiling_interval = seconds(5);
    options.window = seconds(60);
    options.known_address_memory = seconds(120);
    auto throttle = limits().LoginThrottle("conformance", clock_, options);
    InProcessLoginThrottle reference(clock_, options);
    std::mt19937 random(31);
    const std::vector<std::string> ids = {"kim", "lee", "park"};
    const std::vector<std::string> addresses = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"};
    int admitted = 0, refused = 0;
    for (int step = 0; step < 600; ++step) {
        const std::string& id = ids[random() % ids.size()];
        const std::string& address = addresses[random() % addresses.size()];
        if (random() % 8 == 0) {
            throttle->Succeeded(id, address);
            reference.Succeeded(id, address);
        } else {
            const auto got = throttle->Begin(id, address);
            const auto want = reference.Begin(id, address);
            ASSERT_EQ(got.why, want.why) << step << " " << id << " " << address;
            ASSERT_EQ(got.retry_after_seconds, want.retry_after_seconds) << step << " " << id << " " << address;
            (want.admitted() ? admitted : refused)++;
        }
        clock_.Advance(milliseconds(random() % 4'000));
    }
    EXPECT_GT(admitted, 50);
    EXPECT_GT(refused, 50) << "the sequence reaches the rules";
}

}  // namespace
}  // namespace vg::auth::conformance
