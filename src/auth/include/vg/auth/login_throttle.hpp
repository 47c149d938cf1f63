#pragma once
// LoginThrottle: decides whether a login attempt may run its password check, and counts it.
//
// The rules (src/auth/README.md, "Failed logins", explains why):
//   1. Per (id, address) pair: the first `free_failures_per_pair` failures cost nothing; after that
//      the pair waits first_delay, then twice as long after each further failure (1 s, 2 s, 4 s, ...
//      up to max_delay) after its latest failure. The pair is forgotten `window` after its latest
//      failure, or at once when it logs in.
//   2. Per address: at most `max_failures_per_address` failures within `window`, across all ids.
//   3. Per id, across all addresses (the ceiling): once the id has `max_failures_per_id` failures
//      within `window`,
//        - an address that has failed on this id within the window waits until the id's count drops
//          below the ceiling;
//        - an address that has not failed on it is let through, but all such addresses together get
//          one attempt per `ceiling_interval` for this id (first come, first served): a botnet gets
//          a guess every few seconds, and the owner on a fresh address waits at most about that long
//          for a turn;
//        - an address the id has logged in from successfully within `known_address_memory` skips
//          the ceiling altogether (rule 1 and 2 still apply): the owner at home is never locked out.
// Check and count are one step (Begin): an admitted attempt is counted as a failure before its
// password is checked, so parallel attempts cannot all pass the check while the hashes run; Succeeded
// takes the count back. Nothing is ever a hard lock of the id. Time comes from the injected Clock.
//
// An interface (vg/auth/rate_limits.hpp makes them): InProcessLoginThrottle below keeps its tables in
// this process; the Redis adapter (auth/redis) decides each Begin and Succeeded in one Lua script on
// Redis, so every api server of a deployment applies the rules to the same counts.
// Thread-safety: all methods of every implementation may be called from any thread, and never hold a
// lock across the password hash.

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "vg/auth/expiring_map.hpp"
#include "vg/auth/rate_limiter.hpp"
#include "vg/common/clock.hpp"

namespace vg::auth {

struct LoginThrottleOptions {
    int free_failures_per_pair = 3;
    std::chrono::milliseconds first_delay{1000};
    std::chrono::milliseconds max_delay{5 * 60 * 1000};
    int max_failures_per_address = 20;
    int max_failures_per_id = 10;
    std::chrono::milliseconds ceiling_interval{5000};
    std::chrono::milliseconds window{15 * 60 * 1000};
    std::chrono::milliseconds known_address_memory{30LL * 24 * 60 * 60 * 1000};
    size_t max_keys = 100'000;
};

class LoginThrottle {
  public:
    // Which rule refused: kPair (1), kAddress (2), kId (3), kFull (an in-process table is full of live
    // keys, or max_failures_per_address <= 0).
    enum class Refusal { kNone, kPair, kAddress, kId, kFull };
    struct Decision {
        int retry_after_seconds = 0;  // > 0 when refused
        Refusal why = Refusal::kNone;
        bool admitted() const { return why == Refusal::kNone; }
    };

    virtual ~LoginThrottle() = default;

    // Admits the attempt and counts it as a failure (of the pair, the address and the id), or refuses
    // it with how long to wait. Every admitted attempt must end with Succeeded or nothing (a failure
    // stays counted).
    virtual Decision Begin(std::string_view id, std::string_view address) = 0;
    // The admitted attempt logged in: its count is taken back, the pair's failures are forgotten and
    // the address is remembered as one this id logs in from.
    virtual void Succeeded(std::string_view id, std::string_view address) = 0;
};

// The throttle in this process's memory, bounded by `max_keys` per table (ExpiringMap, amortised
// eviction); when a table is full of live keys a new key is refused with a retry time instead of
// forgetting a live one. Known-good addresses are a convenience and are simply not remembered then.
// Scope: one process (several api servers each count on their own: use RateLimits' Redis adapter).
// Thread-safety: one internal mutex, held only for the bookkeeping, never across the password hash.
class InProcessLoginThrottle final : public LoginThrottle {
  public:
    InProcessLoginThrottle(const Clock& clock, LoginThrottleOptions options);

    Decision Begin(std::string_view id, std::string_view address) override;
    void Succeeded(std::string_view id, std::string_view address) override;

  private:
    struct PairState {
        int failures = 0;
        TimePoint last_failure{};
    };
    static std::string PairKey(std::string_view id, std::string_view address);
    int PairWaitSeconds(const PairState& pair, TimePoint now) const;

    static constexpr size_t kEvictionBudget = 4;

    const Clock& clock_;
    const LoginThrottleOptions options_;
    std::mutex mu_;  // makes Begin's checks and counts one step across the tables below
    InProcessSlidingWindowLimiter by_address_;
    InProcessSlidingWindowLimiter by_id_;
    ExpiringMap<PairState> pairs_;         // GUARDED_BY(mu_); expires `window` after the latest failure
    ExpiringMap<TimePoint> ceiling_turn_;  // GUARDED_BY(mu_); id -> when a fresh address last got a turn
    ExpiringMap<char> known_addresses_;    // GUARDED_BY(mu_); pair -> logged in successfully
};

}  // namespace vg::auth
