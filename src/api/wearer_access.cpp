// The access check and audit entry of every read of another wearer (wearer_access.hpp).
#include "wearer_access.hpp"

namespace vg::api {
namespace {

Status NoSuchIncident() { return Status::Error(ErrorCode::kNotFound, "There is no such incident."); }

}  // namespace

Result<int64_t> WearerAccess::TargetWearer(RequestContext& ctx, std::string_view action) {
    const std::string* requested = ctx.request.query_param("wearer");
    if (!ctx.auth || requested == nullptr || *requested == ctx.auth->user.profile.id) return ctx.wearer();
    const Status not_found = Status::Error(ErrorCode::kNotFound, "There is no wearer " + *requested + " you watch.");
    auto wearer = accounts_.FindUserById(*requested);
    if (!wearer.ok()) return wearer.status().code() == ErrorCode::kNotFound ? not_found : wearer.status();
    auto linked = guardians_.IsActiveGuardian(ctx.auth->user.unique_num, wearer->unique_num);
    if (!linked.ok()) return linked.status();
    if (!*linked) return not_found;
    store::AuditEntry audit;
    audit.at = clock_.Now();
    audit.actor = ctx.auth->user.unique_num;
    audit.wearer = wearer->unique_num;
    audit.action = std::string(action);
    audit.detail = "guardian " + ctx.auth->user.profile.id + " read " + wearer->profile.id;
    if (Status s = audit_.AppendAudit(audit); !s.ok()) return s;  // no unlogged reads
    return wearer->unique_num;
}

Result<domain::Incident> WearerAccess::VisibleIncident(RequestContext& ctx, std::string& role) {
    auto id = PathId(ctx, "incident_id");
    if (!id.ok()) return NoSuchIncident();
    auto incident = incidents_.FindIncident(*id);
    if (!incident.ok()) return incident.status().code() == ErrorCode::kNotFound ? NoSuchIncident() : incident.status();
    if (incident->wearer == ctx.wearer()) {
        role = "wearer";
        return incident;
    }
    if (!ctx.auth) return NoSuchIncident();
    auto linked = guardians_.IsActiveGuardian(ctx.auth->user.unique_num, incident->wearer);
    if (!linked.ok()) return linked.status();
    if (!*linked) return NoSuchIncident();
    role = "guardian";
    store::AuditEntry audit;
    audit.at = clock_.Now();
    audit.actor = ctx.auth->user.unique_num;
    audit.wearer = incident->wearer;
    audit.action = ctx.request.method + " /api/incidents/" + std::to_string(incident->id);
    audit.detail = "guardian " + ctx.auth->user.profile.id;
    if (Status s = audit_.AppendAudit(audit); !s.ok()) return s;
    return incident;
}

}  // namespace vg::api
