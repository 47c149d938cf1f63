// The account's own details, password and login sessions (docs/api.md, "Your account"; issues 15, 16).
// Session routes only: each speaks of the caller's own account. A change that needs the current
// password (PATCH /api/me, POST /api/me/password) runs on the slow lane (Argon2id), is throttled like a
// login (AccountService::CheckCurrentPassword) and capped per account and hour.
#include "self_service_routes.hpp"

namespace vg::api {
namespace {

// A body that must be empty or "{}" (the routes that take no input).
Status NoInput(const http::Request& request) {
    if (request.body.empty()) return Status::Ok();
    auto body = ParseJsonObjectBody(request);
    if (!body.ok()) return body.status();
    ObjectReader reader(*body);
    return reader.Finish();
}

// A User-Agent as the session list shows it: at most 200 bytes of printable ASCII (anything else as
// '?'), so that a header's bytes cannot break the JSON or the page.
std::string ShownUserAgent(std::string_view ua) {
    std::string out(ua.substr(0, 200));
    for (char& c : out) {
        if (c < 0x20 || c > 0x7e) c = '?';
    }
    return out;
}

std::string JoinNames(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

}  // namespace

namespace detail {

void AuditOwnChange(store::AuditStore& audit, const Clock& clock, const RequestContext& ctx, std::string action,
                    std::string detail) {
    const int64_t me = ctx.auth->user.unique_num;
    Status s = audit.AppendAudit({clock.Now(), me, me, std::move(action), std::move(detail)});
    if (!s.ok()) spdlog::warn("audit entry for account {} not written: {}", me, s.ToString());
}

}  // namespace detail

http::Response SelfServiceRoutes::ChangePassword(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    std::string current = reader.String("current_password", true).value_or("");
    std::string next = reader.String("new_password", true).value_or("");
    if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    auto ended = accounts_.ChangePassword(*ctx.auth, current, next,
                                          {ctx.client_address, std::string(ctx.request.header("user-agent"))});
    if (!ended.ok()) return ErrorResponse(ended.status());
    streams_.EndSessionStreams(*ended, "Your password was changed. Please log in again.");
    AuditOwnChange(audit_, clock_, ctx, "POST /api/me/password", "sessions ended: " + std::to_string(ended->size()));
    return JsonResponse(200, json::object{{"sessions_ended", ended->size()}});
}

http::Response SelfServiceRoutes::UpdateMe(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    std::string current = reader.String("current_password", true).value_or("");
    auth::ProfileChanges changes;
    changes.name = reader.String("name", false);
    if (auto age = reader.Integer("age", false)) {
        changes.age = *age < -1000 || *age > 1000 ? -1 : static_cast<int>(*age);  // CheckAge names the range
    }
    changes.address = reader.String("address", false);
    changes.detailed_address = reader.String("detailed_address", false);
    changes.phone_num = reader.String("phone_num", false);
    changes.guard_name = reader.String("guard_name", false);
    changes.guard_phone_num = reader.String("guard_phone_num", false);
    changes.time_zone = reader.String("time_zone", false);
    reader.Refuse("id", "cannot be changed");
    reader.Refuse("password", "is changed with POST /api/me/password");
    reader.Refuse("guard_email", "is changed with PUT /api/me/guard_email");
    reader.Refuse("danger_degree", "is set by VitalGuard");
    reader.Refuse("user_posture", "is set by VitalGuard");
    reader.Refuse("rule_profile", "is changed with PUT /api/me/rule_profile");
    if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    std::vector<std::string> changed;
    auto user = accounts_.UpdateProfile(*ctx.auth, changes, current,
                                        {ctx.client_address, std::string(ctx.request.header("user-agent"))}, &changed);
    if (!user.ok()) return ErrorResponse(user.status());
    // The fields' names, never their values: the audit log is read by people who need not see them.
    AuditOwnChange(audit_, clock_, ctx, "PATCH /api/me",
                   changed.empty() ? "no change" : "changed: " + JoinNames(changed));
    return profile_view_.MeResponse(ctx, *user);
}

http::Response SelfServiceRoutes::ConfirmAddress(RequestContext& ctx) {
    if (Status s = NoInput(ctx.request); !s.ok()) return ErrorResponse(s);
    auto user = accounts_.ConfirmAddress(ctx.auth->user.unique_num);
    if (!user.ok()) return ErrorResponse(user.status());
    return profile_view_.MeResponse(ctx, *user);
}

http::Response SelfServiceRoutes::ListSessions(RequestContext& ctx) {
    auto sessions = accounts_.ListSessions(ctx.auth->user.unique_num);
    if (!sessions.ok()) return ErrorResponse(sessions.status());
    const TimePoint now = clock_.Now();
    json::array list;
    for (const domain::Session& s : *sessions) {
        const TimePoint ends = std::min(s.expires_at, s.last_seen_at + accounts_.options().idle_timeout);
        if (ends <= now) continue;  // over, not purged yet
        list.push_back(json::object{{"id", auth::AccountService::PublicSessionId(s.token_hash)},
                                    {"current", s.token_hash == ctx.auth->session.token_hash},
                                    {"created_at", FormatIso8601(s.created_at)},
                                    {"last_seen_at", FormatIso8601(s.last_seen_at)},
                                    {"expires_at", FormatIso8601(ends)},
                                    {"client_address", s.client_address},
                                    {"user_agent", ShownUserAgent(s.user_agent)}});
    }
    return JsonResponse(200, json::object{{"sessions", std::move(list)}});
}

http::Response SelfServiceRoutes::EndSession(RequestContext& ctx) {
    if (Status s = NoInput(ctx.request); !s.ok()) return ErrorResponse(s);
    auto ended = accounts_.EndSession(ctx.auth->user.unique_num, ctx.path_params.at("session_id"));
    if (!ended.ok()) return ErrorResponse(ended.status());
    const bool current = *ended == ctx.auth->session.token_hash;
    streams_.EndSession(*ended, current ? "You have logged out." : "This session was logged out from another device.");
    AuditOwnChange(audit_, clock_, ctx, "DELETE /api/me/sessions/{session_id}",
                   current ? "the current session" : "another session");
    http::Response r;
    r.status = 204;
    if (current) ClearSessionCookie(r, secure_cookies_);
    return r;
}

http::Response SelfServiceRoutes::EndOtherSessions(RequestContext& ctx) {
    if (Status s = NoInput(ctx.request); !s.ok()) return ErrorResponse(s);
    auto ended = accounts_.EndOtherSessions(ctx.auth->user.unique_num, ctx.auth->session.token_hash);
    if (!ended.ok()) return ErrorResponse(ended.status());
    streams_.EndSessionStreams(*ended, "This session was logged out from another device.");
    AuditOwnChange(audit_, clock_, ctx, "DELETE /api/me/sessions", "sessions ended: " + std::to_string(ended->size()));
    return JsonResponse(200, json::object{{"sessions_ended", ended->size()}});
}

}  // namespace vg::api
