#include "vg/auth/login_throttle.hpp"

#include <algorithm>

namespace vg::auth {

namespace {
int CeilSeconds(std::chrono::milliseconds wait) {
    return std::max<int>(1, static_cast<int>((wait.count() + 999) / 1000));
}
}  // namespace

InProcessLoginThrottle::InProcessLoginThrottle(const Clock& clock, LoginThrottleOptions options)
    : clock_(clock),
      options_(options),
      by_address_(clock, {options.max_failures_per_address, options.window, options.max_keys}),
      by_id_(clock, {options.max_failures_per_id, options.window, options.max_keys}),
      pairs_(options.max_keys),
      ceiling_turn_(options.max_keys),
      known_addresses_(options.max_keys) {}

std::string InProcessLoginThrottle::PairKey(std::string_view id, std::string_view address) {
    std::string key;
    key.reserve(id.size() + address.size() + 1);
    key.append(id).push_back('\n');  // neither an id nor an address contains a newline
    key.append(address);
    return key;
}

int InProcessLoginThrottle::PairWaitSeconds(const PairState& pair, TimePoint now) const {
    if (pair.failures < options_.free_failures_per_pair) return 0;
    // 1 s after the last free failure, then doubling, up to the cap.
    const int doublings = std::min(pair.failures - options_.free_failures_per_pair, 30);
    auto delay = options_.first_delay;
    for (int i = 0; i < doublings && delay < options_.max_delay; ++i) delay *= 2;
    delay = std::min(delay, options_.max_delay);
    const TimePoint allowed_at = pair.last_failure + delay;
    if (allowed_at <= now) return 0;
    return CeilSeconds(std::chrono::duration_cast<std::chrono::milliseconds>(allowed_at - now));
}

LoginThrottle::Decision InProcessLoginThrottle::Begin(std::string_view id, std::string_view address) {
    const TimePoint now = clock_.Now();
    const std::string pair_key = PairKey(id, address);
    std::lock_guard lock(mu_);
    pairs_.EvictExpired(now, kEvictionBudget);
    ceiling_turn_.EvictExpired(now, kEvictionBudget);
    known_addresses_.EvictExpired(now, kEvictionBudget);

    // Rule 1: the pair's own growing delay.
    const PairState* pair = pairs_.Find(pair_key, now);
    if (pair != nullptr) {
        if (int wait = PairWaitSeconds(*pair, now)) return {wait, Refusal::kPair};
    }
    // Rule 2: the address across ids.
    if (int wait = by_address_.RetryAfterSeconds(address)) return {wait, Refusal::kAddress};
    // Rule 3: the id's ceiling across addresses.
    bool takes_ceiling_turn = false;
    if (int wait = by_id_.RetryAfterSeconds(id); wait > 0 && known_addresses_.Find(pair_key, now) == nullptr) {
        if (pair != nullptr && pair->failures > 0) return {wait, Refusal::kId};
        if (const TimePoint* last = ceiling_turn_.Find(id, now)) {
            return {CeilSeconds(
                        std::chrono::duration_cast<std::chrono::milliseconds>(*last + options_.ceiling_interval - now)),
                    Refusal::kId};
        }
        takes_ceiling_turn = true;
    }

    // Admitted: count it now, before the password is checked.
    PairState* counted = pairs_.FindOrInsert(pair_key, now, now + options_.window);
    if (counted == nullptr) return {CeilSeconds(pairs_.EarliestExpiry(now) - now), Refusal::kFull};
    if (int wait = by_address_.TryAcquire(address)) {
        if (counted->failures == 0) pairs_.Erase(pair_key);
        return {wait, Refusal::kFull};
    }
    // Counted past the ceiling too (Record, not TryAcquire): over it the count decides who waits, and
    // it must stay fresh while a distributed attack goes on. A full table only loses the count.
    (void)by_id_.Record(id);
    ++counted->failures;
    counted->last_failure = now;
    pairs_.SetExpiry(pair_key, now + options_.window);
    if (takes_ceiling_turn) {
        if (TimePoint* turn = ceiling_turn_.FindOrInsert(id, now, now + options_.ceiling_interval)) *turn = now;
    }
    return {};
}

void InProcessLoginThrottle::Succeeded(std::string_view id, std::string_view address) {
    const TimePoint now = clock_.Now();
    const std::string pair_key = PairKey(id, address);
    std::lock_guard lock(mu_);
    pairs_.Erase(pair_key);
    by_address_.Release(address);
    by_id_.Release(id);
    if (known_addresses_.FindOrInsert(pair_key, now, now + options_.known_address_memory) != nullptr) {
        known_addresses_.SetExpiry(pair_key, now + options_.known_address_memory);
    }
}

}  // namespace vg::auth
