#pragma once
// PhoneRoutes: phone verification and the guardian's e-mail address (phone_routes.cpp), and the
// ProfileView that shows the account's own details with their verification state.
// Thread-safety: handlers are called concurrently from the HTTP lanes; no state of their own besides
// the verification service (thread-safe).
// Ownership: owns the PhoneVerificationService (with escalation only); borrows the account service,
// the store and the clock, which must outlive it.

#include <memory>

#include "api_detail.hpp"
#include "vg/auth/account_service.hpp"
#include "vg/escalation/escalation_service.hpp"
#include "vg/escalation/phone_verification.hpp"

namespace vg::api {

// The account as its owner sees it (GET /api/me, PATCH /api/me, ...): UserJson with the verification
// state of its numbers and address. Stateless; borrows the verification service (null: nothing is
// verified) and the clock.
class ProfileView {
  public:
    ProfileView(escalation::PhoneVerificationService* phones, const Clock& clock) : phones_(phones), clock_(clock) {}
    // UserJson with guard_phone_verified and phone_verified (false when the server has no verification).
    json::object ProfileJson(const domain::User& user) const;
    // GET /api/me's answer for the session's user `user` (also the answer of PATCH /api/me).
    http::Response MeResponse(const RequestContext& ctx, const domain::User& user) const;

  private:
    escalation::PhoneVerificationService* phones_;
    const Clock& clock_;
};

class PhoneRoutes {
  public:
    // `escalation`: optional; without it the verification routes answer 503.
    PhoneRoutes(auth::AccountService& accounts, store::Store& store, const Clock& clock,
                escalation::EscalationService* escalation)
        : accounts_(accounts), store_(store), clock_(clock), phones_(MakePhones(store, clock, escalation)) {}

    http::Response SetGuardEmail(RequestContext& ctx);
    http::Response SendPhoneCode(RequestContext& ctx);
    http::Response ConfirmPhoneCode(RequestContext& ctx);

    const ProfileView& profile_view() const { return profile_view_; }

  private:
    // The verification service over `store` with `escalation`'s language and e-mail setting; null without it.
    static std::unique_ptr<escalation::PhoneVerificationService> MakePhones(store::Store& store, const Clock& clock,
                                                                            escalation::EscalationService* escalation);

    auth::AccountService& accounts_;
    store::Store& store_;
    const Clock& clock_;
    std::unique_ptr<escalation::PhoneVerificationService> phones_;  // with escalation only
    ProfileView profile_view_{phones_.get(), clock_};               // after phones_
};

}  // namespace vg::api
