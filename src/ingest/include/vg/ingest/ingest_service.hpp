#pragma once
// IngestService: how readings enter VitalGuard.
//
// Every reading is validated (physiological plausibility per field, time not in
// the future beyond the allowed clock skew and not older than the retention
// horizon), durably stored, and only then published to the reading bus for
// detection — so an acknowledged reading is never lost, even if the process
// dies before detection runs. (The seed's single update_status reading is the
// exception: it is evaluated first and stored with its status row in one commit,
// and acknowledged only then — see SubmitAndWait.) A batch is all-or-nothing: one bad reading
// rejects the batch with every problem named and nothing stored. Retried
// batches are idempotent through the device sequence numbers.
//
// Thread-safety: all methods may be called concurrently.
// Ownership: borrows the store, the bus and the clock.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "vg/bus/bus.hpp"
#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"
#include "vg/store/store.hpp"

namespace vg::ingest {

struct IngestOptions {
    size_t max_batch = 1000;                                     // readings per batch request
    std::chrono::milliseconds max_clock_skew{5 * 60 * 1000};     // how far in the future a timestamp may be
    std::chrono::milliseconds max_age{30LL * 24 * 3600 * 1000};  // older readings are refused
    std::chrono::milliseconds verdict_timeout{5000};             // how long SubmitAndWait waits for detection
};

struct BatchResult {
    size_t stored = 0;         // new readings, stored and sent to detection
    size_t duplicates = 0;     // already stored (a retried upload); ignored
    size_t not_evaluated = 0;  // stored, but detection could not take them (shutting down / overloaded)
};

class IngestService {
  public:
    IngestService(store::Store& store, bus::ReadingBus& bus, const Clock& clock, IngestOptions options);

    // The seed's update_status: one reading, evaluated, then stored together with its status row in one
    // commit by the verdict stage; the verdict is returned once both are durable. kValidationFailed naming
    // fields; kRateLimited/kUnavailable when detection cannot take it now (nothing stored); kUnavailable
    // when the verdict did not come in time or could not be recorded.
    Result<domain::Detection> SubmitAndWait(int64_t wearer, const domain::VitalsReading& reading,
                                            std::optional<int64_t> device_id);

    // The same without waiting: validates and hands the reading to detection, then returns. OK means
    // `on_verdict` will be called exactly once (unless the process ends first) on the verdict stage's
    // thread: with the verdict once the reading and its status row are durable, or with the error that
    // kept them from being recorded. Not OK (kValidationFailed naming fields; kRateLimited/kUnavailable
    // when detection cannot take it now): nothing was stored and `on_verdict` is never called. The
    // callback must be cheap and must not block; it may run after this service is destroyed, so it must
    // not reference it.
    using VerdictCallback = std::function<void(const Result<domain::Detection>&)>;
    Status Submit(int64_t wearer, const domain::VitalsReading& reading, std::optional<int64_t> device_id,
                  VerdictCallback on_verdict);

    // The kUnavailable answer when a verdict has not come within options().verdict_timeout (the reading
    // may still be recorded later).
    static Status VerdictTimeout();

    // A device's batch, all-or-nothing validation; idempotent on retry.
    Result<BatchResult> SubmitBatch(int64_t wearer, std::optional<int64_t> device_id,
                                    std::span<const store::IncomingReading> readings);

    const IngestOptions& options() const { return options_; }
    // Readings acknowledged as stored since start (update_status answered with a verdict, and the new
    // readings of device batches; duplicates not counted). Any thread.
    uint64_t readings_accepted() const { return readings_accepted_->load(std::memory_order_relaxed); }

  private:
    std::vector<FieldError> Validate(std::span<const store::IncomingReading> readings, bool batch) const;

    store::Store& store_;
    bus::ReadingBus& bus_;
    const Clock& clock_;
    const IngestOptions options_;
    // Shared with the verdict callbacks of Submit, which may outlive the service.
    std::shared_ptr<std::atomic<uint64_t>> readings_accepted_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace vg::ingest
