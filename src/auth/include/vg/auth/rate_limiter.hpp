#pragma once
// SlidingWindowLimiter: counts events per key over a sliding time window.
//
// Used for failed logins (per login id and per client address) and for
// anonymous lookups such as the duplicate-id check. Memory is bounded: at most
// `max_keys` keys are tracked; when full, the key whose newest event is oldest
// is forgotten first. Time comes from the injected Clock.
// Scope: one process. A cluster needs a shared counter (Redis) behind the same
// calls; see docs/architecture.md.
// Thread-safety: all methods are safe from any thread (one internal mutex).

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "vg/common/clock.hpp"

namespace vg::auth {

class SlidingWindowLimiter {
  public:
    struct Options {
        int max_events = 5;                                // events allowed within `window`
        std::chrono::milliseconds window{15 * 60 * 1000};  // sliding window length
        size_t max_keys = 100'000;
    };

    SlidingWindowLimiter(const Clock& clock, Options options);

    // 0 when `key` is below its limit; otherwise the whole seconds (>= 1) until its oldest counted
    // event leaves the window.
    int RetryAfterSeconds(std::string_view key) const;
    void Record(std::string_view key);
    // Forgets the key's events (e.g. after a successful login).
    void Reset(std::string_view key);
    size_t tracked_keys() const;

  private:
    void Prune(std::deque<TimePoint>& events, TimePoint now) const;

    const Clock& clock_;
    const Options options_;
    mutable std::mutex mu_;
    mutable std::unordered_map<std::string, std::deque<TimePoint>> events_;  // GUARDED_BY(mu_)
};

}  // namespace vg::auth
