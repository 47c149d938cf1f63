#pragma once
// The outbox: messages waiting to be delivered, and the queue the delivery worker drains.
//
// A message is written to the outbox in the same transaction as the event that caused it (an
// incident, an escalation step), so a message exists exactly when its cause does. The
// DeliveryWorker then claims due messages, delivers them and records the outcome here.
//
// Delivery is at least once: a claim is a lease, and a message whose worker died before
// reporting comes back when the lease runs out. Receivers deduplicate on the idempotency key,
// which stays the same for every attempt of a message.
//
// The queue interface is what the worker needs, nothing more; the composition root adapts the
// store (SQLite, PostgreSQL) to it. InMemoryOutboxQueue implements it for tests and embedding.

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg::notify {

// Channel names used in OutboxItem::channel.
inline constexpr std::string_view kWebhookChannel = "webhook";
inline constexpr std::string_view kSmsChannel = "sms";
inline constexpr std::string_view kEmailChannel = "email";
inline constexpr std::string_view kEmergencyChannel = "emergency";

// One message as the worker sees it when it claims it. Plain data.
struct OutboxItem {
    int64_t id = 0;
    std::string channel;          // kWebhookChannel, kSmsChannel, kEmailChannel or kEmergencyChannel
    std::string recipient;        // URL (webhook), phone number (sms), e-mail address (email)
    std::string subject;          // e-mail subject; informational elsewhere
    std::string body;             // the human-readable text (UTF-8)
    std::string payload_json;     // structured payload for webhooks; empty: built from subject/body
    std::string idempotency_key;  // the same for every attempt; sent to receivers for deduplication
    int attempts = 0;             // attempts started so far, this one included (1 on the first claim)
    TimePoint created_at{};       // when the message was written (for detection -> delivery latency)
    TimePoint next_attempt_at{};  // when it became due
};

// What a new message needs; the queue assigns id, attempts and state.
struct NewOutboxItem {
    std::string channel;
    std::string recipient;
    std::string subject;
    std::string body;
    std::string payload_json;
    std::string idempotency_key;
    TimePoint created_at{};
    TimePoint next_attempt_at{};  // usually created_at
};

enum class DeliveryState {
    kPending,     // waiting for its next attempt (first or retry)
    kDelivering,  // claimed by a worker; the lease has not run out
    kDelivered,   // a receiver accepted it (terminal)
    kFailed,      // permanently failed or out of attempts (terminal; stays visible)
};

std::string_view DeliveryStateName(DeliveryState state);  // "pending", "delivering", ...

// The delivery state of one message, for dashboards, the API and tests.
struct OutboxItemState {
    DeliveryState state = DeliveryState::kPending;
    int attempts = 0;
    TimePoint next_attempt_at{};
    std::optional<TimePoint> leased_until;     // set while kDelivering
    std::optional<TimePoint> last_attempt_at;  // when the last attempt ended (or its lease ran out)
    std::string last_error;                    // why the last attempt failed; empty if none did
    std::optional<TimePoint> delivered_at;
    std::string delivered_detail;  // e.g. "HTTP 202" or the SMTP server's reply
};

// The worker's view of the outbox.
// Thread-safety: implementations must be safe to call from several worker threads (and several
// processes, for a database): two concurrent ClaimDue calls never return the same message.
// Fencing: `attempt` in the Mark/Release calls is OutboxItem::attempts as claimed. A report for
// an attempt that is no longer current (its lease ran out and another worker claimed the message)
// is refused with kConflict and changes nothing, except MarkDelivered: a delivery happened, so it
// always wins unless the message is already delivered.
class OutboxQueue {
  public:
    virtual ~OutboxQueue() = default;

    // Claims up to `max_items` messages that are pending with next_attempt_at <= now, or
    // delivering with a lease that ran out before `now`, oldest due first. Each claimed message
    // becomes kDelivering until now + lease, and its attempts count goes up by one.
    virtual Result<std::vector<OutboxItem>> ClaimDue(TimePoint now, size_t max_items, Milliseconds lease) = 0;

    // The message was accepted by the receiver; `detail` says how (kept for audit).
    virtual Status MarkDelivered(int64_t id, int attempt, TimePoint at, std::string detail) = 0;

    // The attempt failed with `error`. With `retry_at` the message becomes pending again, due then;
    // without it the message is kFailed for good.
    virtual Status MarkAttemptFailed(int64_t id, int attempt, TimePoint at, std::string error,
                                     std::optional<TimePoint> retry_at) = 0;

    // Gives back a claimed message that was not attempted (the worker is stopping): pending again,
    // due at once, the attempt not counted.
    virtual Status Release(int64_t id, int attempt) = 0;

    // The earliest time at which ClaimDue could return something: the smallest next_attempt_at of
    // pending messages and leased_until of delivering ones. Empty when there is nothing to do.
    virtual Result<std::optional<TimePoint>> NextWakeAt() = 0;

    // kNotFound for an unknown id.
    virtual Result<OutboxItemState> GetState(int64_t id) = 0;
};

// An OutboxQueue in memory: for tests, and for embedding VitalGuard without a database (messages
// are lost with the process, so this is not a transactional outbox).
// Thread-safety: every method is safe from any thread (one mutex). Claims are O(k log n).
class InMemoryOutboxQueue final : public OutboxQueue {
  public:
    InMemoryOutboxQueue() = default;

    // Adds a message and returns its id (1, 2, 3, ...).
    int64_t Enqueue(NewOutboxItem item);

    Result<std::vector<OutboxItem>> ClaimDue(TimePoint now, size_t max_items, Milliseconds lease) override;
    Status MarkDelivered(int64_t id, int attempt, TimePoint at, std::string detail) override;
    Status MarkAttemptFailed(int64_t id, int attempt, TimePoint at, std::string error,
                             std::optional<TimePoint> retry_at) override;
    Status Release(int64_t id, int attempt) override;
    Result<std::optional<TimePoint>> NextWakeAt() override;
    Result<OutboxItemState> GetState(int64_t id) override;

    // Counts by state, for tests.
    size_t CountIn(DeliveryState state) const;
    size_t size() const;

  private:
    struct Entry {
        OutboxItem item;
        OutboxItemState state;
    };
    using Key = std::pair<int64_t, int64_t>;  // (unix millis, id)

    void Unindex(const Entry& entry);
    void IndexPending(Entry& entry, TimePoint due);

    mutable std::mutex mu_;
    int64_t next_id_ = 1;                 // GUARDED_BY(mu_)
    std::map<int64_t, Entry> entries_;    // GUARDED_BY(mu_)
    std::set<Key> pending_by_due_;        // GUARDED_BY(mu_)
    std::set<Key> delivering_by_expiry_;  // GUARDED_BY(mu_)
};

}  // namespace vg::notify
