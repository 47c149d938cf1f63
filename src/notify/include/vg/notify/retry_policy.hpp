#pragma once
// RetryPolicy: when to try a failed message again — exponential backoff with full jitter.
//
// The ceiling for attempt n (1-based: the attempt that just failed) is
// min(cap, base * factor^(n-1)); the delay is drawn uniformly from [0, ceiling] ("full jitter",
// which spreads the retries of many messages that failed together, e.g. when a gateway came
// back). After `max_attempts` attempts there is no next delay: the message has failed.
// A receiver's Retry-After is honoured by the worker on top of this (the later of the two).
// Deterministic for a given seed (tests); seeded from std::random_device by default.
// Thread-safety: NextDelay may be called from any thread (one mutex around the generator).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

#include "vg/common/clock.hpp"

namespace vg::notify {

struct RetryPolicyOptions {
    Milliseconds base{2'000};
    double factor = 2.0;
    Milliseconds cap{10 * 60 * 1000};
    int max_attempts = 8;  // attempts in all, the first included; >= 1
};

class RetryPolicy {
  public:
    explicit RetryPolicy(RetryPolicyOptions options);
    RetryPolicy(RetryPolicyOptions options, uint64_t seed);

    // The delay before the next attempt after attempt number `failed_attempt` (1-based) failed,
    // or empty when that was the last one allowed.
    std::optional<Milliseconds> NextDelay(int failed_attempt);

    // The upper bound of NextDelay for that attempt (no jitter); empty when there is none.
    std::optional<Milliseconds> Ceiling(int failed_attempt) const;

    const RetryPolicyOptions& options() const { return options_; }

  private:
    const RetryPolicyOptions options_;
    std::mutex mu_;
    std::mt19937_64 rng_;  // GUARDED_BY(mu_)
};

}  // namespace vg::notify
