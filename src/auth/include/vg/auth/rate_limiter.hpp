#pragma once
// SlidingWindowLimiter: counts events per key over a sliding time window.
//
// Used for anonymous lookups per client address (the duplicate-id check, and sign-up's answer about a
// taken id, which spends the same budget), for accounts created per address, for guardian requests per
// account, for new SOS incidents per address, for account changes per account, and inside LoginThrottle
// (failed logins per address and per id).
//
// Check and record are one step (TryAcquire), so that callers doing slow work after the check (a
// password hash) cannot all pass it at once; Release gives an acquired event back when the work turned
// out not to count (a sign-up that failed, a login that succeeded).
// Time comes from the injected Clock (never from anywhere else), so every implementation behaves the
// same on simulated time.
//
// An interface (vg/auth/rate_limits.hpp makes them): InProcessSlidingWindowLimiter below counts in this
// process; the Redis adapter (auth/redis, RedisRateLimits) counts in Redis so that every api server of a
// deployment shares one budget per key, with an in-process twin when Redis cannot be reached.
// Thread-safety: all methods of every implementation are safe from any thread.

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

#include "vg/auth/expiring_map.hpp"
#include "vg/common/clock.hpp"

namespace vg::auth {

class SlidingWindowLimiter {
  public:
    struct Options {
        int max_events = 5;                                // events allowed within `window`
        std::chrono::milliseconds window{15 * 60 * 1000};  // sliding window length
        // Keys one process tracks at most (InProcessSlidingWindowLimiter, and the Redis adapter's twin);
        // a shared store is bounded by its keys' expiry instead (src/auth/README.md).
        size_t max_keys = 100'000;
    };

    virtual ~SlidingWindowLimiter() = default;

    // 0 when `key` is below its limit; otherwise the whole seconds (>= 1) until its oldest counted
    // event that keeps it at the limit leaves the window.
    virtual int RetryAfterSeconds(std::string_view key) const = 0;
    // Counts one event for `key` and returns 0 when it is below its limit; otherwise counts nothing and
    // returns the whole seconds (>= 1) to wait: until the limit frees, or, when an in-process table is
    // full of other live keys, until the first of them may expire. With max_events <= 0 every call is
    // refused (the window's length).
    [[nodiscard]] virtual int TryAcquire(std::string_view key) = 0;
    // Counts one event for `key` even over its limit (the newest max(1, max_events) are kept), for counts
    // that decide who waits rather than whether this event happens. False when an in-process table is
    // full of other live keys (nothing is counted then).
    virtual bool Record(std::string_view key) = 0;
    // Forgets the newest event of `key` within the window (an acquired event that turned out not to
    // count); nothing when it has none.
    virtual void Release(std::string_view key) = 0;
    // Forgets the key's events (e.g. after a successful login).
    virtual void Reset(std::string_view key) = 0;
};

// The limiter in this process's memory.
// Memory is bounded: at most `max_keys` keys are tracked, each with at most max_events events. Expired
// keys are evicted a few at a time on each call (ExpiringMap), never by a scan of all keys. When the
// table is full of live keys a new key is refused (TryAcquire answers a retry time) rather than
// evicting a live one: a flood of distinct keys must not wipe the counts of the keys being limited.
// Scope: one process (several api servers each count on their own: use RateLimits' Redis adapter).
// Thread-safety: all methods are safe from any thread (one internal mutex).
class InProcessSlidingWindowLimiter final : public SlidingWindowLimiter {
  public:
    InProcessSlidingWindowLimiter(const Clock& clock, Options options);

    int RetryAfterSeconds(std::string_view key) const override;
    [[nodiscard]] int TryAcquire(std::string_view key) override;
    bool Record(std::string_view key) override;
    void Release(std::string_view key) override;
    void Reset(std::string_view key) override;
    size_t tracked_keys() const;

  private:
    // How long `events` (pruned) keeps the key over its limit; 0 when below it.
    int WaitSeconds(const std::deque<TimePoint>& events, TimePoint now) const;
    void Prune(std::deque<TimePoint>& events, TimePoint now) const;

    static constexpr size_t kEvictionBudget = 4;  // expired keys reclaimed per call, amortising eviction

    const Clock& clock_;
    const Options options_;
    mutable std::mutex mu_;
    mutable ExpiringMap<std::deque<TimePoint>> events_;  // GUARDED_BY(mu_); expires with its newest event
};

}  // namespace vg::auth
