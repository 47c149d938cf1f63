#pragma once
// StoreOutboxQueue: the notifier's OutboxQueue over the Store's outbox table, so that the
// delivery worker drains the messages escalation wrote in the same transaction as its incidents.
// Thread-safety: as the Store (every method from any thread). Ownership: borrows the store.

#include "vg/notify/outbox.hpp"
#include "vg/store/store.hpp"

namespace vg::app {

class StoreOutboxQueue final : public notify::OutboxQueue {
  public:
    explicit StoreOutboxQueue(store::Store& store) : store_(store) {}

    Result<std::vector<notify::OutboxItem>> ClaimDue(TimePoint now, size_t max_items, Milliseconds lease) override;
    Status MarkDelivered(int64_t id, int attempt, TimePoint at, std::string detail) override;
    Status MarkAttemptFailed(int64_t id, int attempt, TimePoint at, std::string error,
                             std::optional<TimePoint> retry_at) override;
    Status Release(int64_t id, int attempt) override;
    Result<std::optional<TimePoint>> NextWakeAt() override;
    Result<notify::OutboxItemState> GetState(int64_t id) override;

  private:
    store::Store& store_;
};

}  // namespace vg::app
