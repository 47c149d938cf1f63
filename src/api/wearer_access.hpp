#pragma once
// WearerAccess: the access check every read of another wearer goes through (a guardian's ?wearer=, an
// incident of a linked wearer), with the audit entry that comes before the read. Shared by the vitals,
// posture, incident and live-stream groups.
// Thread-safety: stateless; called concurrently from any lane (the store ports are thread-safe).
// Ownership: borrows the store's ports and the clock; they must outlive it.

#include <string>
#include <string_view>

#include "api_detail.hpp"

namespace vg::api {

class WearerAccess {
  public:
    WearerAccess(store::AccountStore& accounts, store::GuardianStore& guardians, store::IncidentStore& incidents,
                 store::AuditStore& audit, const Clock& clock)
        : accounts_(accounts), guardians_(guardians), incidents_(incidents), audit_(audit), clock_(clock) {}

    // The wearer a session request reads: itself, or with ?wearer=<login id> a wearer it is an active
    // guardian of (the read is audit-logged as `action`). kNotFound for anyone else, so that a stranger
    // cannot even learn whether the wearer exists. Device requests always read their own wearer.
    Result<int64_t> TargetWearer(RequestContext& ctx, std::string_view action);
    // An incident the session's user may see: "wearer" or "guardian" as `role`. kNotFound otherwise.
    Result<domain::Incident> VisibleIncident(RequestContext& ctx, std::string& role);

  private:
    store::AccountStore& accounts_;
    store::GuardianStore& guardians_;
    store::IncidentStore& incidents_;
    store::AuditStore& audit_;
    const Clock& clock_;
};

}  // namespace vg::api
