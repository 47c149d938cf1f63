#pragma once
// AuditStore: the audit log of reads of a wearer's data by someone else (a guardian), append-only.
// Entries keep the actor's and wearer's numbers as plain values: they are not checked against the
// users and outlive them.
//
// One port of vg::store::Store (store.hpp): durable on OK, nothing written on error, safe from any
// thread, kUnavailable once closed.

#include <cstdint>
#include <string>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg::store {

struct AuditEntry {
    TimePoint at;
    int64_t actor = 0;   // who read (a user's unique_num)
    int64_t wearer = 0;  // whose data
    std::string action;  // e.g. "GET /api/get_status"
    std::string detail;
};

class AuditStore {
  public:
    virtual ~AuditStore() = default;

    virtual Status AppendAudit(const AuditEntry& entry) = 0;
    // The wearer's `limit` (clamped to [1, kMaxAuditRows]) most recent entries, newest first (at; a
    // tie: the one appended last first).
    virtual Result<std::vector<AuditEntry>> AuditFor(int64_t wearer, int limit) = 0;
};

}  // namespace vg::store
