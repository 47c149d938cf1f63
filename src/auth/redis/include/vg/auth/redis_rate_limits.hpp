#pragma once
// RedisRateLimits: the rate limits of every api server of a deployment counted in one Redis (issue 17;
// src/auth/redis/README.md, src/auth/README.md "Rate limits across servers").
//
// A RateLimits whose limiters keep their counts in Redis under `{prefix}:rl:{name}:{key}`, so N api servers
// behind a load balancer allow a key the limit once, not N times. Each operation of a limiter is ONE Lua
// script (EVALSHA; EVAL when Redis answers NOSCRIPT, e.g. after a restart or SCRIPT FLUSH), atomic on the
// server, on the time of the injected Clock passed in as milliseconds (never Redis's TIME): the limiters
// answer exactly as the in-process ones do, on simulated time too (the conformance suite runs on both).
//
// Redis unreachable or slow (connection refused, no answer within command_timeout, an error reply): the
// operation is done by the limiter's in-process twin (the same options), so limits still hold per process
// and a login or an SOS never fails because Redis is down; it is counted (fallbacks(), the app's
// vitalguard_rate_limit_fallbacks_total) and logged as a warning at most once per 30 s. Later operations
// try Redis again: a lost connection is made again at the next checkout, but after a failed attempt that
// connection is not tried again for reconnect_interval (1 s), so a dead Redis costs at most one connect
// attempt per pooled connection and second, not one per login. The twin's counts and Redis's are not
// merged: while Redis is away a key starts from what this process counted (and a Release or Succeeded that
// reaches Redis again gives back a count Redis holds).
//
// Memory: max_keys bounds only the twins (per process). What bounds Redis is expiry: every key carries a
// PEXPIRE of what it can still matter for (a window key its window after its newest event, a bucket until it
// would be full again, a login pair its window, a known address 30 days), so Redis holds the keys active
// within their windows: about 90-150 bytes per key plus ~35 per sliding-window event (README.md).
//
// Thread-safety: all methods, and the limiters made, may be used from any thread. No lock is held across a
// round trip to Redis except the pool's: a connection is checked out for the one command.
// Ownership: the limiters made share the pool and the counters (they may outlive this object); they borrow
// the Clock, which must outlive them.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "vg/auth/rate_limits.hpp"
#include "vg/common/status.hpp"

namespace vg::auth {

struct RedisRateLimitsOptions {
    std::string url;            // redis://[[user]:password@]host[:port][/db]
    std::string prefix = "vg";  // keys {prefix}:rl:{name}:{key}; the app uses the bus's --bus-prefix
    int connections = 4;        // the pool; a caller waits at most command_timeout for a free one
    std::chrono::milliseconds command_timeout{200};
    std::chrono::milliseconds connect_timeout{200};
    // After a failed connect attempt, that pooled connection is not tried again for this long.
    std::chrono::milliseconds reconnect_interval{1000};
    // The fallback warning is logged at most once per this.
    std::chrono::milliseconds warning_interval{30'000};
};

class RedisRateLimits final : public RateLimits {
  public:
    // Checks the options (kInternal naming the bad one: "RedisRateLimitsOptions.url is not ..."; the
    // message never repeats a password). Connects lazily: an unreachable Redis is not an error here (the
    // limiters fall back until it answers).
    static Result<std::shared_ptr<RedisRateLimits>> Open(RedisRateLimitsOptions options);
    ~RedisRateLimits() override;
    RedisRateLimits(const RedisRateLimits&) = delete;
    RedisRateLimits& operator=(const RedisRateLimits&) = delete;

    // Operations done by the in-process twins because Redis did not answer, since Open (all limiters).
    uint64_t fallbacks() const;
    // Operations whose script Redis did not have (NOSCRIPT: the first use after a restart or SCRIPT FLUSH)
    // and that sent it whole (EVAL), since Open.
    uint64_t script_loads() const;
    // This process's random id: the prefix of the unique members it adds to sliding windows, and part of its
    // connections' names (vg-rl:{prefix}:{node}).
    const std::string& node_id() const;
    // The Redis key of `key` in the limit `name`: {prefix}:rl:{name}:{key}, or {prefix}:rl:{name}:#{sha256}
    // for a key longer than 200 bytes. The login throttle's keys are a:{address}, i:{id}, p:{id}\n{address},
    // t:{id} and k:{id}\n{address} under its name. For tests and operators.
    std::string KeyOf(std::string_view name, std::string_view key) const;

    struct Shared;  // the pool, the counters and the scripts; shared with the limiters

  protected:
    std::unique_ptr<SlidingWindowLimiter> MakeSlidingWindow(std::string_view name, const Clock& clock,
                                                            SlidingWindowLimiter::Options options) override;
    std::unique_ptr<TokenBucketLimiter> MakeTokenBucket(std::string_view name, const Clock& clock,
                                                        TokenBucketLimiter::Options options) override;
    std::unique_ptr<auth::LoginThrottle> MakeLoginThrottle(std::string_view name, const Clock& clock,
                                                           LoginThrottleOptions options) override;

  private:
    explicit RedisRateLimits(std::shared_ptr<Shared> shared);
    std::shared_ptr<Shared> shared_;
};

}  // namespace vg::auth
