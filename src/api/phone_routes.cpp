// Phone verification (docs/api.md, "Phone verification"): a number receives VitalGuard's SMS only once
// its owner entered the code sent to it (escalation/phone_verification.hpp). The wearer's session only:
// each route speaks of the caller's own numbers and of nobody else's.
#include "api_impl.hpp"

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

// The optional {"field": "guard_phone_num" | "phone_num"} of both routes (default guard_phone_num).
Result<escalation::PhoneField> FieldOf(ObjectReader& reader) {
    auto name = reader.String("field", false);
    if (!name) return escalation::PhoneField::kGuardPhone;
    auto field = escalation::PhoneFieldFromName(*name);
    if (!field) {
        reader.AddProblem("field", "must be guard_phone_num or phone_num");
        return escalation::PhoneField::kGuardPhone;
    }
    return *field;
}

}  // namespace

json::object Api::Impl::ProfileJson(const domain::User& user) {
    json::object o = UserJson(user);
    for (auto field : {escalation::PhoneField::kGuardPhone, escalation::PhoneField::kOwnPhone}) {
        const char* key = field == escalation::PhoneField::kGuardPhone ? "guard_phone_verified" : "phone_verified";
        bool verified = false;
        if (phones_) {
            auto state = phones_->State(user, field);
            verified = state.ok() && state->verified;
        }
        o[key] = verified;
    }
    return o;
}

http::Response Api::Impl::SendPhoneCode(RequestContext& ctx) {
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

http::Response Api::Impl::ConfirmPhoneCode(RequestContext& ctx) {
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
