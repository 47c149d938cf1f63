#pragma once
// SelfServiceRoutes: the account's own details, password, address confirmation and login sessions
// (self_service_routes.cpp; issues 15, 16).
// Thread-safety: handlers are called concurrently from the HTTP lanes; no state of their own.
// Ownership: borrows the account service, the audit store, the clock, the ProfileView and
// LiveStreams, which must outlive it.

#include "api_detail.hpp"
#include "live_streams.hpp"
#include "phone_routes.hpp"
#include "vg/auth/account_service.hpp"

namespace vg::api {

class SelfServiceRoutes {
  public:
    // `secure_cookies`: ApiOptions::secure_cookies (the cookie cleared when the current session ends).
    SelfServiceRoutes(auth::AccountService& accounts, store::AuditStore& audit, const Clock& clock,
                      const ProfileView& profile_view, LiveStreams& streams, bool secure_cookies)
        : accounts_(accounts),
          audit_(audit),
          clock_(clock),
          profile_view_(profile_view),
          streams_(streams),
          secure_cookies_(secure_cookies) {}

    http::Response UpdateMe(RequestContext& ctx);
    http::Response ChangePassword(RequestContext& ctx);
    http::Response ConfirmAddress(RequestContext& ctx);
    http::Response ListSessions(RequestContext& ctx);
    http::Response EndOtherSessions(RequestContext& ctx);
    http::Response EndSession(RequestContext& ctx);

  private:
    auth::AccountService& accounts_;
    store::AuditStore& audit_;
    const Clock& clock_;
    const ProfileView& profile_view_;
    LiveStreams& streams_;
    const bool secure_cookies_;
};

}  // namespace vg::api
