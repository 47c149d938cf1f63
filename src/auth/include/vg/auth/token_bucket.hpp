#pragma once
// TokenBucketLimiter: a volume quota per key — how much a key may use, refilled at a steady rate.
//
// Used for the readings and IMU windows a wearer's devices may send (api: a day's quota, refilled
// continuously), where a sliding window of single events does not fit: a batch uses many tokens at
// once, a watch that was offline may upload its backlog in one burst up to the bucket's capacity, and
// what a request really used (its new readings, not the duplicates of an earlier upload) is known only
// after it ran. So the check and the charge are two steps: a request is admitted while the key holds
// anything (RetryAfterSeconds), and charged afterwards for what it used (Charge), which may leave the
// key in debt — by at most what the requests admitted at once used — to be paid back by the refill.
// A full bucket is the same as no entry: a key's entry expires when it would have refilled, so memory
// is bounded by the keys active within one refill period and by `max_keys` (ExpiringMap: a full table
// of live keys refuses new keys rather than forget the ones it is limiting).
// Scope: one process (a cluster needs the same behind a shared counter; docs/architecture.md).
// Time comes from the injected Clock.
// Thread-safety: all methods are safe from any thread (one internal mutex).

#include <chrono>
#include <mutex>
#include <string_view>

#include "vg/auth/expiring_map.hpp"
#include "vg/common/clock.hpp"

namespace vg::auth {

class TokenBucketLimiter {
  public:
    struct Options {
        double capacity = 1;           // the most a key may hold (and so use in one burst); > 0
        double refill_per_second = 1;  // > 0
        size_t max_keys = 100'000;
    };

    TokenBucketLimiter(const Clock& clock, Options options);

    // 0 when `key` holds more than nothing (a request may go ahead); otherwise the whole seconds (>= 1)
    // until it will. When the table is full of other live keys and `key` has no entry, the seconds until
    // one may expire (a new key cannot be charged then).
    int RetryAfterSeconds(std::string_view key) const;
    // Takes `amount` (>= 0) from `key`, into debt if need be (never below -capacity). Call it after the
    // work, with what the work used. False when `key` has no entry and the table is full of other live
    // keys (nothing is charged: the next RetryAfterSeconds refuses it).
    bool Charge(std::string_view key, double amount);
    // What `key` holds now, negative in debt (the capacity when it has no entry).
    double Available(std::string_view key) const;
    double capacity() const { return options_.capacity; }
    size_t tracked_keys() const;

  private:
    struct Bucket {
        double tokens = 0;
        TimePoint updated_at{};
    };
    // Refills `bucket` up to `now`.
    void Refill(Bucket& bucket, TimePoint now) const;
    // When a bucket holding `tokens` at `now` will be full again (its entry may go then).
    TimePoint FullAt(double tokens, TimePoint now) const;

    const Clock& clock_;
    const Options options_;
    mutable std::mutex mu_;
    mutable ExpiringMap<Bucket> buckets_;  // GUARDED_BY(mu_)
};

}  // namespace vg::auth
