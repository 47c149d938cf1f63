// Hermetic tests of RedisRateLimits: the options, the key layout, the scripts' SHA-1, and the fallback when
// Redis cannot be reached (a closed port: no server needed). The limiters' behaviour on a live Redis is in
// redis_rate_limits_redistest.cpp (the conformance suite and what several servers share).
#include "vg/auth/redis_rate_limits.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

namespace vg::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using SteadyClock = std::chrono::steady_clock;

RedisRateLimitsOptions Unreachable() {
    RedisRateLimitsOptions options;
    options.url = "redis://:pa55word@127.0.0.1:1";  // nothing listens on port 1: connections are refused
    options.prefix = "vgtest";
    return options;
}

TEST(RedisRateLimitsTest, BadOptionsAreRefusedNamingTheOption) {
    auto bad_url = RedisRateLimits::Open({.url = "redis://:pa55word@host:notaport"});
    ASSERT_FALSE(bad_url.ok());
    EXPECT_EQ(bad_url.status().code(), ErrorCode::kInternal);
    EXPECT_NE(bad_url.status().message().find("RedisRateLimitsOptions.url"), std::string::npos)
        << bad_url.status().message();
    EXPECT_EQ(bad_url.status().message().find("pa55word"), std::string::npos) << bad_url.status().message();

    RedisRateLimitsOptions options = Unreachable();
    options.prefix = "";
    auto no_prefix = RedisRateLimits::Open(options);
    ASSERT_FALSE(no_prefix.ok());
    EXPECT_NE(no_prefix.status().message().find("prefix"), std::string::npos) << no_prefix.status().message();
    options.prefix = "a b";
    EXPECT_FALSE(RedisRateLimits::Open(options).ok());

    options = Unreachable();
    options.connections = 0;
    auto no_connections = RedisRateLimits::Open(options);
    ASSERT_FALSE(no_connections.ok());
    EXPECT_NE(no_connections.status().message().find("connections"), std::string::npos);

    options = Unreachable();
    options.command_timeout = milliseconds(0);
    EXPECT_FALSE(RedisRateLimits::Open(options).ok());

    EXPECT_TRUE(RedisRateLimits::Open(Unreachable()).ok()) << "an unreachable Redis is not an error at Open";
}

TEST(RedisRateLimitsTest, KeysArePrefixNameKeyAndLongKeysAreHashed) {
    auto limits = RedisRateLimits::Open(Unreachable());
    ASSERT_TRUE(limits.ok());
    EXPECT_EQ((*limits)->KeyOf("check_id", "10.0.0.1"), "vgtest:rl:check_id:10.0.0.1");
    EXPECT_EQ((*limits)->KeyOf("login", std::string("p:kim\n10.0.0.1")), "vgtest:rl:login:p:kim\n10.0.0.1");
    const std::string at_limit(200, 'k');
    EXPECT_EQ((*limits)->KeyOf("check_id", at_limit), "vgtest:rl:check_id:" + at_limit);
    const std::string long_a = std::string(250, 'k') + "a";
    const std::string long_b = std::string(250, 'k') + "b";
    const std::string hashed_a = (*limits)->KeyOf("check_id", long_a);
    EXPECT_EQ(hashed_a.size(), std::string("vgtest:rl:check_id:#").size() + 64) << hashed_a;
    EXPECT_EQ(hashed_a.rfind("vgtest:rl:check_id:#", 0), 0u) << hashed_a;
    EXPECT_EQ(hashed_a, (*limits)->KeyOf("check_id", long_a)) << "stable";
    EXPECT_NE(hashed_a, (*limits)->KeyOf("check_id", long_b));
    EXPECT_EQ((*limits)->node_id().size(), 16u);
}

// Redis down: every limiter still limits (its in-process twin), each operation is counted as a fallback,
// and nothing fails or throws.
TEST(RedisRateLimitsTest, AnUnreachableRedisFallsBackToLimitsInThisProcessAndCountsIt) {
    auto opened = RedisRateLimits::Open(Unreachable());
    ASSERT_TRUE(opened.ok());
    RedisRateLimits& limits = **opened;
    ManualClock clock;

    auto window = limits.SlidingWindow("check_id", clock, {2, minutes(1), 100});
    EXPECT_EQ(window->TryAcquire("10.0.0.1"), 0);
    EXPECT_EQ(window->TryAcquire("10.0.0.1"), 0);
    EXPECT_EQ(window->TryAcquire("10.0.0.1"), 60);
    EXPECT_EQ(window->RetryAfterSeconds("10.0.0.1"), 60);
    window->Release("10.0.0.1");
    EXPECT_EQ(window->RetryAfterSeconds("10.0.0.1"), 0);
    EXPECT_TRUE(window->Record("10.0.0.1"));
    window->Reset("10.0.0.1");
    EXPECT_EQ(window->RetryAfterSeconds("10.0.0.1"), 0);

    auto quota = limits.TokenBucket("readings_quota", clock, {.capacity = 10, .refill_per_second = 1});
    EXPECT_TRUE(quota->Charge("7", 10));
    EXPECT_EQ(quota->RetryAfterSeconds("7"), 1);
    EXPECT_NEAR(quota->Available("7"), 0, 1e-9);
    EXPECT_EQ(quota->capacity(), 10);

    auto throttle = limits.LoginThrottle("login", clock, {});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(throttle->Begin("kim", "10.0.0.1").admitted());
    EXPECT_EQ(throttle->Begin("kim", "10.0.0.1").why, LoginThrottle::Refusal::kPair);
    throttle->Succeeded("kim", "10.0.0.1");
    EXPECT_TRUE(throttle->Begin("kim", "10.0.0.1").admitted());

    EXPECT_EQ(limits.fallbacks(), 18u) << "every operation above fell back once";
}

// A server that takes connections and never answers (a hung Redis): the kernel completes the handshake for a
// listening socket nobody accepts on.
class SilentServer {
  public:
    SilentServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        socklen_t length = sizeof address;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 64) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            ADD_FAILURE() << "cannot listen on loopback";
            return;
        }
        port_ = ntohs(address.sin_port);
    }
    ~SilentServer() {
        if (fd_ >= 0) ::close(fd_);
    }
    int port() const { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

// A hung Redis must not cost every call a timeout: a connection that got no answer (or could not be made)
// is not tried again for reconnect_interval, so most calls fall back at once.
TEST(RedisRateLimitsTest, AHungRedisCostsAtMostOneTimeoutPerConnectionAndInterval) {
    SilentServer silent;
    ASSERT_GT(silent.port(), 0);
    RedisRateLimitsOptions options = Unreachable();
    options.url = "redis://127.0.0.1:" + std::to_string(silent.port());
    options.connections = 2;
    options.command_timeout = milliseconds(100);
    options.reconnect_interval = milliseconds(60'000);
    auto opened = RedisRateLimits::Open(options);
    ASSERT_TRUE(opened.ok());
    ManualClock clock;
    auto window = (*opened)->SlidingWindow("check_id", clock, {1000, minutes(1), 100});
    const auto started = SteadyClock::now();
    for (int i = 0; i < 50; ++i) EXPECT_EQ(window->TryAcquire("k"), 0);
    const auto took = SteadyClock::now() - started;
    EXPECT_EQ((*opened)->fallbacks(), 50u);
    // Two timeouts (one per connection) of ~100 ms; not fifty.
    EXPECT_GE(took, milliseconds(150)) << "the first calls did wait for an answer";
    EXPECT_LT(took, milliseconds(1'000)) << std::chrono::duration_cast<milliseconds>(took).count() << " ms";
}

TEST(RedisRateLimitsTest, TheLimitersMayOutliveTheirRateLimits) {
    ManualClock clock;
    std::unique_ptr<TokenBucketLimiter> quota;
    {
        auto opened = RedisRateLimits::Open(Unreachable());
        ASSERT_TRUE(opened.ok());
        quota = (*opened)->TokenBucket("windows_quota", clock, {.capacity = 5, .refill_per_second = 1});
    }
    EXPECT_TRUE(quota->Charge("1", 5));
    EXPECT_GT(quota->RetryAfterSeconds("1"), 0);
}

}  // namespace
}  // namespace vg::auth
