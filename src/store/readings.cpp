#include "vg/store/readings.hpp"

#include <string>

#include "vg/store/limits.hpp"

namespace vg::store {

Status CheckSummaryRequest(TimePoint from, TimePoint to, Milliseconds bucket) {
    if (bucket < std::chrono::seconds(1)) {
        return Status::Error(ErrorCode::kInternal, "SummarizeReadings: bucket must be at least 1 s");
    }
    if (to <= from) return Status::Error(ErrorCode::kInternal, "SummarizeReadings: `to` must be after `from`");
    const int64_t span = (to - from).count();
    if ((span + bucket.count() - 1) / bucket.count() > kMaxSummaryBuckets) {
        return Status::Error(ErrorCode::kInternal,
                             "SummarizeReadings: more than " + std::to_string(kMaxSummaryBuckets) + " buckets");
    }
    return Status::Ok();
}

}  // namespace vg::store
