#pragma once
// ReadingStore: the vitals time series — every reading a watch uploaded, deduplicated by the device's
// sequence numbers. Used by ingest (append) and by the detector's warm-up at start-up (replay).
//
// One port of vg::store::Store (store.hpp): durable on OK, nothing written on error, safe from any
// thread, kUnavailable once closed, kInternal for what no rule below names.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"
#include "vg/domain/vitals.hpp"

namespace vg::store {

// A reading to store. device_seq (with the device) makes a retried upload idempotent.
struct IncomingReading {
    std::optional<int64_t> device_seq;
    domain::VitalsReading reading;
};

struct StoredReading {
    int64_t id = 0;  // assigned by the store, increasing in storage order
    std::optional<int64_t> device_id;
    std::optional<int64_t> device_seq;  // empty when the reading came without a device
    domain::VitalsReading reading;
    TimePoint received_at;
};

// One metric over the readings of one bucket that carry it (count > 0 in every summary returned).
struct MetricSummary {
    int64_t count = 0;
    double min = 0;
    double max = 0;
    double mean = 0;
};

// The readings measured in [start, start + bucket): how many, and each metric's summary (count 0 when
// none of them had the metric).
struct ReadingBucket {
    TimePoint start;
    int64_t readings = 0;
    std::array<MetricSummary, domain::kMetricCount> metrics{};
};

// SummarizeReadings's precondition, shared by the implementations: OK, or kInternal naming what is wrong.
Status CheckSummaryRequest(TimePoint from, TimePoint to, Milliseconds bucket);

class ReadingStore {
  public:
    virtual ~ReadingStore() = default;

    // Stores the readings in one transaction, in order. For each reading, true when it was stored,
    // false when (device_id, device_seq) was already stored — by an earlier call or earlier in this
    // batch (a retry): duplicates are not errors. A reading without device_seq, or any reading when
    // device_id is empty, is always stored (its sequence number is not kept). kNotFound when the user
    // does not exist. device_id, when set, must name a stored device (revoked or not): the device
    // authenticated the upload, so an unknown one is a caller's bug (kInternal, nothing stored).
    virtual Result<std::vector<bool>> AppendReadings(int64_t user_unique_num, std::optional<int64_t> device_id,
                                                     std::span<const IncomingReading> readings,
                                                     TimePoint received_at) = 0;
    // The `limit` (clamped to [1, kMaxRecentRows]) most recently measured readings, newest first
    // (measured_at; a tie: the one stored last first). An unknown user has none: an empty list.
    virtual Result<std::vector<StoredReading>> RecentReadings(int64_t user_unique_num, int limit) = 0;
    // The wearer's readings measured in [from, to), summarized in buckets of `bucket` that start at
    // from, from + bucket, ...: oldest first, only buckets with at least one reading (an unknown user has
    // none). For trend charts: a month of readings comes back as a few hundred rows.
    // REQUIRES: bucket >= 1 s, from < to, at most kMaxSummaryBuckets buckets (kInternal otherwise: the
    // caller validates the request).
    virtual Result<std::vector<ReadingBucket>> SummarizeReadings(int64_t user_unique_num, TimePoint from, TimePoint to,
                                                                 Milliseconds bucket) = 0;
    // Every reading measured at or after `since`, wearer by wearer in increasing unique_num: `fn` is
    // called once per wearer that has any, with that wearer's readings oldest first (measured_at, then
    // storage order). For rebuilding detector state at start-up. Holds one wearer's readings in memory
    // at a time; `fn` runs outside the store's locks and may call the store.
    virtual Status ForEachWearerReadingsSince(
        TimePoint since,
        const std::function<void(int64_t wearer, std::vector<domain::VitalsReading>&& readings)>& fn) = 0;
};

}  // namespace vg::store
