#include "vg/notify/delivery_worker.hpp"

#include <algorithm>
#include <exception>

namespace vg::notify {

std::string_view DeliveryOutcomeName(DeliveryOutcome outcome) {
    switch (outcome) {
        case DeliveryOutcome::kDelivered:
            return "delivered";
        case DeliveryOutcome::kRetryScheduled:
            return "retry_scheduled";
        case DeliveryOutcome::kFailed:
            return "failed";
    }
    return "unknown";
}

DeliveryWorker::DeliveryWorker(OutboxQueue& queue, ChannelMap channels, RetryPolicy& retry_policy, const Clock& clock,
                               DeliveryWorkerOptions options, DeliveryObserver observer)
    : queue_(queue),
      channels_(std::move(channels)),
      retry_policy_(retry_policy),
      clock_(clock),
      options_(options),
      observer_(std::move(observer)) {}

DeliveryWorker::~DeliveryWorker() { Stop(); }

void DeliveryWorker::Start() {
    const int count = std::max(1, options_.threads);
    threads_.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) threads_.emplace_back([this] { Run(); });
}

void DeliveryWorker::Notify() { Wake(); }

void DeliveryWorker::Wake() {
    {
        std::lock_guard lock(mu_);
        ++wake_generation_;
    }
    wake_.notify_all();
}

void DeliveryWorker::Stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    stop_requested_.store(true, std::memory_order_release);
    wake_.notify_all();
    for (auto& thread : threads_) {
        if (thread.joinable()) thread.join();
    }
    threads_.clear();
}

DeliveryCounters DeliveryWorker::counters() const {
    DeliveryCounters c;
    c.delivered = delivered_.load(std::memory_order_relaxed);
    c.retries_scheduled = retries_scheduled_.load(std::memory_order_relaxed);
    c.failed = failed_.load(std::memory_order_relaxed);
    c.queue_errors = queue_errors_.load(std::memory_order_relaxed);
    return c;
}

size_t DeliveryWorker::ProcessDue() {
    auto claimed = queue_.ClaimDue(clock_.Now(), std::max<size_t>(1, options_.claim_batch), options_.lease);
    if (!claimed.ok()) {
        queue_errors_.fetch_add(1, std::memory_order_relaxed);
        return 0;
    }
    size_t attempted = 0;
    for (const OutboxItem& item : claimed.value()) {
        if (stop_requested_.load(std::memory_order_acquire)) {
            // Not attempted: give it back so another worker (or the next start) takes it at once.
            if (!queue_.Release(item.id, item.attempts).ok()) queue_errors_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        Attempt(item);
        ++attempted;
    }
    return attempted;
}

void DeliveryWorker::Run() {
    while (true) {
        uint64_t generation = 0;
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            generation = wake_generation_;  // taken before claiming, so no Notify is missed
        }
        if (ProcessDue() > 0) continue;

        Milliseconds wait = options_.max_idle_wait;
        auto next = queue_.NextWakeAt();
        if (!next.ok()) {
            queue_errors_.fetch_add(1, std::memory_order_relaxed);
        } else if (next.value()) {
            const Milliseconds until = std::chrono::duration_cast<Milliseconds>(*next.value() - clock_.Now());
            wait = std::clamp(until, Milliseconds(0), options_.max_idle_wait);
        }
        if (wait.count() == 0) {
            // Due now, yet nothing was claimed: another thread got it. Yield instead of spinning hot.
            wait = Milliseconds(1);
        }
        std::unique_lock lock(mu_);
        wake_.wait_for(lock, wait, [&] { return stopping_ || wake_generation_ != generation; });
    }
}

void DeliveryWorker::Attempt(const OutboxItem& item) {
    DeliveryEvent event;
    event.id = item.id;
    event.channel = item.channel;
    event.attempt = item.attempts;
    event.created_at = item.created_at;
    event.attempt_started_at = clock_.Now();

    const int max_attempts = retry_policy_.options().max_attempts;
    bool may_retry = true;
    if (item.attempts > max_attempts) {
        event.status = Status::Error(ErrorCode::kInternal, "gave up: claimed " + std::to_string(item.attempts) +
                                                               " times, more than max_attempts " +
                                                               std::to_string(max_attempts) + " (leases expired)");
        may_retry = false;
    } else if (auto it = channels_.find(item.channel); it == channels_.end() || !it->second) {
        event.status = Status::Error(ErrorCode::kValidationFailed, "no channel named \"" + item.channel + "\"");
        may_retry = false;
    } else {
        try {
            auto receipt = it->second->Deliver(item);
            if (receipt.ok()) {
                event.detail = std::move(receipt).value().detail;
            } else {
                event.status = receipt.status();
            }
        } catch (const std::exception& e) {
            // A channel bug must not kill the worker thread; the attempt counts as failed.
            event.status = Status::Error(ErrorCode::kInternal, std::string("channel threw: ") + e.what());
        }
    }
    event.finished_at = clock_.Now();

    if (event.status.ok()) {
        event.outcome = DeliveryOutcome::kDelivered;
        event.record_status = queue_.MarkDelivered(item.id, item.attempts, event.finished_at, event.detail);
        delivered_.fetch_add(1, std::memory_order_relaxed);
    } else {
        std::optional<Milliseconds> delay;
        if (may_retry && IsRetryable(event.status)) delay = retry_policy_.NextDelay(item.attempts);
        std::string error = event.status.ToString();
        if (delay) {
            if (auto after = event.status.retry_after_seconds()) {
                const Milliseconds asked =
                    std::min<Milliseconds>(std::chrono::seconds(*after), retry_policy_.options().cap);
                delay = std::max(*delay, asked);
            }
            event.outcome = DeliveryOutcome::kRetryScheduled;
            event.retry_at = event.finished_at + *delay;
            retries_scheduled_.fetch_add(1, std::memory_order_relaxed);
        } else {
            event.outcome = DeliveryOutcome::kFailed;
            if (may_retry && IsRetryable(event.status)) {
                error += " (gave up after " + std::to_string(item.attempts) + " attempts)";
            }
            failed_.fetch_add(1, std::memory_order_relaxed);
        }
        event.record_status =
            queue_.MarkAttemptFailed(item.id, item.attempts, event.finished_at, std::move(error), event.retry_at);
        // Idle threads computed their sleep before this retry existed; let them look again.
        if (event.retry_at) Wake();
    }
    if (!event.record_status.ok()) queue_errors_.fetch_add(1, std::memory_order_relaxed);
    if (observer_) observer_(event);
}

}  // namespace vg::notify
