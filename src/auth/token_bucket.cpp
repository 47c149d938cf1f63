#include "vg/auth/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace vg::auth {

namespace {
constexpr size_t kEvictionBudget = 4;  // expired entries reclaimed per call (ExpiringMap)

int CeilSeconds(double seconds) { return std::max(1, static_cast<int>(std::ceil(seconds))); }

}  // namespace

TokenBucketLimiter::Options TokenBucketLimiter::Sane(Options options) {
    if (!(options.capacity > 0)) options.capacity = 1;
    if (!(options.refill_per_second > 0)) options.refill_per_second = 1;
    return options;
}

InProcessTokenBucketLimiter::InProcessTokenBucketLimiter(const Clock& clock, Options options)
    : clock_(clock), options_(Sane(options)), buckets_(options.max_keys) {}

void InProcessTokenBucketLimiter::Refill(Bucket& bucket, TimePoint now) const {
    if (now <= bucket.updated_at) return;
    const double elapsed = std::chrono::duration<double>(now - bucket.updated_at).count();
    bucket.tokens = std::min(options_.capacity, bucket.tokens + elapsed * options_.refill_per_second);
    bucket.updated_at = now;
}

TimePoint InProcessTokenBucketLimiter::FullAt(double tokens, TimePoint now) const {
    const double seconds = std::max(0.0, options_.capacity - tokens) / options_.refill_per_second;
    return now + std::chrono::duration_cast<Milliseconds>(std::chrono::duration<double>(seconds)) +
           std::chrono::seconds(1);
}

int InProcessTokenBucketLimiter::RetryAfterSeconds(std::string_view key) const {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    buckets_.EvictExpired(now, kEvictionBudget);
    Bucket* bucket = buckets_.Find(key, now);
    if (bucket == nullptr) {
        if (buckets_.size() < buckets_.max_keys()) return 0;
        return CeilSeconds(std::chrono::duration<double>(buckets_.EarliestExpiry(now) - now).count());
    }
    Bucket copy = *bucket;
    Refill(copy, now);
    if (copy.tokens > 0) return 0;
    // Until it holds a little more than nothing: the debt plus one token's worth of refill.
    return CeilSeconds((1.0 - copy.tokens) / options_.refill_per_second);
}

bool InProcessTokenBucketLimiter::Charge(std::string_view key, double amount) {
    if (!(amount > 0)) return true;
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    buckets_.EvictExpired(now, kEvictionBudget);
    Bucket* bucket = buckets_.Find(key, now);
    if (bucket == nullptr) {
        bucket = buckets_.FindOrInsert(key, now, now);
        if (bucket == nullptr) return false;
        bucket->tokens = options_.capacity;  // a new key starts full
        bucket->updated_at = now;
    } else {
        Refill(*bucket, now);
    }
    bucket->tokens = std::max(-options_.capacity, bucket->tokens - amount);
    buckets_.SetExpiry(key, FullAt(bucket->tokens, now));
    return true;
}

double InProcessTokenBucketLimiter::Available(std::string_view key) const {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    Bucket* bucket = buckets_.Find(key, now);
    if (bucket == nullptr) return options_.capacity;
    Bucket copy = *bucket;
    Refill(copy, now);
    return copy.tokens;
}

size_t InProcessTokenBucketLimiter::tracked_keys() const {
    std::lock_guard lock(mu_);
    return buckets_.size();
}

}  // namespace vg::auth
