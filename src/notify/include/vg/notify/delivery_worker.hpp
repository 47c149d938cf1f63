#pragma once
// DeliveryWorker: drains the outbox — claim due messages, deliver, record the outcome.
//
// Each of `threads` threads loops: ClaimDue(now, claim_batch, lease) -> pick the Channel named
// by item.channel -> Deliver -> MarkDelivered, or MarkAttemptFailed with a retry time from the
// RetryPolicy (the later of its delay and the receiver's Retry-After, capped at the policy's
// cap) when the failure is retryable and attempts remain, or with none (failed for good) when it
// is permanent, no channel has that name, or the attempts are used up. A message claimed more
// than max_attempts times (its workers kept dying) is failed without another attempt.
// Idle threads sleep until Notify() (a new outbox row), the queue's NextWakeAt (a retry or a
// lease falling due) or max_idle_wait (rows written by other processes), whichever comes first.
// Stop() lets every delivery in flight finish (each is bounded by its channel's timeout), gives
// back claimed messages not yet attempted, and joins the threads.
//
// Time: every timestamp comes from the injected Clock. With a ManualClock, advance it and call
// Notify() (or call ProcessDue() yourself) — sleeps are real time, capped by max_idle_wait.
// Thread-safety: Start/Stop/Notify/ProcessDue/counters may be called from any thread. The
// observer is called on worker threads, concurrently; it must be thread-safe, quick and not throw.
// Ownership: the queue, policy and clock must outlive the worker; channels are shared.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/notify/channel.hpp"
#include "vg/notify/outbox.hpp"
#include "vg/notify/retry_policy.hpp"

namespace vg::notify {

struct DeliveryWorkerOptions {
    int threads = 2;
    size_t claim_batch = 4;             // messages claimed at once per thread
    Milliseconds lease{120'000};        // must exceed the slowest channel's timeout
    Milliseconds max_idle_wait{1'000};  // longest sleep without Notify()
};

enum class DeliveryOutcome {
    kDelivered,       // the receiver accepted it
    kRetryScheduled,  // the attempt failed; another is due at retry_at
    kFailed,          // failed for good (permanent error, or attempts used up)
};

std::string_view DeliveryOutcomeName(DeliveryOutcome outcome);  // "delivered", "retry_scheduled", "failed"

// One finished attempt, for metrics and logs. "Detection -> first attempt" is
// attempt_started_at - created_at where attempt == 1; "-> delivered" is finished_at - created_at.
struct DeliveryEvent {
    int64_t id = 0;
    std::string channel;
    int attempt = 0;  // 1 for the first
    DeliveryOutcome outcome = DeliveryOutcome::kFailed;
    Status status;       // the channel's failure (OK when delivered)
    std::string detail;  // the receipt when delivered
    TimePoint created_at{};
    TimePoint attempt_started_at{};
    TimePoint finished_at{};
    std::optional<TimePoint> retry_at;  // set for kRetryScheduled
    Status record_status;               // the queue's answer to Mark*; not OK means the outcome was not stored
};

using DeliveryObserver = std::function<void(const DeliveryEvent&)>;

struct DeliveryCounters {
    uint64_t delivered = 0;
    uint64_t retries_scheduled = 0;
    uint64_t failed = 0;
    uint64_t queue_errors = 0;  // ClaimDue/Mark* calls that failed (the store was unavailable)
};

class DeliveryWorker {
  public:
    using ChannelMap = std::map<std::string, std::shared_ptr<Channel>, std::less<>>;

    DeliveryWorker(OutboxQueue& queue, ChannelMap channels, RetryPolicy& retry_policy, const Clock& clock,
                   DeliveryWorkerOptions options, DeliveryObserver observer = {});
    ~DeliveryWorker();  // Stop()
    DeliveryWorker(const DeliveryWorker&) = delete;
    DeliveryWorker& operator=(const DeliveryWorker&) = delete;

    // Starts the threads. REQUIRES: not started before.
    void Start();
    // Wakes idle threads to look for due messages (call after writing an outbox row).
    void Notify();
    // Finishes deliveries in flight and joins the threads. Idempotent.
    void Stop();

    // One pass on the calling thread: claims what is due now (up to claim_batch) and delivers it.
    // Returns the number of attempts made. For tests on a ManualClock and for one-shot tools.
    size_t ProcessDue();

    DeliveryCounters counters() const;

  private:
    void Run();
    void Attempt(const OutboxItem& item);
    void Wake();

    OutboxQueue& queue_;
    const ChannelMap channels_;
    RetryPolicy& retry_policy_;
    const Clock& clock_;
    const DeliveryWorkerOptions options_;
    const DeliveryObserver observer_;

    std::mutex mu_;
    std::condition_variable wake_;
    uint64_t wake_generation_ = 0;  // GUARDED_BY(mu_); bumped by every Notify
    bool stopping_ = false;         // GUARDED_BY(mu_)
    std::atomic<bool> stop_requested_{false};
    std::vector<std::thread> threads_;

    std::atomic<uint64_t> delivered_{0};
    std::atomic<uint64_t> retries_scheduled_{0};
    std::atomic<uint64_t> failed_{0};
    std::atomic<uint64_t> queue_errors_{0};
};

}  // namespace vg::notify
