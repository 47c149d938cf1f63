// Phone verification (docs/api.md, "Phone verification"): a number receives VitalGuard's SMS only once
// its owner entered the code sent to it (escalation/phone_verification.hpp), and the guardian's e-mail
// address its alert e-mails likewise (field "guard_email"). The wearer's session only: each route
// speaks of the caller's own numbers and address and of nobody else's.
#include "phone_routes.hpp"

namespace vg::api {
namespace {

Status NoPhoneVerification() {
    return Status::Error(ErrorCode::kUnavailable, "Phone verification is not available on this server.");
}

json::object StateJson(const escalation::PhoneVerificationState& s) {
    json::object o{{"field", escalation::PhoneFieldName(s.field)}, {"verified", s.verified}};
    o["code_expires_at"] = TimeOrNull(s.code_expires_at);
    o["attempts_left"] = s.attempts_left;
    o["resend_at"] = TimeOrNull(s.resend_at);
    return o;
}

// The optional {"field": "guard_phone_num" | "phone_num" | "guard_email"} of both routes (default
// guard_phone_num).
Result<escalation::PhoneField> FieldOf(ObjectReader& reader) {
    auto name = reader.String("field", false);
    if (!name) return escalation::PhoneField::kGuardPhone;
    auto field = escalation::PhoneFieldFromName(*name);
    if (!field) {
        reader.AddProblem("field", "must be guard_phone_num, phone_num or guard_email");
        return escalation::PhoneField::kGuardPhone;
    }
    return *field;
}

}  // namespace

json::object ProfileView::ProfileJson(const domain::User& user) const {
    json::object o = UserJson(user);
    for (auto field : {escalation::PhoneField::kGuardPhone, escalation::PhoneField::kOwnPhone,
                       escalation::PhoneField::kGuardEmail}) {
        const char* key = field == escalation::PhoneField::kGuardPhone ? "guard_phone_verified"
                          : field == escalation::PhoneField::kOwnPhone ? "phone_verified"
                                                                       : "guard_email_verified";
        bool verified = false;
        if (phones_) {
            auto state = phones_->State(user, field);
            verified = state.ok() && state->verified;
        }
        o[key] = verified;
    }
    o["address_confirmed_at"] = TimeOrNull(user.address_confirmed_at);
    o["address_confirm_due"] =
        !user.address_confirmed_at || clock_.Now() - *user.address_confirmed_at > kAddressConfirmInterval;
    return o;
}

http::Response ProfileView::MeResponse(const RequestContext& ctx, const domain::User& user) const {
    return JsonResponse(200, json::object{{"user", ProfileJson(user)},
                                          {"csrf_token", ctx.auth->session.csrf_token},
                                          {"session_expires_at", FormatIso8601(ctx.auth->session.expires_at)}});
}

std::unique_ptr<escalation::PhoneVerificationService> PhoneRoutes::MakePhones(
    store::Store& store, const Clock& clock, escalation::EscalationService* escalation) {
    if (escalation == nullptr) return nullptr;
    // Codes go out through the outbox, which the delivery worker polls (within its max idle wait).
    escalation::PhoneVerificationOptions phone_options;
    phone_options.language = escalation->options().language;
    phone_options.email_enabled = escalation->options().email_enabled;
    return std::make_unique<escalation::PhoneVerificationService>(store, clock, phone_options);
}

// PUT /api/me/guard_email {"guard_email", "current_password"}: sets ("" removes) the guardian's e-mail
// address. Checked before the password (a bad address costs no hash and changes nothing), then
// re-authenticated like a login; a changed address is unverified in the same write.
http::Response PhoneRoutes::SetGuardEmail(RequestContext& ctx) {
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    auto email = reader.String("guard_email", true);
    std::string current = reader.String("current_password", true).value_or("");
    if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    const std::string address = domain::NormalizeEmailAddress(*email);
    if (!address.empty()) {
        if (auto problem = domain::CheckEmailAddress(address)) {
            return ErrorResponse(Status::Error(ErrorCode::kValidationFailed, "The e-mail address is not valid.",
                                               {{"guard_email", *problem}}));
        }
    }
    const domain::User& user = ctx.auth->user;
    if (Status s = accounts_.CheckCurrentPassword(user, current,
                                                  {ctx.client_address, std::string(ctx.request.header("user-agent"))});
        !s.ok()) {
        return ErrorResponse(s);
    }
    const std::string& old = user.profile.guard_email;
    if (address != old) {
        // Another mailbox (not only other letter case in its local part): its verification ends.
        const bool other_mailbox = !old.empty() && escalation::EmailKey(old) != escalation::EmailKey(address);
        if (Status s = store_.SetGuardEmail(user.unique_num, address, other_mailbox ? escalation::EmailKey(old) : "");
            !s.ok()) {
            return ErrorResponse(s);
        }
        AuditOwnChange(store_, clock_, ctx, "PUT /api/me/guard_email", address.empty() ? "removed" : "changed");
    }
    auto updated = store_.FindUserByUniqueNum(user.unique_num);
    if (!updated.ok()) return ErrorResponse(updated.status());
    return profile_view_.MeResponse(ctx, *updated);
}

http::Response PhoneRoutes::SendPhoneCode(RequestContext& ctx) {
    if (!phones_) return ErrorResponse(NoPhoneVerification());
    escalation::PhoneField field = escalation::PhoneField::kGuardPhone;
    if (!ctx.request.body.empty()) {
        auto body = ParseJsonObjectBody(ctx.request);
        if (!body.ok()) return ErrorResponse(body.status());
        ObjectReader reader(*body);
        auto f = FieldOf(reader);
        if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
        field = *f;
    }
    auto state = phones_->SendCode(ctx.auth->user, field);
    if (!state.ok()) return ErrorResponse(state.status());
    // 202: the code is on its way (the outbox); 200: verified already, nothing sent.
    return JsonResponse(state->verified ? 200 : 202, StateJson(*state));
}

http::Response PhoneRoutes::ConfirmPhoneCode(RequestContext& ctx) {
    if (!phones_) return ErrorResponse(NoPhoneVerification());
    auto body = ParseJsonObjectBody(ctx.request);
    if (!body.ok()) return ErrorResponse(body.status());
    ObjectReader reader(*body);
    auto code = reader.String("code", true);
    auto field = FieldOf(reader);
    if (Status s = reader.Finish(); !s.ok()) return ErrorResponse(s);
    auto state = phones_->Confirm(ctx.auth->user, *field, *code);
    if (!state.ok()) return ErrorResponse(state.status());
    return JsonResponse(200, StateJson(*state));
}

}  // namespace vg::api
