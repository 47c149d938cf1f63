#include "vg/notify/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace vg::notify {

RetryPolicy::RetryPolicy(RetryPolicyOptions options) : RetryPolicy(options, std::random_device{}()) {}

RetryPolicy::RetryPolicy(RetryPolicyOptions options, uint64_t seed) : options_(options), rng_(seed) {}

std::optional<Milliseconds> RetryPolicy::Ceiling(int failed_attempt) const {
    if (failed_attempt < 1 || failed_attempt >= options_.max_attempts) return std::nullopt;
    const double base = static_cast<double>(options_.base.count());
    const double cap = static_cast<double>(options_.cap.count());
    // pow() grows past any cap quickly; clamp before converting so nothing overflows.
    const double ceiling = std::min(cap, base * std::pow(std::max(options_.factor, 1.0), failed_attempt - 1));
    return Milliseconds(static_cast<int64_t>(std::max(0.0, ceiling)));
}

std::optional<Milliseconds> RetryPolicy::NextDelay(int failed_attempt) {
    auto ceiling = Ceiling(failed_attempt);
    if (!ceiling) return std::nullopt;
    std::uniform_int_distribution<int64_t> jitter(0, ceiling->count());
    std::lock_guard lock(mu_);
    return Milliseconds(jitter(rng_));
}

}  // namespace vg::notify
