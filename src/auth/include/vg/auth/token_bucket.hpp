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
// A full bucket is the same as no entry: a key's entry expires when it would have refilled.
// Time comes from the injected Clock.
//
// An interface (vg/auth/rate_limits.hpp makes them): InProcessTokenBucketLimiter below keeps the buckets
// in this process; the Redis adapter (auth/redis) keeps them in Redis, shared by every api server.
// Thread-safety: all methods of every implementation are safe from any thread.

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
        // Keys one process tracks at most (the in-process limiter, and the Redis adapter's twin).
        size_t max_keys = 100'000;
    };
    // `options` with its preconditions enforced (a capacity or rate that is not > 0 becomes 1: a zero
    // rate would never refill and would divide by zero). Every implementation uses these.
    static Options Sane(Options options);

    virtual ~TokenBucketLimiter() = default;

    // 0 when `key` holds more than nothing (a request may go ahead); otherwise the whole seconds (>= 1)
    // until it will. When an in-process table is full of other live keys and `key` has no entry, the
    // seconds until one may expire (a new key cannot be charged then).
    virtual int RetryAfterSeconds(std::string_view key) const = 0;
    // Takes `amount` (>= 0; nothing otherwise) from `key`, into debt if need be (never below -capacity).
    // Call it after the work, with what the work used. False when `key` has no entry and an in-process
    // table is full of other live keys (nothing is charged: the next RetryAfterSeconds refuses it).
    virtual bool Charge(std::string_view key, double amount) = 0;
    // What `key` holds now, negative in debt (the capacity when it has no entry).
    virtual double Available(std::string_view key) const = 0;
    virtual double capacity() const = 0;
    // True when the calls above wait on the network (a bucket shared between servers): a caller keeps them
    // off threads that must not wait (an io thread, or the one thread that answers every caller).
    virtual bool waits_on_network() const { return false; }
};

// The buckets in this process's memory: bounded by the keys active within one refill period and by
// `max_keys` (ExpiringMap: a full table of live keys refuses new keys rather than forget the ones it
// is limiting).
// Scope: one process (several api servers each count on their own: use RateLimits' Redis adapter).
// Thread-safety: all methods are safe from any thread (one internal mutex).
class InProcessTokenBucketLimiter final : public TokenBucketLimiter {
  public:
    InProcessTokenBucketLimiter(const Clock& clock, Options options);

    int RetryAfterSeconds(std::string_view key) const override;
    bool Charge(std::string_view key, double amount) override;
    double Available(std::string_view key) const override;
    double capacity() const override { return options_.capacity; }
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
