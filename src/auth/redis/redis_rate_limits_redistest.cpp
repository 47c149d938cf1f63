// RedisRateLimits on a live Redis ($VG_TEST_REDIS, tests/live_servers): without one every test is skipped (or,
// with VG_REQUIRE_SERVERS=1, fails). Each test uses keys under a fresh random prefix, deleted at the end, so
// tests may run in parallel on one server; none of them restarts the server (it is shared by the whole test
// run): the reconnection test kills only this test's connections, and SCRIPT FLUSH only empties the script
// cache (every client of it must survive that anyway).
//
// The rate-limit conformance suite runs here on Redis; the tests below cover what Redis adds: two servers
// sharing one budget, the keys and their expiry, NOSCRIPT, lost connections.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <thread>

#include "vg/auth/rate_limits_conformance.hpp"
#include "vg/auth/redis_rate_limits.hpp"
#include "vg/redis/connection.hpp"
#include "vg/redis/testing.hpp"
#include "vg/testing/live_servers.hpp"

namespace vg::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::string NewPrefix() {
    std::random_device device;
    char text[40];
    std::snprintf(text, sizeof text, "vgtest-rl-%08x%08x", device(), device());
    return text;
}

// A plain connection for what a test looks at behind the limiters' back.
std::unique_ptr<redis::RedisConnection> RawRedis() { return redis::testing::Connect("vg-rl-test"); }
std::vector<std::string> KeysOf(const std::string& prefix) { return redis::testing::KeysUnder(prefix); }
void DeleteKeys(const std::string& prefix) { redis::testing::DeleteKeysUnder(prefix); }

int64_t Pttl(const std::string& key) {
    auto redis = RawRedis();
    if (redis == nullptr) return -3;
    auto reply = redis->Command({"PTTL", key});
    if (!reply.ok()) return -3;
    return redis::IntegerOf(reply->get()).value_or(-3);
}

// GTEST_SKIP (or, with VG_REQUIRE_SERVERS, GTEST_FAIL) only returns from a void function.
void RequireRedis() { VG_REQUIRE_REDIS(); }

Result<std::shared_ptr<RedisRateLimits>> OpenOn(const std::string& prefix) {
    RedisRateLimitsOptions options;
    options.url = *::vg::testing::RedisUrl();
    options.prefix = prefix;
    options.command_timeout = milliseconds(2000);  // a loaded test machine must not fall back by accident
    options.connect_timeout = milliseconds(2000);
    return RedisRateLimits::Open(options);
}

// ---- the conformance suite, on a prefix of its own per test ----

class RedisHarness final : public conformance::RateLimitsHarness {
  public:
    static std::unique_ptr<conformance::RateLimitsHarness> Open() {
        RequireRedis();
        if (::testing::Test::IsSkipped() || ::testing::Test::HasFailure()) return nullptr;
        auto harness = std::unique_ptr<RedisHarness>(new RedisHarness());
        auto limits = OpenOn(harness->prefix_);
        if (!limits.ok()) {
            ADD_FAILURE() << limits.status().ToString();
            return nullptr;
        }
        harness->limits_ = std::move(limits).value();
        return harness;
    }
    ~RedisHarness() override {
        // Every operation of the suite must have reached Redis: a fallback would test the twin instead.
        if (limits_) {
            EXPECT_EQ(limits_->fallbacks(), 0u) << "an operation fell back to the in-process twin";
        }
        limits_.reset();
        DeleteKeys(prefix_);
    }
    RateLimits& limits() override { return *limits_; }

  private:
    RedisHarness() : prefix_(NewPrefix()) {}

    std::string prefix_;
    std::shared_ptr<RedisRateLimits> limits_;
};

}  // namespace

namespace conformance {
INSTANTIATE_TEST_SUITE_P(Redis, RateLimitsConformance,
                         ::testing::Values(RateLimitsImplementation{"redis", &RedisHarness::Open}), ImplementationName);
}  // namespace conformance

namespace {

class RedisRateLimitsTest : public ::testing::Test {
  protected:
    void SetUp() override { VG_REQUIRE_REDIS(); }
    void TearDown() override { DeleteKeys(prefix_); }

    // Another server of the same deployment: a RedisRateLimits of its own on the same prefix.
    std::shared_ptr<RedisRateLimits> Server() {
        auto limits = OpenOn(prefix_);
        EXPECT_TRUE(limits.ok()) << limits.status().ToString();
        return limits.ok() ? std::move(limits).value() : nullptr;
    }

    const std::string prefix_ = NewPrefix();
    ManualClock clock_;
};

// The point of the whole thing: N api servers allow a key the limit once, not N times.
TEST_F(RedisRateLimitsTest, TwoServersOnOnePrefixShareOneBudget) {
    auto a = Server(), b = Server();
    ASSERT_TRUE(a && b);
    ASSERT_NE(a->node_id(), b->node_id());

    auto check_a = a->SlidingWindow("check_id", clock_, {3, minutes(1), 100});
    auto check_b = b->SlidingWindow("check_id", clock_, {3, minutes(1), 100});
    EXPECT_EQ(check_a->TryAcquire("10.0.0.1"), 0);
    EXPECT_EQ(check_b->TryAcquire("10.0.0.1"), 0);
    EXPECT_EQ(check_a->TryAcquire("10.0.0.1"), 0);
    EXPECT_EQ(check_b->TryAcquire("10.0.0.1"), 60) << "the fourth, on either server, is refused";
    EXPECT_EQ(check_a->RetryAfterSeconds("10.0.0.1"), 60);
    check_b->Release("10.0.0.1");  // gives back the newest, whichever server counted it
    EXPECT_EQ(check_a->TryAcquire("10.0.0.1"), 0);

    auto login_a = a->LoginThrottle("login", clock_, {});
    auto login_b = b->LoginThrottle("login", clock_, {});
    EXPECT_TRUE(login_a->Begin("kim", "10.0.0.2").admitted());
    EXPECT_TRUE(login_b->Begin("kim", "10.0.0.2").admitted());
    EXPECT_TRUE(login_a->Begin("kim", "10.0.0.2").admitted());
    auto refused = login_b->Begin("kim", "10.0.0.2");
    EXPECT_EQ(refused.why, LoginThrottle::Refusal::kPair) << "three free failures in all, not three per server";
    login_a->Succeeded("kim", "10.0.0.2");
    EXPECT_TRUE(login_b->Begin("kim", "10.0.0.2").admitted()) << "a success on one server forgets the pair on all";

    auto quota_a = a->TokenBucket("readings_quota", clock_, {.capacity = 100, .refill_per_second = 1});
    auto quota_b = b->TokenBucket("readings_quota", clock_, {.capacity = 100, .refill_per_second = 1});
    EXPECT_TRUE(quota_a->Charge("42", 60));
    EXPECT_TRUE(quota_b->Charge("42", 60));
    EXPECT_NEAR(quota_a->Available("42"), -20, 1e-9);
    EXPECT_EQ(quota_b->RetryAfterSeconds("42"), 21);

    // Parallel attempts spread over both servers run at most the allowed number of password checks.
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&, t] {
            LoginThrottle& throttle = t % 2 == 0 ? *login_a : *login_b;
            if (throttle.Begin("lee", "10.0.0.3").admitted()) admitted.fetch_add(1);
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(admitted.load(), 3);
    EXPECT_EQ(a->fallbacks() + b->fallbacks(), 0u);
}

// Keys are {prefix}:rl:{name}:{key} and every one carries an expiry: Redis's memory is bounded by them.
TEST_F(RedisRateLimitsTest, EveryKeyIsNamedAsDocumentedAndExpires) {
    auto limits = Server();
    ASSERT_TRUE(limits);
    auto window = limits->SlidingWindow("check_id", clock_, {3, minutes(1), 100});
    EXPECT_EQ(window->TryAcquire("10.0.0.1"), 0);
    const std::string window_key = prefix_ + ":rl:check_id:10.0.0.1";
    EXPECT_EQ(limits->KeyOf("check_id", "10.0.0.1"), window_key);
    int64_t ttl = Pttl(window_key);
    EXPECT_GT(ttl, 55'000);
    EXPECT_LE(ttl, 60'000);
    clock_.Advance(seconds(30));
    EXPECT_EQ(window->TryAcquire("10.0.0.1"), 0);
    EXPECT_GT(Pttl(window_key), 55'000) << "moved with the newest event";

    auto quota = limits->TokenBucket("readings_quota", clock_, {.capacity = 100, .refill_per_second = 10});
    EXPECT_TRUE(quota->Charge("7", 50));
    ttl = Pttl(prefix_ + ":rl:readings_quota:7");
    EXPECT_GT(ttl, 5'000);  // full again in 5 s, forgotten a second later
    EXPECT_LE(ttl, 6'000);

    auto throttle = limits->LoginThrottle("login", clock_, {});
    ASSERT_TRUE(throttle->Begin("kim", "10.0.0.9").admitted());
    for (const std::string& part : {std::string("p:kim\n10.0.0.9"), std::string("a:10.0.0.9"), std::string("i:kim")}) {
        ttl = Pttl(prefix_ + ":rl:login:" + part);
        EXPECT_GT(ttl, 14 * 60'000) << part;
        EXPECT_LE(ttl, 15 * 60'000) << part;
    }
    throttle->Succeeded("kim", "10.0.0.9");
    EXPECT_EQ(Pttl(prefix_ + ":rl:login:p:kim\n10.0.0.9"), -2) << "the pair is forgotten at once";
    ttl = Pttl(prefix_ + ":rl:login:k:kim\n10.0.0.9");
    EXPECT_GT(ttl, 29LL * 24 * 3600 * 1000) << "a known address for 30 days";

    // A long key is hashed; no key is longer than the prefix, the name and a hash.
    EXPECT_EQ(window->TryAcquire(std::string(5'000, 'x')), 0);
    for (const std::string& key : KeysOf(prefix_)) {
        EXPECT_LE(key.size(), prefix_.size() + 40 + 200) << key.substr(0, 80);
        EXPECT_GT(Pttl(key), 0) << key.substr(0, 80) << " has no expiry";
    }
    EXPECT_EQ(limits->fallbacks(), 0u);
}

// SCRIPT FLUSH (or a restart) empties Redis's script cache: the next use of each script sends it whole once,
// and nothing falls back.
TEST_F(RedisRateLimitsTest, AFlushedScriptCacheIsRefilledWithoutAFallback) {
    auto limits = Server();
    ASSERT_TRUE(limits);
    auto window = limits->SlidingWindow("check_id", clock_, {3, minutes(1), 100});
    EXPECT_EQ(window->TryAcquire("k"), 0);
    EXPECT_EQ(window->TryAcquire("k"), 0);
    const uint64_t loads = limits->script_loads();
    EXPECT_LE(loads, 1u) << "after its first use (SCRIPT LOAD) the script is run by its SHA-1";
    auto redis = RawRedis();
    ASSERT_TRUE(redis);
    auto flushed = redis->Command({"SCRIPT", "FLUSH"});
    ASSERT_TRUE(flushed.ok() && !redis::IsError(flushed->get()));
    EXPECT_EQ(window->TryAcquire("k"), 0);
    // One EVAL (another test's process may have loaded the script again first: then none).
    const uint64_t reloaded = limits->script_loads();
    EXPECT_GE(reloaded, loads);
    EXPECT_LE(reloaded, loads + 1);
    EXPECT_EQ(window->TryAcquire("k"), 60);
    EXPECT_EQ(limits->script_loads(), reloaded) << "loaded again: EVALSHA finds it";
    EXPECT_EQ(limits->fallbacks(), 0u);
}

// A connection the server closed (CLIENT KILL, a restart) is noticed before use and made again.
TEST_F(RedisRateLimitsTest, KilledConnectionsAreMadeAgain) {
    auto limits = Server();
    ASSERT_TRUE(limits);
    auto window = limits->SlidingWindow("check_id", clock_, {100, minutes(1), 100});
    EXPECT_EQ(window->TryAcquire("k"), 0);
    ASSERT_GE(redis::testing::KillClientsNamed("vg-rl:" + prefix_ + ":"), 1);
    std::this_thread::sleep_for(milliseconds(50));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(window->TryAcquire("k"), 0);
    EXPECT_EQ(limits->fallbacks(), 0u);
    auto redis = RawRedis();
    ASSERT_TRUE(redis);
    auto count = redis->Command({"ZCARD", limits->KeyOf("check_id", "k")});
    ASSERT_TRUE(count.ok());
    EXPECT_EQ(redis::IntegerOf(count->get()), 6) << "every acquire reached Redis";
}

// Redis away (a closed port) and back: the limiters limit in this process meanwhile and count it, then share
// again.
TEST_F(RedisRateLimitsTest, AnUnreachableRedisFallsBackAndCountsIt) {
    RedisRateLimitsOptions options;
    options.url = "redis://127.0.0.1:1";
    options.prefix = prefix_;
    auto opened = RedisRateLimits::Open(options);
    ASSERT_TRUE(opened.ok());
    auto window = (*opened)->SlidingWindow("sos_address", clock_, {2, minutes(60), 100});
    EXPECT_EQ(window->TryAcquire("10.0.0.1"), 0);
    EXPECT_EQ(window->TryAcquire("10.0.0.1"), 0);
    EXPECT_GT(window->TryAcquire("10.0.0.1"), 0) << "still limited, in this process";
    EXPECT_EQ((*opened)->fallbacks(), 3u);
    EXPECT_TRUE(KeysOf(prefix_).empty());
}

}  // namespace
}  // namespace vg::auth
