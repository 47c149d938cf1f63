// Guardianship (docs/api.md, "Guardians"): the links between wearers and the guardians who watch them.
// A request says nothing of whether the id exists; a link that ends closes the guardian's live streams.
#include "guardian_routes.hpp"

namespace vg::api {

namespace {
// A link as `viewer` may see it. The other person's name is hidden (null) from the one who asked until
// the link is accepted: asking with someone's id must not tell the asker who they are. The one asked
// sees the asker's name, which the asker chose to share by asking.
json::object LinkJson(const store::GuardianLink& l, int64_t viewer) {
    const bool hide_other = l.state != "active" && ((l.requested_by == "guardian" && viewer == l.guardian) ||
                                                    (l.requested_by == "wearer" && viewer == l.wearer));
    const json::value wearer_name =
        hide_other && viewer != l.wearer ? json::value(nullptr) : json::value(l.wearer_name);
    const json::value guardian_name =
        hide_other && viewer != l.guardian ? json::value(nullptr) : json::value(l.guardian_name);
    return json::object{{"id", l.id},
                        {"wearer", json::object{{"id", l.wearer_id}, {"name", wearer_name}}},
                        {"guardian", json::object{{"id", l.guardian_id}, {"name", guardian_name}}},
                        {"state", l.state},
                        {"requested_by", l.requested_by},
                        {"created_at", FormatIso8601(l.created_at)},
                        {"accepted_at", TimeOrNull(l.accepted_at)}};
}
}  // namespace

http::Response GuardianRoutes::ListGuardians(RequestContext& ctx) {
    auto links = guardians_.ListGuardianLinks(ctx.wearer());
    if (!links.ok()) return ErrorResponse(links.status());
    json::array wearers, guardians;
    for (const auto& l : *links) {
        (l.guardian == ctx.wearer() ? wearers : guardians).push_back(LinkJson(l, ctx.wearer()));
    }
    return JsonResponse(200, json::object{{"wearers", std::move(wearers)}, {"guardians", std::move(guardians)}});
}

http::Response GuardianRoutes::RequestGuardianLink(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    auto guardian_id = reader.String("guardian_id", false);
    auto wearer_id = reader.String("wearer_id", false);
    if (guardian_id.has_value() == wearer_id.has_value()) {
        reader.AddProblem(guardian_id ? "wearer_id" : "guardian_id",
                          "give exactly one of guardian_id (invite a guardian) or wearer_id (ask to watch a wearer)");
    }
    if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    const std::string& other_id = guardian_id ? *guardian_id : *wearer_id;
    const char* field = guardian_id ? "guardian_id" : "wearer_id";
    if (ctx.auth && other_id == ctx.auth->user.profile.id) {  // the asker knows their own id
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "You cannot link to yourself.",
                                           {{field, "must be another person's id"}}));
    }
    // The asker's own list shows the requests that reached someone, so requests are counted per account.
    if (int wait = guardian_request_limiter_->TryAcquire(std::to_string(ctx.wearer()))) {
        Status s =
            Status::Error(ErrorCode::kRateLimited,
                          "You have sent many guardian requests (at most " + std::to_string(requests_per_hour_) +
                              " an hour). Please try again in " + std::to_string((wait + 59) / 60) + " minutes.");
        s.WithRetryAfter(wait);
        return ErrorResponse(s);
    }
    auto other = accounts_.FindUserById(other_id);
    if (!other.ok() && other.status().code() != ErrorCode::kNotFound) return ErrorResponse(other.status());
    if (other.ok()) {
        const int64_t wearer = guardian_id ? ctx.wearer() : other->unique_num;
        const int64_t guardian = guardian_id ? other->unique_num : ctx.wearer();
        auto link = guardians_.CreateGuardianLink(wearer, guardian, guardian_id ? "wearer" : "guardian", clock_.Now());
        // Already asked, or already linked: the same answer as a new request.
        if (!link.ok() && link.status().code() != ErrorCode::kConflict) return ErrorResponse(link.status());
    }
    // One answer whether or not the id belongs to anyone: who is behind an id is not the asker's to know
    // (issue 15 item 3). The other person, if there is one, sees the request and may accept it.
    return JsonResponse(202, json::object{{"requested", true},
                                          {field, other_id},
                                          {"note",
                                           "If this id belongs to someone, they will see your request. Once "
                                           "they accept it, they appear in your list with their name."}});
}

namespace {
// The live link of the path that the user is on (either side); kNotFound for anything else.
Result<store::GuardianLink> MyLink(store::GuardianStore& store, const RequestContext& ctx) {
    const Status not_found = Status::Error(ErrorCode::kNotFound, "There is no such guardian link.");
    auto id = PathId(ctx, "link_id");
    if (!id.ok()) return not_found;
    auto link = store.FindGuardianLink(*id);
    if (!link.ok()) return link.status().code() == ErrorCode::kNotFound ? not_found : link.status();
    if ((link->wearer != ctx.wearer() && link->guardian != ctx.wearer()) || link->state == "ended") return not_found;
    return link;
}
}  // namespace

http::Response GuardianRoutes::AcceptGuardianLink(RequestContext& ctx) {
    auto link = MyLink(guardians_, ctx);
    if (!link.ok()) return ErrorResponse(link.status());
    const bool is_wearer = link->wearer == ctx.wearer();
    const bool is_guardian = !is_wearer;
    const bool asked_by_me =
        (is_wearer && link->requested_by == "wearer") || (is_guardian && link->requested_by == "guardian");
    if (asked_by_me) {
        return ErrorResponse(Status::Error(ErrorCode::kForbidden, "The other person has to accept this request."));
    }
    if (Status s = guardians_.AcceptGuardianLink(link->id, clock_.Now()); !s.ok()) return ErrorResponse(s);
    auto accepted = guardians_.FindGuardianLink(link->id);
    if (!accepted.ok()) return ErrorResponse(accepted.status());
    return JsonResponse(200, json::object{{"link", LinkJson(*accepted, ctx.wearer())}});
}

http::Response GuardianRoutes::EndGuardianLink(RequestContext& ctx) {
    auto link = MyLink(guardians_, ctx);
    if (!link.ok()) return ErrorResponse(link.status());
    if (Status s = guardians_.EndGuardianLink(link->id, clock_.Now()); !s.ok()) return ErrorResponse(s);
    streams_.CloseGuardianStreams(link->guardian, link->wearer);
    return JsonResponse(200, json::object{{"ended", true}});
}

}  // namespace vg::api
