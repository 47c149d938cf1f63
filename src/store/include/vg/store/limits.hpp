#pragma once
// Limits every Store implementation applies the same way, so that a caller sees the same rows from
// SQLite, PostgreSQL or memory. A `limit` argument outside [1, max] is clamped into it.

#include <cstddef>
#include <cstdint>

namespace vg::store {

// RecentReadings, RecentStatuses, RecentPostures, ListIncidents.
inline constexpr int kMaxRecentRows = 1000;
// SummarizeReadings: buckets in one call.
inline constexpr int64_t kMaxSummaryBuckets = 5000;
// DueIncidents.
inline constexpr int kMaxDueIncidents = 10000;
// AuditFor.
inline constexpr int kMaxAuditRows = 10000;
// ClaimOutbox (max_items is not clamped from below: 0 claims nothing).
inline constexpr size_t kMaxOutboxClaim = 1000;

}  // namespace vg::store
