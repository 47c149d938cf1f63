#pragma once
// StoreLifecycle: health and shutdown of a whole store, every port at once.

#include "vg/common/status.hpp"

namespace vg::store {

class StoreLifecycle {
  public:
    virtual ~StoreLifecycle() = default;

    // OK when the store can read and write now (for /readyz); kUnavailable once closed.
    virtual Status CheckHealth() = 0;
    // Finishes the writes in progress, then refuses new work: afterwards every method of every port
    // returns kUnavailable with retry_after_seconds set. A call racing with Close either completes
    // normally (and is kept) or returns kUnavailable (and changed nothing). Idempotent; safe to call
    // from several threads.
    virtual void Close() = 0;
};

}  // namespace vg::store
