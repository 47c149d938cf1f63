#pragma once
// RateLimits: where the limiters of a process come from (src/auth/README.md, "Rate limits across servers").
//
// Every limit of the services (failed logins, sign-ups and account changes in AccountService; check_id,
// guardian requests, SOS per address and the daily reading and window quotas in api) takes its limiter from
// one RateLimits, under a stable short name ("login", "signup_address", "check_id", ...): letters a-z and
// '_' only, since the Redis adapter puts it into key names ({prefix}:rl:{name}:{key}). One name is one limit:
// two limiters made under one name on one RateLimits share their counts where the implementation is shared
// (Redis), so a name must always come with the same options.
//
// InProcessRateLimits() makes the in-process limiters (InProcessSlidingWindowLimiter, ...): each counts in
// this process only — the embedded deployment and every test. The Redis adapter (auth/redis,
// RedisRateLimits) makes limiters whose counts live in Redis, shared by every api server of a deployment.
//
// A limiter keeps what it needs from its RateLimits alive (it may outlive it, e.g. a quota captured by an
// answer given later); it borrows the Clock, which must outlive it.
// Thread-safety: the factory methods and the limiters they make are safe from any thread.

#include <memory>
#include <string_view>

#include "vg/auth/login_throttle.hpp"
#include "vg/auth/rate_limiter.hpp"
#include "vg/auth/token_bucket.hpp"
#include "vg/common/clock.hpp"

namespace vg::auth {

// Whether `name` may name a limit: 1 to 64 characters, each a-z or '_'.
bool IsRateLimitName(std::string_view name);

class RateLimits {
  public:
    virtual ~RateLimits() = default;

    // A sliding-window limiter (rate_limiter.hpp) named `name`. Throws std::invalid_argument when `name` is
    // not IsRateLimitName (a programming error, found when the service is built, never on a request).
    std::unique_ptr<SlidingWindowLimiter> SlidingWindow(std::string_view name, const Clock& clock,
                                                        SlidingWindowLimiter::Options options);
    // A token bucket (token_bucket.hpp) named `name`; its options are TokenBucketLimiter::Sane'd.
    std::unique_ptr<TokenBucketLimiter> TokenBucket(std::string_view name, const Clock& clock,
                                                    TokenBucketLimiter::Options options);
    // The failed-login throttle (login_throttle.hpp) named `name`.
    std::unique_ptr<auth::LoginThrottle> LoginThrottle(std::string_view name, const Clock& clock,
                                                       LoginThrottleOptions options);

  protected:
    // The implementation's limiters; `name` is valid.
    virtual std::unique_ptr<SlidingWindowLimiter> MakeSlidingWindow(std::string_view name, const Clock& clock,
                                                                    SlidingWindowLimiter::Options options) = 0;
    virtual std::unique_ptr<TokenBucketLimiter> MakeTokenBucket(std::string_view name, const Clock& clock,
                                                                TokenBucketLimiter::Options options) = 0;
    virtual std::unique_ptr<auth::LoginThrottle> MakeLoginThrottle(std::string_view name, const Clock& clock,
                                                                   LoginThrottleOptions options) = 0;
};

// The in-process limiters (one process's counts). Stateless: any number of calls may share one.
std::shared_ptr<RateLimits> InProcessRateLimits();

}  // namespace vg::auth
