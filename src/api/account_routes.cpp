#include "account_routes.hpp"

#include "vg/auth/crypto.hpp"

namespace vg::api {

namespace {
// check_id's per-address budget, also spent by sign-up's answer that an id is taken.
Status TooManyIdChecks(int wait, int per_minute) {
    Status s = Status::Error(ErrorCode::kRateLimited,
                             "Too many id checks and sign-up attempts with a taken id from "
                             "your address (at most " +
                                 std::to_string(per_minute) + " a minute). Please try again in " +
                                 std::to_string(wait) + " seconds.");
    s.WithRetryAfter(wait);
    return s;
}
}  // namespace

http::Response AccountRoutes::Signup(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    domain::SignupInput input;
    input.profile.id = reader.String("id", true).value_or("");
    input.password = reader.String("password", true).value_or("");
    input.profile.name = reader.String("name", true).value_or("");
    auto age = reader.Integer("age", true);
    if (age) input.profile.age = *age < -1000 || *age > 1000 ? -1 : static_cast<int>(*age);
    input.profile.address = reader.String("address", true).value_or("");
    input.profile.detailed_address = reader.String("detailed_address", false).value_or("");
    input.profile.phone_num = reader.String("phone_num", true).value_or("");
    input.profile.guard_name = reader.String("guard_name", false).value_or("");
    input.profile.guard_phone_num = reader.String("guard_phone_num", false).value_or("");
    // Unverified until its owner enters the code sent to it (POST /api/phone/verification).
    input.profile.guard_email = domain::NormalizeEmailAddress(reader.String("guard_email", false).value_or(""));
    // The dashboard sends the browser's zone; a client that sends none gets Korea's (the seed's).
    input.profile.time_zone = reader.String("time_zone", false).value_or(std::string(domain::kDefaultTimeZone));
    reader.Refuse("danger_degree", "is set by VitalGuard, not at sign-up");
    reader.Refuse("user_posture", "is set by VitalGuard, not at sign-up");
    reader.Refuse("unique_num", "is assigned by VitalGuard");
    Status shape = reader.Finish();
    if (!shape.ok()) {
        // Report type and unknown-field problems together with the value checks of the fields that parsed.
        std::vector<FieldError> all = shape.fields();
        for (auto& f : domain::ValidateSignup(input)) {
            bool already = false;
            for (const auto& a : all) already = already || a.field == f.field;
            if (!already) all.push_back(std::move(f));
        }
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, shape.message(), std::move(all)));
    }
    // The answer "this id is taken" is an id check: it spends check_id's per-address budget, or sign-up
    // would be the way around that limit. Reserved before the hash (parallel sign-ups cannot all pass)
    // and given back when the answer turned out not to be about a taken id. Once the budget is spent
    // every sign-up from the address gets the same 429, taken id or not.
    if (int wait = check_id_limiter_->TryAcquire(ctx.client_address)) {
        return ErrorResponse(TooManyIdChecks(wait, check_id_per_minute_));
    }
    auto user = accounts_.Signup(input, {ctx.client_address, std::string(ctx.request.header("user-agent"))});
    if (!user.ok() && user.status().code() == ErrorCode::kConflict) {
        return ErrorResponse(Status::Error(ErrorCode::kConflict, "This id is already taken. Please choose another.",
                                           {{"id", "is already taken"}}));
    }
    check_id_limiter_->Release(ctx.client_address);
    if (!user.ok()) return ErrorResponse(user.status());
    http::Response r = JsonResponse(201, json::object{{"user", UserJson(*user)}});
    r.set_header("Location", "/api/me");
    return r;
}

http::Response AccountRoutes::CheckId(RequestContext& ctx) {
    if (int wait = check_id_limiter_->TryAcquire(ctx.client_address))
        return ErrorResponse(TooManyIdChecks(wait, check_id_per_minute_));
    for (const auto& [name, value] : ctx.request.query) {
        if (name != "id") {
            return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "Unknown query parameter.",
                                               {{name, "is not a known parameter"}}));
        }
    }
    const std::string* id = ctx.request.query_param("id");
    if (!id) {
        return ErrorResponse(
            Status::Error(ErrorCode::kValidationFailed, "Which id should be checked?", {{"id", "is required"}}));
    }
    auto available = accounts_.IsIdAvailable(*id);
    if (!available.ok()) return ErrorResponse(available.status());
    return JsonResponse(200, json::object{{"id", *id}, {"available", *available}});
}

http::Response AccountRoutes::Login(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    std::string id = reader.String("id", true).value_or("");
    std::string password = reader.String("password", true).value_or("");
    Status shape = reader.Finish("Please enter your id and password.");
    if (!shape.ok()) return ErrorResponse(shape);
    auto login = accounts_.Login(id, password, {ctx.client_address, std::string(ctx.request.header("user-agent"))});
    if (!login.ok()) return ErrorResponse(login.status());
    http::Response r = JsonResponse(
        200,
        json::object{{"user", UserJson(login->user)},
                     {"csrf_token", login->session.csrf_token},
                     {"session_expires_at", FormatIso8601(login->session.expires_at)},
                     {"idle_timeout_seconds",
                      std::chrono::duration_cast<std::chrono::seconds>(accounts_.options().idle_timeout).count()}});
    r.set_header("Set-Cookie", SessionCookie(login->token, accounts_.options().session_ttl, secure_cookies_));
    return r;
}

http::Response AccountRoutes::Logout(RequestContext& ctx) {
    if (!ctx.request.body.empty()) {
        // Logout takes no input, but a JSON client may send "{}".
        auto body = ParseJsonObjectBody(ctx.request);
        if (!body.ok()) return ErrorResponse(body.status());
        ObjectReader reader(*body);
        if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    }
    Status s = accounts_.Logout(ctx.session_token);
    if (!s.ok()) return ErrorResponse(s);
    // The session's live streams end with it (close code 4401), not at their next message.
    streams_.EndSession(auth::HashToken(ctx.session_token), "You have logged out.");
    http::Response r = JsonResponse(200, json::object{{"logged_out", true}});
    ClearSessionCookie(r, secure_cookies_);
    return r;
}

http::Response AccountRoutes::Me(RequestContext& ctx) { return profile_view_.MeResponse(ctx, ctx.auth->user); }

http::Response AccountRoutes::PairDevice(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    std::string name = reader.String("name", true).value_or("");
    Status shape = reader.Finish();
    if (!shape.ok()) return ErrorResponse(shape);
    auto paired = accounts_.PairDevice(ctx.auth->user.unique_num, name);
    if (!paired.ok()) return ErrorResponse(paired.status());
    json::object device = DeviceJson(paired->device);
    return JsonResponse(201, json::object{{"device", std::move(device)},
                                          {"device_token", paired->token},
                                          {"note", "Store this token on the watch now; it is shown only once."}});
}

http::Response AccountRoutes::ListDevices(RequestContext& ctx) {
    auto devices = accounts_.ListDevices(ctx.auth->user.unique_num);
    if (!devices.ok()) return ErrorResponse(devices.status());
    json::array list;
    for (const auto& d : *devices) list.push_back(DeviceJson(d));
    return JsonResponse(200, json::object{{"devices", std::move(list)}});
}

http::Response AccountRoutes::RevokeDevice(RequestContext& ctx) {
    const std::string& raw = ctx.path_params.at("device_id");
    int64_t device_id = 0;
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), device_id);
    if (ec != std::errc() || end != raw.data() + raw.size() || device_id <= 0) {
        return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "The device id is not valid.",
                                           {{"device_id", "must be a positive whole number"}}));
    }
    Status s = accounts_.RevokeDevice(ctx.auth->user.unique_num, device_id);
    if (!s.ok()) {
        if (s.code() == ErrorCode::kNotFound) {
            return ErrorResponse(Status::Error(ErrorCode::kNotFound, "You have no active device with this id."));
        }
        return ErrorResponse(s);
    }
    return JsonResponse(200, json::object{{"revoked", true}, {"device_id", device_id}});
}

}  // namespace vg::api
