#pragma once
// GuardianStore: links between a wearer and a guardian account (docs/api.md, Guardians): asked by one
// side, accepted by the other, ended by either. A link has a direction: guardian watches wearer.
// Used by the api (access checks on every read of a wearer's data) and escalation (who to notify).
//
// One port of vg::store::Store (store.hpp): durable on OK, nothing written on error, safe from any
// thread, kUnavailable once closed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vg/common/clock.hpp"
#include "vg/common/status.hpp"

namespace vg::store {

// A link between a wearer and a guardian account, with both users' names for lists.
struct GuardianLink {
    int64_t id = 0;
    int64_t wearer = 0;
    int64_t guardian = 0;
    std::string wearer_id, wearer_name;      // login id and name, for lists
    std::string guardian_id, guardian_name;  // login id and name
    std::string guardian_phone;              // the guardian's phone_num, for notifications
    std::string state;                       // "pending", "active", "ended"
    std::string requested_by;                // "wearer" or "guardian"
    TimePoint created_at;
    std::optional<TimePoint> accepted_at;
    std::optional<TimePoint> ended_at;
};

class GuardianStore {
  public:
    virtual ~GuardianStore() = default;

    // A new "pending" link, returned as stored (id > 0 and never given again, names filled in).
    // kValidationFailed when wearer == guardian; kConflict when the pair (in this direction) already
    // has a pending or active link; kNotFound for an unknown user.
    virtual Result<GuardianLink> CreateGuardianLink(int64_t wearer, int64_t guardian, std::string_view requested_by,
                                                    TimePoint at) = 0;
    // Any link, ended ones included; kNotFound for an unknown id.
    virtual Result<GuardianLink> FindGuardianLink(int64_t link_id) = 0;
    // pending → active (sets accepted_at); kConflict otherwise, an unknown link included.
    virtual Status AcceptGuardianLink(int64_t link_id, TimePoint at) = 0;
    // pending or active → ended (sets ended_at), which frees the pair for a new link; kConflict when
    // already ended or unknown.
    virtual Status EndGuardianLink(int64_t link_id, TimePoint at) = 0;
    // Every pending or active link the user is on, either side, newest first (created_at; a tie: the
    // one created last first).
    virtual Result<std::vector<GuardianLink>> ListGuardianLinks(int64_t user) = 0;
    // The wearer's active links, oldest link first.
    virtual Result<std::vector<GuardianLink>> ActiveGuardians(int64_t wearer) = 0;
    // Whether `guardian` has an active link to `wearer` (this direction only).
    virtual Result<bool> IsActiveGuardian(int64_t guardian, int64_t wearer) = 0;
};

}  // namespace vg::store
