#pragma once
// AccountRoutes: sign-up, check_id, login, logout, me and the devices (account_routes.cpp).
// Thread-safety: handlers are called concurrently from the HTTP lanes; the check_id limiter is
// thread-safe.
// Ownership: borrows the account service, the clock, the ProfileView and LiveStreams, which must
// outlive it; owns the check_id limiter (made by the RateLimits, "check_id").

#include "api_detail.hpp"
#include "live_streams.hpp"
#include "phone_routes.hpp"
#include "vg/auth/account_service.hpp"
#include "vg/auth/rate_limiter.hpp"
#include "vg/auth/rate_limits.hpp"

namespace vg::api {

class AccountRoutes {
  public:
    // `check_id_per_minute`: ApiOptions::check_id_per_minute; `secure_cookies`: ApiOptions::secure_cookies.
    AccountRoutes(auth::AccountService& accounts, const Clock& clock, auth::RateLimits& rate_limits,
                  const ProfileView& profile_view, LiveStreams& streams, int check_id_per_minute, bool secure_cookies)
        : accounts_(accounts),
          profile_view_(profile_view),
          streams_(streams),
          check_id_per_minute_(check_id_per_minute),
          secure_cookies_(secure_cookies),
          check_id_limiter_(
              rate_limits.SlidingWindow("check_id", clock, {check_id_per_minute, std::chrono::minutes(1), 100'000})) {}

    http::Response Signup(RequestContext& ctx);
    http::Response CheckId(RequestContext& ctx);
    http::Response Login(RequestContext& ctx);
    http::Response Logout(RequestContext& ctx);
    http::Response Me(RequestContext& ctx);
    http::Response PairDevice(RequestContext& ctx);
    http::Response ListDevices(RequestContext& ctx);
    http::Response RevokeDevice(RequestContext& ctx);

  private:
    auth::AccountService& accounts_;
    const ProfileView& profile_view_;
    LiveStreams& streams_;
    const int check_id_per_minute_;
    const bool secure_cookies_;
    // Per client address; also spent by sign-up's answer that an id is taken.
    const std::unique_ptr<auth::SlidingWindowLimiter> check_id_limiter_;
};

}  // namespace vg::api
