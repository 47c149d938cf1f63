#include "vg/app/store_outbox_queue.hpp"

namespace vg::app {

Result<std::vector<notify::OutboxItem>> StoreOutboxQueue::ClaimDue(TimePoint now, size_t max_items,
                                                                   Milliseconds lease) {
    auto claimed = store_.ClaimOutbox(now, max_items, lease);
    if (!claimed.ok()) return claimed.status();
    std::vector<notify::OutboxItem> items;
    items.reserve(claimed->size());
    for (store::OutboxMessage& m : claimed.value()) {
        notify::OutboxItem item;
        item.id = m.id;
        item.channel = std::move(m.channel);
        item.recipient = std::move(m.recipient);
        item.subject = std::move(m.subject);
        item.body = std::move(m.body);
        item.payload_json = std::move(m.payload_json);
        item.idempotency_key = std::move(m.idempotency_key);
        item.attempts = m.attempts;
        item.created_at = m.created_at;
        item.next_attempt_at = m.next_attempt_at;
        items.push_back(std::move(item));
    }
    return items;
}

Status StoreOutboxQueue::MarkDelivered(int64_t id, int attempt, TimePoint at, std::string detail) {
    return store_.MarkOutboxDelivered(id, attempt, at, detail);
}

Status StoreOutboxQueue::MarkAttemptFailed(int64_t id, int attempt, TimePoint at, std::string error,
                                           std::optional<TimePoint> retry_at) {
    return store_.MarkOutboxFailed(id, attempt, at, error, retry_at);
}

Status StoreOutboxQueue::Release(int64_t id, int attempt) { return store_.ReleaseOutbox(id, attempt); }

Result<std::optional<TimePoint>> StoreOutboxQueue::NextWakeAt() { return store_.NextOutboxWake(); }

Result<notify::OutboxItemState> StoreOutboxQueue::GetState(int64_t id) {
    auto m = store_.FindOutbox(id);
    if (!m.ok()) return m.status();
    notify::OutboxItemState s;
    if (m->state == "delivering") {
        s.state = notify::DeliveryState::kDelivering;
    } else if (m->state == "delivered") {
        s.state = notify::DeliveryState::kDelivered;
    } else if (m->state == "failed") {
        s.state = notify::DeliveryState::kFailed;
    } else {
        s.state = notify::DeliveryState::kPending;
    }
    s.attempts = m->attempts;
    s.next_attempt_at = m->next_attempt_at;
    s.leased_until = m->leased_until;
    s.last_attempt_at = m->last_attempt_at;
    s.last_error = m->last_error;
    s.delivered_at = m->delivered_at;
    s.delivered_detail = m->delivered_detail;
    return s;
}

}  // namespace vg::app
