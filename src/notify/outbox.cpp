#include "vg/notify/outbox.hpp"

#include <algorithm>

namespace vg::notify {

std::string_view DeliveryStateName(DeliveryState state) {
    switch (state) {
        case DeliveryState::kPending:
            return "pending";
        case DeliveryState::kDelivering:
            return "delivering";
        case DeliveryState::kDelivered:
            return "delivered";
        case DeliveryState::kFailed:
            return "failed";
    }
    return "unknown";
}

int64_t InMemoryOutboxQueue::Enqueue(NewOutboxItem item) {
    std::lock_guard lock(mu_);
    const int64_t id = next_id_++;
    Entry entry;
    entry.item.id = id;
    entry.item.channel = std::move(item.channel);
    entry.item.recipient = std::move(item.recipient);
    entry.item.subject = std::move(item.subject);
    entry.item.body = std::move(item.body);
    entry.item.payload_json = std::move(item.payload_json);
    entry.item.idempotency_key = std::move(item.idempotency_key);
    entry.item.created_at = item.created_at;
    auto [it, inserted] = entries_.emplace(id, std::move(entry));
    IndexPending(it->second, item.next_attempt_at);
    return id;
}

void InMemoryOutboxQueue::Unindex(const Entry& entry) {
    const int64_t id = entry.item.id;
    if (entry.state.state == DeliveryState::kPending) {
        pending_by_due_.erase({ToUnixMillis(entry.state.next_attempt_at), id});
    } else if (entry.state.state == DeliveryState::kDelivering && entry.state.leased_until) {
        delivering_by_expiry_.erase({ToUnixMillis(*entry.state.leased_until), id});
    }
}

void InMemoryOutboxQueue::IndexPending(Entry& entry, TimePoint due) {
    entry.state.state = DeliveryState::kPending;
    entry.state.next_attempt_at = due;
    entry.item.next_attempt_at = due;
    entry.state.leased_until.reset();
    pending_by_due_.insert({ToUnixMillis(due), entry.item.id});
}

Result<std::vector<OutboxItem>> InMemoryOutboxQueue::ClaimDue(TimePoint now, size_t max_items, Milliseconds lease) {
    std::lock_guard lock(mu_);
    // Leases that ran out: the worker holding them died or hung. They are due again at once; the
    // attempt they were on stays counted, so a message that kills its worker cannot loop forever.
    while (!delivering_by_expiry_.empty() && delivering_by_expiry_.begin()->first < ToUnixMillis(now)) {
        auto [expiry, id] = *delivering_by_expiry_.begin();
        delivering_by_expiry_.erase(delivering_by_expiry_.begin());
        Entry& entry = entries_.at(id);
        entry.state.last_error =
            "lease expired: the worker did not report attempt " + std::to_string(entry.state.attempts);
        entry.state.last_attempt_at = FromUnixMillis(expiry);
        IndexPending(entry, FromUnixMillis(expiry));
    }
    std::vector<OutboxItem> claimed;
    while (claimed.size() < max_items && !pending_by_due_.empty() &&
           pending_by_due_.begin()->first <= ToUnixMillis(now)) {
        const int64_t id = pending_by_due_.begin()->second;
        pending_by_due_.erase(pending_by_due_.begin());
        Entry& entry = entries_.at(id);
        entry.state.state = DeliveryState::kDelivering;
        entry.state.attempts += 1;
        entry.state.leased_until = now + lease;
        entry.item.attempts = entry.state.attempts;
        delivering_by_expiry_.insert({ToUnixMillis(now + lease), id});
        claimed.push_back(entry.item);
    }
    return claimed;
}

Status InMemoryOutboxQueue::MarkDelivered(int64_t id, int attempt, TimePoint at, std::string detail) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return Status::Error(ErrorCode::kNotFound, "no outbox item " + std::to_string(id));
    Entry& entry = it->second;
    if (entry.state.state == DeliveryState::kDelivered) {
        return Status::Error(ErrorCode::kConflict, "outbox item " + std::to_string(id) + " is already delivered");
    }
    (void)attempt;  // a delivery wins whichever attempt made it
    Unindex(entry);
    entry.state.state = DeliveryState::kDelivered;
    entry.state.leased_until.reset();
    entry.state.last_attempt_at = at;
    entry.state.delivered_at = at;
    entry.state.delivered_detail = std::move(detail);
    return Status::Ok();
}

Status InMemoryOutboxQueue::MarkAttemptFailed(int64_t id, int attempt, TimePoint at, std::string error,
                                              std::optional<TimePoint> retry_at) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return Status::Error(ErrorCode::kNotFound, "no outbox item " + std::to_string(id));
    Entry& entry = it->second;
    if (entry.state.state != DeliveryState::kDelivering || entry.state.attempts != attempt) {
        return Status::Error(ErrorCode::kConflict, "attempt " + std::to_string(attempt) + " of outbox item " +
                                                       std::to_string(id) + " is no longer current");
    }
    Unindex(entry);
    entry.state.last_attempt_at = at;
    entry.state.last_error = std::move(error);
    if (retry_at) {
        IndexPending(entry, *retry_at);
    } else {
        entry.state.state = DeliveryState::kFailed;
        entry.state.leased_until.reset();
    }
    return Status::Ok();
}

Status InMemoryOutboxQueue::Release(int64_t id, int attempt) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return Status::Error(ErrorCode::kNotFound, "no outbox item " + std::to_string(id));
    Entry& entry = it->second;
    if (entry.state.state != DeliveryState::kDelivering || entry.state.attempts != attempt) {
        return Status::Error(ErrorCode::kConflict, "attempt " + std::to_string(attempt) + " of outbox item " +
                                                       std::to_string(id) + " is no longer current");
    }
    Unindex(entry);
    entry.state.attempts -= 1;
    entry.item.attempts = entry.state.attempts;
    IndexPending(entry, entry.state.next_attempt_at);
    return Status::Ok();
}

Result<std::optional<TimePoint>> InMemoryOutboxQueue::NextWakeAt() {
    std::lock_guard lock(mu_);
    std::optional<int64_t> earliest;
    if (!pending_by_due_.empty()) earliest = pending_by_due_.begin()->first;
    if (!delivering_by_expiry_.empty()) {
        // A lease is reclaimable once it has run out, i.e. one millisecond after leased_until.
        const int64_t reclaim = delivering_by_expiry_.begin()->first + 1;
        earliest = earliest ? std::min(*earliest, reclaim) : reclaim;
    }
    if (!earliest) return std::optional<TimePoint>();
    return std::optional<TimePoint>(FromUnixMillis(*earliest));
}

Result<OutboxItemState> InMemoryOutboxQueue::GetState(int64_t id) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return Status::Error(ErrorCode::kNotFound, "no outbox item " + std::to_string(id));
    return it->second.state;
}

size_t InMemoryOutboxQueue::CountIn(DeliveryState state) const {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(),
                                             [state](const auto& kv) { return kv.second.state.state == state; }));
}

size_t InMemoryOutboxQueue::size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
}

}  // namespace vg::notify
